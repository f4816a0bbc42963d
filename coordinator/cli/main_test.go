package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// packbenchBin and agentBin are the packbench and packbench-agent binaries,
// built once for the tests that run them as real processes.
var packbenchBin, agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packbench-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	packbenchBin = filepath.Join(dir, "packbench")
	agentBin = filepath.Join(dir, "packbench-agent")
	for bin, pkg := range map[string]string{packbenchBin: "./coordinator/cmd/packbench",
		agentBin: "./agent/cmd/packbench-agent"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = repoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root, found from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// engine is the path of the real llama.cpp engine that `make engine`
// installs; the tests that need it fail, not skip, without it.
func engine(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PACKBENCH_ENGINE")
	if p == "" {
		p = filepath.Join(repoRoot(), "tools", "node_modules", ".bin", "node-llama-cpp")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("engine not installed at %s (run `make engine`): %v", p, err)
	}
	return p
}

// sharedModel is the tiny real GGUF model beside the checkout.
func sharedModel(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(), "..", "shared", "models", "llama-2-tiny-random.gguf")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared model missing: %v", err)
	}
	return p
}

// runPackbench runs the binary and returns its exit status, stdout and stderr.
func runPackbench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(packbenchBin, args...)
	var stdout, stderr safeBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run packbench %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}
