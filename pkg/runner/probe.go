package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// maxProbeOutput caps what a probe keeps of the runner's output; the rest is
// read and thrown away, so a runner that prints for ever cannot fill memory.
const maxProbeOutput = 1 << 20

// probeWaitDelay bounds how long a probe waits for its output pipes after
// the runner exits or is killed, when something else still holds them.
const probeWaitDelay = 2 * time.Second

// probe runs the binary with one argument under mode and returns stdout and
// stderr together. A non-zero exit is not an error: llama-simple exits 1
// after printing its usage. It blocks until the process group is gone or
// timeout has passed and the group was killed.
func probe(ctx context.Context, binary string, mode ExecMode, timeout time.Duration,
	arg string) (string, error) {
	path, lead, _, err := launcher(binary, mode)
	if err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(pctx, path, append(lead, arg)...)
	cmd.Env = ChildEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = probeWaitDelay
	out := &capBuffer{max: maxProbeOutput}
	cmd.Stdout, cmd.Stderr = out, out

	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", path, err)
	}
	err = cmd.Wait()

	// nothing the probe started may outlive it, even when the leader exited.
	_ = killGroup(cmd)

	switch {
	case ctx.Err() != nil:
		return out.String(), ctx.Err()
	case pctx.Err() != nil:
		return out.String(), fmt.Errorf("%s %s: killed after %s: %w",
			path, arg, timeout, ErrTimeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return out.String(), fmt.Errorf("wait for %s: %w", path, err)
	}
	return out.String(), nil
}

// killGroup sends SIGKILL to the process group the command leads; a group
// that is already gone is not an error.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// capBuffer keeps the first max bytes written to it and counts the rest.
// os/exec serialises writes when one capBuffer is both Stdout and Stderr.
type capBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int64
}

// Write keeps what fits and always reports the whole of p as written.
func (c *capBuffer) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	keep := min(max(room, 0), len(p))
	c.buf.Write(p[:keep])
	c.dropped += int64(len(p) - keep)
	return len(p), nil
}

// String returns what was kept.
func (c *capBuffer) String() string { return c.buf.String() }
