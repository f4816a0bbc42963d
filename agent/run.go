package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/memory"
	"github.com/packbench/packbench/pkg/pack"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
	"github.com/packbench/packbench/pkg/timing"
)

// RunPack runs one pack and blocks until every process of it is reaped. emit
// receives each event as it happens, from more than one goroutine but never
// concurrently; it must not block for long. The returned Pack is the same as
// the PackFinished event's. A skipped pack (memory) is not an error. A pack
// stopped by ctx still ends with PackFinished (status cancelled) and returns
// its Pack together with an error wrapping ctx's.
func (a *Agent) RunPack(ctx context.Context, req api.PackRequest,
	emit func(api.Event)) (result.Pack, error) {
	if err := ValidateRequest(req, a.cfg.Limits, a.cfg.Args); err != nil {
		return result.Pack{}, err
	}
	bin, err := a.checkPath("binary", req.Binary)
	if err != nil {
		return result.Pack{}, err
	}
	var synthSpec *synth.Spec
	switch model := req.Workload.Model; {
	case synth.IsModelRef(model):
		spec, err := a.checkModelRef(model)
		if err != nil {
			return result.Pack{}, err
		}
		synthSpec = &spec
	case model != "":
		if req.Workload.Model, err = a.checkPath("model", model); err != nil {
			return result.Pack{}, err
		}
	}
	if err := a.acquire("pack " + req.ID + " is running"); err != nil {
		return result.Pack{}, err
	}
	// the agent is free again before PackFinished goes out, so a caller
	// may start the next pack as soon as it sees that event
	release := sync.OnceFunc(a.release)
	defer release()

	var model *result.Model
	switch {
	case synthSpec != nil:
		m, err := a.prepare(ctx, *synthSpec)
		if err != nil {
			return result.Pack{}, err
		}
		// Reused tells a run whether it paid for the writing; that is said
		// once, by PrepareModel, not by every pack that runs on the file
		m.Reused = false
		model = &m
		// a synthetic model's weights mean nothing, so only a runner told
		// to ignore end-of-stream is sure to generate every token asked for
		req.Workload.Model, req.Workload.IgnoreEOS = m.Path, true
	case req.Workload.Model != "":
		model = &result.Model{Path: req.Workload.Model}
		if st, err := os.Stat(req.Workload.Model); err == nil {
			model.Bytes = st.Size()
		}
	}

	var emitMu sync.Mutex
	send := func(ev api.Event) {
		ev.PackID, ev.At = req.ID, time.Now()
		emitMu.Lock()
		defer emitMu.Unlock()
		if emit != nil {
			emit(ev)
		}
	}
	log := a.logger.With("pack", req.ID, "instances", req.Instances, "threads", req.Threads)

	pf, err := a.Preflight(ctx, api.PreflightRequest{Binary: bin, Runner: req.Runner,
		ExecMode: req.ExecMode, NoPreflight: req.NoPreflight})
	if err != nil {
		return result.Pack{}, fmt.Errorf("preflight: %w", err)
	}
	prof, err := pf.Profile()
	if err != nil {
		return result.Pack{}, err
	}
	cmd, err := prof.Command(bin, pf.ExecMode, req.Workload, req.Threads)
	if err != nil {
		return result.Pack{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}

	p := result.Pack{
		ID: req.ID, Instances: req.Instances, Threads: req.Threads,
		Runner: result.Runner{
			Binary: req.Binary, Kind: string(pf.Kind), ExecMode: string(cmd.ExecMode),
			Version: pf.Version, Args: cmd.Args, Dropped: cmd.Dropped, CPUOnly: cmd.CPUOnly,
			Notes: pf.Notes,
		},
		Model: model,
	}
	p.UsableCPUs, _, _ = host.UsableCPUs()

	mem, fits, err := a.memoryCheck(bin, pf.Kind, req)
	if err != nil {
		return result.Pack{}, err
	}
	p.Memory = mem
	if !fits {
		p.Status = result.StatusSkipped
		p.Reason = fmt.Sprintf("estimated %.0f MiB exceeds the cap of %.0f MiB "+
			"(--mem-headroom %g x MemAvailable %.0f MiB)", mib(mem.TotalBytes),
			mib(mem.CapBytes), mem.Headroom, mib(mem.AvailableBytes))
		p.StartedAt, p.EndedAt = time.Now(), time.Now()
		log.Warn("pack skipped", "reason", p.Reason)
		send(api.Event{Kind: api.EventSkipped, Memory: &mem, Reason: p.Reason})
		release()
		send(api.Event{Kind: api.EventPackFinished, Pack: &p})
		return p, nil
	}
	send(api.Event{Kind: api.EventAccepted, Memory: &mem})

	spec := a.packSpec(req, cmd)
	obs := &observer{agent: a, req: req, spec: spec, send: send, mode: cmd.ExecMode,
		done: make([]result.Instance, req.Instances)}
	log.Info("pack starting", "runner", pf.Kind, "exec_mode", cmd.ExecMode)
	res, err := pack.Run(ctx, a.logger, spec, obs)
	cancelled := err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
	if err != nil && !cancelled {
		return result.Pack{}, fmt.Errorf("run pack %s: %w", req.ID, err)
	}

	p.StartedAt, p.EndedAt, p.StartSkew = res.Started, res.Ended, res.StartSkew
	p.Results = obs.finished(res)
	for _, in := range p.Results {
		if in.ExecMode == pack.ExecSh && p.Runner.ExecMode == string(runner.ExecDirect) {
			p.Runner.ExecMode = in.ExecMode // a direct start failed and was retried
		}
	}
	p.Status, p.Reason = result.ComboStatus(p.Results)
	log.Info("pack finished", "status", p.Status, "duration", p.EndedAt.Sub(p.StartedAt))
	release()
	send(api.Event{Kind: api.EventPackFinished, Pack: &p})
	if cancelled {
		return p, fmt.Errorf("run pack %s: %w", req.ID, err)
	}
	return p, nil
}

// packSpec lays out the processes and their log files.
func (a *Agent) packSpec(req api.PackRequest, cmd runner.Command) pack.Spec {
	spec := pack.Spec{Timeout: req.Timeout, Grace: a.cfg.Grace, LogCap: a.cfg.LogCap,
		SampleEvery: a.cfg.SampleEvery}
	for k := 0; k < req.Instances; k++ {
		stem := filepath.Join(a.cfg.LogDir, fmt.Sprintf("%s_p%d", req.ID, k))
		spec.Instances = append(spec.Instances, pack.Instance{
			Index: k, Path: cmd.Path, Args: cmd.Args, Env: cmd.Env,
			StdoutPath: stem + ".stdout.txt", StderrPath: stem + ".stderr.txt",
			RetryViaSh: cmd.ExecMode == runner.ExecDirect && req.ExecMode == runner.ExecAuto,
		})
	}
	return spec
}

// observer turns the launcher's callbacks into events, parsing each
// instance's logs as soon as it exits.
type observer struct {
	agent *Agent
	req   api.PackRequest
	spec  pack.Spec
	send  func(api.Event)
	mode  runner.ExecMode

	mu   sync.Mutex
	done []result.Instance // by index, guarded by mu
	seen []bool            // guarded by mu
}

var _ pack.Observer = (*observer)(nil)

func (o *observer) InstanceStarted(index, pid int, at time.Time) {
	o.send(api.Event{Kind: api.EventInstanceStarted, Index: index, PID: pid})
}

func (o *observer) InstanceExited(r pack.InstanceResult) {
	in := o.judge(r)
	o.mu.Lock()
	if o.seen == nil {
		o.seen = make([]bool, len(o.done))
	}
	o.done[r.Index], o.seen[r.Index] = in, true
	o.mu.Unlock()
	o.send(api.Event{Kind: api.EventInstanceFinished, Index: r.Index, Instance: &in})
}

// finished returns every instance's outcome, judging the ones the launcher
// did not report through the observer (never started, for example).
func (o *observer) finished(res pack.Result) []result.Instance {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range res.Instances {
		if o.seen == nil || !o.seen[r.Index] {
			o.done[r.Index] = o.judge(r)
		}
	}
	return append([]result.Instance(nil), o.done...)
}

func (o *observer) judge(r pack.InstanceResult) result.Instance {
	inst := o.spec.Instances[r.Index]
	// the launcher says "direct" for anything it did not retry, shells too
	mode := string(o.mode)
	if r.ExecMode == pack.ExecSh {
		mode = pack.ExecSh
	}
	in := result.Instance{
		Index: r.Index, PID: r.PID, ExecMode: mode,
		StartedAt: r.Started, EndedAt: r.Ended,
		PeakRSSBytes: r.PeakRSSBytes, PeakPSSBytes: r.PeakPSSBytes,
		StdoutPath: filepath.Base(inst.StdoutPath), StderrPath: filepath.Base(inst.StderrPath),
	}
	if r.StartError == "" {
		rep, err := timing.ParseFiles(inst.StdoutPath, inst.StderrPath)
		if err != nil {
			o.agent.logger.Warn("cannot parse runner output", "pack", o.req.ID,
				"instance", r.Index, "error", err)
		}
		in.Timing = rep
	}
	result.Judge(&in, result.Outcome{ExitCode: r.ExitCode, Signal: r.Signal,
		TimedOut: r.TimedOut, Cancelled: r.Cancelled, StartError: r.StartError},
		o.req.Workload.NPredict, o.req.Timeout)
	return in
}

// memoryCheck estimates the pack's memory and holds it against
// headroom x MemAvailable of this host.
func (a *Agent) memoryCheck(bin string, kind runner.Kind,
	req api.PackRequest) (result.Memory, bool, error) {
	model := req.Workload.Model
	if model == "" {
		model = bin // a llamafile carries its weights
	}
	noMmap := memory.NoMmapRequested(req.Workload.ExtraArgs)
	key := fmt.Sprintf("%s|%s|%d|%t", model, kind, req.Workload.CtxSize, noMmap)

	a.mu.Lock()
	est, ok := a.estimates[key]
	a.mu.Unlock()
	if !ok {
		var err error
		opt := runner.MemoryOptions(kind, req.Workload.CtxSize, req.Workload.ExtraArgs)
		est, err = memory.EstimateFile(model, opt)
		if err != nil {
			return result.Memory{}, false, fmt.Errorf("estimate memory: %w", err)
		}
		if est.Warning != "" {
			a.logger.Warn("memory estimate is rough", "model", model, "reason", est.Warning)
		}
		a.mu.Lock()
		a.estimates[key] = est
		a.mu.Unlock()
	}

	avail, err := host.MemAvailable()
	if err != nil {
		return result.Memory{}, false, fmt.Errorf("read MemAvailable: %w", err)
	}
	total := est.TotalBytes(req.Instances)
	chk := memory.CheckFit(total, avail, req.MemHeadroom)
	return result.Memory{
		Source: est.Source, Warning: est.Warning, Mmap: est.Mmap,
		WeightsBytes: est.WeightsBytes, PerInstanceBytes: est.PerInstanceBytes(),
		TotalBytes: total, AvailableBytes: avail, CapBytes: chk.CapBytes,
		Headroom: req.MemHeadroom,
	}, chk.Fits, nil
}

// acquire holds the agent for what ("pack X is running", "model X is being
// written") or says what holds it.
func (a *Agent) acquire(what string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running != "" {
		return fmt.Errorf("%w: %s; one pack at a time", api.ErrBusy, a.running)
	}
	a.running = what
	return nil
}

func (a *Agent) release() {
	a.mu.Lock()
	a.running = ""
	a.mu.Unlock()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
