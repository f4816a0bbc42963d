package wire

import (
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/timing"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// PackToProto converts a pack's result. The overlap is computed from the
// instances, as results.csv does.
func PackToProto(p result.Pack) *packbenchv1.PackResult {
	out := &packbenchv1.PackResult{
		PackId:             p.ID,
		Instances:          i32(p.Instances),
		ThreadsPerInstance: i32(p.Threads),
		Status:             p.Status,
		Reason:             p.Reason,
		StartSkew:          duration(p.StartSkew),
		Memory:             MemoryToProto(p.Memory),
		Preflight: &packbenchv1.PreflightInfo{
			RunnerKind: p.Runner.Kind,
			ExecMode:   p.Runner.ExecMode,
			Version:    p.Runner.Version,
			Notes:      strs(p.Runner.Notes),
		},
		Args:           strs(p.Runner.Args),
		DroppedFlags:   strs(p.Runner.Dropped),
		CpuOnlyOptions: strs(p.Runner.CPUOnly),
		StartedAt:      timestamp(p.StartedAt),
		EndedAt:        timestamp(p.EndedAt),
		Binary:         p.Runner.Binary,
		UsableCpus:     i32(p.UsableCPUs),
		Model:          ModelToProto(p.Model),
	}
	if ov, ok := result.Overlap(p.Results); ok {
		out.Overlap = &ov
	}
	for _, in := range p.Results {
		out.Results = append(out.Results, InstanceToProto(in))
	}
	return out
}

// PackFromProto converts a pack's result; the overlap is dropped, since
// result.Pack computes it from the instances.
func PackFromProto(r *packbenchv1.PackResult) result.Pack {
	pf := r.GetPreflight()
	p := result.Pack{
		ID:        r.GetPackId(),
		Instances: int(r.GetInstances()),
		Threads:   int(r.GetThreadsPerInstance()),
		Status:    r.GetStatus(),
		Reason:    r.GetReason(),
		StartedAt: fromTimestamp(r.GetStartedAt()),
		EndedAt:   fromTimestamp(r.GetEndedAt()),
		StartSkew: fromDuration(r.GetStartSkew()),
		Memory:    MemoryFromProto(r.GetMemory()),
		Runner: result.Runner{
			Binary:   r.GetBinary(),
			Kind:     pf.GetRunnerKind(),
			ExecMode: pf.GetExecMode(),
			Version:  pf.GetVersion(),
			Args:     strs(r.GetArgs()),
			Dropped:  strs(r.GetDroppedFlags()),
			CPUOnly:  strs(r.GetCpuOnlyOptions()),
			Notes:    strs(pf.GetNotes()),
		},
		UsableCPUs: int(r.GetUsableCpus()),
		Model:      ModelFromProto(r.GetModel()),
	}
	for _, in := range r.GetResults() {
		p.Results = append(p.Results, InstanceFromProto(in))
	}
	return p
}

// InstanceToProto converts one instance's outcome. The timed_out,
// cancelled and start_error fields are derived from the status and reason.
func InstanceToProto(in result.Instance) *packbenchv1.InstanceResult {
	out := &packbenchv1.InstanceResult{
		Index:        i32(in.Index),
		Pid:          i32(in.PID),
		ExecMode:     in.ExecMode,
		StartedAt:    timestamp(in.StartedAt),
		EndedAt:      timestamp(in.EndedAt),
		ExitCode:     i32(in.ExitCode),
		Signal:       in.Signal,
		TimedOut:     in.Status == result.StatusTimedOut,
		Cancelled:    in.Status == result.StatusCancelled,
		Status:       in.Status,
		Reason:       in.Reason,
		PeakRssBytes: in.PeakRSSBytes,
		PeakPssBytes: in.PeakPSSBytes,
		StdoutPath:   in.StdoutPath,
		StderrPath:   in.StderrPath,
		Timings:      TimingToProto(in.Timing),
		StoppedEarly: in.StoppedEarly,
	}
	if in.PID == 0 && in.StartedAt.IsZero() && in.Status == result.StatusFailed {
		out.StartError = in.Reason
	}
	return out
}

// InstanceFromProto converts one instance's outcome.
func InstanceFromProto(r *packbenchv1.InstanceResult) result.Instance {
	return result.Instance{
		Index:        int(r.GetIndex()),
		PID:          int(r.GetPid()),
		ExecMode:     r.GetExecMode(),
		Status:       r.GetStatus(),
		Reason:       r.GetReason(),
		ExitCode:     int(r.GetExitCode()),
		Signal:       r.GetSignal(),
		StartedAt:    fromTimestamp(r.GetStartedAt()),
		EndedAt:      fromTimestamp(r.GetEndedAt()),
		StoppedEarly: r.GetStoppedEarly(),
		Timing:       TimingFromProto(r.GetTimings()),
		PeakRSSBytes: r.GetPeakRssBytes(),
		PeakPSSBytes: r.GetPeakPssBytes(),
		StdoutPath:   r.GetStdoutPath(),
		StderrPath:   r.GetStderrPath(),
	}
}

// MemoryToProto converts a pack's memory check.
func MemoryToProto(m result.Memory) *packbenchv1.MemoryEstimate {
	return &packbenchv1.MemoryEstimate{
		PerInstanceBytes: m.PerInstanceBytes,
		TotalBytes:       m.TotalBytes,
		CapBytes:         m.CapBytes,
		AvailableBytes:   m.AvailableBytes,
		WeightsBytes:     m.WeightsBytes,
		Source:           m.Source,
		Warning:          m.Warning,
		Mmap:             m.Mmap,
		Headroom:         m.Headroom,
	}
}

// MemoryFromProto converts a memory check; nil gives the zero Memory.
func MemoryFromProto(m *packbenchv1.MemoryEstimate) result.Memory {
	return result.Memory{
		Source:           m.GetSource(),
		Warning:          m.GetWarning(),
		Mmap:             m.GetMmap(),
		WeightsBytes:     m.GetWeightsBytes(),
		PerInstanceBytes: m.GetPerInstanceBytes(),
		TotalBytes:       m.GetTotalBytes(),
		AvailableBytes:   m.GetAvailableBytes(),
		CapBytes:         m.GetCapBytes(),
		Headroom:         m.GetHeadroom(),
	}
}

// TimingToProto converts what a runner's output said about its run.
func TimingToProto(r timing.Report) *packbenchv1.Timings {
	b := r.Memory
	return &packbenchv1.Timings{
		LoadMs:        floatPtr(r.LoadMS),
		PromptTokens:  intPtr64(r.PromptTokens),
		PromptMs:      floatPtr(r.PromptMS),
		PromptTokPerS: floatPtr(r.PromptTokPerSec),
		EvalRuns:      intPtr64(r.EvalRuns),
		EvalMs:        floatPtr(r.EvalMS),
		EvalTokPerS:   floatPtr(r.EvalTokPerSec),
		TotalMs:       floatPtr(r.TotalMS),
		TotalTokens:   intPtr64(r.TotalTokens),
		SummaryOnly:   r.SummaryOnly,
		EndOfText:     r.EndOfText,
		Build:         r.Build,
		Failure:       r.Failure,
		Format:        r.Format,
		Buffers: &packbenchv1.RunnerBuffers{
			NCtx:             intPtr64(b.NCtx),
			MappedMib:        floatPtr(b.MappedMiB),
			RepackMib:        floatPtr(b.RepackMiB),
			KvMib:            floatPtr(b.KVMiB),
			ComputeMib:       floatPtr(b.ComputeMiB),
			OutputMib:        floatPtr(b.OutputMiB),
			FailedAllocBytes: int64Ptr(b.FailedAllocBytes),
		},
	}
}

// TimingFromProto converts a runner's timings; nil gives the zero Report.
func TimingFromProto(t *packbenchv1.Timings) timing.Report {
	if t == nil {
		return timing.Report{}
	}
	b := t.GetBuffers()
	if b == nil {
		b = &packbenchv1.RunnerBuffers{}
	}
	return timing.Report{
		Format:          t.GetFormat(),
		LoadMS:          floatPtr(t.LoadMs),
		PromptTokens:    fromIntPtr64(t.PromptTokens),
		PromptMS:        floatPtr(t.PromptMs),
		PromptTokPerSec: floatPtr(t.PromptTokPerS),
		EvalRuns:        fromIntPtr64(t.EvalRuns),
		EvalMS:          floatPtr(t.EvalMs),
		EvalTokPerSec:   floatPtr(t.EvalTokPerS),
		TotalMS:         floatPtr(t.TotalMs),
		TotalTokens:     fromIntPtr64(t.TotalTokens),
		SummaryOnly:     t.GetSummaryOnly(),
		EndOfText:       t.GetEndOfText(),
		Build:           t.GetBuild(),
		Failure:         t.GetFailure(),
		Memory: timing.Buffers{
			NCtx:             fromIntPtr64(b.NCtx),
			MappedMiB:        floatPtr(b.MappedMib),
			RepackMiB:        floatPtr(b.RepackMib),
			KVMiB:            floatPtr(b.KvMib),
			ComputeMiB:       floatPtr(b.ComputeMib),
			OutputMiB:        floatPtr(b.OutputMib),
			FailedAllocBytes: int64Ptr(b.FailedAllocBytes),
		},
	}
}

// ModelToProto converts a pack's model; nil stays nil.
func ModelToProto(m *result.Model) *packbenchv1.ModelInfo {
	if m == nil {
		return nil
	}
	return &packbenchv1.ModelInfo{Ref: m.Ref, Path: m.Path, Bytes: m.Bytes, Sha256: m.SHA256,
		Shape: m.Shape, Type: m.Type, Seed: m.Seed, Params: m.Params, Reused: m.Reused}
}

// ModelFromProto converts a pack's model; nil stays nil.
func ModelFromProto(m *packbenchv1.ModelInfo) *result.Model {
	if m == nil {
		return nil
	}
	return &result.Model{Ref: m.GetRef(), Path: m.GetPath(), Bytes: m.GetBytes(),
		SHA256: m.GetSha256(), Shape: m.GetShape(), Type: m.GetType(), Seed: m.GetSeed(),
		Params: m.GetParams(), Reused: m.GetReused()}
}
