package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/memory"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
)

func runModel(args []string, env Env) error {
	if len(args) > 0 {
		switch args[0] {
		case "synth":
			return runModelSynth(args[1:], env)
		case "inspect":
			return runModelInspect(args[1:], env)
		}
	}
	return usagef("usage: packbench model synth --shape NAME --type TYPE [--seed N] -o FILE | " +
		"packbench model inspect FILE")
}

// customDims are the flags of a custom shape's dimensions.
var customDims = []string{"embd", "layers", "heads", "heads-kv", "ffn", "vocab", "ctx"}

// decimalSeed is a --seed that takes decimal digits only, as a synth:
// reference does, so that the same text always names the same model
// (flag.Uint64 would read 010 as 8 and take 0x10).
type decimalSeed uint64

func (d *decimalSeed) String() string { return strconv.FormatUint(uint64(*d), 10) }

func (d *decimalSeed) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("accepted: a decimal integer from 0 to %d", uint64(math.MaxUint64))
	}
	*d = decimalSeed(v)
	return nil
}

func runModelSynth(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench model synth", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	shapeName := fs.String("shape", "tiny", "model shape: custom or one of "+
		fmt.Sprint(synth.ShapeNames()))
	typ := fs.String("type", "q8_0", "weight type: f32, f16, q8_0 or q4_0")
	seed := decimalSeed(synth.DefaultSeed)
	fs.Var(&seed, "seed", "seed of the random weights, a decimal integer (as in synth: refs)")
	out := fs.String("o", "", "file to write (required)")
	var custom synth.Shape
	fs.IntVar(&custom.Embd, "embd", 0, "custom shape: embedding width")
	fs.IntVar(&custom.Layers, "layers", 0, "custom shape: blocks")
	fs.IntVar(&custom.Heads, "heads", 0, "custom shape: attention heads")
	fs.IntVar(&custom.HeadsKV, "heads-kv", 0, "custom shape: key/value heads")
	fs.IntVar(&custom.FFN, "ffn", 0, "custom shape: feed-forward width")
	fs.IntVar(&custom.Vocab, "vocab", 0, "custom shape: vocabulary size")
	fs.IntVar(&custom.Ctx, "ctx", 0, "custom shape: training context")
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usagef("model synth: unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	if *out == "" {
		return usagef("model synth: -o FILE is required")
	}
	if st, err := os.Stat(*out); err == nil && st.IsDir() {
		return usagef("invalid -o %q: it is a directory; accepted: a file path", *out)
	}
	if *shapeName != "custom" {
		var dims []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains(customDims, f.Name) {
				dims = append(dims, "--"+f.Name)
			}
		})
		if len(dims) > 0 {
			return usagef("model synth: shape %q has fixed dimensions; %s are for --shape "+
				"custom", *shapeName, strings.Join(dims, ", "))
		}
	}

	var spec synth.Spec
	var err error
	if *shapeName == "custom" {
		var missing []string
		for _, d := range []struct {
			flag string
			v    int
		}{{"--embd", custom.Embd}, {"--layers", custom.Layers}, {"--heads", custom.Heads},
			{"--heads-kv", custom.HeadsKV}, {"--ffn", custom.FFN}, {"--vocab", custom.Vocab},
			{"--ctx", custom.Ctx}} {
			if d.v == 0 {
				missing = append(missing, d.flag)
			}
		}
		if len(missing) > 0 {
			return usagef("model synth --shape custom needs every dimension; missing: %s",
				strings.Join(missing, ", "))
		}
		custom.Name = "custom"
		spec.Shape = custom
	} else if spec.Shape, err = synth.ShapeByName(*shapeName); err != nil {
		return usagef("invalid --shape %q: accepted: %s, custom", *shapeName,
			strings.Join(synth.ShapeNames(), ", "))
	}
	if spec.Type, err = synth.ParseType(*typ); err != nil {
		return usagef("invalid --type %q: accepted: %s", *typ, synth.TypeNames)
	}
	spec.Seed = uint64(seed)
	if err := spec.Validate(); err != nil {
		return usagef("invalid model shape: %s",
			strings.TrimSuffix(err.Error(), ": "+api.ErrInvalid.Error()))
	}

	ctx, stop := interruptContext()
	defer stop()
	info, err := synth.WriteFileContext(ctx, *out, spec)
	if ctx.Err() != nil {
		return errWriteInterrupted
	}
	if err != nil {
		return err
	}
	// a custom shape has no model reference: --model synth: takes named shapes
	what := spec.String()
	if *shapeName == "custom" {
		s := spec.Shape
		what = fmt.Sprintf("custom shape (embd %d, layers %d, heads %d, kv heads %d, ffn %d, "+
			"vocab %d, context %d), %s, seed %d", s.Embd, s.Layers, s.Heads, s.HeadsKV, s.FFN,
			s.Vocab, s.Ctx, spec.Type, spec.Seed)
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %s, %d bytes (%.1f MiB), %d parameters\nsha256 %s\n",
		info.Path, what, info.Bytes, float64(info.Bytes)/(1<<20), info.Params, info.SHA256)
	return nil
}

