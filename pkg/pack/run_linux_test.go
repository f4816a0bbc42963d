//go:build linux

package pack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/packbench/packbench/pkg/pack"
)

// testLogger logs through t at debug level.
func testLogger(t *testing.T) hclog.Logger {
	t.Helper()
	return hclog.New(&hclog.LoggerOptions{
		Name:   t.Name(),
		Level:  hclog.Debug,
		Output: testWriter{t},
	})
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// writeScript writes an executable /bin/sh script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatalf("write script: %v", err)
	}
	return path
}

// readFile returns the file's content.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read output: %v", err)
	}
	return string(b)
}

// shInstance runs script through a file in dir, with outputs next to it.
func shInstance(t *testing.T, dir string, index int, script string, args ...string) pack.Instance {
	t.Helper()
	name := "runner" + strconv.Itoa(index)
	return pack.Instance{
		Index:      index,
		Path:       writeScript(t, dir, name+".sh", script),
		Args:       args,
		StdoutPath: filepath.Join(dir, name+".out"),
		StderrPath: filepath.Join(dir, name+".err"),
	}
}

// helperInstance re-executes the test binary as the named helper.
func helperInstance(dir string, index int, helper string, env ...string) pack.Instance {
	name := "helper" + strconv.Itoa(index)
	return pack.Instance{
		Index:      index,
		Path:       os.Args[0],
		Env:        append(append(os.Environ(), helperEnv+"="+helper), env...),
		StdoutPath: filepath.Join(dir, name+".out"),
		StderrPath: filepath.Join(dir, name+".err"),
	}
}

// fakeObserver records what Run reports.
type fakeObserver struct {
	mu      sync.Mutex // guards the fields below
	started map[int]int
	exited  map[int]pack.InstanceResult
}

var _ pack.Observer = (*fakeObserver)(nil)

func newFakeObserver() *fakeObserver {
	return &fakeObserver{started: map[int]int{}, exited: map[int]pack.InstanceResult{}}
}

func (o *fakeObserver) InstanceStarted(index, pid int, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started[index] = pid
}

func (o *fakeObserver) InstanceExited(r pack.InstanceResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.exited[r.Index] = r
}

func TestRunExitCodesAndOutput(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantCode   int
		wantSignal string
		wantOut    string
		wantErr    string
	}{
		{"success", "echo out-line; echo err-line >&2", 0, "", "out-line\n", "err-line\n"},
		{"exit code", "echo bye; exit 3", 3, "", "bye\n", ""},
		{"sigkill", "echo x; kill -KILL $$", 137, "SIGKILL", "x\n", ""},
		{"sigterm", "echo y >&2; kill -TERM $$", 143, "SIGTERM", "", "y\n"},
	}
	dir := t.TempDir()
	spec := pack.Spec{}
	for i, tt := range tests {
		spec.Instances = append(spec.Instances, shInstance(t, dir, i, tt.script))
	}

	res, err := pack.Run(context.Background(), testLogger(t), spec, nil)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}
	if got, want := len(res.Instances), len(tests); got != want {
		t.Fatalf("len(Run().Instances) = %d, want %d", got, want)
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, inst := res.Instances[i], spec.Instances[i]
			if got.Index != i || got.ExitCode != tt.wantCode || got.Signal != tt.wantSignal {
				t.Errorf("index, exit code, signal = %d, %d, %q, want %d, %d, %q",
					got.Index, got.ExitCode, got.Signal, i, tt.wantCode, tt.wantSignal)
			}
			if got.PID <= 0 || got.ExecMode != pack.ExecDirect || got.StartError != "" {
				t.Errorf("pid, exec mode, start error = %d, %q, %q, want > 0, %q, \"\"",
					got.PID, got.ExecMode, got.StartError, pack.ExecDirect)
			}
			if out := readFile(t, inst.StdoutPath); out != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out, tt.wantOut)
			}
			if out := readFile(t, inst.StderrPath); out != tt.wantErr {
				t.Errorf("stderr = %q, want %q", out, tt.wantErr)
			}
			if got.StdoutBytes != int64(len(tt.wantOut)) ||
				got.StderrBytes != int64(len(tt.wantErr)) || got.DroppedBytes != 0 {
				t.Errorf("stdout, stderr, dropped bytes = %d, %d, %d, want %d, %d, 0",
					got.StdoutBytes, got.StderrBytes, got.DroppedBytes,
					len(tt.wantOut), len(tt.wantErr))
			}
			if got.TimedOut || got.Cancelled || got.Ended.Before(got.Started) {
				t.Errorf("timed out, cancelled, started, ended = %v, %v, %v, %v",
					got.TimedOut, got.Cancelled, got.Started, got.Ended)
			}
		})
	}

	first, last := res.Instances[0].Started, res.Instances[0].Started
	for _, ir := range res.Instances {
		if ir.Started.Before(first) {
			first = ir.Started
		}
		if ir.Started.After(last) {
			last = ir.Started
		}
	}
	if got, want := res.StartSkew, last.Sub(first); got != want {
		t.Errorf("StartSkew = %v, want %v", got, want)
	}
	if !res.Started.Equal(first) || res.Ended.Before(res.Started) {
		t.Errorf("Result started, ended = %v, %v, want %v, later", res.Started, res.Ended, first)
	}
}

