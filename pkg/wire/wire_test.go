package wire_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/timing"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }
func i64p(v int64) *int64   { return &v }

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

// fullReport sets every field of a timing report.
func fullReport() timing.Report {
	return timing.Report{
		Format: timing.FormatPerfContext, LoadMS: fp(12.5), PromptTokens: ip(9),
		PromptMS: fp(3.25), PromptTokPerSec: fp(2769.2), EvalRuns: ip(15), EvalMS: fp(40),
		EvalTokPerSec: fp(375), TotalMS: fp(60.5), TotalTokens: ip(24), SummaryOnly: true,
		EndOfText: true, Build: "b4000-1a2b3c4d", Failure: timing.FailureOutOfMemory,
		Memory: timing.Buffers{NCtx: ip(256), MappedMiB: fp(1.5), RepackMiB: fp(0.5),
			KVMiB: fp(2), ComputeMiB: fp(3), OutputMiB: fp(0.25),
			FailedAllocBytes: i64p(1 << 33)},
	}
}

func fullMemory() result.Memory {
	return result.Memory{Source: "gguf", Warning: "rough", Mmap: true, WeightsBytes: 1 << 30,
		PerInstanceBytes: 1 << 20, TotalBytes: 3 << 30, AvailableBytes: 8 << 30,
		CapBytes: 6 << 30, Headroom: 0.75}
}

func fullInstance(k int) result.Instance {
	return result.Instance{
		Index: k, PID: 4000 + k, ExecMode: "sh", Status: result.StatusOK, Reason: "why",
		ExitCode: 137, Signal: "SIGKILL", StartedAt: t0, EndedAt: t0.Add(1500 * time.Millisecond),
		StoppedEarly: true, Timing: fullReport(), PeakRSSBytes: 123 << 20,
		PeakPSSBytes: 99 << 20, StdoutPath: "p_p0.stdout.txt", StderrPath: "p_p0.stderr.txt",
	}
}

func fullPack() result.Pack {
	return result.Pack{
		ID: "sweep-1_2x4", Instances: 2, Threads: 4, Status: result.StatusPartial,
		Reason: "instance 1 failed", StartedAt: t0, EndedAt: t0.Add(2 * time.Second),
		StartSkew: 3 * time.Millisecond, Memory: fullMemory(),
		Runner: result.Runner{Binary: "/opt/llama-completion", Kind: "llama-completion",
			ExecMode: "direct", Version: "b4000", Args: []string{"-m", "x.gguf"},
			Dropped: []string{"--top-k"}, CPUOnly: []string{"-ngl", "0"},
			Notes: []string{"a note"}},
		UsableCPUs: 16,
		Model: &result.Model{Ref: "synth:tiny:q8_0:9", Path: "/var/lib/m.gguf", Bytes: 1 << 22,
			SHA256: "ab12", Shape: "tiny", Type: "q8_0", Seed: 9, Params: 1234, Reused: true},
		Results: []result.Instance{fullInstance(0), fullInstance(1)},
	}
}

func TestPackRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  api.PackRequest
	}{
		{"zero", api.PackRequest{}},
		{"full", api.PackRequest{
			ID: "p1", Binary: "/bin/llama", Runner: runner.LlamaCompletion,
			ExecMode: runner.ExecSh, NoPreflight: true,
			Workload: runner.Workload{Model: "/m.gguf", Prompt: "hi", NPredict: 32, Seed: -1,
				CtxSize: 256, Temp: 0.7, TopP: fp(0.9), TopK: ip(40),
				ExtraArgs: []string{"--mlock"}},
			Instances: 3, Threads: 8, Timeout: 90 * time.Second, MemHeadroom: 0.85,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := wire.PackRequestToProto(tt.req)
			got := wire.PackRequestFromProto(pb)
			if d := cmp.Diff(tt.req, got); d != "" {
				t.Errorf("PackRequestFromProto(PackRequestToProto(req)) (-want +got):\n%s", d)
			}
			if d := cmp.Diff(pb, wire.PackRequestToProto(got), protocmp.Transform()); d != "" {
				t.Errorf("proto round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestPackRequestFromProtoNil(t *testing.T) {
	got := wire.PackRequestFromProto(nil)
	if d := cmp.Diff(api.PackRequest{}, got); d != "" {
		t.Errorf("PackRequestFromProto(nil) (-want +got):\n%s", d)
	}
}

func TestPackRequestToProtoSaturates(t *testing.T) {
	pb := wire.PackRequestToProto(api.PackRequest{Instances: 1 << 40, Threads: -(1 << 40)})
	if got, want := pb.GetInstances(), int32(1<<31-1); got != want {
		t.Errorf("instances = %d, want %d", got, want)
	}
	if got, want := pb.GetThreadsPerInstance(), int32(-1<<31); got != want {
		t.Errorf("threads = %d, want %d", got, want)
	}
}

func TestPreflightRoundTrip(t *testing.T) {
	req := api.PreflightRequest{Binary: "/b", Runner: runner.Llamafile,
		ExecMode: runner.ExecDirect, NoPreflight: true}
	gotReq := wire.PreflightRequestFromProto(wire.PreflightRequestToProto(req))
	if d := cmp.Diff(req, gotReq); d != "" {
		t.Errorf("PreflightRequest round trip (-want +got):\n%s", d)
	}

	for _, pf := range []runner.Preflight{{}, {Kind: runner.LlamaCLI, ExecMode: runner.ExecSh,
		Version: "b1", HelpFlags: []string{"-no-cnv"}, Notes: []string{"n1", "n2"}}} {
		pb := wire.PreflightToProto(pf)
		got := wire.PreflightFromProto(pb)
		if d := cmp.Diff(pf, got); d != "" {
			t.Errorf("Preflight round trip (-want +got):\n%s", d)
		}
		if d := cmp.Diff(pb, wire.PreflightToProto(got), protocmp.Transform()); d != "" {
			t.Errorf("PreflightInfo round trip (-want +got):\n%s", d)
		}
	}
}

func TestHostFactsRoundTrip(t *testing.T) {
	h := wire.HostFacts{
		Facts: host.Facts{Hostname: "h1", CPUModel: "EPYC", Kernel: "6.8", OS: "ubuntu 24.04",
			Arch: "x86_64", Sockets: 2, PhysicalCores: 96, LogicalCores: 192, NUMANodes: 4,
			AffinityCPUs: 190, CgroupCPULimit: 12.5, UsableCPUs: 12, MemTotalBytes: 1 << 40,
			MemAvailableBytes: 1 << 39},
		AgentName: "a1", AgentVersion: "0.1.0",
		Allowlist: wire.Allowlist{Binaries: []string{"/b"}, Models: []string{"/m"},
			Directories: []string{"/d1", "/d2"}},
	}
	pb := wire.HostFactsToProto(h)
	got := wire.HostFactsFromProto(pb)
	if d := cmp.Diff(h, got); d != "" {
		t.Errorf("HostFacts round trip (-want +got):\n%s", d)
	}
	if d := cmp.Diff(pb, wire.HostFactsToProto(got), protocmp.Transform()); d != "" {
		t.Errorf("GetHostFactsResponse round trip (-want +got):\n%s", d)
	}
}

func TestPackRoundTrip(t *testing.T) {
	failed := fullInstance(1)
	failed.PID, failed.StartedAt, failed.Status = 0, time.Time{}, result.StatusFailed
	failed.Reason, failed.Timing = "start: no such file", timing.Report{}
	withFailure := fullPack()
	withFailure.Results[1] = failed

	tests := []struct {
		name string
		p    result.Pack
	}{
		{"zero", result.Pack{}},
		{"full", fullPack()},
		{"instance never started", withFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.PackFromProto(wire.PackToProto(tt.p))
			if d := cmp.Diff(tt.p, got); d != "" {
				t.Errorf("PackFromProto(PackToProto(p)) (-want +got):\n%s", d)
			}
		})
	}
}

func TestPackToProtoDerived(t *testing.T) {
	pb := wire.PackToProto(fullPack())

	if pb.Overlap == nil {
		t.Fatalf("PackToProto(p).Overlap = nil, want a value for instances that ran together")
	}
	if got, want := pb.GetOverlap(), 1.0; got != want {
		t.Errorf("PackToProto(p).Overlap = %v, want %v", got, want)
	}
	timedOut := fullPack()
	timedOut.Results[1].Status = result.StatusTimedOut
	pbt := wire.PackToProto(timedOut)
	if got := pbt.GetResults()[1].GetTimedOut(); !got {
		t.Errorf("instance 1 timed_out = %v, want true", got)
	}
	if pbt.Overlap != nil {
		t.Errorf("overlap with a timed-out instance = %v, want unset", pbt.GetOverlap())
	}
	if got := pb.GetResults()[0].GetStartError(); got != "" {
		t.Errorf("instance 0 start_error = %q, want empty", got)
	}
	if got, want := pb.GetStartSkew(), durationpb.New(3*time.Millisecond); !cmp.Equal(got, want,
		protocmp.Transform()) {
		t.Errorf("start_skew = %v, want %v", got, want)
	}
}

func TestComponentRoundTrips(t *testing.T) {
	t.Run("instance", func(t *testing.T) {
		in := fullInstance(3)
		if d := cmp.Diff(in, wire.InstanceFromProto(wire.InstanceToProto(in))); d != "" {
			t.Errorf("Instance round trip (-want +got):\n%s", d)
		}
	})
	t.Run("memory", func(t *testing.T) {
		m := fullMemory()
		pb := wire.MemoryToProto(m)
		if d := cmp.Diff(m, wire.MemoryFromProto(pb)); d != "" {
			t.Errorf("Memory round trip (-want +got):\n%s", d)
		}
		if d := cmp.Diff(pb, wire.MemoryToProto(wire.MemoryFromProto(pb)),
			protocmp.Transform()); d != "" {
			t.Errorf("MemoryEstimate round trip (-want +got):\n%s", d)
		}
	})
	t.Run("timing", func(t *testing.T) {
		for _, r := range []timing.Report{{}, fullReport()} {
			pb := wire.TimingToProto(r)
			if d := cmp.Diff(r, wire.TimingFromProto(pb)); d != "" {
				t.Errorf("Report round trip (-want +got):\n%s", d)
			}
			if d := cmp.Diff(pb, wire.TimingToProto(wire.TimingFromProto(pb)),
				protocmp.Transform()); d != "" {
				t.Errorf("Timings round trip (-want +got):\n%s", d)
			}
		}
	})
	t.Run("nil messages", func(t *testing.T) {
		if d := cmp.Diff(timing.Report{}, wire.TimingFromProto(nil)); d != "" {
			t.Errorf("TimingFromProto(nil) (-want +got):\n%s", d)
		}
		if d := cmp.Diff(result.Memory{}, wire.MemoryFromProto(nil)); d != "" {
			t.Errorf("MemoryFromProto(nil) (-want +got):\n%s", d)
		}
		if d := cmp.Diff(result.Pack{}, wire.PackFromProto(nil)); d != "" {
			t.Errorf("PackFromProto(nil) (-want +got):\n%s", d)
		}
	})
}

func TestEventRoundTrip(t *testing.T) {
	mem, in, p := fullMemory(), fullInstance(1), fullPack()
	at := t0.Add(time.Second)
	tests := []struct {
		name string
		ev   api.Event
	}{
		{"accepted", api.Event{Kind: api.EventAccepted, PackID: "p", At: at, Memory: &mem}},
		{"accepted without memory", api.Event{Kind: api.EventAccepted, PackID: "p", At: at}},
		{"skipped", api.Event{Kind: api.EventSkipped, PackID: "p", At: at, Memory: &mem,
			Reason: "does not fit"}},
		{"instance started", api.Event{Kind: api.EventInstanceStarted, PackID: "p", At: at,
			Index: 1, PID: 4242}},
		{"instance finished", api.Event{Kind: api.EventInstanceFinished, PackID: "p", At: at,
			Index: 1, Instance: &in}},
		{"pack finished", api.Event{Kind: api.EventPackFinished, PackID: "p", At: at,
			Pack: &p}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.EventFromProto(wire.EventToProto(tt.ev))
			if err != nil {
				t.Fatalf("EventFromProto(EventToProto(ev)) error = %v, want nil", err)
			}
			if d := cmp.Diff(tt.ev, got); d != "" {
				t.Errorf("Event round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestEventFromProtoEmpty(t *testing.T) {
	for _, ev := range []*packbenchv1.PackEvent{nil, {PackId: "p"},
		wire.EventToProto(api.Event{Kind: 99})} {
		if _, err := wire.EventFromProto(ev); !errorsIs(err, api.ErrInvalid) {
			t.Errorf("EventFromProto(%v) error = %v, want api.ErrInvalid", ev, err)
		}
	}
}

func TestPackSummaryRoundTrip(t *testing.T) {
	for _, s := range []wire.PackSummary{
		{ID: "a", State: wire.PackRunning},
		{ID: "b", State: wire.PackFinished, Status: "ok"},
		{ID: "c", State: wire.PackInterrupted},
		{ID: "d"},
	} {
		pb := wire.PackSummaryToProto(s)
		got := wire.PackSummaryFromProto(pb)
		if d := cmp.Diff(s, got); d != "" {
			t.Errorf("PackSummary round trip (-want +got):\n%s", d)
		}
		if d := cmp.Diff(pb, wire.PackSummaryToProto(got), protocmp.Transform()); d != "" {
			t.Errorf("proto PackSummary round trip (-want +got):\n%s", d)
		}
	}
}
