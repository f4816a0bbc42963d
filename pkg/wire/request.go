package wire

import (
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// PackRequestToProto converts a pack request for RunPack.
func PackRequestToProto(r api.PackRequest) *packbenchv1.RunPackRequest {
	return &packbenchv1.RunPackRequest{
		PackId:             r.ID,
		Binary:             r.Binary,
		RunnerKind:         string(r.Runner),
		ExecMode:           string(r.ExecMode),
		NoPreflight:        r.NoPreflight,
		Workload:           WorkloadToProto(r.Workload),
		Instances:          i32(r.Instances),
		ThreadsPerInstance: i32(r.Threads),
		Timeout:            duration(r.Timeout),
		MemHeadroom:        r.MemHeadroom,
	}
}

// PackRequestFromProto converts a RunPack request; it does not validate it,
// the agent does.
func PackRequestFromProto(r *packbenchv1.RunPackRequest) api.PackRequest {
	return api.PackRequest{
		ID:          r.GetPackId(),
		Binary:      r.GetBinary(),
		Runner:      runner.Kind(r.GetRunnerKind()),
		ExecMode:    runner.ExecMode(r.GetExecMode()),
		NoPreflight: r.GetNoPreflight(),
		Workload:    WorkloadFromProto(r.GetWorkload()),
		Instances:   int(r.GetInstances()),
		Threads:     int(r.GetThreadsPerInstance()),
		Timeout:     fromDuration(r.GetTimeout()),
		MemHeadroom: r.GetMemHeadroom(),
	}
}

// WorkloadToProto converts what every instance of a pack generates.
func WorkloadToProto(w runner.Workload) *packbenchv1.Workload {
	return &packbenchv1.Workload{
		Model:     w.Model,
		Prompt:    w.Prompt,
		NPredict:  i32(w.NPredict),
		Seed:      int64(w.Seed),
		CtxSize:   i32(w.CtxSize),
		Temp:      w.Temp,
		TopP:      floatPtr(w.TopP),
		TopK:      intPtr32(w.TopK),
		ExtraArgs: strs(w.ExtraArgs),
	}
}

// WorkloadFromProto converts a workload; nil gives the zero workload.
func WorkloadFromProto(w *packbenchv1.Workload) runner.Workload {
	if w == nil {
		return runner.Workload{}
	}
	return runner.Workload{
		Model:     w.GetModel(),
		Prompt:    w.GetPrompt(),
		NPredict:  int(w.GetNPredict()),
		Seed:      int(w.GetSeed()),
		CtxSize:   int(w.GetCtxSize()),
		Temp:      w.GetTemp(),
		TopP:      floatPtr(w.TopP),
		TopK:      fromIntPtr32(w.TopK),
		ExtraArgs: strs(w.GetExtraArgs()),
	}
}

// PreflightRequestToProto converts a preflight request.
func PreflightRequestToProto(r api.PreflightRequest) *packbenchv1.PreflightRequest {
	return &packbenchv1.PreflightRequest{
		Binary:      r.Binary,
		RunnerKind:  string(r.Runner),
		ExecMode:    string(r.ExecMode),
		NoPreflight: r.NoPreflight,
	}
}

// PreflightRequestFromProto converts a preflight request.
func PreflightRequestFromProto(r *packbenchv1.PreflightRequest) api.PreflightRequest {
	return api.PreflightRequest{
		Binary:      r.GetBinary(),
		Runner:      runner.Kind(r.GetRunnerKind()),
		ExecMode:    runner.ExecMode(r.GetExecMode()),
		NoPreflight: r.GetNoPreflight(),
	}
}

// PreflightToProto converts what a preflight check found.
func PreflightToProto(p runner.Preflight) *packbenchv1.PreflightInfo {
	return &packbenchv1.PreflightInfo{
		RunnerKind: string(p.Kind),
		ExecMode:   string(p.ExecMode),
		Version:    p.Version,
		Notes:      strs(p.Notes),
		HelpFlags:  strs(p.HelpFlags),
	}
}

// PreflightFromProto converts what a preflight check found; nil gives the
// zero Preflight.
func PreflightFromProto(p *packbenchv1.PreflightInfo) runner.Preflight {
	return runner.Preflight{
		Kind:      runner.Kind(p.GetRunnerKind()),
		ExecMode:  runner.ExecMode(p.GetExecMode()),
		Version:   p.GetVersion(),
		Notes:     strs(p.GetNotes()),
		HelpFlags: strs(p.GetHelpFlags()),
	}
}
