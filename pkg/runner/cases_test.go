package runner_test

// Tests named after the cases in ../shared/cases: real runner behaviours
// with the right answers.

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/packbench/packbench/pkg/runner"
)

// TestCase04ChatClientRunsSingleTurn: the 2026 llama-cli never exits on a
// closed stdin; preflight must recognise it from --help and run it with
// -st --simple-io, never -no-cnv (which it refuses).
func TestCase04ChatClientRunsSingleTurn(t *testing.T) {
	tests := []struct {
		help     string
		want     runner.Kind
		wantArgs []string // must all be in the command line
		banned   []string // must not be
	}{
		{"help-llama-cli.txt", runner.LlamaCLI, []string{"-st", "--simple-io"},
			[]string{"-no-cnv"}},
		{"help-llama-cli-lists-no-cnv.txt", runner.LlamaCLI, []string{"-st", "--simple-io"},
			[]string{"-no-cnv"}},
		// llama-cli before the rewrite is a completion program and needs -no-cnv (case 12)
		{"help-llama-cli-2025.txt", runner.LlamaCompletion, []string{"-no-cnv"},
			[]string{"-st", "--simple-io"}},
	}
	for _, tt := range tests {
		t.Run(tt.help, func(t *testing.T) {
			bin := fakeRunner(t, "llama-cli", tt.help, "version: 7400 (abcdef0)\n", 0)
			pf, err := runner.Detect(context.Background(), bin, runner.ExecAuto, probeTimeout)
			if err != nil || pf.Kind != tt.want {
				t.Fatalf("Detect(%s) = %s, %v, want %s", tt.help, pf.Kind, err, tt.want)
			}
			prof, err := pf.Profile()
			if err != nil {
				t.Fatalf("Profile() error = %v", err)
			}
			cmd, err := prof.Command(bin, pf.ExecMode, baseWorkload(), 2)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			for _, a := range tt.wantArgs {
				if !slices.Contains(cmd.Args, a) {
					t.Errorf("Command().Args = %q, want %s in it", cmd.Args, a)
				}
			}
			for _, a := range tt.banned {
				if slices.Contains(cmd.Args, a) {
					t.Errorf("Command().Args = %q, want no %s", cmd.Args, a)
				}
			}
		})
	}

	// the note tells the operator what the chat client's timing lacks.
	bin := fakeRunner(t, "llama-cli", "help-llama-cli.txt", "", 0)
	pf, err := runner.Detect(context.Background(), bin, runner.ExecAuto, probeTimeout)
	if err != nil {
		t.Fatalf("Detect() error = %v", err)
	}
	named := func(n string) bool { return strings.Contains(n, "llama-completion") }
	if !slices.ContainsFunc(pf.Notes, named) {
		t.Errorf("Detect(llama-cli).Notes = %q, want one naming llama-completion", pf.Notes)
	}
}

// TestCase05APEFixture: a file with the APE magic that execs the real
// engine. auto runs it through sh; direct fails preflight with a hint.
func TestCase05APEFixture(t *testing.T) {
	engine := enginePath(t)
	ape := apeFixture(t, engine)

	mode, err := runner.ResolveExecMode(ape, runner.ExecAuto)
	if err != nil || mode != runner.ExecSh {
		t.Fatalf("ResolveExecMode(ape, auto) = %s, %v, want sh", mode, err)
	}

	pf, err := runner.Detect(context.Background(), ape, runner.ExecAuto, probeTimeout)
	if err != nil {
		t.Fatalf("Detect(ape, auto) error = %v", err)
	}
	if pf.Kind != runner.NodeLlamaCpp || pf.ExecMode != runner.ExecSh || pf.Version != "3.21.1" {
		t.Errorf("Detect(ape, auto) = %s %s %q, want node-llama-cpp sh \"3.21.1\"",
			pf.Kind, pf.ExecMode, pf.Version)
	}

	_, err = runner.Detect(context.Background(), ape, runner.ExecDirect, probeTimeout)
	if !errors.Is(err, syscall.ENOEXEC) || !strings.Contains(err.Error(), "--exec-via sh") {
		t.Errorf("Detect(ape, direct) error = %v, want ENOEXEC and a hint to use --exec-via sh",
			err)
	}

	// and a real run through sh produces the timing report.
	w := runner.Workload{Model: modelPath(t), Prompt: "Hello", NPredict: 8, Seed: 42,
		CtxSize: 256, Temp: 0.7}
	cmd, err := runner.Profile{Kind: runner.NodeLlamaCpp}.Command(ape, runner.ExecAuto, w, 1)
	if err != nil {
		t.Fatalf("Command(ape) error = %v", err)
	}
	if cmd.Path != "/bin/sh" || cmd.Args[0] != ape {
		t.Errorf("Command(ape) = %s %s..., want /bin/sh %s", cmd.Path, cmd.Args[0], ape)
	}
	out := runCommand(t, cmd)
	if !strings.Contains(out, "llama_perf_context_print:        eval time") {
		t.Errorf("run through sh: no eval time line on stdout:\n%s", out)
	}
}

