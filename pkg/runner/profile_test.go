package runner_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/packbench/packbench/pkg/runner"
)

// baseWorkload is the workload the argv tables use.
func baseWorkload() runner.Workload {
	return runner.Workload{
		Model: "/models/tiny.gguf", Prompt: "Hello there", NPredict: 16,
		Seed: 42, CtxSize: 256, Temp: 0.7,
	}
}

func TestProfileCommandArgs(t *testing.T) {
	withTop := baseWorkload()
	withTop.TopP, withTop.TopK = ptr(0.9), ptr(40)
	withExtra := baseWorkload()
	withExtra.ExtraArgs = []string{"--ubatch", "1024"}
	noModel := baseWorkload()
	noModel.Model = ""
	dash := baseWorkload()
	dash.Prompt = "-hello"
	fixedLen := baseWorkload()
	fixedLen.IgnoreEOS = true

	completion := runner.Profile{Kind: runner.LlamaCompletion, NoConversation: true}
	tests := []struct {
		name    string
		profile runner.Profile
		w       runner.Workload
		want    []string
	}{
		{"llama-completion", completion, baseWorkload(),
			[]string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16", "-t", "2",
				"-c", "256", "--seed", "42", "--temp", "0.7", "-no-cnv", "-ngl", "0"}},
		{"llama-completion top-p top-k", completion, withTop,
			[]string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16", "-t", "2",
				"-c", "256", "--seed", "42", "--temp", "0.7", "--top-p", "0.9",
				"--top-k", "40", "-no-cnv", "-ngl", "0"}},
		{"llama-completion ignoring EOS", completion, fixedLen,
			[]string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16", "-t", "2",
				"-c", "256", "--seed", "42", "--temp", "0.7", "-no-cnv", "--ignore-eos",
				"-ngl", "0"}},
		{"old main without -no-cnv", runner.Profile{Kind: runner.LlamaCompletion},
			baseWorkload(), []string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16",
				"-t", "2", "-c", "256", "--seed", "42", "--temp", "0.7", "-ngl", "0"}},
		{"llama-completion extra args last", completion, withExtra,
			[]string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16", "-t", "2",
				"-c", "256", "--seed", "42", "--temp", "0.7", "-no-cnv", "-ngl", "0",
				"--ubatch", "1024"}},
		{"llama-cli", runner.Profile{Kind: runner.LlamaCLI},
			baseWorkload(), []string{"-m", "/models/tiny.gguf", "-p", "Hello there", "-n", "16",
				"-t", "2", "-c", "256", "--seed", "42", "--temp", "0.7", "-st", "--simple-io",
				"-ngl", "0"}},
		{"llama-simple", runner.Profile{Kind: runner.LlamaSimple},
			withTop, []string{"-m", "/models/tiny.gguf", "-n", "16", "-ngl", "0", "Hello there"}},
		{"llama-simple extra args before prompt", runner.Profile{Kind: runner.LlamaSimple},
			withExtra, []string{"-m", "/models/tiny.gguf", "-n", "16", "-ngl", "0",
				"--ubatch", "1024", "Hello there"}},
		{"llamafile", runner.Profile{Kind: runner.Llamafile},
			baseWorkload(), []string{"--cli", "-m", "/models/tiny.gguf", "-p", "Hello there",
				"-n", "16", "-t", "2", "-c", "256", "--seed", "42", "--temp", "0.7", "-ngl", "0"}},
		{"llamafile with --gpu", runner.Profile{Kind: runner.Llamafile, GPUDisable: true},
			baseWorkload(), []string{"--cli", "-m", "/models/tiny.gguf", "-p", "Hello there",
				"-n", "16", "-t", "2", "-c", "256", "--seed", "42", "--temp", "0.7", "-ngl", "0",
				"--gpu", "disable"}},
		{"llamafile own weights", runner.Profile{Kind: runner.Llamafile},
			noModel, []string{"--cli", "-p", "Hello there", "-n", "16", "-t", "2", "-c", "256",
				"--seed", "42", "--temp", "0.7", "-ngl", "0"}},
		{"node-llama-cpp", runner.Profile{Kind: runner.NodeLlamaCpp},
			baseWorkload(), []string{"complete", "-m", "/models/tiny.gguf", "--text", "Hello there",
				"--maxTokens", "16", "--threads", "2", "-c", "256", "--seed", "42",
				"--temperature", "0.7", "--printTimings", "--gpu", "false", "--gpuLayers", "0"}},
		{"node-llama-cpp top-p top-k", runner.Profile{Kind: runner.NodeLlamaCpp},
			withTop, []string{"complete", "-m", "/models/tiny.gguf", "--text", "Hello there",
				"--maxTokens", "16", "--threads", "2", "-c", "256", "--seed", "42",
				"--temperature", "0.7", "--topP", "0.9", "--topK", "40", "--printTimings",
				"--gpu", "false", "--gpuLayers", "0"}},
		{"node-llama-cpp prompt with leading dash", runner.Profile{Kind: runner.NodeLlamaCpp},
			dash, []string{"complete", "-m", "/models/tiny.gguf", "--text=-hello",
				"--maxTokens", "16", "--threads", "2", "-c", "256", "--seed", "42",
				"--temperature", "0.7", "--printTimings", "--gpu", "false", "--gpuLayers", "0"}},
	}

	bin := writeFile(t, t.TempDir(), "runner", "#!/bin/sh\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := tt.profile.Command(bin, runner.ExecDirect, tt.w, 2)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, cmd.Args); diff != "" {
				t.Errorf("Command().Args mismatch (-want +got):\n%s", diff)
			}
			if cmd.Path != bin || cmd.ExecMode != runner.ExecDirect {
				t.Errorf("Command() path, mode = %s, %s, want %s, direct",
					cmd.Path, cmd.ExecMode, bin)
			}
		})
	}
}

