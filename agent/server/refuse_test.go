package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/wire"
)

// TestRunPackRefuses checks that a refused request gets its status code and
// a message naming the problem, and that no process starts for it.
func TestRunPackRefuses(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	good := fakeRunner(t, allowed, pidFile, "exit 0")
	bad := fakeRunner(t, outside, pidFile, "exit 0")
	link := filepath.Join(allowed, "link-out")
	if err := os.Symlink(bad, link); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, t.TempDir(), false, allowed)

	with := func(mut func(*api.PackRequest)) api.PackRequest {
		r := request("p1", good, 1)
		mut(&r)
		return r
	}
	tests := []struct {
		name string
		req  api.PackRequest
		code codes.Code
		msg  string
	}{
		{"binary outside allow", with(func(r *api.PackRequest) { r.Binary = bad }),
			codes.PermissionDenied, "outside the agent's allowlist"},
		{"symlink leaving allow", with(func(r *api.PackRequest) { r.Binary = link }),
			codes.PermissionDenied, "outside the agent's allowlist"},
		{"model outside allow", with(func(r *api.PackRequest) { r.Workload.Model = bad }),
			codes.PermissionDenied, "model"},
		{"zero instances", with(func(r *api.PackRequest) { r.Instances = 0 }),
			codes.InvalidArgument, "instances 0"},
		{"zero threads", with(func(r *api.PackRequest) { r.Threads = 0 }),
			codes.InvalidArgument, "threads 0"},
		{"million instances", with(func(r *api.PackRequest) { r.Instances = 1_000_000 }),
			codes.InvalidArgument, "instances 1000000"},
		{"id with slash", with(func(r *api.PackRequest) { r.ID = "a/b" }),
			codes.InvalidArgument, "pack id"},
		{"id dot dot", with(func(r *api.PackRequest) { r.ID = ".." }),
			codes.InvalidArgument, "pack id"},
		{"id with dot dot inside", with(func(r *api.PackRequest) { r.ID = "x/../../etc" }),
			codes.InvalidArgument, "pack id"},
		{"1 MB prompt", with(func(r *api.PackRequest) {
			r.Workload.Prompt = strings.Repeat("a", 1<<20)
		}), codes.InvalidArgument, "prompt length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := children(t)
			stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(tt.req))
			if err != nil {
				t.Fatalf("RunPack: %v", err)
			}
			_, err = recv(t, runStream{stream})

			if got := status.Code(err); got != tt.code {
				t.Fatalf("RunPack(%s) code = %v (%v), want %v", tt.name, got, err, tt.code)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.msg) {
				t.Errorf("RunPack(%s) message = %q, want it to contain %q", tt.name, msg, tt.msg)
			}
			if n := countFiles(t, filepath.Join(f.stateDir, "logs")); n != 0 {
				t.Errorf("log files after a refusal = %d, want 0", n)
			}
			if got := pids(t, pidFile); len(got) != 0 {
				t.Errorf("runner pids after a refusal = %v, want none", got)
			}
			if after := children(t); after > before {
				t.Errorf("child processes = %d after, %d before, want no new one", after, before)
			}
		})
	}

	// a refused pack leaves no trace: its id is free again
	list, err := f.client.ListPacks(bound(t), nil)
	if err != nil || len(list.GetPacks()) != 0 {
		t.Errorf("ListPacks after refusals = %v, %v, want no packs", list.GetPacks(), err)
	}
}

// TestRunPackBusy runs a sleeping pack, checks that a second one is refused
// with FAILED_PRECONDITION naming the first, then cancels the first.
func TestRunPackBusy(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "exec sleep 60")
	f := newFixture(t, t.TempDir(), false, dir)
	ctx := bound(t)

	first, err := f.client.RunPack(ctx, wire.PackRequestToProto(request("first", bin, 1)))
	if err != nil {
		t.Fatalf("RunPack(first): %v", err)
	}
	for _, want := range []api.EventKind{api.EventAccepted, api.EventInstanceStarted} {
		ev, err := recv(t, runStream{first})
		if err != nil || ev.Kind != want {
			t.Fatalf("first pack event = %v, %v, want kind %v", ev.Kind, err, want)
		}
	}
	// the runner writes its pid just after it starts; wait for it, bounded
	for i := 0; i < 600 && len(pids(t, pidFile)) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	logsBefore := countFiles(t, filepath.Join(f.stateDir, "logs"))
	childrenBefore := children(t)

	second, err := f.client.RunPack(ctx, wire.PackRequestToProto(request("second", bin, 1)))
	if err != nil {
		t.Fatalf("RunPack(second): %v", err)
	}
	_, err = recv(t, runStream{second})
	if got := status.Code(err); got != codes.FailedPrecondition {
		t.Fatalf("second RunPack code = %v (%v), want FailedPrecondition", got, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "pack first is running") {
		t.Errorf("second RunPack message = %q, want it to name pack first", msg)
	}
	if got := pids(t, pidFile); len(got) != 1 {
		t.Errorf("runner pids = %v, want exactly the first pack's one", got)
	}
	if n := countFiles(t, filepath.Join(f.stateDir, "logs")); n != logsBefore {
		t.Errorf("log files = %d, want %d (none for the refused pack)", n, logsBefore)
	}
	if after := children(t); after > childrenBefore {
		t.Errorf("child processes = %d after, %d before, want no new one", after,
			childrenBefore)
	}

	// the same id again, while it runs, is a busy agent; GetPackResult waits
	_, err = f.client.GetPackResult(ctx, &packbenchv1GetPackResultRequest{PackId: "first"})
	if got := status.Code(err); got != codes.FailedPrecondition {
		t.Errorf("GetPackResult while running code = %v (%v), want FailedPrecondition",
			got, err)
	}

	resp, err := f.client.CancelPack(ctx, &packbenchv1CancelPackRequest{PackId: "first"})
	if err != nil || !resp.GetCancelled() {
		t.Fatalf("CancelPack(first) = %v, %v, want cancelled", resp, err)
	}
	evs := drain(t, runStream{first})
	last := evs[len(evs)-1]
	if last.Kind != api.EventPackFinished || last.Pack.Status != "cancelled" {
		t.Fatalf("last event = %v %+v, want PackFinished with status cancelled", last.Kind,
			last.Pack)
	}
	assertGone(t, pids(t, pidFile)[0])

	// a used id is refused; an unknown id is not found
	again, err := f.client.RunPack(ctx, wire.PackRequestToProto(request("first", bin, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recv(t, runStream{again}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("RunPack(used id) = %v, want AlreadyExists", err)
	}
	_, err = f.client.CancelPack(ctx, &packbenchv1CancelPackRequest{PackId: "nope"})
	if got := status.Code(err); got != codes.NotFound {
		t.Errorf("CancelPack(unknown) code = %v, want NotFound", got)
	}
}
