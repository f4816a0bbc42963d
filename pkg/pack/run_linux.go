//go:build linux

package pack

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// startStrategy says how a pack's commands are started.
type startStrategy int

const (
	// startParallel starts each command on its own goroutine, all released
	// by closing one channel.
	startParallel startStrategy = iota

	// startLoop starts the commands one after another on one goroutine.
	startLoop
)

// Tunables; variables so that tests and benchmarks can change them.
var (
	// strategy was chosen by BenchmarkStartSkew8 (see doc.go).
	strategy = startParallel

	// killWait is how long to wait after SIGKILL before reporting a stuck
	// process; Run keeps waiting after that, since it returns only once
	// every process is reaped.
	killWait = 10 * time.Second

	// drainWait bounds the wait for a reaped instance's pipes to reach EOF;
	// a process that left the group may still hold them.
	drainWait = 2 * time.Second
)

// runner is one call of Run.
type runner struct {
	ctx  context.Context
	log  hclog.Logger
	spec Spec
	obs  Observer
}

// Run starts every instance of spec at about the same time and supervises
// them. It blocks until every started process has been reaped and its output
// drained. The Result is complete even when the error is not nil: the error
// is ErrInvalidSpec for a spec that cannot run, or the context's error when
// the context stopped at least one instance.
func Run(ctx context.Context, logger hclog.Logger, spec Spec, obs Observer) (Result, error) {
	spec, err := withDefaults(spec)
	if err != nil {
		return Result{}, fmt.Errorf("run pack: %w", err)
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	r := &runner{ctx: ctx, log: logger.Named("pack"), spec: spec, obs: obs}

	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return Result{}, fmt.Errorf("run pack: %w", err)
	}
	defer devnull.Close()

	r.log.Debug("starting pack", "instances", len(spec.Instances))
	procs := make([]*proc, len(spec.Instances))
	for i, inst := range spec.Instances {
		procs[i] = newProc(r.log, inst, devnull, spec.LogCap)
	}
	begin := time.Now()
	r.startAll(procs)

	res := r.supervise(procs, begin)
	r.log.Debug("pack finished", "instances", len(procs),
		"duration", res.Ended.Sub(res.Started))

	if ctx.Err() != nil {
		for _, ir := range res.Instances {
			if ir.Cancelled {
				return res, fmt.Errorf("run pack: %w", ctx.Err())
			}
		}
	}
	return res, nil
}

// startAll starts every prepared command as close together as it can and
// then closes the parent's copies of the children's pipe ends.
func (r *runner) startAll(procs []*proc) {
	ready := make([]*proc, 0, len(procs))
	for _, pr := range procs {
		switch {
		case pr.cmd == nil:
		case r.ctx.Err() != nil:
			pr.res.Cancelled = true
			pr.fail(fmt.Errorf("start runner: %w", r.ctx.Err()))
		default:
			ready = append(ready, pr)
		}
	}

	switch strategy {
	case startLoop:
		for _, pr := range ready {
			pr.start()
		}
	default:
		startTogether(ready)
	}

	for _, pr := range procs {
		pr.closeChildEnds()
	}
}

// startTogether starts each command on its own goroutine; all wait on one
// channel, which is closed once every goroutine is about to receive from it.
func startTogether(procs []*proc) {
	release := make(chan struct{})
	var parked, done sync.WaitGroup
	for _, pr := range procs {
		parked.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			parked.Done()
			<-release
			pr.start()
		}()
	}

	parked.Wait()
	close(release)
	done.Wait()
}

// supervise runs the sampler and one supervisor per started instance, and
// finishes the instances that never started. It returns once all are done.
func (r *runner) supervise(procs []*proc, begin time.Time) Result {
	res := Result{Instances: make([]InstanceResult, len(procs)), Started: begin}
	var started []*proc
	var first, last time.Time
	for _, pr := range procs {
		if !pr.started {
			continue
		}
		started = append(started, pr)
		if first.IsZero() || pr.res.Started.Before(first) {
			first = pr.res.Started
		}
		if pr.res.Started.After(last) {
			last = pr.res.Started
		}
	}
	if len(started) > 0 {
		res.Started, res.StartSkew = first, last.Sub(first)
	}
	r.log.Debug("pack started", "instances", len(started), "duration", res.StartSkew)

	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() {
			if pr.started {
				r.superviseOne(pr)
			} else {
				r.finishUnstarted(pr)
			}
		})
	}

	stop := make(chan struct{})
	var sampling sync.WaitGroup
	if r.spec.SampleEvery > 0 && len(started) > 0 {
		s := &sampler{every: r.spec.SampleEvery, procs: started}
		sampling.Go(func() { s.run(stop) })
	}
	wg.Wait()
	close(stop)
	sampling.Wait()

	for i, pr := range procs {
		res.Instances[i] = pr.res
	}
	res.Ended = time.Now()
	return res
}

// finishUnstarted drains and closes the outputs of an instance that never
// started and reports it.
func (r *runner) finishUnstarted(pr *proc) {
	pr.log.Warn("instance start failed", "error", pr.startErr)
	pr.drain()
	if r.obs != nil {
		r.obs.InstanceExited(pr.res)
	}
}

