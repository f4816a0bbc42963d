package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
)

// Client is how the coordinator talks to one agent, in process or remote.
type Client interface {
	Facts(ctx context.Context) (host.Facts, error)
	Preflight(ctx context.Context, req api.PreflightRequest) (runner.Preflight, error)
	// PrepareModel has the agent write, or find already written, the
	// synthetic model that ref ("synth:SHAPE:TYPE[:SEED]") names.
	PrepareModel(ctx context.Context, ref string) (result.Model, error)
	RunPack(ctx context.Context, req api.PackRequest, emit func(api.Event)) (result.Pack, error)
}

var _ Client = (*agent.Agent)(nil)

// PackState is what an agent knows of a pack id.
type PackState int

// The states of a pack id on an agent.
const (
	// PackUnknown: the agent never ran a pack of that id.
	PackUnknown PackState = iota
	// PackRunning: the pack is running now.
	PackRunning
	// PackFinished: the pack ended and the agent keeps its result.
	PackFinished
	// PackInterrupted: the agent stopped while the pack ran; it has no
	// result and its id cannot be used again.
	PackInterrupted
)

// PackKeeper is a Client whose agent keeps its packs, so that a resumed
// sweep can take a finished pack's result or follow a running one instead
// of running it again.
type PackKeeper interface {
	// LookupPack says what the agent knows of pack id, with its result
	// when it finished.
	LookupPack(ctx context.Context, id string) (PackState, result.Pack, error)
	// WatchPack follows a running pack to its end, like RunPack.
	WatchPack(ctx context.Context, id string, emit func(api.Event)) (result.Pack, error)
}

// LogFetcher is a Client that can copy a finished pack's logs into dir.
type LogFetcher interface {
	FetchLogs(ctx context.Context, p result.Pack, dir string) error
}

// Errors a Client returns for HostRun to branch on.
var (
	// ErrUnreachable: the agent did not answer within the retry bound; the
	// host's sweep stops and the host is marked failed.
	ErrUnreachable = errors.New("agent unreachable")
	// ErrInterrupted: the agent restarted while the pack ran, so the pack
	// has no result; the combo is run again under a new pack id.
	ErrInterrupted = errors.New("pack interrupted by an agent restart")
)

// maxAttempts bounds the pack ids one combo may use: its planned id and
// the ids of reruns after interruptions.
const maxAttempts = 4

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

	// Prior is the host's results.json of an interrupted sweep: its rows
	// with a final status other than cancelled are kept, not run again.
	Prior *Document
	// Lookup asks the agent (a PackKeeper) for each planned pack id before
	// running it, taking a result it kept or following a pack still running.
	Lookup bool
	// FetchLogs copies each pack's logs into OutDir (from a LogFetcher).
	FetchLogs bool
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
	Model           *result.Model    `json:"model,omitempty"`
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
	// Planned gives the number of combos and how many of them are already
	// done (kept from an earlier run).
	Planned(total, done int)
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

