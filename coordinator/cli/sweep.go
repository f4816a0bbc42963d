package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
)

const defaultSweepOutDir = "packbench_sweep"

func runSweep(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench sweep", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	agentList := fs.String("agents", "", "agents to sweep: host:port,host:port,...")
	fleetFile := fs.String("fleet", "", "JSON fleet file: "+
		`{"agents":[{"name":"a1","address":"host:7070","labels":{"sku":"..."}}]}`)
	outDir := fs.String("outdir", defaultSweepOutDir,
		"directory for fleet.csv, fleet.json and one directory per host")
	resume := fs.Bool("resume", false,
		"continue the sweep in --outdir, keeping every finished combo")
	var tf tlsFlags
	tf.register(fs, "coordinator")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: packbench sweep (--agents LIST | --fleet FILE) "+
			"--binary PATH [--model PATH] [flags]\n\n"+
			"Benchmarks packs on every agent of a fleet, the hosts in parallel. --binary and\n"+
			"--model are paths on the agents' hosts.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usagef("sweep: unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	var resumed *coordinator.FleetDocument
	if *resume {
		var err error
		if resumed, err = readResumed(*outDir); err != nil {
			return err
		}
		if err := resumeFlags(fs, resumed, *outDir); err != nil {
			return err
		}
	}
	agents, err := sweepAgents(*agentList, *fleetFile, *resume)
	if err != nil {
		return err
	}
	switch {
	case *resume && len(agents) > 0:
		if err := resumeAgents(agents, resumed, *outDir); err != nil {
			return err
		}
	case *resume:
		agents = recordedAgents(resumed)
	default:
		// a sweep's finished combos are only ever continued, never replaced
		if _, err := os.Stat(filepath.Join(*outDir, "fleet.json")); err == nil {
			return usagef("invalid --outdir %q: it holds a sweep; add --resume to continue "+
				"it, or give another --outdir", *outDir)
		}
	}
	v, err := bf.check(false)
	if err != nil {
		return err
	}
	if !bf.dryRun {
		if err := coordinator.CheckOutDir(*outDir); err != nil {
			return usagef("invalid --outdir %q: cannot write there: %v", *outDir, err)
		}
	}

	ctx, stop := interruptContext()
	defer stop()

	var board *coordinator.Board
	logOut := env.Stderr
	if env.Interactive && !bf.dryRun {
		board = coordinator.NewBoard(env.Stderr)
		defer board.Close()
		logOut = board
	}
	logger := newLogger(logOut, bf.verbose)
	for _, w := range v.warnings {
		logger.Warn(w)
	}
	onSignal(ctx, func() {
		logger.Warn("interrupted: stopping the running packs and keeping what finished; " +
			"Ctrl-C again quits at once")
	})
	creds, err := tf.clientCreds()
	if err != nil {
		return err
	}
	if creds == nil {
		warnPlaintext(logger, agents)
	}
	dial := coordinator.RemoteDialer(logger.Named("remote"), coordinator.DefaultBackoff, creds)
	if bf.dryRun {
		pre := api.PreflightRequest{Binary: bf.binary, Runner: v.kind, ExecMode: v.mode,
			NoPreflight: bf.noPreflight}
		if err := dryRunSweep(ctx, env.Stdout, dial, agents, v.spec, pre); err != nil {
			return err
		}
		printModel(env.Stdout, bf.model, "")
		return nil
	}

	opts := coordinator.SweepOptions{
		Agents: agents, OutDir: *outDir, Resume: *resume, Dial: dial, Flags: givenFlags(fs),
		Host: coordinator.Options{
			Binary: bf.binary, Runner: v.kind, ExecMode: v.mode, NoPreflight: bf.noPreflight,
			Workload: v.workload, Plan: v.spec, Timeout: v.timeout,
			MemHeadroom: bf.memHeadroom,
		},
	}
	if board != nil {
		opts.Progress = func(name string) coordinator.Progress { return board.Line(name) }
	}
	doc, err := coordinator.NewSweep(logger.Named("sweep"), opts).Run(ctx)
	if board != nil {
		board.Close()
	}
	printFleet(env.Stdout, *outDir, doc)
	switch {
	case errors.Is(err, coordinator.ErrNothingToResume):
		return usagef("invalid --resume: %v", err)
	case errors.Is(err, context.Canceled):
		logger.Warn("interrupted; finished combos are kept", "outdir", *outDir)
		return errInterrupted
	case err != nil:
		return err
	}
	failed := 0
	for _, h := range doc.Hosts {
		if h.Status != coordinator.HostOK {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d hosts failed; see %s", failed, len(doc.Hosts),
			filepath.Join(*outDir, "fleet.csv"))
	}
	return nil
}

