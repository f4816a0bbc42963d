package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/packbench/packbench/pkg/runner"
)

// probeTimeout is what the tests give each preflight probe; fakes answer at
// once and the real engine in about a second.
const probeTimeout = 15 * time.Second

func TestClassify(t *testing.T) {
	tests := []struct {
		file      string
		version   string
		want      runner.Kind
		wantFlags []string
	}{
		{"help-node-llama-cpp.txt", "3.21.1", runner.NodeLlamaCpp, nil},
		{"help-llamafile.txt", "llamafile v0.9.3", runner.Llamafile,
			[]string{"--simple-io", "--interactive-first", "--ctx-size", "-ngl", "--n-gpu-layers",
				"--gpu"}},
		{"help-llamafile-nogpu.txt", "", runner.Llamafile,
			[]string{"--ctx-size", "-ngl", "--n-gpu-layers"}},
		{"help-llama-cli.txt", "", runner.LlamaCLI,
			[]string{"-st", "--single-turn", "--simple-io", "--ctx-size", "-ngl",
				"--n-gpu-layers"}},
		{"help-llama-cli-lists-no-cnv.txt", "", runner.LlamaCLI,
			[]string{"-no-cnv", "--no-conversation", "-st", "--single-turn", "--simple-io",
				"--ctx-size", "-ngl", "--n-gpu-layers"}},
		{"help-llama-cli-2025.txt", "", runner.LlamaCompletion,
			[]string{"-no-cnv", "--no-conversation", "-st", "--single-turn", "--simple-io",
				"--interactive-first", "--ctx-size", "-ngl", "--n-gpu-layers"}},
		{"help-llama-completion.txt", "version: 7300 (0a1b2c3)", runner.LlamaCompletion,
			[]string{"-no-cnv", "--no-conversation", "-st", "--single-turn", "--simple-io",
				"--interactive-first", "--ctx-size", "-ngl", "--n-gpu-layers"}},
		{"help-main-2023.txt", "", runner.LlamaCompletion,
			[]string{"--interactive-first", "--ctx-size"}},
		{"help-llama-simple.txt", "", runner.LlamaSimple, []string{"-ngl"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, flags, err := runner.Classify(loadHelp(t, tt.file) + "\n" + tt.version)
			if err != nil || got != tt.want {
				t.Fatalf("Classify(%s) = %q, %v, want %q", tt.file, got, err, tt.want)
			}
			if diff := cmp.Diff(tt.wantFlags, flags); diff != "" {
				t.Errorf("Classify(%s) flags mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}

	// a file name is not a kind: llama-simple renamed m.llamafile is still llama-simple.
	renamed := strings.ReplaceAll(loadHelp(t, "help-llama-simple.txt"), "./llama-simple",
		"./m.llamafile")
	if got, _, err := runner.Classify(renamed); err != nil || got != runner.LlamaSimple {
		t.Errorf("Classify(llama-simple named m.llamafile) = %q, %v, want llama-simple", got, err)
	}

	for _, file := range []string{"help-unknown.txt", "help-run-detectors.txt"} {
		t.Run(file, func(t *testing.T) {
			got, _, err := runner.Classify(loadHelp(t, file))
			if !errors.Is(err, runner.ErrUnrecognised) {
				t.Errorf("Classify(%s) = %q, %v, want ErrUnrecognised", file, got, err)
			}
		})
	}
}

func TestClassifyCleansText(t *testing.T) {
	// colour codes around the options and man-page overstrike for bold.
	text := "\x1b[1m-st\x1b[0m, --single-turn\n-\b--\b-s\bsi\bim\bmp\bpl\ble\be-\b-i\bio\bo\n"
	if got, _, err := runner.Classify(text); err != nil || got != runner.LlamaCLI {
		t.Errorf("Classify(escaped chat help) = %q, %v, want llama-cli", got, err)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"3.21.1\n", "3.21.1"},
		{"llamafile v0.9.3\n", "0.9.3"},
		{"llamafile v0.10.0-rc1\n", "0.10.0-rc1"},
		{"version: 7300 (0a1b2c3)\nbuilt with GNU 13.3.0 for Linux x86_64\n", "b7300-0a1b2c3"},
		{"\n\x1b[32msomething odd\x1b[0m\nmore\n", "something odd"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := runner.ParseVersion(tt.in); got != tt.want {
				t.Errorf("ParseVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDetectFakeRunners(t *testing.T) {
	tests := []struct {
		name     string
		help     string
		version  string
		helpExit int
		want     runner.Kind
		wantVer  string
		wantProf runner.Profile
	}{
		{"llama-completion", "help-llama-completion.txt", "version: 7300 (0a1b2c3)\n", 0,
			runner.LlamaCompletion, "b7300-0a1b2c3",
			runner.Profile{Kind: runner.LlamaCompletion, NoConversation: true}},
		{"main", "help-main-2023.txt", "", 0, runner.LlamaCompletion, "",
			runner.Profile{Kind: runner.LlamaCompletion}},
		{"llama-cli", "help-llama-cli.txt", "version: 7400 (abcdef0)\n", 0,
			runner.LlamaCLI, "b7400-abcdef0", runner.Profile{Kind: runner.LlamaCLI}},
		{"llama-simple", "help-llama-simple.txt", "", 1, runner.LlamaSimple, "",
			runner.Profile{Kind: runner.LlamaSimple}},
		{"llamafile", "help-llamafile.txt", "llamafile v0.9.3\n", 0, runner.Llamafile, "0.9.3",
			runner.Profile{Kind: runner.Llamafile, GPUDisable: true}},
		{"node-llama-cpp", "help-node-llama-cpp.txt", "3.21.1\n", 0, runner.NodeLlamaCpp, "3.21.1",
			runner.Profile{Kind: runner.NodeLlamaCpp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := fakeRunner(t, tt.name, tt.help, tt.version, tt.helpExit)
			pf, err := runner.Detect(context.Background(), bin, runner.ExecAuto, probeTimeout)
			if err != nil {
				t.Fatalf("Detect(%s) error = %v", tt.name, err)
			}
			if pf.Kind != tt.want || pf.Version != tt.wantVer || pf.ExecMode != runner.ExecDirect {
				t.Errorf("Detect(%s) = %s %q %s, want %s %q direct",
					tt.name, pf.Kind, pf.Version, pf.ExecMode, tt.want, tt.wantVer)
			}
			prof, err := pf.Profile()
			if err != nil || prof != tt.wantProf {
				t.Errorf("Detect(%s).Profile() = %+v, %v, want %+v",
					tt.name, prof, err, tt.wantProf)
			}
		})
	}
}

func TestDetectUnrecognised(t *testing.T) {
	bin := fakeRunner(t, "frobnicate", "help-unknown.txt", "frobnicate 1.0\n", 0)
	_, err := runner.Detect(context.Background(), bin, runner.ExecAuto, probeTimeout)
	if !errors.Is(err, runner.ErrUnrecognised) || !strings.Contains(err.Error(), "--runner") {
		t.Errorf("Detect(unknown) error = %v, want ErrUnrecognised and a hint to pass --runner",
			err)
	}

	// binfmt_misc ran another loader on the file (case 05): hint at sh.
	bin = fakeRunner(t, "m.llamafile", "help-run-detectors.txt", "", 2)
	_, err = runner.Detect(context.Background(), bin, runner.ExecAuto, probeTimeout)
	if !errors.Is(err, runner.ErrUnrecognised) || !strings.Contains(err.Error(), "--exec-via sh") {
		t.Errorf("Detect(run-detectors) error = %v, want ErrUnrecognised"+
			" and a hint to use --exec-via sh", err)
	}
}

func TestDetectBadBinary(t *testing.T) {
	dir := t.TempDir()
	if _, err := runner.Detect(context.Background(), filepath.Join(dir, "nope"), runner.ExecAuto,
		probeTimeout); err == nil || !strings.Contains(err.Error(), "--binary") {
		t.Errorf("Detect(missing) error = %v, want a --binary error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bin := fakeRunner(t, "llama-cli", "help-llama-cli.txt", "", 0)
	_, err := runner.Detect(ctx, bin, runner.ExecAuto, probeTimeout)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Detect(cancelled context) error = %v, want context.Canceled", err)
	}
}

// TestDetectTimeoutKillsGroup runs fakes whose --help never ends: Detect
// must give up at the timeout and leave no process behind, neither the
// runner itself nor a child it started in the background.
func TestDetectTimeoutKillsGroup(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"exec sleep", "#!/bin/sh\necho $$ > \"$PIDFILE\"\nexec sleep 1000\n"},
		{"background child", "#!/bin/sh\nsleep 1000 &\necho $! > \"$PIDFILE\"\nwait\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "pid")
			t.Setenv("PIDFILE", pidFile)
			bin := writeFile(t, dir, "hang", tt.body)

			ctx := context.Background()
			_, err := runner.Detect(ctx, bin, runner.ExecAuto, 300*time.Millisecond)
			if !errors.Is(err, runner.ErrTimeout) {
				t.Fatalf("Detect(hang) error = %v, want ErrTimeout", err)
			}
			pid := readPid(t, pidFile)
			if !processGone(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("process %d still runs after Detect returned", pid)
			}
		})
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// processGone reports whether pid has exited. A zombie counts as gone: when
// no init reaps orphans in a container it stays a zombie. A SIGKILLed
// process can take a moment to be torn down, so it polls for up to 5 s.
func processGone(pid int) bool {
	for range 100 {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		// the state follows the command name in parentheses
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			if s := stat[i+2]; s == 'Z' || s == 'X' {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestDetectRealEngine(t *testing.T) {
	pf, err := runner.Detect(context.Background(), enginePath(t), runner.ExecAuto, probeTimeout)
	if err != nil {
		t.Fatalf("Detect(node-llama-cpp) error = %v", err)
	}
	if pf.Kind != runner.NodeLlamaCpp || pf.Version != "3.21.1" ||
		pf.ExecMode != runner.ExecDirect {
		t.Errorf("Detect(node-llama-cpp) = %s %q %s, want node-llama-cpp \"3.21.1\" direct",
			pf.Kind, pf.Version, pf.ExecMode)
	}
}

func TestPreflightJSON(t *testing.T) {
	pf := runner.Preflight{
		Kind: runner.Llamafile, ExecMode: runner.ExecSh, Version: "0.9.3",
		HelpFlags: []string{"--gpu"}, Notes: []string{"a note"},
	}
	b, err := json.Marshal(pf)
	if err != nil {
		t.Fatalf("json.Marshal(Preflight) error = %v", err)
	}
	want := `{"kind":"llamafile","exec_mode":"sh","version":"0.9.3","help_flags":["--gpu"],` +
		`"notes":["a note"]}`
	if string(b) != want {
		t.Errorf("json.Marshal(Preflight) = %s, want %s", b, want)
	}

	var back runner.Preflight
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal(Preflight) error = %v", err)
	}
	if diff := cmp.Diff(pf, back); diff != "" {
		t.Errorf("Preflight JSON round trip mismatch (-want +got):\n%s", diff)
	}
}