func TestProfileForDefaults(t *testing.T) {
	tests := []struct {
		kind    runner.Kind
		want    runner.Profile
		wantErr bool
	}{
		{runner.LlamaCompletion,
			runner.Profile{Kind: runner.LlamaCompletion, NoConversation: true}, false},
		{runner.LlamaCLI, runner.Profile{Kind: runner.LlamaCLI}, false},
		{runner.LlamaSimple, runner.Profile{Kind: runner.LlamaSimple}, false},
		{runner.Llamafile, runner.Profile{Kind: runner.Llamafile}, false},
		{runner.NodeLlamaCpp, runner.Profile{Kind: runner.NodeLlamaCpp}, false},
		{runner.Auto, runner.Profile{}, true},
		{runner.Kind("gpt4all"), runner.Profile{}, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			got, err := runner.ProfileFor(tt.kind)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ProfileFor(%q) error = %v, want error %v", tt.kind, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ProfileFor(%q) = %+v, want %+v", tt.kind, got, tt.want)
			}
		})
	}
}

func TestLlamaSimpleDropped(t *testing.T) {
	bin := writeFile(t, t.TempDir(), "llama-simple", "#!/bin/sh\n")
	prof := runner.Profile{Kind: runner.LlamaSimple}

	cmd, err := prof.Command(bin, runner.ExecDirect, baseWorkload(), 4)
	if err != nil {
		t.Fatalf("Command() error = %v", err)
	}
	want := []string{"-t", "-c", "--seed", "--temp"}
	if diff := cmp.Diff(want, cmd.Dropped); diff != "" {
		t.Errorf("Command().Dropped mismatch (-want +got):\n%s", diff)
	}
	if len(cmd.Notes) != 1 || !strings.Contains(cmd.Notes[0], "-t -c --seed --temp") {
		t.Errorf("Command().Notes = %q, want one note naming the dropped flags", cmd.Notes)
	}

	w := baseWorkload()
	w.TopP, w.TopK = ptr(0.5), ptr(10)
	cmd, err = prof.Command(bin, runner.ExecDirect, w, 4)
	if err != nil {
		t.Fatalf("Command() error = %v", err)
	}
	want = append(want, "--top-p", "--top-k")
	if diff := cmp.Diff(want, cmd.Dropped); diff != "" {
		t.Errorf("Command().Dropped with top-p/top-k mismatch (-want +got):\n%s", diff)
	}

	// the other runners drop nothing.
	for _, k := range []runner.Kind{runner.LlamaCompletion, runner.LlamaCLI, runner.Llamafile,
		runner.NodeLlamaCpp} {
		cmd, err := runner.Profile{Kind: k}.Command(bin, runner.ExecDirect, w, 4)
		if err != nil || len(cmd.Dropped) != 0 {
			t.Errorf("%s Command().Dropped = %q, %v, want none", k, cmd.Dropped, err)
		}
	}
}

