package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
)

func runLocal(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench local", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	outDir := fs.String("outdir", defaultOutDir, "directory for results and logs")
	modelDir := fs.String("model-dir", defaultModelDir(),
		"where synth: models are written, and reused while their hash matches")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: packbench local --binary PATH [--model PATH] [flags]\n\n"+
			"Benchmarks packs of concurrent runner processes on this machine.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usagef("local: unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	v, err := bf.validate()
	if err != nil {
		return err
	}
	if !bf.dryRun {
		if err := coordinator.CheckOutDir(*outDir); err != nil {
			return usagef("invalid --outdir %q: cannot write there: %v", *outDir, err)
		}
	}
	if synth.IsModelRef(bf.model) && !bf.dryRun {
		if *modelDir == "" {
			return usagef("invalid --model-dir \"\": accepted: a directory for synthetic models")
		}
		if err := coordinator.CheckOutDir(*modelDir); err != nil {
			return usagef("invalid --model-dir %q: cannot write there: %v", *modelDir, err)
		}
	}

	ctx, stop := interruptContext()
	defer stop()

	var bar *coordinator.Bar
	logOut := env.Stderr
	if env.Interactive && !bf.dryRun {
		bar = coordinator.NewBar(env.Stderr, "")
		defer bar.Close()
		logOut = bar
	}
	logger := newLogger(logOut, bf.verbose)
	for _, w := range v.warnings {
		logger.Warn(w)
	}
	onSignal(ctx, func() {
		logger.Warn("interrupted: stopping the running packs and keeping what finished; " +
			"Ctrl-C again quits at once")
	})

	allow := []string{bf.binary}
	if bf.model != "" && !synth.IsModelRef(bf.model) {
		allow = append(allow, bf.model)
	}
	logDir := *outDir
	if bf.dryRun {
		logDir = os.TempDir()
	}
	// the operator is the user here: every extra argument is theirs to pass
	ag, err := agent.New(logger, agent.Config{LogDir: logDir, Allow: allow,
		Args:   agent.ArgPolicy{AllowAll: true},
		LogCap: int64(bf.logCapMiB) << 20, ModelDir: *modelDir})
	if err != nil {
		return err
	}

	// the agent runs in process and is driven through its gRPC API, as a
	// fleet's agents are; its kept packs live only as long as the run
	stateDir, err := os.MkdirTemp("", "packbench-local-state-")
	if err != nil {
		return fmt.Errorf("create agent state dir: %w", err)
	}
	defer os.RemoveAll(stateDir)
	inproc, err := coordinator.StartInProcess(logger, ag, stateDir)
	if err != nil {
		return err
	}
	defer inproc.Close()
	client := inproc.Client

	opts := coordinator.Options{
		Binary: bf.binary, Runner: v.kind, ExecMode: v.mode, NoPreflight: bf.noPreflight,
		Workload: v.workload, Plan: v.spec, Timeout: v.timeout, MemHeadroom: bf.memHeadroom,
		OutDir: *outDir, Stamp: time.Now().Format("20060102-150405"),
	}
	var progress coordinator.Progress
	if bar != nil {
		progress = bar
	}
	runLogger := logger
	if bf.dryRun {
		// a dry run prints the plan's notes itself; logging them too says each twice
		runLogger = newLogger(logOut, bf.verbose)
		runLogger.SetLevel(hclog.Error)
	}
	run := coordinator.NewHostRun(runLogger, client, opts, progress)

	p, err := run.Plan(ctx)
	if err != nil {
		var pe *plan.Error
		if errors.As(err, &pe) {
			return usagef("%v", err)
		}
		return err
	}
	if bf.dryRun {
		pf, err := client.Preflight(ctx, api.PreflightRequest{Binary: bf.binary,
			Runner: v.kind, ExecMode: v.mode, NoPreflight: bf.noPreflight})
		if err != nil {
			return refusedByAgent(err)
		}
		printRunner(env.Stdout, pf, nil)
		printPlan(env.Stdout, p)
		printModel(env.Stdout, bf.model, *modelDir)
		if bf.model == "" && pf.Kind != runner.Llamafile {
			return usagef("%s", coordinator.ModelRequired(pf.Kind))
		}
		return nil
	}
	if err := needModel(ctx, client, bf, v); err != nil {
		return refusedByAgent(err)
	}

	doc, err := run.Run(ctx)
	if bar != nil {
		bar.Close()
	}
	// a run stopped before its first combo (preflight, the model) wrote
	// nothing to point at
	if err == nil || len(doc.Results) > 0 {
		printSummary(env.Stdout, *outDir, doc)
	}
	switch {
	case errors.Is(err, context.Canceled):
		logger.Warn("interrupted; finished combos are kept", "outdir", *outDir)
		return errInterrupted
	case err != nil:
		return refusedByAgent(err)
	}
	if _, ok := result.Top(doc.BestByInstances); !ok {
		return fmt.Errorf("no combo finished with every instance; see %s",
			filepath.Join(*outDir, "results.csv"))
	}
	return nil
}

