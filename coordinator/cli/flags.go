package cli

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
)

// Defaults of the seed tool, kept so that its command lines still work.
const (
	defaultPrompt      = "CPU pack benchmark. Write one short sentence."
	defaultNPredict    = 160
	defaultSeed        = 42
	defaultCtxSize     = 4096
	defaultTemp        = 0.7
	defaultThreadsMin  = 2
	defaultLadderSpan  = 2
	defaultReserve     = 2
	defaultOutDir      = "cpu_pack_runs"
	defaultTimeoutS    = 1800
	defaultMemHeadroom = 0.90
)

// optFloat is a float flag that remembers whether it was set.
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

func (o *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("not a number")
	}
	o.v, o.set = v, true
	return nil
}

// optInt is an int flag that remembers whether it was set.
// decimalInt is an int flag read in base 10 only, as cpu_pack_bench.py's
// int() reads it: flag.IntVar takes 010 as 8 and 0x10 as 16.
type decimalInt struct{ p *int }

// intFlag defines a decimalInt; -h shows it as an int, like flag.IntVar.
func intFlag(fs *flag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(decimalInt{p}, name, usage+" (a decimal `int`)")
}

func (d decimalInt) String() string {
	if d.p == nil {
		return "0"
	}
	return strconv.Itoa(*d.p)
}

func (d decimalInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("accepted: a decimal integer")
	}
	*d.p = v
	return nil
}

type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	o.v, o.set = v, true
	return nil
}

// benchFlags are the flags `local` and `sweep` share: the runner, the
// workload, the plan and the limits of a run.
type benchFlags struct {
	binary, model, runnerKind, execVia string
	noPreflight                        bool

	prompt          string
	nPredict, seed  int
	ctxSize         int
	temp            float64
	topP            optFloat
	topK            optInt
	extraArgs       string
	instances       string
	threadsMin      int
	threadsMax      int
	ladderSpan      int
	reserveCores    int
	timeoutS        float64
	memHeadroom     float64
	logCapMiB       int
	dryRun, verbose bool
}

func (b *benchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.binary, "binary", "", "path to the llamafile or llama.cpp runner (required)")
	fs.StringVar(&b.model, "model", "",
		"path to a .gguf model, or synth:SHAPE:TYPE[:SEED] for a synthetic one "+
			"(not needed for a llamafile)")
	fs.StringVar(&b.runnerKind, "runner", "auto",
		"runner profile: auto, llamafile, llama-completion, llama-cli, llama-simple, node-llama-cpp")
	fs.StringVar(&b.execVia, "exec-via", "auto", "how to run the binary: auto, direct, sh, bash")
	fs.BoolVar(&b.noPreflight, "no-preflight", false,
		"do not run the binary's --help first (needs --runner)")

	fs.StringVar(&b.prompt, "prompt", defaultPrompt, "prompt text")
	intFlag(fs, &b.nPredict, "n-predict", defaultNPredict, "tokens to generate")
	intFlag(fs, &b.nPredict, "n", defaultNPredict, "tokens to generate (short for --n-predict)")
	intFlag(fs, &b.seed, "seed", defaultSeed, "sampling seed")
	intFlag(fs, &b.ctxSize, "ctx-size", defaultCtxSize, "context size in tokens")
	fs.Float64Var(&b.temp, "temp", defaultTemp, "sampling temperature")
	fs.Var(&b.topP, "top-p", "top-p sampling (optional)")
	fs.Var(&b.topK, "top-k", "top-k sampling (optional)")
	fs.StringVar(&b.extraArgs, "extra-args", "", "arguments passed through to the runner")

	fs.StringVar(&b.instances, "instances", "auto",
		"instance counts: auto, a list like 3,4,5, or a range like 3-8 or 2:1:10")
	intFlag(fs, &b.threadsMin, "threads-min", defaultThreadsMin, "fewest threads per instance")
	intFlag(fs, &b.threadsMax, "threads-max", 0,
		"most threads per instance (default: physical cores; more allows SMT)")
	intFlag(fs, &b.ladderSpan, "ladder-span", defaultLadderSpan,
		"threads tried around the even split: base-span .. base+span")
	intFlag(fs, &b.reserveCores, "reserve-cores", defaultReserve, "cores left for the OS and I/O")

	fs.Float64Var(&b.timeoutS, "timeout", defaultTimeoutS,
		"seconds a run may take before it is killed")
	fs.Float64Var(&b.memHeadroom, "mem-headroom", defaultMemHeadroom,
		"largest share of MemAvailable a pack's estimate may take, in (0, 1]")
	intFlag(fs, &b.logCapMiB, "log-cap-mib", 16, "MiB of each output stream kept per instance")
	fs.BoolVar(&b.dryRun, "dry-run", false, "print the plan and exit")
	fs.BoolVar(&b.verbose, "v", false, "debug logging")
	fs.BoolVar(&b.verbose, "verbose", false, "debug logging")
}