func TestProfileCommandRejects(t *testing.T) {
	bin := writeFile(t, t.TempDir(), "runner", "#!/bin/sh\n")
	mod := func(f func(w *runner.Workload)) runner.Workload {
		w := baseWorkload()
		f(&w)
		return w
	}
	tests := []struct {
		name    string
		kind    runner.Kind
		w       runner.Workload
		threads int
	}{
		{"no model", runner.LlamaCompletion, mod(func(w *runner.Workload) { w.Model = "" }), 2},
		{"empty prompt", runner.NodeLlamaCpp, mod(func(w *runner.Workload) { w.Prompt = "" }), 2},
		{"n_predict 0", runner.LlamaCLI, mod(func(w *runner.Workload) { w.NPredict = 0 }), 2},
		{"n_predict -1", runner.Llamafile, mod(func(w *runner.Workload) { w.NPredict = -1 }), 2},
		{"ctx 0", runner.LlamaCompletion, mod(func(w *runner.Workload) { w.CtxSize = 0 }), 2},
		{"threads 0", runner.NodeLlamaCpp, baseWorkload(), 0},
		{"simple prompt reads as flag", runner.LlamaSimple,
			mod(func(w *runner.Workload) { w.Prompt = "-n" }), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prof := runner.Profile{Kind: tt.kind}
			_, err := prof.Command(bin, runner.ExecDirect, tt.w, tt.threads)
			if !errors.Is(err, runner.ErrWorkload) {
				t.Errorf("Command() error = %v, want ErrWorkload", err)
			}
		})
	}

	// llama-simple takes neither threads nor a context size, so it needs neither.
	w := mod(func(w *runner.Workload) { w.CtxSize = 0 })
	simple := runner.Profile{Kind: runner.LlamaSimple}
	if _, err := simple.Command(bin, runner.ExecDirect, w, 0); err != nil {
		t.Errorf("llama-simple Command(ctx 0, threads 0) error = %v, want nil", err)
	}
}

func TestCommandExecModes(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "m.llamafile", "MZqFpD='\n'\nexit 0\n")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash not on PATH: %v", err)
	}
	prof := runner.Profile{Kind: runner.Llamafile}

	tests := []struct {
		mode     runner.ExecMode
		wantPath string
		wantMode runner.ExecMode
		wantLead []string
	}{
		{runner.ExecAuto, "/bin/sh", runner.ExecSh, []string{bin}},
		{runner.ExecSh, "/bin/sh", runner.ExecSh, []string{bin}},
		{runner.ExecBash, bash, runner.ExecBash, []string{bin}},
		{runner.ExecDirect, bin, runner.ExecDirect, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			cmd, err := prof.Command(bin, tt.mode, baseWorkload(), 1)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			if cmd.Path != tt.wantPath || cmd.ExecMode != tt.wantMode {
				t.Errorf("Command() path, mode = %s, %s, want %s, %s",
					cmd.Path, cmd.ExecMode, tt.wantPath, tt.wantMode)
			}
			lead := cmd.Args[:len(tt.wantLead)]
			if diff := cmp.Diff(tt.wantLead, lead, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Command().Args lead mismatch (-want +got):\n%s", diff)
			}
			if got := cmd.Args[len(tt.wantLead)]; got != "--cli" {
				t.Errorf("Command().Args after lead = %q, want --cli", got)
			}
		})
	}

	// a relative binary path becomes absolute under sh.
	t.Chdir(dir)
	cmd, err := prof.Command("m.llamafile", runner.ExecSh, baseWorkload(), 1)
	if err != nil {
		t.Fatalf("Command(relative) error = %v", err)
	}
	if cmd.Args[0] != bin {
		t.Errorf("Command(relative).Args[0] = %q, want %q", cmd.Args[0], bin)
	}
}

