package runner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrWorkload is wrapped by Profile.Command when the workload cannot be
// turned into a command line for the runner.
var ErrWorkload = errors.New("invalid workload")

// Workload is what every copy of a runner is asked to do. TopP and TopK are
// optional; nil leaves the runner's default.
type Workload struct {
	// Model is the path to the .gguf; it may be empty for a llamafile with
	// weights inside.
	Model     string   `json:"model"`
	Prompt    string   `json:"prompt"`     // the prompt text, never empty
	NPredict  int      `json:"n_predict"`  // tokens to generate, >= 1
	Seed      int      `json:"seed"`       // sampler seed
	CtxSize   int      `json:"ctx_size"`   // context size, >= 1
	Temp      float64  `json:"temp"`       // sampling temperature
	TopP      *float64 `json:"top_p"`      // optional top-p
	TopK      *int     `json:"top_k"`      // optional top-k
	ExtraArgs []string `json:"extra_args"` // passed through, after our own options
	// IgnoreEOS asks the runner to generate all NPredict tokens even past an
	// end-of-stream token, where it has an option for that.
	IgnoreEOS bool `json:"ignore_eos"`
}

// Command is one ready-to-start runner command line.
type Command struct {
	Path     string   // what to exec: the binary itself, /bin/sh or bash
	Args     []string // argv[1:]; under sh or bash it starts with the binary's absolute path
	ExecMode ExecMode // the resolved mode: direct, sh or bash
	Dropped  []string // workload flags this runner does not take, left out
	CPUOnly  []string // options passed to keep the runner off any GPU
	Notes    []string // why something was left out, for results and logs
	Env      []string // the child's environment, see ChildEnv
}

// Argv returns the whole argument vector, Path first.
func (c Command) Argv() []string {
	return append([]string{c.Path}, c.Args...)
}

// Profile knows how one kind of runner takes a workload on its command line.
// The zero options are the safe ones for the kind; preflight sets the
// version-dependent ones from what the binary's help lists.
type Profile struct {
	Kind Kind

	// NoConversation adds -no-cnv (llama-completion and llama-cli before
	// December 2025, which otherwise turn into a chat that never exits).
	NoConversation bool

	// GPUDisable adds "--gpu disable" (llamafile builds that have --gpu).
	GPUDisable bool
}

// ProfileFor returns the default profile of a concrete kind. Auto has no
// profile: resolve it with Detect first.
func ProfileFor(k Kind) (Profile, error) {
	switch k {
	case LlamaCompletion:
		return Profile{Kind: k, NoConversation: true}, nil
	case Llamafile, LlamaCLI, LlamaSimple, NodeLlamaCpp:
		return Profile{Kind: k}, nil
	case Auto:
		return Profile{}, fmt.Errorf("profile for %s: run preflight to tell the runner kind", k)
	}
	return Profile{}, fmt.Errorf("profile for %q: %w", k, &FlagError{
		Flag: FlagRunner, Value: string(k), Reason: "unknown runner",
	})
}

// gpuOptions are the option names, across all runners, that choose a GPU or
// the number of offloaded layers. When the user's extra args set one of
// them, packbench adds no CPU-only options of its own.
var gpuOptions = []string{
	"-ngl", "--ngl", "--gpu-layers", "--n-gpu-layers", "-dev", "--device",
	"--gpu", "--gpuLayers", "--gl",
}

// Command builds the command line that runs w with the given threads. mode
// may be ExecAuto; the resolved mode is in Command.ExecMode. ExtraArgs go
// last, except for llama-simple, whose trailing words are the prompt.
func (p Profile) Command(binary string, mode ExecMode, w Workload, threads int) (Command, error) {
	if err := p.validate(w, threads); err != nil {
		return Command{}, fmt.Errorf("build %s command: %w", p.Kind, err)
	}

	cpuOnly, notes := p.cpuOnly(w.ExtraArgs)
	args, dropped := p.args(w, threads, cpuOnly)
	path, lead, resolved, err := launcher(binary, mode)
	if err != nil {
		return Command{}, fmt.Errorf("build %s command: %w", p.Kind, err)
	}
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("%s takes no %s: left out",
			p.Kind, strings.Join(dropped, " ")))
	}
	if w.IgnoreEOS && (p.Kind == NodeLlamaCpp || p.Kind == LlamaSimple) {
		notes = append(notes, fmt.Sprintf("%s has no ignore-EOS option: a run may end early",
			p.Kind))
	}

	return Command{
		Path:     path,
		Args:     append(lead, args...),
		ExecMode: resolved,
		Dropped:  dropped,
		CPUOnly:  cpuOnly,
		Notes:    notes,
		Env:      ChildEnv(os.Environ()),
	}, nil
}

// validate refuses workloads that would not give a bounded, comparable run.
func (p Profile) validate(w Workload, threads int) error {
	switch {
	case w.Model == "" && p.Kind != Llamafile:
		return fmt.Errorf("no model path: %w", ErrWorkload)
	case w.Prompt == "":
		return fmt.Errorf("empty prompt: %w", ErrWorkload)
	case w.NPredict < 1:
		return fmt.Errorf("n_predict %d, want >= 1: %w", w.NPredict, ErrWorkload)
	}
	if p.Kind == LlamaSimple {
		// llama-simple reads these words as flags, not as the prompt.
		if w.Prompt == "-m" || w.Prompt == "-n" || w.Prompt == "-ngl" {
			return fmt.Errorf("prompt %q reads as a llama-simple flag: %w", w.Prompt, ErrWorkload)
		}
		return nil
	}
	if w.CtxSize < 1 {
		return fmt.Errorf("ctx size %d, want >= 1: %w", w.CtxSize, ErrWorkload)
	}
	if threads < 1 {
		return fmt.Errorf("threads %d, want >= 1: %w", threads, ErrWorkload)
	}
	return nil
}