// TestCase13ExecFormatErrorRetriedThroughSh: Go's os/exec reports ENOEXEC
// where a shell would retry; with --exec-via auto preflight retries through
// /bin/sh and records exec_mode "sh".
func TestCase13ExecFormatErrorRetriedThroughSh(t *testing.T) {
	engine := enginePath(t)

	// the premise: starting the APE file directly fails with ENOEXEC.
	err := exec.Command(apeFixture(t, engine), "--version").Run()
	if !errors.Is(err, syscall.ENOEXEC) {
		t.Fatalf("direct start of APE file error = %v, want ENOEXEC"+
			" (is an MZ loader registered?)", err)
	}

	// no magic that auto knows: it tries direct, gets ENOEXEC, retries via sh.
	plain := writeFile(t, t.TempDir(), "runner-script", "exec '"+engine+"' \"$@\"\n")
	pf, err := runner.Detect(context.Background(), plain, runner.ExecAuto, probeTimeout)
	if err != nil {
		t.Fatalf("Detect(no magic, auto) error = %v", err)
	}
	if pf.ExecMode != runner.ExecSh || pf.Kind != runner.NodeLlamaCpp {
		t.Errorf("Detect(no magic, auto) = %s %s, want node-llama-cpp sh", pf.Kind, pf.ExecMode)
	}
	if len(pf.Notes) == 0 || !strings.Contains(pf.Notes[0], "exec format error") {
		t.Errorf("Detect(no magic, auto).Notes = %q, want the retry explained first", pf.Notes)
	}

	_, err = runner.Detect(context.Background(), plain, runner.ExecDirect, probeTimeout)
	if !errors.Is(err, syscall.ENOEXEC) {
		t.Errorf("Detect(no magic, direct) error = %v, want ENOEXEC", err)
	}
}

