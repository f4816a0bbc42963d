//go:build linux

package pack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// copyBufSize matches the default pipe capacity.
const copyBufSize = 64 << 10

// proc is one instance of a running pack. Its fields are written by Run's
// goroutine until the start, then by the instance's supervise goroutine only,
// except those guarded by mu.
type proc struct {
	inst Instance
	log  hclog.Logger
	res  InstanceResult
	cmd  *exec.Cmd
	path string // resolved Path

	childEnds []*os.File // pipe ends given to the child; closed after the start
	streams   []*stream  // stdout's (if any) first; one when both share a file
	started   bool
	startErr  error
	retryErr  error         // the direct start's error when retried through sh
	exited    chan struct{} // closed once the leader exited, before it is reaped

	mu       sync.Mutex // guards sampling, peakRSS and peakPSS
	sampling bool
	peakRSS  uint64
	peakPSS  uint64
}

// stream copies one pipe into a capped file.
type stream struct {
	r    *os.File
	cw   *capWriter
	done chan struct{} // closed by copy when the pipe reached EOF or was closed
}

// copy drains s.r into s.cw until EOF or until s.r is closed.
func (s *stream) copy() {
	defer close(s.done)
	buf := make([]byte, copyBufSize)
	for {
		n, err := s.r.Read(buf)
		if n > 0 {
			_, _ = s.cw.Write(buf[:n]) // never fails; errors surface at Close
		}
		if err != nil {
			return
		}
	}
}

// sysProcAttr puts a child in its own session and process group, without a
// controlling terminal, and kills it when the thread that started it dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// newProc prepares inst: it resolves the path, opens the output files and
// pipes, starts the copiers and builds the command. A failure is recorded
// in the result and leaves cmd nil.
func newProc(log hclog.Logger, inst Instance, devnull *os.File, logCap int64) *proc {
	pr := &proc{
		inst:   inst,
		log:    log.With("instance", inst.Index),
		res:    InstanceResult{Index: inst.Index, ExitCode: -1},
		exited: make(chan struct{}),
	}

	path, err := resolvePath(inst)
	if err != nil {
		pr.fail(err)
		return pr
	}
	pr.path = path

	stdout, stderr, err := pr.openOutputs(devnull, logCap)
	if err != nil {
		pr.fail(err)
		return pr
	}

	pr.cmd = pr.command(path, append([]string{inst.Path}, inst.Args...), devnull, stdout, stderr)
	return pr
}

// resolvePath looks a bare name up in PATH, as a shell would.
func resolvePath(inst Instance) (string, error) {
	if strings.Contains(inst.Path, "/") {
		return inst.Path, nil
	}
	path, err := exec.LookPath(inst.Path)
	if err != nil {
		return "", fmt.Errorf("start runner: %w", err)
	}
	return path, nil
}

// command builds the exec.Cmd for path and argv.
func (pr *proc) command(path string, argv []string, stdin, stdout, stderr *os.File) *exec.Cmd {
	return &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         pr.inst.Env,
		Dir:         pr.inst.Dir,
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: sysProcAttr(),
	}
}

// openOutputs returns the child's stdout and stderr: pipe write ends feeding
// capped files, or devnull for an empty path.
func (pr *proc) openOutputs(devnull *os.File, logCap int64) (stdout, stderr *os.File, err error) {
	stdout, stderr = devnull, devnull
	if pr.inst.StdoutPath != "" {
		if stdout, err = pr.openStream(pr.inst.StdoutPath, logCap); err != nil {
			return nil, nil, err
		}
	}

	switch {
	case pr.inst.StderrPath == "":
	case pr.inst.StderrPath == pr.inst.StdoutPath:
		stderr = stdout
	default:
		if stderr, err = pr.openStream(pr.inst.StderrPath, logCap); err != nil {
			return nil, nil, err
		}
	}
	return stdout, stderr, nil
}