// validated are the checked, typed values of benchFlags.
type validated struct {
	kind     runner.Kind
	mode     runner.ExecMode
	workload runner.Workload
	spec     plan.Spec
	timeout  time.Duration
	warnings []string // doubts about the values, for the log
}

// contextWarning doubts that the prompt and the tokens asked for fit the
// context. Tokens are not known before the model's tokenizer runs, but a
// prompt never takes more tokens than bytes (plus a start token), and
// byte-level tokenizers (synthetic models) take exactly that many. A run
// that does not fit shifts or stops its context, generates fewer tokens than
// asked and measures something else.
func contextWarning(w runner.Workload) string {
	most := len(w.Prompt) + 1 + w.NPredict
	switch {
	case w.NPredict >= w.CtxSize:
		return fmt.Sprintf("-n/--n-predict %d does not fit --ctx-size %d: runs will shift "+
			"or stop their context and generate fewer tokens than asked", w.NPredict,
			w.CtxSize)
	case most > w.CtxSize:
		return fmt.Sprintf("the prompt (%d bytes) and -n/--n-predict %d may not fit "+
			"--ctx-size %d (a byte-level tokenizer, as synthetic models have, needs %d); a "+
			"larger --ctx-size avoids early stops", len(w.Prompt), w.NPredict, w.CtxSize,
			most)
	}
	return ""
}

// validate checks every value that can be checked without the host; each
// error names the flag, the value and what is accepted.
func (b *benchFlags) validate() (validated, error) {
	return b.check(true)
}

