package cli_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProc is a packbench-agent process started by a test.
type agentProc struct {
	name, addr, stateDir string
	allow                []string
	cmd                  *exec.Cmd
	pid                  int
	done                 chan struct{}
}

var listeningLine = regexp.MustCompile(`agent listening: address=(\S+)`)

// startAgent starts packbench-agent on listen (127.0.0.1:0 for any port)
// and waits until it says where it listens. t.Cleanup stops it by its pid.
func startAgent(t *testing.T, name, listen, stateDir string, allow ...string) *agentProc {
	t.Helper()
	return startAgentWith(t, name, listen, stateDir, allow, nil)
}

// startAgentWith is startAgent with extra flags for the agent.
func startAgentWith(t *testing.T, name, listen, stateDir string, allow, extra []string) *agentProc {
	t.Helper()
	args := append([]string{"--listen", listen, "--name", name,
		"--state-dir", stateDir, "--allow", strings.Join(allow, ",")}, extra...)
	cmd := exec.Command(agentBin, args...)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", name, err)
	}
	a := &agentProc{name: name, stateDir: stateDir, allow: allow, cmd: cmd,
		pid: cmd.Process.Pid, done: make(chan struct{})}
	t.Cleanup(func() { a.stop() })

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		cmd.Wait()
		close(a.done)
	}()
	select {
	case a.addr = <-addr:
	case <-a.done:
		t.Fatalf("agent %s exited before listening", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("agent %s did not say where it listens", name)
	}
	return a
}

// stop ends the agent by its pid: SIGTERM, then SIGKILL after a grace.
func (a *agentProc) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// kill ends the agent at once with SIGKILL and waits until it is reaped.
func (a *agentProc) kill(t *testing.T) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill agent %s: %v", a.name, err)
	}
	<-a.done
}

// fakeRunner writes a runner script that records "pid ppid unix-nanos" in
// pidFile (its parent is the agent that started it), waits a little and
// prints a llama.cpp timing report.
func fakeRunner(t *testing.T, dir, pidFile string) string {
	t.Helper()
	p := filepath.Join(dir, "fake-llama-completion")
	script := fmt.Sprintf(`#!/bin/sh
echo "$$ $PPID $(date +%%s%%N)" >> %q
sleep 0.4
echo "a short sentence"
cat >&2 <<'EOF'
llama_perf_context_print:        load time =      10.00 ms
llama_perf_context_print: prompt eval time =       5.00 ms /    11 tokens (    0.45 ms per token,  2200.00 tokens per second)
llama_perf_context_print:        eval time =      40.00 ms /    15 runs   (    2.67 ms per token,   375.00 tokens per second)
llama_perf_context_print:       total time =      60.00 ms /    26 tokens
EOF
`, pidFile)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
