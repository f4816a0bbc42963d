package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
)

// Client is how the coordinator talks to one agent, in process or remote.
type Client interface {
	Facts(ctx context.Context) (host.Facts, error)
	Preflight(ctx context.Context, req api.PreflightRequest) (runner.Preflight, error)
	RunPack(ctx context.Context, req api.PackRequest, emit func(api.Event)) (result.Pack, error)
}

var _ Client = (*agent.Agent)(nil)

// Options are the sweep settings shared by every host.
type Options struct {
	Binary      string
	Runner      runner.Kind
	ExecMode    runner.ExecMode
	NoPreflight bool
	Workload    runner.Workload
	Plan        plan.Spec
	Timeout     time.Duration
	MemHeadroom float64
	// OutDir receives the host's files.
	OutDir string
	// Stamp makes pack ids, and so log names, unique to this sweep.
	Stamp string
}

// Document is results.json: the rows of results.csv and
// best_by_instances.csv, and what they were measured on and with.
type Document struct {
	Tool            string           `json:"tool"`
	Version         string           `json:"version"`
	GeneratedAt     time.Time        `json:"generated_at"`
	Complete        bool             `json:"complete"`
	Host            host.Facts       `json:"host"`
	Plan            plan.Plan        `json:"plan"`
	Runner          result.Runner    `json:"runner"`
	Workload        runner.Workload  `json:"workload"`
	Settings        Settings         `json:"settings"`
	Results         []result.Row     `json:"results"`
	BestByInstances []result.BestRow `json:"best_by_instances"`
	Packs           []result.Pack    `json:"packs"`
}

// Settings are the run-wide options recorded in results.json.
type Settings struct {
	ExecVia     string  `json:"exec_via"`
	TimeoutS    float64 `json:"timeout_s"`
	MemHeadroom float64 `json:"mem_headroom"`
	NoPreflight bool    `json:"no_preflight"`
}

// Version is packbench's version, recorded in every results.json.
var Version = "0.1.0"

// Progress hears about a host's combos; implementations must be cheap.
type Progress interface {
	Planned(total int)
	ComboStarted(k int, c plan.Combo)
	ComboDone(k int, row result.Row)
}

// HostRun drives one agent through its plan.
type HostRun struct {
	logger   hclog.Logger
	client   Client
	opts     Options
	progress Progress

	doc Document
}

// NewHostRun prepares a run; progress may be nil.
func NewHostRun(logger hclog.Logger, client Client, opts Options, progress Progress) *HostRun {
	if progress == nil {
		progress = nopProgress{}
	}
	return &HostRun{logger: logger, client: client, opts: opts, progress: progress}
}

// Plan asks the agent for its facts and plans the sweep from its cores.
func (h *HostRun) Plan(ctx context.Context) (plan.Plan, error) {
	facts, err := h.client.Facts(ctx)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("host facts: %w", err)
	}
	p, err := plan.Build(h.opts.Plan, facts.PhysicalCores, facts.UsableCPUs)
	if err != nil {
		return plan.Plan{}, err
	}
	h.doc.Host, h.doc.Plan = facts, p
	for _, n := range p.Notes {
		h.logger.Warn("plan adjusted", "note", n)
	}
	return p, nil
}