func TestChildEnv(t *testing.T) {
	in := []string{
		"PATH=/usr/bin", "LLAMA_LOG_PREFIX=1", "LLAMA_LOG_TIMESTAMPS=1", "LLAMA_LOG_COLORS=1",
		"LLAMA_ARG_LOG_PREFIX=1", "NO_COLOR=0", "LLAMA_LOG_PREFIXES=keep", "HOME=/root",
	}
	want := []string{"PATH=/usr/bin", "LLAMA_LOG_PREFIXES=keep", "HOME=/root", "NO_COLOR=1"}
	if diff := cmp.Diff(want, runner.ChildEnv(in)); diff != "" {
		t.Errorf("ChildEnv() mismatch (-want +got):\n%s", diff)
	}

	// Command takes its environment from the process.
	t.Setenv("LLAMA_LOG_TIMESTAMPS", "1")
	bin := writeFile(t, t.TempDir(), "runner", "#!/bin/sh\n")
	cli := runner.Profile{Kind: runner.LlamaCLI}
	cmd, err := cli.Command(bin, runner.ExecDirect, baseWorkload(), 1)
	if err != nil {
		t.Fatalf("Command() error = %v", err)
	}
	if slices.Contains(cmd.Env, "LLAMA_LOG_TIMESTAMPS=1") ||
		!slices.Contains(cmd.Env, "NO_COLOR=1") {
		t.Errorf("Command().Env keeps LLAMA_LOG_TIMESTAMPS or lacks NO_COLOR=1")
	}
}

// TestNodeCommandRunsRealEngine runs the node-llama-cpp profile's command
// line for real and checks that the timing report comes out on stdout.
func TestNodeCommandRunsRealEngine(t *testing.T) {
	w := runner.Workload{Model: modelPath(t), Prompt: "-dash first", NPredict: 8, Seed: 42,
		CtxSize: 256, Temp: 0.7, TopP: ptr(0.9), TopK: ptr(20)}
	node := runner.Profile{Kind: runner.NodeLlamaCpp}
	cmd, err := node.Command(enginePath(t), runner.ExecAuto, w, 1)
	if err != nil {
		t.Fatalf("Command() error = %v", err)
	}
	out := runCommand(t, cmd)
	if !strings.Contains(out, "llama_perf_context_print:        eval time") {
		t.Errorf("engine stdout has no eval time line:\n%s", out)
	}
	if !strings.Contains(out, "> -dash first") {
		t.Errorf("engine did not take the leading-dash prompt as text:\n%s", out)
	}
}

// runCommand runs cmd with stdin from /dev/null in its own session and
// returns its stdout; a non-zero exit fails the test.
func runCommand(t *testing.T, c runner.Command) string {
	t.Helper()
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run %s: %v\nstderr:\n%s", filepath.Base(c.Path), err, stderr.String())
	}
	return string(out)
}

func TestIgnoreEOSWithoutAnOptionIsNoted(t *testing.T) {
	w := baseWorkload()
	w.IgnoreEOS = true
	cmd, err := runner.Profile{Kind: runner.NodeLlamaCpp}.Command("/bin/true", runner.ExecDirect, w, 2)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(cmd.Args, "--ignore-eos") {
		t.Errorf("node-llama-cpp args %q carry --ignore-eos, which it does not take", cmd.Args)
	}
	found := false
	for _, n := range cmd.Notes {
		found = found || strings.Contains(n, "no ignore-EOS option")
	}
	if !found {
		t.Errorf("notes = %q, want one saying there is no ignore-EOS option", cmd.Notes)
	}
}
