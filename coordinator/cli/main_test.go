package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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

// background is packbench running in the background, for tests that signal it.
type background struct {
	cmd    *exec.Cmd
	stderr *safeBuffer
	exited chan error
}

// startPackbench starts packbench with args; it is killed, by pid, when
// the test ends if it is still running.
func startPackbench(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(packbenchBin, args...), stderr: &safeBuffer{},
		exited: make(chan error, 1)}
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.exited <- b.cmd.Wait() }()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		b.exited <- <-b.exited
	})
	return b
}

// interrupt sends SIGINT and wants exit 130 within a minute.
func (b *background) interrupt(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.exited:
		b.exited <- err // for the cleanup
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("packbench %v after Ctrl-C: %v, want exit 130\n%s", b.cmd.Args[1:], err,
				b.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("packbench %v still running a minute after Ctrl-C", b.cmd.Args[1:])
	}
}

// waitFor polls ok every 20 ms for at most 60 s; what names the awaited
// state in the failure.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; !ok(); i++ {
		if i == 3000 {
			t.Fatalf("no %s within 60 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