// inspection is what `model inspect` prints: the file's shape and the
// memory check's estimate for a pack of it.
type inspection struct {
	synth.Inspection
	Estimate  memory.Estimate `json:"estimate"`
	Runner    runner.Kind     `json:"runner"`
	Instances int             `json:"instances"`
	TotalMiB  float64         `json:"pack_total_mib"`
}

func runModelInspect(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench model inspect", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	ctx := fs.Int("ctx-size", defaultCtxSize, "context size the estimate is for")
	instances := fs.Int("instances", 1, "instances of the pack the estimate is for")
	noMmap := fs.Bool("no-mmap", false, "estimate as if the runners were given --no-mmap")
	kindFlag := fs.String("runner", string(runner.LlamaCompletion),
		"the runner the estimate is for (node-llama-cpp costs more per instance): "+
			kindNames())
	asJSON := fs.Bool("json", false, "print JSON")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("model inspect: give exactly one FILE (got %d)", len(files))
	}
	if *ctx < 1 || *instances < 1 {
		return usagef("model inspect: --ctx-size and --instances must be 1 or more")
	}
	kind, err := runner.ParseKind(*kindFlag)
	if err != nil || kind == runner.Auto {
		return usagef("invalid --runner %q: accepted: %s", *kindFlag, kindNames())
	}
	var extra []string
	if *noMmap {
		extra = []string{"--no-mmap"}
	}

	path := files[0]
	// The parser's own errors repeat the path; say plainly what is missing.
	if st, err := os.Stat(path); err != nil {
		return usagef("model inspect: %v", err)
	} else if !st.Mode().IsRegular() {
		return usagef("model inspect: %s is not a regular file; want a GGUF file", path)
	}
	in, err := synth.Inspect(path)
	if err != nil {
		return err
	}
	// the same estimate the agent's memory check uses before every pack
	est, err := memory.EstimateFile(path, runner.MemoryOptions(kind, *ctx, extra))
	if err != nil {
		return fmt.Errorf("estimate %s: %w", path, err)
	}
	res := inspection{Inspection: in, Estimate: est, Runner: kind, Instances: *instances,
		TotalMiB: float64(est.TotalBytes(*instances)) / (1 << 20)}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printInspection(env.Stdout, res)
	return nil
}

// kindNames lists the concrete runner kinds for messages.
func kindNames() string {
	names := make([]string, len(runner.Kinds))
	for i, k := range runner.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// parseInterspersed parses fs from args, allowing flags after the
// positional arguments too (`inspect FILE --json`), and returns the
// positional ones. A lone "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagErr(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printInspection(w io.Writer, r inspection) {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "file:       %s (%d bytes)\n", r.Path, r.Bytes)
	fmt.Fprintf(w, "model:      %s, arch %s, type %s (%.2f bits per weight)\n",
		r.Name, r.Arch, r.FileType, r.BitsPerWeight)
	fmt.Fprintf(w, "shape:      embd %d, layers %d, heads %d, kv heads %d, ffn %d, vocab %d, "+
		"context %d\n", r.Embd, r.Layers, r.Heads, r.HeadsKV, r.FFN, r.Vocab, r.CtxTrain)
	fmt.Fprintf(w, "parameters: %d\n", r.Params)
	e := r.Estimate
	fmt.Fprintf(w, "memory (%s, ctx %d, %s): weights %.1f MiB%s, per instance %.1f MiB "+
		"(KV %.1f, compute %.1f, output %.1f, overhead %.1f)\n", r.Runner, e.CtxSize, e.Source,
		mib(e.WeightsBytes), map[bool]string{true: " shared (mmap)", false: " per instance"}[e.Mmap],
		mib(e.PerInstanceBytes()), mib(e.KVBytes), mib(e.ComputeBytes), mib(e.OutputBytes),
		mib(e.OverheadBytes))
	fmt.Fprintf(w, "pack of %d: %.1f MiB\n", r.Instances, r.TotalMiB)
	if e.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", e.Warning)
	}
}