// Run runs every combo of the plan (Plan must have been called) and returns
// the document it wrote. On cancellation it stops after killing the running
// pack, writes what finished and returns the context's error.
func (h *HostRun) Run(ctx context.Context) (Document, error) {
	o := h.opts
	pf, err := h.client.Preflight(ctx, api.PreflightRequest{Binary: o.Binary,
		Runner: o.Runner, ExecMode: o.ExecMode, NoPreflight: o.NoPreflight})
	if err != nil {
		return h.doc, fmt.Errorf("preflight %s: %w", o.Binary, err)
	}
	h.logger.Info("runner identified", "runner", pf.Kind, "exec_mode", pf.ExecMode,
		"version", pf.Version)

	h.doc.Tool, h.doc.Version = "packbench", Version
	h.doc.Runner = result.Runner{Binary: o.Binary, Kind: string(pf.Kind),
		ExecMode: string(pf.ExecMode), Version: pf.Version, Notes: pf.Notes}
	h.doc.Workload = o.Workload
	h.doc.Settings = Settings{ExecVia: string(o.ExecMode), TimeoutS: o.Timeout.Seconds(),
		MemHeadroom: o.MemHeadroom, NoPreflight: o.NoPreflight}
	if err := h.write(); err != nil {
		return h.doc, err
	}

	combos := h.doc.Plan.Combos
	h.progress.Planned(len(combos))
	for k, c := range combos {
		if ctx.Err() != nil {
			break
		}
		h.progress.ComboStarted(k, c)
		p := h.runCombo(ctx, c)
		row := result.Summarize(p, len([]rune(o.Workload.Prompt)), o.Workload.NPredict)
		h.doc.Packs = append(h.doc.Packs, p)
		h.doc.Results = append(h.doc.Results, row)
		h.doc.BestByInstances = result.Best(h.doc.Results)
		if len(p.Runner.Args) > 0 {
			h.doc.Runner = p.Runner
		}
		if err := h.write(); err != nil {
			return h.doc, err
		}
		h.progress.ComboDone(k, row)
	}

	h.doc.Complete = ctx.Err() == nil && len(h.doc.Results) == len(combos)
	if err := h.write(); err != nil {
		return h.doc, err
	}
	return h.doc, ctx.Err()
}

// runCombo runs one pack; an error becomes a failed row, so the sweep goes on.
func (h *HostRun) runCombo(ctx context.Context, c plan.Combo) result.Pack {
	o := h.opts
	req := api.PackRequest{
		ID:     fmt.Sprintf("m%d_t%d_%s", c.Instances, c.Threads, o.Stamp),
		Binary: o.Binary, Runner: o.Runner, ExecMode: o.ExecMode, NoPreflight: o.NoPreflight,
		Workload:  o.Workload,
		Instances: c.Instances, Threads: c.Threads, Timeout: o.Timeout,
		MemHeadroom: o.MemHeadroom,
	}
	log := h.logger.With("combo", req.ID, "instances", c.Instances, "threads", c.Threads)
	log.Debug("combo starting")

	start := time.Now()
	p, err := h.client.RunPack(ctx, req, func(ev api.Event) {
		if ev.Kind == api.EventInstanceStarted {
			log.Debug("instance started", "instance", ev.Index, "pid", ev.PID)
		}
	})
	if err != nil {
		status := result.StatusFailed
		if errors.Is(err, context.Canceled) {
			status = result.StatusCancelled
		}
		log.Error("combo failed", "error", err)
		return result.Pack{ID: req.ID, Instances: c.Instances, Threads: c.Threads,
			Status: status, Reason: err.Error(), StartedAt: start, EndedAt: time.Now(),
			Runner: h.doc.Runner}
	}
	log.Info("combo done", "status", p.Status, "duration", p.EndedAt.Sub(p.StartedAt))
	return p
}

// write rewrites the host's three result files atomically.
func (h *HostRun) write() error {
	h.doc.GeneratedAt = time.Now().UTC()
	dir := h.opts.OutDir
	if err := result.WriteCSV(filepath.Join(dir, "results.csv"), result.Columns,
		h.doc.Results); err != nil {
		return err
	}
	if err := result.WriteCSV(filepath.Join(dir, "best_by_instances.csv"),
		result.BestColumns, h.doc.BestByInstances); err != nil {
		return err
	}
	return result.WriteJSON(filepath.Join(dir, "results.json"), h.doc)
}

// CheckOutDir creates dir and proves a file can be written in it.
func CheckOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".packbench-write-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

type nopProgress struct{}

func (nopProgress) Planned(int)                  {}
func (nopProgress) ComboStarted(int, plan.Combo) {}
func (nopProgress) ComboDone(int, result.Row)    {}