// hangScript starts a grandchild and waits for it; with "ignore" both
// ignore SIGTERM.
const hangScript = `[ "$1" = ignore ] && trap '' TERM
sleep 1000 &
echo "grandchild $!"
wait $!`

// waitGrandchild polls path until the hang script printed its grandchild's
// pid, and returns the pid.
func waitGrandchild(t *testing.T, path string) int {
	t.Helper()
	for range 2000 {
		b, _ := os.ReadFile(path)
		if s, ok := strings.CutPrefix(string(b), "grandchild "); ok && strings.HasSuffix(s, "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				t.Fatalf("parse grandchild pid %q: %v", s, err)
			}
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no grandchild pid in %s", path)
	return 0
}

// assertGone reaps pid if it was orphaned to this process and checks that
// kill(pid, 0) fails with ESRCH.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	var err error
	for range 500 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err = unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = unix.Kill(pid, unix.SIGKILL) // the grandchild this test started
	t.Errorf("kill(%d, 0) = %v, want %v", pid, err, unix.ESRCH)
}

func TestRunStopsWholeGroup(t *testing.T) {
	tests := []struct {
		name       string
		arg        string
		timeout    time.Duration
		cancel     bool
		wantCode   int
		wantSignal string
	}{
		{"timeout, sigterm ignored", "ignore", time.Second, false, 137, "SIGKILL"},
		{"timeout, sigterm honoured", "", time.Second, false, 143, "SIGTERM"},
		{"cancel, sigterm ignored", "ignore", 0, true, 137, "SIGKILL"},
		{"cancel, sigterm honoured", "", 0, true, 143, "SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			inst := shInstance(t, dir, 0, hangScript, tt.arg)
			spec := pack.Spec{
				Instances: []pack.Instance{inst},
				Timeout:   tt.timeout,
				Grace:     300 * time.Millisecond,
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			type runOut struct {
				res pack.Result
				err error
			}
			done := make(chan runOut, 1)
			go func() {
				res, err := pack.Run(ctx, testLogger(t), spec, nil)
				done <- runOut{res, err}
			}()
			grandchild := waitGrandchild(t, inst.StdoutPath)
			if tt.cancel {
				cancel()
			}
			out := <-done

			if tt.cancel != errors.Is(out.err, context.Canceled) {
				t.Errorf("Run() error = %v, want context.Canceled: %v", out.err, tt.cancel)
			}
			got := out.res.Instances[0]
			if got.ExitCode != tt.wantCode || got.Signal != tt.wantSignal {
				t.Errorf("exit code, signal = %d, %q, want %d, %q",
					got.ExitCode, got.Signal, tt.wantCode, tt.wantSignal)
			}
			if got.TimedOut != (tt.timeout > 0) || got.Cancelled != tt.cancel {
				t.Errorf("timed out, cancelled = %v, %v, want %v, %v",
					got.TimedOut, got.Cancelled, tt.timeout > 0, tt.cancel)
			}
			if least := tt.timeout + spec.Grace; tt.arg == "ignore" && !tt.cancel {
				if d := got.Ended.Sub(got.Started); d < least {
					t.Errorf("ended - started = %v, want >= %v", d, least)
				}
			}
			assertGone(t, grandchild)
		})
	}
}