// cpuOnly returns the options that keep this runner off any GPU, or none and
// a note when the user's extra args already choose.
func (p Profile) cpuOnly(extra []string) ([]string, []string) {
	if name := findOption(extra, gpuOptions); name != "" {
		note := fmt.Sprintf("%s sets %s: cpu-only options left out", FlagExtraArgs, name)
		return nil, []string{note}
	}

	switch p.Kind {
	case NodeLlamaCpp:
		return []string{"--gpu", "false", "--gpuLayers", "0"}, nil
	case Llamafile:
		if p.GPUDisable {
			return []string{"-ngl", "0", "--gpu", "disable"}, nil
		}
	}
	return []string{"-ngl", "0"}, nil
}

// args lays out the runner's own arguments and names the workload flags it
// had to drop.
func (p Profile) args(w Workload, threads int, cpuOnly []string) ([]string, []string) {
	switch p.Kind {
	case NodeLlamaCpp:
		return p.nodeArgs(w, threads, cpuOnly), nil
	case LlamaSimple:
		return p.simpleArgs(w, cpuOnly)
	}

	var a []string
	if p.Kind == Llamafile {
		a = append(a, "--cli")
	}
	if w.Model != "" {
		a = append(a, "-m", w.Model)
	}
	a = append(a, "-p", w.Prompt, "-n", itoa(w.NPredict), "-t", itoa(threads),
		"-c", itoa(w.CtxSize), "--seed", itoa(w.Seed), "--temp", ftoa(w.Temp))
	if w.TopP != nil {
		a = append(a, "--top-p", ftoa(*w.TopP))
	}
	if w.TopK != nil {
		a = append(a, "--top-k", itoa(*w.TopK))
	}

	switch {
	case p.Kind == LlamaCLI:
		a = append(a, "-st", "--simple-io")
	case p.Kind == LlamaCompletion && p.NoConversation:
		a = append(a, "-no-cnv")
	}
	if w.IgnoreEOS {
		a = append(a, "--ignore-eos")
	}
	a = append(a, cpuOnly...)
	return append(a, w.ExtraArgs...), nil
}

// nodeArgs lays out node-llama-cpp's `complete` command.
func (p Profile) nodeArgs(w Workload, threads int, cpuOnly []string) []string {
	a := []string{"complete", "-m", w.Model}

	// yargs takes a value that starts with "-" for a new option.
	if strings.HasPrefix(w.Prompt, "-") {
		a = append(a, "--text="+w.Prompt)
	} else {
		a = append(a, "--text", w.Prompt)
	}

	a = append(a, "--maxTokens", itoa(w.NPredict), "--threads", itoa(threads),
		"-c", itoa(w.CtxSize), "--seed", itoa(w.Seed), "--temperature", ftoa(w.Temp))
	if w.TopP != nil {
		a = append(a, "--topP", ftoa(*w.TopP))
	}
	if w.TopK != nil {
		a = append(a, "--topK", itoa(*w.TopK))
	}
	a = append(a, "--printTimings")
	a = append(a, cpuOnly...)
	return append(a, w.ExtraArgs...)
}

// simpleArgs lays out llama-simple's short command line; every word after
// the first one it does not know is part of the prompt, so the prompt goes
// last and extra args before it.
func (p Profile) simpleArgs(w Workload, cpuOnly []string) ([]string, []string) {
	a := []string{"-m", w.Model, "-n", itoa(w.NPredict)}
	a = append(a, cpuOnly...)
	a = append(a, w.ExtraArgs...)
	a = append(a, w.Prompt)

	dropped := []string{"-t", "-c", "--seed", "--temp"}
	if w.TopP != nil {
		dropped = append(dropped, "--top-p")
	}
	if w.TopK != nil {
		dropped = append(dropped, "--top-k")
	}
	return a, dropped
}

// findOption returns the first of names that args set, as "name" or
// "name=value", or "" when none is set.
func findOption(args, names []string) string {
	for _, a := range args {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return n
			}
		}
	}
	return ""
}

// logEnv are variables that change the runners' log format (case 08): line
// prefixes, timestamps and colour codes ahead of the timing lines.
var logEnv = []string{
	"LLAMA_LOG_PREFIX", "LLAMA_LOG_TIMESTAMPS", "LLAMA_LOG_COLORS",
	"LLAMA_ARG_LOG_PREFIX", "LLAMA_ARG_LOG_TIMESTAMPS", "LLAMA_ARG_LOG_COLORS",
	"NO_COLOR",
}

// ChildEnv returns environ without the variables that change the runners'
// log format, plus NO_COLOR=1.
func ChildEnv(environ []string) []string {
	env := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, drop := range logEnv {
			if name == drop {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return append(env, "NO_COLOR=1")
}

func itoa(n int) string { return strconv.Itoa(n) }

// ftoa writes a float the shortest way that reads back the same: 0.7, 1, 0.95.
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
