package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/synth"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// PrepareModel over a real socket: a model is written and described, a
// bad reference is INVALID_ARGUMENT, and a running pack makes the agent
// busy for it as for another pack.
func TestPrepareModelOverGRPC(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, "sleep 2")
	modelDir := filepath.Join(t.TempDir(), "models")
	f := newFixtureWith(t, t.TempDir(), true, fixtureOptions{modelDir: modelDir}, dir)

	spec, err := synth.ParseModelRef("synth:tiny:q8_0:11")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := synth.Write(h, spec); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))

	resp, err := f.client.PrepareModel(bound(t),
		&packbenchv1.PrepareModelRequest{Model: "synth:tiny:q8_0:11"})
	if err != nil {
		t.Fatalf("PrepareModel: %v", err)
	}
	m := resp.GetModel()
	if m.GetSha256() != want || m.GetPath() != filepath.Join(modelDir, spec.FileName()) ||
		m.GetShape() != "tiny" || m.GetType() != "q8_0" || m.GetSeed() != 11 {
		t.Errorf("PrepareModel = %v, want tiny q8_0 seed 11 in %s with sha256 %s", m, modelDir,
			want)
	}

	for _, ref := range []string{"synth:huge:q8_0", "synth:tiny", "/etc/passwd",
		"synth:../../etc:q8_0"} {
		_, err := f.client.PrepareModel(bound(t), &packbenchv1.PrepareModelRequest{Model: ref})
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Errorf("PrepareModel(%q) code = %v (%v), want InvalidArgument", ref, got, err)
		}
	}

	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(request("busy", bin, 1)))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	if ev, err := recv(t, runStream{stream}); err != nil || ev.Kind != api.EventAccepted {
		t.Fatalf("first event = %v, %v, want Accepted", ev.Kind, err)
	}
	_, err = f.client.PrepareModel(bound(t),
		&packbenchv1.PrepareModelRequest{Model: "synth:tiny:q8_0:12"})
	if got := status.Code(err); got != codes.FailedPrecondition {
		t.Errorf("PrepareModel during a pack code = %v (%v), want FailedPrecondition", got, err)
	}
	drain(t, runStream{stream})
}

func TestPrepareModelWithoutModelDir(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	_, err := f.client.PrepareModel(bound(t),
		&packbenchv1.PrepareModelRequest{Model: "synth:tiny:q8_0"})
	if got := status.Code(err); got != codes.PermissionDenied {
		t.Errorf("PrepareModel without a model dir code = %v (%v), want PermissionDenied", got, err)
	}
}

// A pack request may name a synthetic model; the agent writes it into its
// model directory and runs the pack on that file, telling the runner to
// ignore end-of-stream.
func TestRunPackOnSyntheticModel(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := fakeRunner(t, dir, pidFile, `printf '%s\n' "$@"`)
	modelDir := filepath.Join(t.TempDir(), "models")
	f := newFixtureWith(t, t.TempDir(), false, fixtureOptions{modelDir: modelDir}, dir)

	req := request("synth-1", bin, 1)
	req.Workload.Model = "synth:tiny:q4_0"
	stream, err := f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	evs := drain(t, runStream{stream})
	last := evs[len(evs)-1]
	if last.Kind != api.EventPackFinished || last.Pack.Model == nil {
		t.Fatalf("last event = %v with %+v, want PackFinished with a model", last.Kind, last.Pack)
	}
	file := filepath.Join(modelDir, "synth-tiny-q4_0-s1.gguf")
	if m := last.Pack.Model; m.Path != file || m.Ref != "synth:tiny:q4_0:1" || m.SHA256 == "" {
		t.Errorf("pack model = %+v, want %s at %s with a sha256", m, "synth:tiny:q4_0:1", file)
	}
	args := last.Pack.Runner.Args
	found, ignoreEOS := false, false
	for i := range args {
		found = found || (args[i] == "-m" && i+1 < len(args) && args[i+1] == file)
		ignoreEOS = ignoreEOS || args[i] == "--ignore-eos"
	}
	if !found || !ignoreEOS {
		t.Errorf("runner args %q do not pass -m %s and --ignore-eos", args, file)
	}

	req = request("synth-2", bin, 1)
	req.Workload.Model = "synth:tiny:q4_0:x"
	stream, err = f.client.RunPack(bound(t), wire.PackRequestToProto(req))
	if err == nil {
		_, err = stream.Recv()
	}
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("RunPack(bad synthetic seed) code = %v (%v), want InvalidArgument", got, err)
	}
}

// Shutdown during a model write cancels the write and waits for it, so no
// temporary file outlives the agent, and refuses a new PrepareModel.
func TestShutdownStopsAModelWriteAndCleansUp(t *testing.T) {
	modelDir := filepath.Join(t.TempDir(), "models")
	f := newFixtureWith(t, t.TempDir(), true, fixtureOptions{modelDir: modelDir})

	// llama-1b q4_0 is ~0.8 GB: seconds to write, long enough to catch
	done := make(chan error, 1)
	go func() {
		_, err := f.client.PrepareModel(bound(t),
			&packbenchv1.PrepareModelRequest{Model: "synth:llama-1b:q4_0"})
		done <- err
	}()
	tmps := func() []string {
		m, _ := filepath.Glob(filepath.Join(modelDir, ".*.tmp"))
		return m
	}
	for i := 0; len(tmps()) == 0; i++ {
		if i == 1000 {
			t.Fatal("no temporary model file within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown during a model write: %v", err)
	}
	if left := tmps(); len(left) != 0 {
		t.Errorf("temporary files left after Shutdown: %v", left)
	}
	if err := <-done; status.Code(err) == codes.OK {
		t.Errorf("PrepareModel cut by Shutdown = %v, want an error", err)
	}
	_, err := f.client.PrepareModel(bound(t),
		&packbenchv1.PrepareModelRequest{Model: "synth:tiny:q8_0"})
	if got := status.Code(err); got != codes.FailedPrecondition {
		t.Errorf("PrepareModel after Shutdown code = %v (%v), want FailedPrecondition", got, err)
	}
}