// openStream creates the file at path and a pipe into it, starts the copier
// and returns the pipe's write end for the child.
func (pr *proc) openStream(path string, logCap int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open output: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open output pipe: %w", err)
	}

	s := &stream{r: r, cw: newCapWriter(f, logCap, tailMax), done: make(chan struct{})}
	pr.streams = append(pr.streams, s)
	pr.childEnds = append(pr.childEnds, w)
	go s.copy()
	return w, nil
}

// fail records err as the instance's start error.
func (pr *proc) fail(err error) {
	pr.startErr = err
	pr.res.StartError = err.Error()
}

// start starts the command, once more through /bin/sh when the kernel
// refuses the file with ENOEXEC and the instance allows it. It does no
// logging, so that the starts of a pack stay close together.
func (pr *proc) start() {
	err := pr.cmd.Start()
	pr.res.ExecMode = ExecDirect
	if err != nil && pr.inst.RetryViaSh && errors.Is(err, syscall.ENOEXEC) {
		pr.retryErr = err
		pr.cmd, err = pr.shCommand()
		if err == nil {
			err = pr.cmd.Start()
			pr.res.ExecMode = ExecSh
		}
	}
	if err != nil {
		pr.fail(fmt.Errorf("start runner: %w", err))
		return
	}

	pr.res.Started = time.Now()
	pr.res.PID = pr.cmd.Process.Pid
	pr.started = true
}

// shCommand builds `/bin/sh <absolute path> args...` with the same stdio.
// The absolute path lets an APE file find its own zip section through $0.
func (pr *proc) shCommand() (*exec.Cmd, error) {
	abs := pr.path
	if !filepath.IsAbs(abs) {
		var err error
		if abs, err = filepath.Abs(filepath.Join(pr.inst.Dir, abs)); err != nil {
			return nil, fmt.Errorf("resolve script path: %w", err)
		}
	}

	old := pr.cmd
	argv := append([]string{"/bin/sh", abs}, pr.inst.Args...)
	stdin, stdout, stderr := old.Stdin.(*os.File), old.Stdout.(*os.File), old.Stderr.(*os.File)
	return pr.command("/bin/sh", argv, stdin, stdout, stderr), nil
}

// closeChildEnds closes the pipe ends the child inherited, so that the
// copiers see EOF once the child and its descendants are gone.
func (pr *proc) closeChildEnds() {
	for _, w := range pr.childEnds {
		_ = w.Close()
	}
	pr.childEnds = nil
}

// signalGroup sends sig to the instance's process group. It is safe until
// the leader is reaped, since the leader's pid is the group id.
func (pr *proc) signalGroup(sig syscall.Signal) {
	err := unix.Kill(-pr.res.PID, sig)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		pr.log.Warn("failed to signal process group", "pid", pr.res.PID,
			"signal", unix.SignalName(sig), "error", err)
	}
}

// waitExited blocks until the leader exits, without reaping it, then closes
// pr.exited.
func (pr *proc) waitExited() {
	defer close(pr.exited)

	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pr.res.PID, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			pr.log.Error("failed to wait for instance", "pid", pr.res.PID, "error", err)
		}
		return
	}
}

// startSampling lets the sampler read the instance's memory.
func (pr *proc) startSampling() {
	pr.mu.Lock()
	pr.sampling = true
	pr.mu.Unlock()
}

// stopSampling stops the sampler reading the instance; it must be called
// before the leader is reaped, since only then is its pid sure to be ours.
func (pr *proc) stopSampling() {
	pr.mu.Lock()
	pr.sampling = false
	pr.mu.Unlock()
}

// sample reads the instance's memory once and keeps the peaks.
func (pr *proc) sample(buf []byte) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if !pr.sampling {
		return
	}
	// the file is opened afresh each time: a runner that execs again (a
	// shell wrapper, an env shebang) gets a new address space, and a
	// descriptor opened earlier would go on reading the old one.
	fd, err := openRollup(pr.res.PID)
	if err != nil {
		return
	}
	rss, pss, ok := readRollup(fd, buf)
	_ = unix.Close(fd)
	if ok {
		pr.peakRSS = max(pr.peakRSS, rss)
		pr.peakPSS = max(pr.peakPSS, pss)
	}
}