// sweepAgents reads --agents or --fleet; --resume may take the agents from
// the outdir's fleet.json instead.
func sweepAgents(list, file string, resume bool) ([]coordinator.Agent, error) {
	var agents []coordinator.Agent
	var err error
	switch {
	case list != "" && file != "":
		return nil, usagef("--agents and --fleet exclude each other: pass one")
	case list != "":
		agents, err = coordinator.ParseAgentList(list)
	case file != "":
		agents, err = coordinator.ReadFleetFile(file)
	case !resume:
		return nil, usagef("--agents or --fleet is required: the agents to sweep")
	}
	var fe *coordinator.FleetError
	if errors.As(err, &fe) {
		return nil, usagef("invalid %v", err)
	}
	return agents, err
}

// dryRunSweep prints each host's plan, from its agent's facts.
func dryRunSweep(ctx context.Context, w io.Writer, dial coordinator.Dialer,
	agents []coordinator.Agent, spec plan.Spec, pre api.PreflightRequest) error {
	refused := 0
	for _, a := range agents {
		client, closer, err := dial(a.Address)
		if err != nil {
			return err
		}
		facts, err := client.Facts(ctx)
		if err != nil {
			closer.Close()
			return fmt.Errorf("host %s: %w", a.Address, err)
		}
		// the agent checks the binary against its allowlist and names the
		// runner, as it will before the first pack
		pf, pfErr := client.Preflight(ctx, pre)
		closer.Close()
		p, err := plan.Build(spec, facts.PhysicalCores, facts.UsableCPUs)
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(w, "host %s (%s, %s):\n", a.Address, facts.Hostname, facts.CPUModel)
		printRunner(w, pf, pfErr)
		if pfErr != nil {
			refused++
		}
		printPlan(w, p)
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d agents refused the runner; see above", refused, len(agents))
	}
	return nil
}

// printRunner says, in a dry run, which runner preflight found, or why it
// found none.
func printRunner(w io.Writer, pf runner.Preflight, err error) {
	if err != nil {
		fmt.Fprintf(w, "runner: refused: %v\n", err)
		return
	}
	version := pf.Version
	if version == "" {
		version = "version unknown"
	}
	fmt.Fprintf(w, "runner: %s %s (%s)\n", pf.Kind, version, pf.ExecMode)
}

// printFleet prints one line per host and where the files are.
func printFleet(w io.Writer, outDir string, doc coordinator.FleetDocument) {
	for _, h := range doc.Hosts {
		best := "best: none"
		if h.Best != nil {
			best = fmt.Sprintf("best: %s x %s = %.2f tokens/s",
				plural(h.Best.Instances, "instance"), plural(h.Best.BestThreads, "thread"),
				h.Best.TokPSSum)
			if ov := h.BestOverlap; ov != nil && *ov < result.LowOverlap {
				best += fmt.Sprintf(" (overlap %.2f: says little about packing)", *ov)
			}
		}
		line := fmt.Sprintf("%s (%s): %s, %d/%d combos, %s", h.Name, h.Address, h.Status,
			h.CombosDone, h.CombosPlanned, best)
		if h.Reason != "" {
			line += " (" + h.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "fleet: %s, %s\n", filepath.Join(outDir, "fleet.csv"),
		filepath.Join(outDir, "fleet.json"))
}
