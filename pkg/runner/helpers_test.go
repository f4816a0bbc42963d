package runner_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loadHelp returns a recorded help text from testdata without its "# "
// comment header, which describes the recording.
func loadHelp(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "# ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// writeFile writes an executable file in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// fakeRunner writes a #!/bin/sh runner into a temp dir that prints the
// recorded help text for --help and version for --version, and exits with
// helpExit after --help (llama-simple exits 1).
func fakeRunner(t *testing.T, name, helpFile, version string, helpExit int) string {
	t.Helper()
	dir := t.TempDir()
	help := writePlain(t, dir, "help.txt", loadHelp(t, helpFile))
	ver := writePlain(t, dir, "version.txt", version)
	body := "#!/bin/sh\n" +
		"case \"$1\" in\n" +
		"--help) cat '" + help + "'; exit " + strconv.Itoa(helpExit) + " ;;\n" +
		"--version) cat '" + ver + "' >&2; exit 0 ;;\n" +
		"esac\n" +
		"echo \"unexpected arguments: $*\" >&2\n" +
		"exit 2\n"
	return writeFile(t, dir, name, body)
}

// writePlain writes a non-executable file and returns its path.
func writePlain(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// apeFixture writes the case 05 stand-in for a llamafile: a file that starts
// with the APE magic and then execs target with all arguments. The kernel
// refuses it (ENOEXEC); /bin/sh runs it.
func apeFixture(t *testing.T, target string) string {
	t.Helper()
	body := "MZqFpD='\n'\nexec '" + target + "' \"$@\"\n"
	return writeFile(t, t.TempDir(), "m.llamafile", body)
}

// enginePath returns the installed node-llama-cpp engine. It is part of the
// repository's pinned tools, so a missing engine fails the test.
func enginePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PACKBENCH_ENGINE")
	if path == "" {
		path = filepath.Join("..", "..", "tools", "node_modules", ".bin", "node-llama-cpp")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("engine path: %v", err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("engine not installed (run `make engine`): %v", err)
	}
	return abs
}

// modelPath returns the shared tiny test model.
func modelPath(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "models",
		"llama-2-tiny-random.gguf"))
	if err != nil {
		t.Fatalf("model path: %v", err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("shared model missing: %v", err)
	}
	return abs
}

func ptr[T any](v T) *T { return &v }