// superviseOne watches a started instance until it exits, stopping it on
// timeout or cancellation, then reaps it, drains its output and reports it.
func (r *runner) superviseOne(pr *proc) {
	pid := pr.res.PID
	if pr.retryErr != nil {
		pr.log.Debug("started through sh after exec format error", "pid", pid,
			"error", pr.retryErr)
	}
	pr.log.Debug("instance started", "pid", pid)
	if r.obs != nil {
		r.obs.InstanceStarted(pr.inst.Index, pid, pr.res.Started)
	}
	if r.spec.SampleEvery > 0 {
		pr.startSampling()
	}
	go pr.waitExited()

	var timeout <-chan time.Time
	if r.spec.Timeout > 0 {
		t := time.NewTimer(r.spec.Timeout - time.Since(pr.res.Started))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-pr.exited:
	case <-timeout:
		pr.res.TimedOut = true
		pr.log.Info("instance timed out", "pid", pid)
		r.stop(pr)
	case <-r.ctx.Done():
		pr.res.Cancelled = true
		pr.log.Info("instance cancelled", "pid", pid)
		r.stop(pr)
	}
	pr.res.Ended = time.Now()

	// the unreaped leader still holds the group id: kill what it left behind.
	pr.signalGroup(syscall.SIGKILL)
	pr.stopSampling()
	r.reap(pr)
	pr.drain()

	pr.log.Debug("instance exited", "pid", pid, "exit_code", pr.res.ExitCode,
		"signal", pr.res.Signal)
	if r.obs != nil {
		r.obs.InstanceExited(pr.res)
	}
}

// stop sends SIGTERM to the instance's group, SIGKILL after the grace
// period, and returns once the leader exited. It is called at most once per
// instance; a second signal to a gone group is harmless.
func (r *runner) stop(pr *proc) {
	// TODO(stop-signal): old llama.cpp main and llamafile print their timing
	// block on SIGINT, not SIGTERM (case 12); Spec could let callers choose
	// the first signal so a stopped runner still reports its timings.
	pr.signalGroup(syscall.SIGTERM)
	grace := time.NewTimer(r.spec.Grace)
	defer grace.Stop()
	select {
	case <-pr.exited:
		return
	case <-grace.C:
	}

	pr.log.Warn("instance ignored sigterm, killing group", "pid", pr.res.PID)
	pr.signalGroup(syscall.SIGKILL)
	bound := time.NewTimer(killWait)
	defer bound.Stop()
	select {
	case <-pr.exited:
		return
	case <-bound.C:
	}

	// TODO(stuck): a process stuck in the kernel (state D) can ignore SIGKILL
	// for long; Run promises to reap everything, so it keeps waiting here.
	pr.log.Error("instance did not exit after sigkill", "pid", pr.res.PID)
	<-pr.exited
}

// reap collects the exited leader and records its exit code, signal and
// peak memory.
func (r *runner) reap(pr *proc) {
	err := pr.cmd.Wait()
	ps := pr.cmd.ProcessState
	if ps == nil {
		pr.log.Error("failed to reap instance", "pid", pr.res.PID, "error", err)
		return
	}

	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		pr.res.ExitCode = 128 + int(ws.Signal())
		pr.res.Signal = unix.SignalName(ws.Signal())
	} else {
		pr.res.ExitCode = ws.ExitStatus()
	}

	// ru_maxrss catches peaks between samples; it is in KiB.
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		pr.peakRSS = max(pr.peakRSS, uint64(ru.Maxrss)<<10)
	}
	pr.res.PeakRSSBytes, pr.res.PeakPSSBytes = pr.peakRSS, pr.peakPSS
}

// drain waits, for at most drainWait, until the copiers saw EOF, then
// closes the pipes and files and records the byte counts.
func (pr *proc) drain() {
	bound := time.NewTimer(drainWait)
	defer bound.Stop()
	timedOut := false
	for _, s := range pr.streams {
		if timedOut {
			break
		}
		select {
		case <-s.done:
		case <-bound.C:
			timedOut = true
		}
	}

	// a process outside the group may still hold a pipe: stop reading.
	// TODO(escape): a descendant that calls setsid leaves the group and
	// survives the group kill; only a cgroup per instance would catch it.
	if timedOut {
		pr.log.Warn("output drain timed out", "pid", pr.res.PID)
		for _, s := range pr.streams {
			_ = s.r.Close()
		}
	}

	for i, s := range pr.streams {
		<-s.done
		_ = s.r.Close()
		if err := s.cw.Close(); err != nil {
			pr.log.Warn("output write failed", "pid", pr.res.PID, "error", err)
		}
		if i == 0 && pr.inst.StdoutPath != "" {
			pr.res.StdoutBytes = s.cw.Total()
		} else {
			pr.res.StderrBytes = s.cw.Total()
		}
		pr.res.DroppedBytes += s.cw.Dropped()
	}
}