// TestCase17LlamafileExplicitCLIMode: llamafile is detected from its help and
// `llamafile v0.9.3`, always gets --cli with -p and -n, and --gpu disable
// only when its help lists --gpu.
func TestCase17LlamafileExplicitCLIMode(t *testing.T) {
	tests := []struct {
		help     string
		version  string
		wantVer  string
		wantTail []string
	}{
		{"help-llamafile.txt", "llamafile v0.9.3\n", "0.9.3",
			[]string{"-ngl", "0", "--gpu", "disable"}},
		{"help-llamafile-nogpu.txt", "llamafile v0.4.1\n", "0.4.1",
			[]string{"--temp", "0.7", "-ngl", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.help, func(t *testing.T) {
			// a fake llamafile that is also an APE file: auto must run it via sh.
			fake := fakeRunner(t, "real", tt.help, tt.version, 0)
			ape := apeFixture(t, fake)

			pf, err := runner.Detect(context.Background(), ape, runner.ExecAuto, probeTimeout)
			if err != nil {
				t.Fatalf("Detect(%s) error = %v", tt.help, err)
			}
			if pf.Kind != runner.Llamafile || pf.Version != tt.wantVer ||
				pf.ExecMode != runner.ExecSh {
				t.Errorf("Detect(%s) = %s %q %s, want llamafile %q sh",
					tt.help, pf.Kind, pf.Version, pf.ExecMode, tt.wantVer)
			}

			prof, err := pf.Profile()
			if err != nil {
				t.Fatalf("Profile() error = %v", err)
			}
			cmd, err := prof.Command(ape, pf.ExecMode, baseWorkload(), 2)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			args := cmd.Args[1:] // after the llamafile's own path
			if args[0] != "--cli" || !slices.Contains(args, "-p") || !slices.Contains(args, "-n") {
				t.Errorf("Command().Args = %q, want --cli first, and -p and -n", args)
			}
			if diff := cmp.Diff(tt.wantTail, args[len(args)-len(tt.wantTail):]); diff != "" {
				t.Errorf("Command().Args tail mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCase18CPUOnly: every profile passes its CPU-only options, records
// them, and leaves them out when --extra-args chooses a GPU setting.
func TestCase18CPUOnly(t *testing.T) {
	bin := writeFile(t, t.TempDir(), "runner", "#!/bin/sh\n")
	tests := []struct {
		profile runner.Profile
		want    []string
	}{
		{runner.Profile{Kind: runner.LlamaCompletion, NoConversation: true}, []string{"-ngl", "0"}},
		{runner.Profile{Kind: runner.LlamaCLI}, []string{"-ngl", "0"}},
		{runner.Profile{Kind: runner.LlamaSimple}, []string{"-ngl", "0"}},
		{runner.Profile{Kind: runner.Llamafile}, []string{"-ngl", "0"}},
		{runner.Profile{Kind: runner.Llamafile, GPUDisable: true},
			[]string{"-ngl", "0", "--gpu", "disable"}},
		{runner.Profile{Kind: runner.NodeLlamaCpp}, []string{"--gpu", "false", "--gpuLayers", "0"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.profile.Kind), func(t *testing.T) {
			cmd, err := tt.profile.Command(bin, runner.ExecDirect, baseWorkload(), 2)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, cmd.CPUOnly); diff != "" {
				t.Errorf("Command().CPUOnly mismatch (-want +got):\n%s", diff)
			}
			if !containsRun(cmd.Args, tt.want) {
				t.Errorf("Command().Args = %q, want %q in it", cmd.Args, tt.want)
			}
		})
	}

	overrides := []struct {
		name    string
		profile runner.Profile
		extra   []string
		absent  []string
	}{
		{"llama-completion -ngl", runner.Profile{Kind: runner.LlamaCompletion},
			[]string{"-ngl", "99"}, []string{"-ngl", "0"}},
		{"llama-cli --n-gpu-layers=all", runner.Profile{Kind: runner.LlamaCLI},
			[]string{"--n-gpu-layers=all"}, []string{"-ngl", "0"}},
		{"llamafile --gpu nvidia", runner.Profile{Kind: runner.Llamafile, GPUDisable: true},
			[]string{"--gpu", "nvidia"}, []string{"--gpu", "disable"}},
		{"node --gpu=cuda", runner.Profile{Kind: runner.NodeLlamaCpp}, []string{"--gpu=cuda"},
			[]string{"--gpu", "false"}},
		{"node --gpuLayers", runner.Profile{Kind: runner.NodeLlamaCpp},
			[]string{"--gpuLayers", "8"}, []string{"--gpuLayers", "0"}},
	}
	for _, tt := range overrides {
		t.Run("user wins "+tt.name, func(t *testing.T) {
			w := baseWorkload()
			w.ExtraArgs = tt.extra
			cmd, err := tt.profile.Command(bin, runner.ExecDirect, w, 2)
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			if len(cmd.CPUOnly) != 0 || containsRun(cmd.Args, tt.absent) {
				t.Errorf("Command() CPUOnly = %q, Args = %q, want neither to hold %q",
					cmd.CPUOnly, cmd.Args, tt.absent)
			}
			if !containsRun(cmd.Args, tt.extra) {
				t.Errorf("Command().Args = %q, want the user's %q", cmd.Args, tt.extra)
			}
			if len(cmd.Notes) == 0 || !strings.Contains(cmd.Notes[0], "--extra-args") {
				t.Errorf("Command().Notes = %q, want a note naming --extra-args", cmd.Notes)
			}
		})
	}
}

// containsRun reports whether want appears in args as consecutive items.
func containsRun(args, want []string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