// check is validate; with local false the binary and the model are paths
// on the agents' hosts and are not looked at here.
func (b *benchFlags) check(local bool) (validated, error) {
	var v validated
	var err error
	if b.binary == "" {
		return v, usagef("--binary is required: the path of a llamafile or llama.cpp runner")
	}
	if !local && !filepath.IsAbs(b.binary) {
		return v, usagef("invalid --binary %q: accepted: an absolute path on the agents' hosts",
			b.binary)
	}
	if synth.IsModelRef(b.model) {
		if _, err := synth.ParseModelRef(b.model); err != nil {
			return v, usagef("invalid --model %q: %s; accepted: a .gguf path, or "+
				"synth:SHAPE:TYPE[:SEED] with SHAPE one of %s, TYPE one of %s "+
				"and SEED a decimal integer", b.model, refProblem(err),
				strings.Join(synth.ShapeNames(), ", "), synth.TypeNames)
		}
	}
	if !local && b.model != "" && !synth.IsModelRef(b.model) && !filepath.IsAbs(b.model) {
		return v, usagef("invalid --model %q: accepted: an absolute path on the agents' hosts",
			b.model)
	}
	// the agents check their own paths, against their allowlists
	if local {
		if err := runner.CheckBinary(b.binary); err != nil {
			return v, usagef("%v", err)
		}
	}
	if local && b.model != "" && !synth.IsModelRef(b.model) {
		if st, err := os.Stat(b.model); err != nil || st.IsDir() {
			return v, usagef("invalid --model %q: not a readable file", b.model)
		}
	}
	if v.kind, err = runner.ParseKind(b.runnerKind); err != nil {
		return v, usagef("%v", err)
	}
	if v.mode, err = runner.ParseExecMode(b.execVia); err != nil {
		return v, usagef("%v", err)
	}
	if b.noPreflight && v.kind == runner.Auto {
		return v, usagef("--no-preflight needs an explicit --runner " +
			"(llamafile, llama-completion, llama-cli, llama-simple or node-llama-cpp)")
	}
	// with the runner named, a missing model is known before any agent is asked
	if b.model == "" && v.kind != runner.Auto && v.kind != runner.Llamafile {
		return v, usagef("%s", coordinator.ModelRequired(v.kind))
	}

	switch {
	case b.nPredict < 1:
		return v, usagef("invalid -n/--n-predict %d: accepted: an integer >= 1", b.nPredict)
	case b.ctxSize < 1:
		return v, usagef("invalid --ctx-size %d: accepted: 1 or more (an explicit context "+
			"keeps every copy from reserving the model's full training context)", b.ctxSize)
	case strings.TrimSpace(b.prompt) == "":
		return v, usagef("invalid --prompt %q: accepted: a text that is not blank", b.prompt)
	case b.temp < 0:
		return v, usagef("invalid --temp %g: accepted: 0 or more", b.temp)
	case b.topP.set && (b.topP.v < 0 || b.topP.v > 1):
		return v, usagef("invalid --top-p %g: accepted: 0 to 1", b.topP.v)
	case b.topK.set && b.topK.v < 0:
		return v, usagef("invalid --top-k %d: accepted: 0 or more", b.topK.v)
	case !(b.timeoutS > 0) || b.timeoutS > 7*24*3600:
		return v, usagef("invalid --timeout %g: accepted: seconds, more than 0", b.timeoutS)
	case !(b.memHeadroom > 0 && b.memHeadroom <= 1):
		return v, usagef("invalid --mem-headroom %g: accepted: a fraction more than 0 "+
			"and at most 1, such as 0.90", b.memHeadroom)
	case b.logCapMiB < 1:
		return v, usagef("invalid --log-cap-mib %d: accepted: 1 or more", b.logCapMiB)
	}

	extra, err := runner.SplitArgs(b.extraArgs)
	if err != nil {
		return v, usagef("%v", err) // it names the flag and the value
	}
	for _, a := range extra {
		// a second model flag would run another file than the one recorded
		if name, _, _ := strings.Cut(a, "="); name == "-m" || name == "--model" {
			return v, usagef("invalid --extra-args %q: %s names a model; accepted: the "+
				"model only through --model", b.extraArgs, a)
		}
	}
	v.workload = runner.Workload{Model: b.model, Prompt: b.prompt, NPredict: b.nPredict,
		Seed: b.seed, CtxSize: b.ctxSize, Temp: b.temp, ExtraArgs: extra}
	if b.topP.set {
		v.workload.TopP = &b.topP.v
	}
	if b.topK.set {
		v.workload.TopK = &b.topK.v
	}
	if w := contextWarning(v.workload); w != "" {
		v.warnings = append(v.warnings, w)
	}

	v.spec = plan.Spec{Instances: b.instances, ThreadsMin: b.threadsMin,
		ThreadsMax: b.threadsMax, LadderSpan: b.ladderSpan, ReserveCores: b.reserveCores}
	// the host-independent bounds, so that a sweep refuses them up front
	if err := v.spec.Validate(); err != nil {
		return v, usagef("%v", err)
	}
	v.timeout = time.Duration(b.timeoutS * float64(time.Second))
	return v, nil
}

// refProblem is what is wrong with a synthetic model reference, without
// the reference itself (the caller quotes it), the accepted values (the
// caller lists them) or the sentinel's text.
func refProblem(err error) string {
	msg := strings.TrimSuffix(err.Error(), ": "+api.ErrInvalid.Error())
	if _, rest, ok := strings.Cut(msg, "parse model ref "); ok {
		if _, rest, ok = strings.Cut(rest, ": "); ok {
			msg = rest
		}
	}
	if strings.HasPrefix(msg, "want ") {
		return "not SHAPE:TYPE or SHAPE:TYPE:SEED after synth:"
	}
	msg, _, _ = strings.Cut(msg, ", want ")
	return msg
}