func TestRunLogCapKeepsFinalLine(t *testing.T) {
	const flood = 50_000_000
	const logCap = 1 << 20
	dir := t.TempDir()
	inst := helperInstance(dir, 0, "flood", helperFloodEnv+"="+strconv.Itoa(flood))
	spec := pack.Spec{Instances: []pack.Instance{inst}, LogCap: logCap}

	res, err := pack.Run(context.Background(), testLogger(t), spec, nil)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}
	got := res.Instances[0]
	wantTotal := int64(flood/3*3 + len(finalLine))
	if got.ExitCode != 0 || got.StdoutBytes != wantTotal {
		t.Fatalf("exit code, stdout bytes = %d, %d, want 0, %d",
			got.ExitCode, got.StdoutBytes, wantTotal)
	}

	out := readFile(t, inst.StdoutPath)
	if !strings.HasSuffix(out, "> \n"+finalLine) {
		t.Errorf("stdout ends with %q, want the final line", out[max(0, len(out)-200):])
	}
	if size := int64(len(out)); size > logCap+256<<10+100 {
		t.Errorf("stdout size = %d, want <= %d", size, logCap+256<<10+100)
	}
	marker := "[packbench: " + strconv.FormatInt(got.DroppedBytes, 10) + " bytes dropped]\n"
	// the marker starts a line of its own: after the head, or one newline later.
	i := strings.Index(out, marker)
	if i != logCap && i != logCap+1 {
		t.Fatalf("index of %q = %d, want %d or %d", marker, i, logCap, logCap+1)
	}
	kept := int64(len(out) - len(marker) - (i - logCap))
	if got.StdoutBytes-got.DroppedBytes != kept {
		t.Errorf("stdout bytes - dropped = %d, want kept %d",
			got.StdoutBytes-got.DroppedBytes, kept)
	}
}

func TestRunExecFormatRetry(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "m.llamafile")
	body := "MZqFpD='\n'\necho \"ape $0 $*\"\n"
	if err := os.WriteFile(fixture, []byte(body), 0o755); err != nil {
		t.Fatalf("write fixture: %v", err)
	}

	wantOut := "ape " + fixture + " -p hi\n"
	tests := []struct {
		name     string
		path     string
		dir      string
		retry    bool
		wantCode int
		wantMode string
		wantOut  string
	}{
		{"direct fails", fixture, "", false, -1, pack.ExecDirect, ""},
		{"retry via sh", fixture, "", true, 0, pack.ExecSh, wantOut},
		{"relative path", "./m.llamafile", dir, true, 0, pack.ExecSh, wantOut},
	}
	spec := pack.Spec{}
	for i, tt := range tests {
		spec.Instances = append(spec.Instances, pack.Instance{
			Index:      i,
			Path:       tt.path,
			Args:       []string{"-p", "hi"},
			Dir:        tt.dir,
			StdoutPath: filepath.Join(dir, strconv.Itoa(i)+".out"),
			RetryViaSh: tt.retry,
		})
	}
	res, err := pack.Run(context.Background(), testLogger(t), spec, nil)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.Instances[i]
			if got.ExitCode != tt.wantCode || got.ExecMode != tt.wantMode {
				t.Errorf("exit code, exec mode = %d, %q, want %d, %q (binfmt_misc MZ handler?)",
					got.ExitCode, got.ExecMode, tt.wantCode, tt.wantMode)
			}
			failed := tt.wantCode < 0
			if failed != (got.StartError != "") || failed != (got.PID == 0) {
				t.Errorf("start error, pid = %q, %d, want failed: %v",
					got.StartError, got.PID, failed)
			}
			if out := readFile(t, spec.Instances[i].StdoutPath); out != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out, tt.wantOut)
			}
		})
	}
}