// ModelRequired says that a runner of kind k needs --model and what it takes.
func ModelRequired(k runner.Kind) string {
	return fmt.Sprintf("--model is required for runner %s: pass the path of a .gguf file "+
		"or synth:SHAPE:TYPE[:SEED] for a synthetic model", k)
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
// the document it wrote. A combo that fails becomes a failed row and the
// sweep goes on; an unreachable agent stops it with an error wrapping
// ErrUnreachable. On cancellation it stops after the running pack is
// cancelled, writes what finished and returns the context's error.
func (h *HostRun) Run(ctx context.Context) (Document, error) {
	o := h.opts
	pf, err := h.client.Preflight(ctx, api.PreflightRequest{Binary: o.Binary,
		Runner: o.Runner, ExecMode: o.ExecMode, NoPreflight: o.NoPreflight})
	if err != nil {
		return h.doc, err
	}
	h.logger.Info("runner identified", "runner", pf.Kind, "exec_mode", pf.ExecMode,
		"version", pf.Version)
	// refuse once here rather than in every pack
	if o.Workload.Model == "" && pf.Kind != runner.Llamafile {
		return h.doc, fmt.Errorf("%w: %s", api.ErrInvalid, ModelRequired(pf.Kind))
	}

	h.doc.Tool, h.doc.Version = "packbench", Version
	h.doc.Runner = result.Runner{Binary: o.Binary, Kind: string(pf.Kind),
		ExecMode: string(pf.ExecMode), Version: pf.Version, Notes: pf.Notes}
	h.doc.Workload = o.Workload
	h.doc.Settings = Settings{ExecVia: string(o.ExecMode), TimeoutS: o.Timeout.Seconds(),
		MemHeadroom: o.MemHeadroom, NoPreflight: o.NoPreflight}
	if synth.IsModelRef(o.Workload.Model) {
		start := time.Now()
		h.logger.Info("agent preparing synthetic model", "model", o.Workload.Model)
		m, err := h.client.PrepareModel(ctx, o.Workload.Model)
		if err != nil {
			return h.doc, fmt.Errorf("model %s: %w", o.Workload.Model, err)
		}
		h.logger.Info("synthetic model ready", "model", m.Ref, "sha256", m.SHA256,
			"bytes", m.Bytes, "reused", m.Reused, "duration", time.Since(start).Round(time.Millisecond))
		h.doc.Model = &m
		// the agent runs every pack of a synthetic model with ignore-EOS
		h.doc.Workload.IgnoreEOS = true
	}
	if p := o.Prior; p != nil && len(p.Results) > 0 {
		if d := workloadDiff(p.Workload, h.doc.Workload); d != "" {
			return h.doc, fmt.Errorf("%w: resume: the workload differs from the one in "+
				"%s: %s; resume with the sweep's flags or use another --outdir", api.ErrInvalid,
				filepath.Join(o.OutDir, "results.json"), d)
		}
	}
	kept := h.keepPrior(ctx)
	if err := h.write(); err != nil {
		return h.doc, err
	}

	combos := h.doc.Plan.Combos
	h.progress.Planned(len(combos), len(kept))
	done := 0
	for k, c := range combos {
		if ctx.Err() != nil {
			break
		}
		if kept[c] {
			done++
			continue
		}
		h.progress.ComboStarted(k, c)
		p, err := h.runCombo(ctx, c)
		if err != nil {
			h.doc.Complete = false
			if werr := h.write(); werr != nil {
				return h.doc, werr
			}
			return h.doc, err
		}
		row := h.record(p)
		if err := h.write(); err != nil {
			return h.doc, err
		}
		if row.Status != result.StatusCancelled {
			done++
		}
		h.progress.ComboDone(k, row)
	}

	h.doc.Complete = ctx.Err() == nil && done == len(combos)
	if err := h.write(); err != nil {
		return h.doc, err
	}
	return h.doc, ctx.Err()
}

// workloadDiff names the fields in which a resumed run's workload differs
// from the one its kept rows were measured with, as "n_predict 160, was 8";
// "" when none does. The fields are compared as results.json has them.
func workloadDiff(was, now runner.Workload) string {
	fields := func(w runner.Workload) map[string]string {
		var m map[string]any
		data, _ := json.Marshal(w)
		_ = json.Unmarshal(data, &m)
		out := map[string]string{}
		for k, v := range m {
			if s, _ := json.Marshal(v); string(s) != "null" && string(s) != "[]" {
				out[k] = string(s)
			}
		}
		return out
	}
	a, b := fields(was), fields(now)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if a[k] != b[k] {
			diffs = append(diffs, fmt.Sprintf("%s %s, was %s", k, orNone(b[k]), orNone(a[k])))
		}
	}
	return strings.Join(diffs, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// record adds a pack and its row to the document.
func (h *HostRun) record(p result.Pack) result.Row {
	o := h.opts
	row := result.Summarize(p, len([]rune(o.Workload.Prompt)), o.Workload.NPredict)
	h.doc.Packs = append(h.doc.Packs, p)
	h.doc.Results = append(h.doc.Results, row)
	h.doc.BestByInstances = result.Best(h.doc.Results)
	if h.doc.Model == nil && p.Model != nil {
		m := *p.Model
		h.doc.Model = &m
	}
	if len(p.Runner.Args) > 0 {
		h.doc.Runner = p.Runner
	}
	return row
}

// keepPrior copies the rows of Options.Prior that are final (any status but
// cancelled) into the document and returns their combos. Logs the agent
// still has are fetched again when they are missing here.
func (h *HostRun) keepPrior(ctx context.Context) map[plan.Combo]bool {
	kept := map[plan.Combo]bool{}
	prior := h.opts.Prior
	if prior == nil {
		return kept
	}
	for i, row := range prior.Results {
		c := plan.Combo{Instances: row.Instances, Threads: row.Threads}
		if row.Status == result.StatusCancelled || kept[c] || i >= len(prior.Packs) {
			continue
		}
		kept[c] = true
		p := prior.Packs[i]
		h.doc.Packs = append(h.doc.Packs, p)
		h.doc.Results = append(h.doc.Results, row)
		if h.logsMissing(p) {
			h.fetchLogs(ctx, p)
		}
	}
	h.doc.BestByInstances = result.Best(h.doc.Results)
	if len(kept) > 0 {
		h.logger.Info("finished combos kept", "combos", len(kept))
	}
	return kept
}

// runCombo runs one combo and returns its pack: a failure other than an
// unreachable agent becomes a failed pack, so the sweep goes on. With
// Lookup, or after an interruption, it first asks the agent about the pack
// id, so that a pack is never run twice.
func (h *HostRun) runCombo(ctx context.Context, c plan.Combo) (result.Pack, error) {
	o := h.opts
	base := fmt.Sprintf("m%d_t%d_%s", c.Instances, c.Threads, o.Stamp)
	log := h.logger.With("instances", c.Instances, "threads", c.Threads)
	emit := func(ev api.Event) {
		if ev.Kind == api.EventInstanceStarted {
			log.Debug("instance started", "instance", ev.Index, "pid", ev.PID)
		}
	}
	keeper, _ := h.client.(PackKeeper)

	start := time.Now()
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		id := base
		if attempt > 0 {
			id = fmt.Sprintf("%s_r%d", base, attempt)
		}
		log := log.With("combo", id)
		var p result.Pack
		p, err = h.attempt(ctx, keeper, id, c, attempt > 0, emit)
		switch {
		case errors.Is(err, errNextID), errors.Is(err, ErrInterrupted):
			// expected on a resume: the cancelled pack keeps its id on the agent
			log.Info("running the combo again under a new pack id", "reason", err)
			continue
		case errors.Is(err, ErrUnreachable):
			log.Error("agent unreachable", "error", err)
			return result.Pack{}, err
		case errors.Is(err, api.ErrBusy):
			// not the combo's failure: another run holds the agent, and a
			// row here would keep a resume from ever running the combo
			log.Error("agent busy", "error", err)
			return result.Pack{}, fmt.Errorf("%w (another sweep or local run on this "+
				"agent?); --resume runs the rest once it is free", err)
		case err == nil:
			log.Info("combo done", "status", p.Status, "duration", p.EndedAt.Sub(p.StartedAt))
			h.fetchLogs(ctx, p)
			return p, nil
		}
		break
	}

	status := result.StatusFailed
	if errors.Is(err, context.Canceled) {
		status = result.StatusCancelled
	}
	log.Error("combo failed", "error", err)
	return result.Pack{ID: base, Instances: c.Instances, Threads: c.Threads,
		Status: status, Reason: err.Error(), StartedAt: start, EndedAt: time.Now(),
		Runner: h.doc.Runner}, nil
}

// errNextID says a pack id cannot be used: its pack was cancelled or
// interrupted earlier.
var errNextID = errors.New("its earlier pack id was cancelled")

// attempt runs the combo as pack id, or takes what the agent has of it.
func (h *HostRun) attempt(ctx context.Context, keeper PackKeeper, id string, c plan.Combo,
	retry bool, emit func(api.Event)) (result.Pack, error) {
	if keeper != nil && (h.opts.Lookup || retry) {
		state, p, err := keeper.LookupPack(ctx, id)
		if err != nil {
			return result.Pack{}, fmt.Errorf("look up pack %s: %w", id, err)
		}
		switch {
		case state == PackFinished && p.Status != result.StatusCancelled:
			h.logger.Info("pack result taken from the agent", "combo", id)
			return p, nil
		case state == PackRunning:
			h.logger.Info("following a pack still running", "combo", id)
			return keeper.WatchPack(ctx, id, emit)
		case state != PackUnknown:
			return result.Pack{}, errNextID
		}
	}

	o := h.opts
	req := api.PackRequest{
		ID:     id,
		Binary: o.Binary, Runner: o.Runner, ExecMode: o.ExecMode, NoPreflight: o.NoPreflight,
		Workload:  o.Workload,
		Instances: c.Instances, Threads: c.Threads, Timeout: o.Timeout,
		MemHeadroom: o.MemHeadroom,
	}
	return h.client.RunPack(ctx, req, emit)
}

// logsMissing reports whether any log of p is absent from OutDir.
func (h *HostRun) logsMissing(p result.Pack) bool {
	for _, in := range p.Results {
		for _, name := range []string{in.StdoutPath, in.StderrPath} {
			if name == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(h.opts.OutDir, name)); err != nil {
				return true
			}
		}
	}
	return false
}

// logFetchAfterCancel bounds fetching the logs of a pack that a Ctrl-C cut
// short: its row names them, so they are worth a moment more.
const logFetchAfterCancel = 10 * time.Second

// fetchLogs copies p's logs into OutDir when asked to; a failure is logged
// and the pack's row stands without them.
func (h *HostRun) fetchLogs(ctx context.Context, p result.Pack) {
	f, ok := h.client.(LogFetcher)
	if !h.opts.FetchLogs || !ok {
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), logFetchAfterCancel)
		defer cancel()
	}
	if err := f.FetchLogs(ctx, p, h.opts.OutDir); err != nil {
		h.logger.Warn("cannot fetch logs", "combo", p.ID, "error", err)
	}
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

func (nopProgress) Planned(int, int)             {}
func (nopProgress) ComboStarted(int, plan.Combo) {}
func (nopProgress) ComboDone(int, result.Row)    {}
