package server_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// engineDir holds the pinned node-llama-cpp CLI that `make engine` installs;
// engine is its command.
var (
	engineDir = absPath("../../tools/node_modules")
	engine    = filepath.Join(engineDir, ".bin", "node-llama-cpp")
)

// TestRunPackRealEngine runs a pack of 2 real runners over a loopback socket.
func TestRunPackRealEngine(t *testing.T) {
	f := newFixture(t, t.TempDir(), true, engineDir)
	req := api.PackRequest{ID: "real-2x1", Binary: engine, Runner: runner.Auto,
		ExecMode: runner.ExecAuto, Instances: 2, Threads: 1,
		Workload: runner.Workload{Model: model, Prompt: "Once upon a time", NPredict: 16,
			CtxSize: 256, Seed: 1},
		Timeout: 120e9, MemHeadroom: 0.9}
	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	evs := drain(t, runStream{stream})

	count := map[api.EventKind]int{}
	for _, ev := range evs {
		count[ev.Kind]++
		if ev.Kind == api.EventInstanceFinished && ev.Instance.Timing.EvalTokPerSec == nil {
			t.Errorf("instance %d finished without a generation rate: %+v", ev.Index,
				ev.Instance)
		}
	}
	want := map[api.EventKind]int{api.EventAccepted: 1, api.EventInstanceStarted: 2,
		api.EventInstanceFinished: 2, api.EventPackFinished: 1}
	if d := cmp.Diff(want, count); d != "" {
		t.Errorf("event counts (-want +got):\n%s", d)
	}
	if evs[0].Kind != api.EventAccepted || evs[len(evs)-1].Kind != api.EventPackFinished {
		t.Fatalf("first, last events = %v, %v, want Accepted, PackFinished", evs[0].Kind,
			evs[len(evs)-1].Kind)
	}
	if got := evs[len(evs)-1].Pack.Status; got != "ok" {
		t.Errorf("pack status = %q (%s), want ok", got, evs[len(evs)-1].Pack.Reason)
	}
}

// TestReattach breaks a RunPack stream mid-pack, re-attaches with WatchPack,
// then reads the result and a log, also from a restarted server.
func TestReattach(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "sleep 1")
	f := newFixture(t, stateDir, false, dir)

	ctx, cancel := contextWithCancel(t)
	stream, err := f.client.RunPack(ctx, wire.PackRequestToProto(request("re-1", bin, 2)))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	if ev, err := recv(t, runStream{stream}); err != nil || ev.Kind != api.EventAccepted {
		t.Fatalf("first event = %v, %v, want Accepted", ev.Kind, err)
	}
	cancel() // the client goes away; the pack must go on

	watch, err := f.client.WatchPack(bound(t), &packbenchv1.WatchPackRequest{PackId: "re-1"})
	if err != nil {
		t.Fatalf("WatchPack: %v", err)
	}
	evs := drain(t, watchStream{watch})
	if evs[0].Kind != api.EventAccepted {
		t.Errorf("WatchPack first event = %v, want the replayed Accepted", evs[0].Kind)
	}
	last := evs[len(evs)-1]
	if last.Kind != api.EventPackFinished || len(last.Pack.Results) != 2 {
		t.Fatalf("WatchPack last event = %v with %+v, want PackFinished of 2 instances",
			last.Kind, last.Pack)
	}
	if got := len(pids(t, pidFile)); got != 2 {
		t.Errorf("runner starts = %d, want 2", got)
	}

	check := func(t *testing.T, f *fixture) {
		res, err := f.client.GetPackResult(bound(t),
			&packbenchv1.GetPackResultRequest{PackId: "re-1"})
		if err != nil {
			t.Fatalf("GetPackResult: %v", err)
		}
		if d := cmp.Diff(wire.PackToProto(*last.Pack), res.GetResult(),
			protocmp.Transform()); d != "" {
			t.Errorf("GetPackResult differs from PackFinished (-want +got):\n%s", d)
		}

		name := last.Pack.Results[1].StdoutPath
		want, err := os.ReadFile(filepath.Join(stateDir, "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fetch(t, f, "re-1", name); !bytes.Equal(got, want) || len(got) == 0 {
			t.Errorf("FetchLog(%s) = %q, want %q", name, got, want)
		}

		list, err := f.client.ListPacks(bound(t), &packbenchv1.ListPacksRequest{})
		if err != nil {
			t.Fatalf("ListPacks: %v", err)
		}
		wantList := []*packbenchv1.PackSummary{{PackId: "re-1",
			State: packbenchv1.PackState_PACK_STATE_FINISHED, Status: last.Pack.Status}}
		if d := cmp.Diff(wantList, list.GetPacks(), protocmp.Transform()); d != "" {
			t.Errorf("ListPacks (-want +got):\n%s", d)
		}
	}
	t.Run("same server", func(t *testing.T) { check(t, f) })
	t.Run("restarted server", func(t *testing.T) {
		check(t, newFixture(t, stateDir, false, dir))
	})
}

// fetch reads a whole log with FetchLog.
func fetch(t *testing.T, f *fixture, id, name string) []byte {
	t.Helper()
	stream, err := f.client.FetchLog(bound(t),
		&packbenchv1.FetchLogRequest{PackId: id, Name: name})
	if err != nil {
		t.Fatalf("FetchLog: %v", err)
	}
	var buf bytes.Buffer
	for range 1000 {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return buf.Bytes()
		}
		if err != nil {
			t.Fatalf("FetchLog(%s, %s): %v", id, name, err)
		}
		if len(msg.GetData()) > 1<<20 {
			t.Fatalf("FetchLog chunk of %d bytes, want at most 1 MiB", len(msg.GetData()))
		}
		buf.Write(msg.GetData())
	}
	t.Fatalf("FetchLog did not end")
	return nil
}

// TestFetchLogRefuses checks that only the pack's own log names are served.
func TestFetchLogRefuses(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	bin := fakeRunner(t, dir, filepath.Join(t.TempDir(), "pids"), "exit 0")
	f := newFixture(t, stateDir, false, dir)
	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(request("logs", bin, 1)))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, runStream{stream})
	secret := filepath.Join(stateDir, "logs", "other.txt")
	if err := os.WriteFile(secret, []byte("not a log of the pack"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		id, name string
		code     codes.Code
	}{
		{"logs", "../packs/logs.json", codes.InvalidArgument},
		{"logs", "/etc/passwd", codes.InvalidArgument},
		{"logs", "..", codes.InvalidArgument},
		{"logs", "", codes.InvalidArgument},
		{"logs", "other.txt", codes.NotFound},
		{"nope", "logs_p0.stdout.txt", codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := f.client.FetchLog(bound(t),
				&packbenchv1.FetchLogRequest{PackId: tt.id, Name: tt.name})
			if err == nil {
				_, err = s.Recv()
			}
			if got := status.Code(err); got != tt.code {
				t.Errorf("FetchLog(%s, %q) code = %v (%v), want %v", tt.id, tt.name, got, err,
					tt.code)
			}
		})
	}
	if got := fetch(t, f, "logs", "logs_p0.stdout.txt"); !bytes.HasPrefix(got, []byte("hello")) {
		t.Errorf("FetchLog(logs_p0.stdout.txt) = %q, want the runner's hello", got)
	}
}