func TestRunStartErrorsLeaveOthersRunning(t *testing.T) {
	dir := t.TempDir()
	ok := shInstance(t, dir, 3, "echo fine")
	tests := []struct {
		name string
		inst pack.Instance
	}{
		{"missing binary", pack.Instance{Path: filepath.Join(dir, "no-such-runner")}},
		{"not in PATH", pack.Instance{Path: "no-such-runner-packbench"}},
		{"missing output dir", pack.Instance{
			Path:       ok.Path,
			StdoutPath: filepath.Join(dir, "missing", "out"),
		}},
	}
	obs := newFakeObserver()
	spec := pack.Spec{}
	for i, tt := range tests {
		tt.inst.Index = i
		spec.Instances = append(spec.Instances, tt.inst)
	}
	spec.Instances = append(spec.Instances, ok)

	res, err := pack.Run(context.Background(), testLogger(t), spec, obs)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.Instances[i]
			if got.StartError == "" || got.ExitCode != -1 || got.PID != 0 {
				t.Errorf("start error, exit code, pid = %q, %d, %d, want set, -1, 0",
					got.StartError, got.ExitCode, got.PID)
			}
			if _, ok := obs.started[i]; ok {
				t.Errorf("InstanceStarted called for instance %d, want not", i)
			}
			if r, ok := obs.exited[i]; !ok || r.StartError != got.StartError {
				t.Errorf("InstanceExited(%d) = %+v, %v, want the result", i, r, ok)
			}
		})
	}

	got := res.Instances[3]
	if got.ExitCode != 0 || got.StartError != "" || readFile(t, ok.StdoutPath) != "fine\n" {
		t.Errorf("healthy instance: exit code, start error = %d, %q, want 0, \"\"",
			got.ExitCode, got.StartError)
	}
	if pid := obs.started[3]; pid != got.PID {
		t.Errorf("InstanceStarted(3) pid = %d, want %d", pid, got.PID)
	}
	if res.StartSkew != 0 {
		t.Errorf("StartSkew = %v, want 0 with one started instance", res.StartSkew)
	}
}

func TestRunChildIsolation(t *testing.T) {
	dir := t.TempDir()
	script := `read -r stat < /proc/$$/stat; echo "$stat"; readlink /proc/$$/fd/0`
	inst := shInstance(t, dir, 0, script)
	res, err := pack.Run(context.Background(), testLogger(t), pack.Spec{
		Instances: []pack.Instance{inst},
	}, nil)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}

	lines := strings.Split(readFile(t, inst.StdoutPath), "\n")
	if len(lines) < 2 {
		t.Fatalf("stdout lines = %q, want stat and stdin", lines)
	}
	_, rest, _ := strings.Cut(lines[0], ") ")
	fields := strings.Fields(rest) // state ppid pgrp session tty_nr ...
	pid := strconv.Itoa(res.Instances[0].PID)
	if len(fields) < 5 || fields[2] != pid || fields[3] != pid || fields[4] != "0" {
		t.Errorf("pgrp, session, tty_nr of %q, want %s, %s, 0", rest, pid, pid)
	}
	if lines[1] != os.DevNull {
		t.Errorf("stdin = %q, want %q", lines[1], os.DevNull)
	}
}

func TestRunMergedStreams(t *testing.T) {
	dir := t.TempDir()
	inst := shInstance(t, dir, 0, "echo a; echo b >&2; echo c")
	inst.StderrPath = inst.StdoutPath
	res, err := pack.Run(context.Background(), testLogger(t), pack.Spec{
		Instances: []pack.Instance{inst},
	}, nil)
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}

	if out := readFile(t, inst.StdoutPath); out != "a\nb\nc\n" {
		t.Errorf("merged output = %q, want %q", out, "a\nb\nc\n")
	}
	if got := res.Instances[0]; got.StdoutBytes != 6 || got.StderrBytes != 0 {
		t.Errorf("stdout, stderr bytes = %d, %d, want 6, 0", got.StdoutBytes, got.StderrBytes)
	}
}

