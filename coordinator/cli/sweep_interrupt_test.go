package cli_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C during a sweep cancels the running pack on the agent, keeps every
// finished combo, marks the host interrupted and exits 130; --resume with
// nothing but the outdir finishes the rest.
func TestSweepInterruptKeepsWhatFinishedAndResumes(t *testing.T) {
	runDir := t.TempDir()
	pidFile := filepath.Join(runDir, "pids")
	runner := fakeRunner(t, runDir, pidFile)
	model := sharedModel(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), runDir, model)
	out := filepath.Join(t.TempDir(), "sweep")

	sweep := startPackbench(t, "sweep", "--agents", a.addr, "--binary", runner,
		"--model", model, "--no-preflight", "--runner", "llama-completion",
		"--instances", "1-6", "--threads-min", "1", "--threads-max", "1",
		"--ladder-span", "0", "--reserve-cores", "0", "--ctx-size", "256", "-n", "16",
		"--timeout", "60", "--outdir", out)
	results := filepath.Join(out, "a1", "results.csv")
	waitFor(t, "row in results.csv", func() bool {
		data, err := os.ReadFile(results)
		return err == nil && strings.Count(strings.TrimSpace(string(data)), "\n") >= 1
	})
	sweep.interrupt(t)

	fl := readFleet(t, out)
	if len(fl.Hosts) != 1 || fl.Hosts[0].Status != "interrupted" {
		t.Errorf("fleet.json hosts = %+v, want a1 interrupted", fl.Hosts)
	}
	_, rows := readCSV(t, results)
	if len(rows) < 1 || len(rows) > 6 {
		t.Fatalf("results.csv after Ctrl-C has %d rows, want 1 to 6", len(rows))
	}
	// every row's logs are here, the cut-short pack's too
	for _, r := range rows {
		for _, l := range strings.Split(r["stdout_paths"]+";"+r["stderr_paths"], ";") {
			if _, err := os.Stat(filepath.Join(out, "a1", l)); l != "" && err != nil {
				t.Errorf("row m=%s (%s): log %s missing: %v", r["instances"], r["status"], l,
					err)
			}
		}
	}
	// the agent stopped the pack it was running: no runner outlives it
	// for long (the agent's grace is bounded; poll, bounded)
	for _, pid := range runnerPIDs(t, pidFile) {
		for i := 0; syscall.Kill(pid, 0) == nil; i++ {
			if i == 500 {
				t.Fatalf("runner %d still alive 10 s after Ctrl-C", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// the recorded agents and flags serve a dry run too
	code, stdout, se := runPackbench(t, "sweep", "--resume", "--outdir", out, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "host "+a.addr) ||
		!strings.Contains(stdout, "plan: 6 combos") {
		t.Errorf("resume --dry-run: exit %d, want 0 and the recorded host's plan of 6\n"+
			"stdout:\n%s\nstderr:\n%s", code, stdout, se)
	}
	// a new sweep may not replace it
	if code, _, se := runPackbench(t, "sweep", "--agents", a.addr, "--binary", runner,
		"--model", model, "--outdir", out); code != 2 || !strings.Contains(se, "holds a sweep") {
		t.Errorf("sweep into the interrupted sweep's outdir: exit %d, want 2\n%s", code, se)
	}

	code, stdout, se = runPackbench(t, "sweep", "--resume", "--outdir", out)
	if code != 0 {
		t.Fatalf("sweep --resume exit = %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, se)
	}
	if fl := readFleet(t, out); fl.Hosts[0].Status != "ok" {
		t.Errorf("after resume host = %+v, want ok", fl.Hosts[0])
	}
	_, rows = readCSV(t, results)
	if len(rows) != 6 {
		t.Fatalf("results.csv after resume has %d rows, want 6", len(rows))
	}
	for _, r := range rows {
		if r["status"] != "ok" {
			t.Errorf("row m=%s after resume: status %q (%s), want ok", r["instances"],
				r["status"], r["reason"])
		}
	}
}

// runnerPIDs reads the pids the fake runner appended to pidFile.
func runnerPIDs(t *testing.T, pidFile string) []int {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("pid file line %q: %v", line, err)
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

// A sweep that finds its agent busy with another run fails the host
// without recording rows, so that a resume runs every combo once the
// agent is free.
func TestSweepOnABusyAgentResumesLater(t *testing.T) {
	runDir := t.TempDir()
	runner := fakeRunner(t, runDir, filepath.Join(runDir, "pids"))
	model := sharedModel(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), runDir, model)
	args := func(out, instances string) []string {
		return []string{"sweep", "--agents", a.addr, "--binary", runner, "--model", model,
			"--no-preflight", "--runner", "llama-completion", "--instances", instances,
			"--threads-min", "1", "--threads-max", "1", "--ladder-span", "0",
			"--reserve-cores", "0", "--ctx-size", "256", "-n", "16", "--timeout", "60",
			"--outdir", out}
	}
	first := filepath.Join(t.TempDir(), "first")
	busy := startPackbench(t, args(first, "1-8")...)
	waitFor(t, "first sweep's pack on the agent", func() bool {
		data, err := os.ReadFile(filepath.Join(runDir, "pids"))
		return err == nil && len(data) > 0
	})

	second := filepath.Join(t.TempDir(), "second")
	code, _, stderr := runPackbench(t, args(second, "1,2")...)
	if code != 1 {
		t.Fatalf("sweep on a busy agent: exit %d, want 1\n%s", code, stderr)
	}
	fl := readFleet(t, second)
	if fl.Hosts[0].Status != "failed" || !strings.Contains(fl.Hosts[0].Reason, "busy") {
		t.Errorf("host = %+v, want failed saying the agent is busy", fl.Hosts[0])
	}
	if _, err := os.Stat(filepath.Join(second, "a1", "results.csv")); err == nil {
		if _, rows := readCSV(t, filepath.Join(second, "a1", "results.csv")); len(rows) != 0 {
			t.Errorf("busy agent left %d rows, want none", len(rows))
		}
	}

	busy.interrupt(t) // frees the agent
	code, stdout, stderr := runPackbench(t, "sweep", "--resume", "--outdir", second)
	if code != 0 {
		t.Fatalf("resume once the agent is free: exit %d\nstdout:\n%s\nstderr:\n%s", code,
			stdout, stderr)
	}
	if _, rows := readCSV(t, filepath.Join(second, "a1", "results.csv")); len(rows) != 2 {
		t.Errorf("after resume: %d rows, want 2", len(rows))
	}
}

// Ctrl-C while the sweep still waits for an agent that does not answer
// ends the sweep at once; the host is interrupted, not failed.
func TestSweepInterruptWhileConnecting(t *testing.T) {
	model := sharedModel(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), model)
	if err := syscall.Kill(a.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(a.pid, syscall.SIGCONT) })

	out := filepath.Join(t.TempDir(), "out")
	sweep := startPackbench(t, "sweep", "--agents", a.addr, "--binary", "/bin/true",
		"--model", model, "--outdir", out)
	// the sweep asks the stopped agent for its facts, retrying for about
	// half a minute; a Ctrl-C that waited for that would find it failed
	time.Sleep(time.Second)
	sweep.interrupt(t)
	if fl := readFleet(t, out); fl.Hosts[0].Status != "interrupted" {
		t.Errorf("host = %+v, want interrupted", fl.Hosts[0])
	}
}

// A resume given another workload than the one a host's rows were measured
// with is refused for that host, even when fleet.json recorded no flags
// (a hand-edited file, or one from an older packbench).
func TestSweepResumeRefusesAnotherWorkloadWithoutRecordedFlags(t *testing.T) {
	runDir := t.TempDir()
	runner := fakeRunner(t, runDir, filepath.Join(runDir, "pids"))
	model := sharedModel(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), runDir, model)
	out := filepath.Join(t.TempDir(), "out")
	args := func(n string) []string {
		return []string{"sweep", "--agents", a.addr, "--binary", runner, "--model", model,
			"--no-preflight", "--runner", "llama-completion", "--instances", "1,2",
			"--threads-min", "1", "--threads-max", "1", "--ladder-span", "0",
			"--reserve-cores", "0", "--ctx-size", "256", "-n", n, "--outdir", out}
	}
	if code, _, stderr := runPackbench(t, args("16")...); code != 0 {
		t.Fatalf("first sweep: exit %d\n%s", code, stderr)
	}
	fleetPath := filepath.Join(out, "fleet.json")
	var doc map[string]any
	data, err := os.ReadFile(fleetPath)
	if err != nil || json.Unmarshal(data, &doc) != nil {
		t.Fatalf("fleet.json: %v", err)
	}
	delete(doc, "flags")
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(fleetPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(out, "a1", "results.csv"))
	if err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runPackbench(t, append(args("99"), "--resume")...)
	if code != 1 {
		t.Errorf("resume with -n 99: exit %d, want 1\n%s", code, stderr)
	}
	if fl := readFleet(t, out); !strings.Contains(fl.Hosts[0].Reason,
		"n_predict 99, was 16") {
		t.Errorf("host = %+v, want a reason naming n_predict 99, was 16", fl.Hosts[0])
	}
	if after, _ := os.ReadFile(filepath.Join(out, "a1", "results.csv")); string(after) !=
		string(before) {
		t.Errorf("refused resume changed results.csv:\n%s\nwas\n%s", after, before)
	}
}

// A second Ctrl-C, while the first still waits for a pack to stop, ends the
// sweep at once; what finished before is on disk.
func TestSweepSecondInterruptQuitsAtOnce(t *testing.T) {
	runDir := t.TempDir()
	// a runner that ignores SIGTERM and ends on its own a few seconds later
	slow := filepath.Join(runDir, "slow-llama-completion")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\ntrap '' TERM\nsleep 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	model := sharedModel(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), runDir, model)
	out := filepath.Join(t.TempDir(), "out")
	sweep := startPackbench(t, "sweep", "--agents", a.addr, "--binary", slow, "--model", model,
		"--no-preflight", "--runner", "llama-completion", "--instances", "1",
		"--threads-min", "1", "--threads-max", "1", "--ladder-span", "0",
		"--reserve-cores", "0", "--ctx-size", "256", "-n", "16", "--outdir", out)
	waitFor(t, "the pack's start", func() bool {
		return strings.Contains(sweep.stderr.String(), "runner identified")
	})
	time.Sleep(300 * time.Millisecond) // the pack is running
	if err := sweep.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first interrupt's message", func() bool {
		return strings.Contains(sweep.stderr.String(), "Ctrl-C again quits at once")
	})
	if err := sweep.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sweep.exited:
		sweep.exited <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Errorf("sweep after a second Ctrl-C: %v, want killed by the signal", err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("sweep still running 3 s after a second Ctrl-C; the runner ends at 4 s")
	}
	if _, err := os.Stat(filepath.Join(out, "fleet.json")); err != nil {
		t.Errorf("fleet.json after a second Ctrl-C: %v, want it kept", err)
	}
}
