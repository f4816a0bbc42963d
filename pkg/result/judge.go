package result

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Outcome is how a process ended, as the launcher saw it.
type Outcome struct {
	ExitCode   int
	Signal     string
	TimedOut   bool
	Cancelled  bool
	StartError string
}

// noReport explains an empty timing report in the words a user can act on.
const noReport = "no timing report captured (the output may have gone to a terminal, " +
	"or --log-disable/--no-perf suppressed it)"

// Judge sets inst's Status, Reason and StoppedEarly from how the process
// ended and what its timing report says. nPredict is the number of tokens
// asked for; timeout is the per-run limit, named in the reason of a kill.
func Judge(inst *Instance, o Outcome, nPredict int, timeout time.Duration) {
	inst.ExitCode, inst.Signal = o.ExitCode, o.Signal
	rep := inst.Timing

	switch {
	case o.StartError != "":
		inst.Status, inst.Reason = StatusFailed, "start: "+o.StartError
	case o.TimedOut:
		inst.Status = StatusTimedOut
		inst.Reason = fmt.Sprintf("killed at --timeout %s", timeout)
	case o.Cancelled:
		inst.Status, inst.Reason = StatusCancelled, "cancelled"
	case rep.Failure != "":
		inst.Status, inst.Reason = StatusFailed, rep.Failure
	case o.ExitCode != 0:
		inst.Status = StatusFailed
		inst.Reason = fmt.Sprintf("exit status %d", o.ExitCode)
		if o.Signal != "" {
			inst.Reason += " (" + o.Signal + ")"
		}
		if !rep.HasEval() {
			inst.Reason += ", no timing report"
		}
	case !rep.HasEval():
		inst.Status, inst.Reason = StatusFailed, noReport
	default:
		inst.Status, inst.Reason = StatusOK, ""
	}

	// The first generated token comes out of prompt processing, so a run
	// that went the full length samples eval runs + 1 tokens.
	switch {
	case rep.EndOfText:
		inst.StoppedEarly = true
	case rep.EvalRuns != nil && nPredict > 0 && *rep.EvalRuns+1 < nPredict:
		inst.StoppedEarly = true
	}
	if inst.StoppedEarly && inst.Status == StatusOK {
		inst.Reason = "stopped early: the model ended the text"
		if !rep.EndOfText && rep.EvalRuns != nil {
			// no end-of-stream was seen: a full context is the usual cause
			inst.Reason = fmt.Sprintf("stopped early: %d of %d tokens generated (a "+
				"context too small for the prompt and -n, or an end-of-stream token)",
				*rep.EvalRuns+1, nPredict)
		}
	}
}

// ComboStatus derives a pack's status from its instances: ok when all
// finished; cancelled when any was cancelled, since a pack cut short from
// outside measured nothing a resume should keep; partial when some
// finished; otherwise the first instance's failure.
func ComboStatus(insts []Instance) (status, reason string) {
	ok, cancelled := 0, 0
	for _, in := range insts {
		switch in.Status {
		case StatusOK:
			ok++
		case StatusCancelled:
			cancelled++
		}
	}
	switch {
	case len(insts) == 0:
		return StatusFailed, "no instance ran"
	case ok == len(insts):
		return StatusOK, ""
	case cancelled > 0:
		return StatusCancelled, fmt.Sprintf("%d of %d instances cancelled before they "+
			"finished", cancelled, len(insts))
	case ok > 0:
		return StatusPartial, fmt.Sprintf("%d of %d instances did not finish: %s",
			len(insts)-ok, len(insts), firstFailure(insts))
	}
	return insts[0].Status, firstFailure(insts)
}

func firstFailure(insts []Instance) string {
	for _, in := range insts {
		if in.Status != StatusOK {
			return fmt.Sprintf("instance %d: %s", in.Index, in.Reason)
		}
	}
	return ""
}

// Overlap is the share of the pack's generation time during which every
// instance was generating: the intersection of the generation windows over
// their union. A window is taken as the eval time that ended when the
// process exited, since runners print the report as they finish. It is
// undefined (false) unless every instance finished with an eval time.
func Overlap(insts []Instance) (float64, bool) {
	if len(insts) == 0 {
		return 0, false
	}
	var lo, hi, firstEnd, lastStart time.Time
	for i, in := range insts {
		if in.Status != StatusOK || in.Timing.EvalMS == nil {
			return 0, false
		}
		end := in.EndedAt
		start := end.Add(-time.Duration(*in.Timing.EvalMS * float64(time.Millisecond)))
		if i == 0 || start.Before(lo) {
			lo = start
		}
		if i == 0 || end.After(hi) {
			hi = end
		}
		if i == 0 || end.Before(firstEnd) {
			firstEnd = end
		}
		if i == 0 || start.After(lastStart) {
			lastStart = start
		}
	}
	union := hi.Sub(lo)
	if union <= 0 {
		return 1, true
	}
	inter := firstEnd.Sub(lastStart)
	if inter < 0 {
		inter = 0
	}
	return math.Round(float64(inter)/float64(union)*1000) / 1000, true
}

// median of a non-empty slice; it sorts a copy.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
