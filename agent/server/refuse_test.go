package server_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/server"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
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
	// lexically below allowed, resolved outside it
	// (t.TempDir makes siblings)
	dotdot := allowed + "/../" + filepath.Base(outside) + "/llama-completion"
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
		}), codes.InvalidArgument, "prompt length 1048576; accepted: at most 65536 bytes"},
		{"5 MiB prompt, over the message size", with(func(r *api.PackRequest) {
			r.Workload.Prompt = strings.Repeat("a", 5<<20)
		}), codes.ResourceExhausted, "larger than max"},
		{"binary with dot dot", with(func(r *api.PackRequest) { r.Binary = dotdot }),
			codes.PermissionDenied, "outside the agent's allowlist"},
		{"model symlink leaving allow", with(func(r *api.PackRequest) {
			r.Workload.Model = link
		}), codes.PermissionDenied, "model"},
		{"10^6 threads", with(func(r *api.PackRequest) { r.Threads = 1_000_000 }),
			codes.InvalidArgument, "threads 1000000; accepted: 1..1024"},
		{"huge n_predict", with(func(r *api.PackRequest) { r.Workload.NPredict = 1 << 30 }),
			codes.InvalidArgument, "n_predict 1073741824"},
		{"huge ctx_size", with(func(r *api.PackRequest) { r.Workload.CtxSize = 1 << 30 }),
			codes.InvalidArgument, "ctx_size 1073741824"},
		{"--model /etc/shadow", extra(with, "--model", "/etc/shadow"),
			codes.InvalidArgument, `extra_args[0] "--model"`},
		{"-f /etc/passwd", extra(with, "-f", "/etc/passwd"),
			codes.InvalidArgument, `extra_args[0] "-f"`},
		{"--log-file=/tmp/x", extra(with, "--log-file=/tmp/x"),
			codes.InvalidArgument, `extra_args[0] "--log-file=/tmp/x"`},
		{"--lora x", extra(with, "--lora", "x"),
			codes.InvalidArgument, `extra_args[0] "--lora"`},
		{"--Model-Path=x", extra(with, "--seed", "1", "--Model-Path=x"),
			codes.InvalidArgument, `extra_args[2] "--Model-Path=x"`},
		{"-m glued", extra(with, "-m/etc/shadow"),
			codes.InvalidArgument, "glues a file name"},
		{"bare path", extra(with, "/etc/shadow"),
			codes.InvalidArgument, "looks like a path"},
		{"100 extra args", extra(with, make([]string, 100)...),
			codes.InvalidArgument, "extra_args count 100; accepted: at most 64"},
		{"5000-byte extra arg", extra(with, "--temp", strings.Repeat("1", 5000)),
			codes.InvalidArgument, "extra_args[1] length 5000"},
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
			if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stat runner pid file = %v, want not exist: a runner started", err)
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

// extra is a request of with whose workload passes args.
func extra(with func(func(*api.PackRequest)) api.PackRequest, args ...string) api.PackRequest {
	return with(func(r *api.PackRequest) { r.Workload.ExtraArgs = args })
}

// TestRunPackMemorySkipped asks for the most instances with a headroom so
// small that the tiny model cannot fit: the designed answer is a pack that
// is Skipped, with the memory numbers, and no process or log.
func TestRunPackMemorySkipped(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "exit 0")
	f := newFixture(t, stateDir, false, dir)

	req := request("oversubscribed", bin, 256)
	req.MemHeadroom = 1e-9
	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	evs := drain(t, runStream{stream})

	if len(evs) != 2 || evs[0].Kind != api.EventSkipped || evs[1].Kind != api.EventPackFinished {
		t.Fatalf("events = %+v, want Skipped then PackFinished", evs)
	}
	mem, p := evs[0].Memory, evs[1].Pack
	if mem == nil || mem.TotalBytes <= mem.CapBytes || mem.AvailableBytes == 0 ||
		mem.PerInstanceBytes*256 > mem.TotalBytes+mem.WeightsBytes {
		t.Errorf("Skipped memory = %+v, want a total over the cap for 256 instances", mem)
	}
	if p.Status != "skipped" || !strings.Contains(p.Reason, "exceeds the cap") ||
		!strings.Contains(p.Reason, "--mem-headroom 1e-09 x") {
		t.Errorf("pack status %q reason %q, want skipped naming the cap and headroom",
			p.Status, p.Reason)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat runner pid file = %v, want not exist: a runner started", err)
	}
	if n := countFiles(t, filepath.Join(stateDir, "logs")); n != 0 {
		t.Errorf("log files of a skipped pack = %d, want 0", n)
	}
}

// TestPreflightDeadline runs Preflight on a binary whose --help hangs: the
// call ends with DEADLINE_EXCEEDED at the server's Preflight bound, and the
// probe process is gone.
func TestPreflightDeadline(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "exec sleep 60")
	f := newFixtureWith(t, t.TempDir(), false, fixtureOptions{
		transport: server.Transport{PreflightTimeout: 500 * time.Millisecond}}, dir)

	_, err := f.client.Preflight(bound(t), &packbenchv1.PreflightRequest{Binary: bin,
		ExecMode: "auto"})
	if got := status.Code(err); got != codes.DeadlineExceeded {
		t.Fatalf("Preflight(hanging binary) code = %v (%v), want DeadlineExceeded", got, err)
	}
	for _, pid := range pids(t, pidFile) {
		waitGone(t, pid)
	}

	_, err = f.client.Preflight(bound(t), &packbenchv1.PreflightRequest{Binary: bin,
		ExecMode: "fork"})
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("Preflight(exec mode fork) code = %v (%v), want InvalidArgument", got, err)
	}
}

// TestRunPackAllowedArgs checks that an agent whose policy allows
// --lora passes it, and still refuses --model.
func TestRunPackAllowedArgs(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "exit 0")
	f := newFixtureWith(t, t.TempDir(), false,
		fixtureOptions{args: agent.ArgPolicy{Allowed: []string{"--lora"}}}, dir)

	req := request("lora", bin, 1)
	req.Workload.ExtraArgs = []string{"--lora", "/l/a.gguf"}
	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, runStream{stream})
	last := evs[len(evs)-1]
	if last.Kind != api.EventPackFinished || len(pids(t, pidFile)) != 1 {
		t.Fatalf("allowed --lora: last event %v, pids %v, want PackFinished and 1 runner",
			last.Kind, pids(t, pidFile))
	}
	if args := strings.Join(last.Pack.Runner.Args, " "); !strings.HasSuffix(args,
		"--lora /l/a.gguf") {
		t.Errorf("runner args = %q, want them to end with --lora /l/a.gguf", args)
	}

	req = request("model", bin, 1)
	req.Workload.ExtraArgs = []string{"--lora", "/l/a.gguf", "--model", "/etc/shadow"}
	stream, err = f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err != nil {
		t.Fatal(err)
	}
	_, err = recv(t, runStream{stream})
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("--model with --lora allowed: code = %v (%v), want InvalidArgument", got, err)
	}
	if got := len(pids(t, pidFile)); got != 1 {
		t.Errorf("runner starts = %d, want still 1", got)
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
