package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Magic bytes at the start of the files a runner can be.
var (
	apeMagic    = []byte("MZqFpD") // Actually Portable Executable (llamafile)
	elfMagic    = []byte("\x7fELF")
	scriptMagic = []byte("#!")
)

// shellPath is the POSIX shell used for --exec-via sh.
const shellPath = "/bin/sh"

// ResolveExecMode turns mode into direct, sh or bash. Auto reads the first
// bytes of binary: the APE magic of a llamafile means sh (the kernel has no
// loader for it, case 05); ELF, a #! script or anything else means direct.
// Other modes are returned as they are, without reading the file.
func ResolveExecMode(binary string, mode ExecMode) (ExecMode, error) {
	switch mode {
	case ExecDirect, ExecSh, ExecBash:
		return mode, nil
	case ExecAuto:
	default:
		return "", &FlagError{Flag: FlagExecVia, Value: string(mode), Reason: "unknown exec mode"}
	}

	head, err := readHead(binary, 8)
	if err != nil {
		return "", fmt.Errorf("resolve exec mode of %s: %w", binary, err)
	}
	switch {
	case bytes.HasPrefix(head, apeMagic):
		return ExecSh, nil
	case bytes.HasPrefix(head, elfMagic), bytes.HasPrefix(head, scriptMagic):
		return ExecDirect, nil
	}
	return ExecDirect, nil
}

// readHead returns up to n bytes from the start of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	buf := make([]byte, n)
	got, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:got], nil
}

// CheckBinary reports, naming --binary and the path, why path cannot be
// started: it is missing, a directory, or has no execute bit.
func CheckBinary(path string) error {
	if path == "" {
		return fmt.Errorf("check %s: no path given", FlagBinary)
	}

	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check %s %s: %w", FlagBinary, path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("check %s %s: is a directory, want the runner program", FlagBinary, path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("check %s %s: not executable (no x bit; chmod +x it)", FlagBinary, path)
	}
	return nil
}

// launcher returns what to exec for binary under mode, the arguments that go
// before the runner's own, and the resolved mode. Under sh and bash the
// binary is passed by absolute path, so that a llamafile can reopen itself
// to read the weights in its zip section.
func launcher(binary string, mode ExecMode) (string, []string, ExecMode, error) {
	resolved, err := ResolveExecMode(binary, mode)
	if err != nil {
		return "", nil, "", err
	}
	abs, err := filepath.Abs(binary)
	if err != nil {
		return "", nil, "", fmt.Errorf("resolve path of %s: %w", binary, err)
	}

	switch resolved {
	case ExecSh:
		return shellPath, []string{abs}, resolved, nil
	case ExecBash:
		bash, err := exec.LookPath("bash")
		if err != nil {
			return "", nil, "", fmt.Errorf("find bash for %s bash: %w", FlagExecVia, err)
		}
		return bash, []string{abs}, resolved, nil
	}
	return abs, nil, resolved, nil
}