// refusedByAgent makes what the in-process agent refused as invalid a usage
// error (exit 2): it runs what the flags say, so the flags asked for it. Its
// sentinel's words add nothing for a person. Other errors pass unchanged.
func refusedByAgent(err error) error {
	if !errors.Is(err, api.ErrInvalid) {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), "agent: ")
	return usagef("%s", strings.Replace(msg, api.ErrInvalid.Error()+": ", "", 1))
}

// needModel refuses a run without --model unless the runner carries its own
// weights, once preflight has said which runner it is.
func needModel(ctx context.Context, ag coordinator.Client, bf benchFlags, v validated) error {
	if bf.model != "" {
		return nil
	}
	pf, err := ag.Preflight(ctx, api.PreflightRequest{Binary: bf.binary, Runner: v.kind,
		ExecMode: v.mode, NoPreflight: bf.noPreflight})
	if err != nil {
		return err
	}
	if pf.Kind != runner.Llamafile {
		return usagef("%s", coordinator.ModelRequired(pf.Kind))
	}
	return nil
}

// printModel says, in a dry run, what a synthetic model will cost and
// where it will be written: in dir, or with dir "" in each agent's state
// directory.
func printModel(w io.Writer, ref, dir string) {
	spec, err := synth.ParseModelRef(ref)
	if err != nil {
		return // not a synthetic model; validate already refused a bad one
	}
	where := "written to " + filepath.Join(dir, spec.FileName()) + " on first use"
	switch {
	case dir == "":
		where = "written to " + filepath.Join("STATE_DIR", "models", spec.FileName()) +
			" on each agent on first use"
	case fileExists(filepath.Join(dir, spec.FileName())):
		where = "already in " + dir + " (reused if its hash still matches)"
	}
	fmt.Fprintf(w, "model: %s, %s, %d weights, %s\n", spec, byteSize(spec.Size()),
		spec.Params(), where)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// byteSize prints n bytes in the largest binary unit that keeps a whole
// part, with one decimal: 704.9 KiB, 45.8 MiB, 3.6 GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// plural gives "1 combo", "2 combos".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// defaultModelDir is packbench's directory in the user's cache, where
// synthetic models are kept between runs; "" when the system names none.
func defaultModelDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "packbench", "models")
}

func printPlan(w io.Writer, p plan.Plan) {
	fmt.Fprintf(w, "plan: %s on %s, %s, %d reserved, %d split between instances\n",
		plural(len(p.Combos), "combo"), plural(p.PhysicalCores, "physical core"),
		plural(p.UsableCPUs, "usable CPU"), p.Reserve, p.Cores-p.Reserve)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w, "instances  threads_per_instance  threads_total")
	for _, c := range p.Combos {
		flag := ""
		if p.Oversubscribed(c) {
			flag = "  (oversubscribed)"
		}
		fmt.Fprintf(w, "%9d  %20d  %13d%s\n", c.Instances, c.Threads, c.Instances*c.Threads, flag)
	}
}

func printSummary(w io.Writer, outDir string, doc coordinator.Document) {
	if top, ok := result.Top(doc.BestByInstances); ok {
		fmt.Fprintf(w, "best: %s x %s = %.2f tokens/s in all (median %.2f per instance)\n",
			plural(top.Instances, "instance"), plural(top.BestThreads, "thread"), top.TokPSSum,
			top.TokPSMedian)
		if ov, ok := result.BestOverlap(doc.Results, top); ok && ov < result.LowOverlap {
			fmt.Fprintf(w, "note: its instances generated at the same time for only %.0f%% "+
				"of the time (overlap %.2f), so it says little about packing; a larger "+
				"-n/--n-predict makes them overlap\n", 100*ov, ov)
		}
	} else {
		fmt.Fprintln(w, "best: none (no combo finished with every instance)")
	}
	if m := doc.Model; m != nil && m.Ref != "" {
		fmt.Fprintf(w, "model: %s, sha256 %s\n", m.Ref, m.SHA256)
	}
	fmt.Fprintf(w, "results: %s, %s, %s\n", filepath.Join(outDir, "results.csv"),
		filepath.Join(outDir, "best_by_instances.csv"), filepath.Join(outDir, "results.json"))
	fmt.Fprintf(w, "logs: %s\n", filepath.Join(outDir, "m*_t*_p*.std{out,err}.txt"))
}