func TestRunMemoryPeaks(t *testing.T) {
	const allocated = 64 << 20
	tests := []struct {
		name        string
		helper      string
		sampleEvery time.Duration
		wrapped     bool // started by a shell that execs the helper later
		wantPSS     bool
	}{
		{"sampled", "alloc", 20 * time.Millisecond, false, true},
		{"sampled after a second exec", "alloc", 20 * time.Millisecond, true, true},
		{"sampling disabled", "alloc", -1, false, false},
		// the default period must still catch a peak 0.9-1.2 s into a run
		{"late peak, default period", "late-alloc", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := helperInstance(t.TempDir(), 0, tt.helper)
			if tt.wrapped {
				// the sampler sees the shell first, then the helper it becomes
				inst.Args = []string{"-c", `sleep 0.3; exec "$0"`, inst.Path}
				inst.Path = "/bin/sh"
			}
			spec := pack.Spec{Instances: []pack.Instance{inst}, SampleEvery: tt.sampleEvery}
			res, err := pack.Run(context.Background(), testLogger(t), spec, nil)
			if err != nil {
				t.Fatalf("Run() error = %v, want nil", err)
			}

			got := res.Instances[0]
			if got.ExitCode != 0 || got.PeakRSSBytes < allocated {
				t.Errorf("exit code, peak rss = %d, %d, want 0, >= %d",
					got.ExitCode, got.PeakRSSBytes, allocated)
			}
			if pss := got.PeakPSSBytes; tt.wantPSS != (pss >= allocated/2) ||
				!tt.wantPSS && pss != 0 {
				t.Errorf("peak pss = %d, want >= %d: %v", pss, allocated/2, tt.wantPSS)
			}
		})
	}
}

func TestRunInvalidSpec(t *testing.T) {
	tests := []struct {
		name string
		spec pack.Spec
	}{
		{"no instances", pack.Spec{}},
		{"negative timeout", pack.Spec{
			Instances: []pack.Instance{{Path: "/bin/true"}},
			Timeout:   -time.Second,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pack.Run(context.Background(), nil, tt.spec, nil)
			if !errors.Is(err, pack.ErrInvalidSpec) {
				t.Errorf("Run() error = %v, want %v", err, pack.ErrInvalidSpec)
			}
		})
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	spec := pack.Spec{Instances: []pack.Instance{shInstance(t, dir, 0, "echo never")}}

	res, err := pack.Run(ctx, testLogger(t), spec, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run() error = %v, want %v", err, context.Canceled)
	}
	got := res.Instances[0]
	if !got.Cancelled || got.ExitCode != -1 || got.PID != 0 || got.StartError == "" {
		t.Errorf("cancelled, exit code, pid, start error = %v, %d, %d, %q, want true, -1, 0, set",
			got.Cancelled, got.ExitCode, got.PID, got.StartError)
	}
	if out := readFile(t, spec.Instances[0].StdoutPath); out != "" {
		t.Errorf("stdout = %q, want empty", out)
	}
}

func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	spec := pack.Spec{
		Instances: []pack.Instance{
			shInstance(t, dir, 0, "echo quick"),
			shInstance(t, dir, 1, hangScript),
			{Index: 2, Path: filepath.Join(dir, "missing"), StdoutPath: filepath.Join(dir, "m")},
		},
		Timeout:     300 * time.Millisecond,
		Grace:       100 * time.Millisecond,
		SampleEvery: 10 * time.Millisecond,
	}
	_, err := pack.Run(context.Background(), testLogger(t), spec, newFakeObserver())
	if err != nil {
		t.Fatalf("Run() error = %v, want nil", err)
	}

	got := runtime.NumGoroutine()
	for i := 0; i < 200 && got > before; i++ {
		time.Sleep(10 * time.Millisecond)
		got = runtime.NumGoroutine()
	}
	if got > before {
		buf := make([]byte, 1<<20)
		t.Errorf("NumGoroutine() = %d, want <= %d\n%s", got, before, buf[:runtime.Stack(buf, true)])
	}
}
