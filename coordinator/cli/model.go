package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/memory"
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

func runModelSynth(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench model synth", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	shapeName := fs.String("shape", "tiny", "model shape: custom or one of "+
		fmt.Sprint(synth.ShapeNames()))
	typ := fs.String("type", "q8_0", "weight type: f32, f16, q8_0 or q4_0")
	seed := fs.Uint64("seed", synth.DefaultSeed, "seed of the random weights")
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
	if *out == "" {
		return usagef("model synth: -o FILE is required")
	}

	var spec synth.Spec
	var err error
	if *shapeName == "custom" {
		custom.Name = "custom"
		spec.Shape = custom
	} else if spec.Shape, err = synth.ShapeByName(*shapeName); err != nil {
		return usagef("invalid --shape %q: accepted: %s, custom", *shapeName,
			strings.Join(synth.ShapeNames(), ", "))
	}
	if spec.Type, err = synth.ParseType(*typ); err != nil {
		return usagef("invalid --type %q: accepted: %s", *typ, synth.TypeNames)
	}
	spec.Seed = *seed
	if err := spec.Validate(); err != nil {
		return usagef("invalid model shape: %s",
			strings.TrimSuffix(err.Error(), ": "+api.ErrInvalid.Error()))
	}

	info, err := synth.WriteFile(*out, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %s, %d bytes (%.1f MiB), %d parameters\nsha256 %s\n",
		info.Path, spec, info.Bytes, float64(info.Bytes)/(1<<20), info.Params, info.SHA256)
	return nil
}

// inspection is what `model inspect` prints: the file's shape and the
// memory check's estimate for a pack of it.
type inspection struct {
	synth.Inspection
	Estimate  memory.Estimate `json:"estimate"`
	Instances int             `json:"instances"`
	TotalMiB  float64         `json:"pack_total_mib"`
}

func runModelInspect(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench model inspect", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	ctx := fs.Int("ctx-size", defaultCtxSize, "context size the estimate is for")
	instances := fs.Int("instances", 1, "instances of the pack the estimate is for")
	noMmap := fs.Bool("no-mmap", false, "estimate as if the runners were given --no-mmap")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 1 {
		return usagef("model inspect: give exactly one FILE")
	}
	if *ctx < 1 || *instances < 1 {
		return usagef("model inspect: --ctx-size and --instances must be 1 or more")
	}

	path := fs.Arg(0)
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
	est, err := memory.EstimateFile(path, memory.Options{CtxSize: *ctx, NoMmap: *noMmap})
	if err != nil {
		return fmt.Errorf("estimate %s: %w", path, err)
	}
	res := inspection{Inspection: in, Estimate: est, Instances: *instances,
		TotalMiB: float64(est.TotalBytes(*instances)) / (1 << 20)}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printInspection(env.Stdout, res)
	return nil
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
	fmt.Fprintf(w, "memory (ctx %d, %s): weights %.1f MiB%s, per instance %.1f MiB "+
		"(KV %.1f, compute %.1f, output %.1f, overhead %.1f)\n", e.CtxSize, e.Source,
		mib(e.WeightsBytes), map[bool]string{true: " shared (mmap)", false: " per instance"}[e.Mmap],
		mib(e.PerInstanceBytes()), mib(e.KVBytes), mib(e.ComputeBytes), mib(e.OutputBytes),
		mib(e.OverheadBytes))
	fmt.Fprintf(w, "pack of %d: %.1f MiB\n", r.Instances, r.TotalMiB)
	if e.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", e.Warning)
	}
}
