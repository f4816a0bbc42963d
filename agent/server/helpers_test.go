package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/server"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// model is the shared tiny model beside the checkout; the memory check reads
// its metadata.
var model = absPath("../../../shared/models/llama-2-tiny-random.gguf")

// absPath makes a path relative to this package's directory, where go test
// runs, absolute: the agent refuses relative paths.
func absPath(rel string) string {
	p, err := filepath.Abs(rel)
	if err != nil {
		panic(err)
	}
	return p
}

// fixture is one agent served over gRPC, with its state directory.
type fixture struct {
	stateDir string
	srv      *server.Server
	client   packbenchv1.AgentServiceClient
}

// newFixture serves an agent that allows allow (plus the model) on a bufconn
// listener, or on a real loopback socket when loopback is set.
func newFixture(t *testing.T, stateDir string, loopback bool, allow ...string) *fixture {
	t.Helper()
	return newFixtureWith(t, stateDir, loopback, fixtureOptions{}, allow...)
}

// fixtureOptions are the settings newFixtureWith adds to newFixture's.
type fixtureOptions struct {
	transport server.Transport
	args      agent.ArgPolicy
	modelDir  string
}

// newFixtureWith is newFixture with transport bounds and an arg policy.
func newFixtureWith(t *testing.T, stateDir string, loopback bool, fo fixtureOptions,
	allow ...string) *fixture {
	t.Helper()
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})
	a, err := agent.New(logger, agent.Config{Name: "test-agent",
		LogDir: filepath.Join(stateDir, "logs"), Allow: append(allow, model),
		Grace: 2 * time.Second, Args: fo.args, ModelDir: fo.modelDir})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	srv := server.New(logger, a, server.Options{StateDir: stateDir, EventBuffer: 2,
		Transport: fo.transport})
	gs := grpc.NewServer(srv.GRPCOptions()...)
	srv.Register(gs)

	var lis net.Listener
	dial := grpc.WithContextDialer(nil)
	target := "passthrough:///bufnet"
	if loopback {
		lis, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		target = lis.Addr().String()
	} else {
		bl := bufconn.Listen(1 << 20)
		lis = bl
		dial = grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return bl.DialContext(ctx)
		})
	}
	go func() { _ = gs.Serve(lis) }()

	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if !loopback {
		opts = append(opts, dial)
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", target, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		conn.Close()
		gs.Stop()
	})
	return &fixture{stateDir: stateDir, srv: srv, client: packbenchv1.NewAgentServiceClient(conn)}
}

// fakeRunner writes a runner script into dir that appends its pid to
// pidFile, prints a line and then runs body.
func fakeRunner(t *testing.T, dir, pidFile, body string) string {
	t.Helper()
	path := filepath.Join(dir, "llama-completion")
	script := "#!/bin/sh\necho $$ >> " + pidFile + "\necho hello from $$\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatalf("write fake runner: %v", err)
	}
	return path
}

// request is a valid pack request for a fake runner, no preflight.
func request(id, bin string, instances int) api.PackRequest {
	return api.PackRequest{ID: id, Binary: bin, Runner: runner.LlamaCompletion,
		ExecMode: runner.ExecDirect, NoPreflight: true, Instances: instances, Threads: 1,
		Workload: runner.Workload{Model: model, Prompt: "hi", NPredict: 8, CtxSize: 256},
		Timeout:  60 * time.Second, MemHeadroom: 0.9}
}

// eventStream is what RunPack and WatchPack streams have in common.
type eventStream interface {
	Recv() (eventMsg, error)
}

type eventMsg interface{ GetEvent() *packbenchv1.PackEvent }

type runStream struct {
	grpc.ServerStreamingClient[packbenchv1.RunPackResponse]
}

func (s runStream) Recv() (eventMsg, error) { return s.ServerStreamingClient.Recv() }

type watchStream struct {
	grpc.ServerStreamingClient[packbenchv1.WatchPackResponse]
}

func (s watchStream) Recv() (eventMsg, error) { return s.ServerStreamingClient.Recv() }

// recv reads the next event of a stream as a Go event.
func recv(t *testing.T, s eventStream) (api.Event, error) {
	t.Helper()
	msg, err := s.Recv()
	if err != nil {
		return api.Event{}, err
	}
	ev, err := wire.EventFromProto(msg.GetEvent())
	if err != nil {
		t.Fatalf("EventFromProto: %v", err)
	}
	return ev, nil
}

// drain reads a stream to its end and returns its events.
func drain(t *testing.T, s eventStream) []api.Event {
	t.Helper()
	var evs []api.Event
	for range 10000 {
		ev, err := recv(t, s)
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("Recv after %d events: %v", len(evs), err)
		}
		evs = append(evs, ev)
	}
	t.Fatalf("stream did not end after 10000 events")
	return nil
}

// countFiles counts the entries of dir; a missing dir has none.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return len(entries)
}

// children counts the processes whose parent is this test process.
func children(t *testing.T) int {
	t.Helper()
	paths, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatalf("glob children: %v", err)
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended
		}
		n += len(strings.Fields(string(data)))
	}
	return n
}

// pids reads the pids a fake runner wrote.
func pids(t *testing.T, pidFile string) []string {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", pidFile, err)
	}
	return strings.Fields(string(data))
}

// bound is a context that keeps a broken test from hanging forever.
func bound(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type (
	packbenchv1GetPackResultRequest = packbenchv1.GetPackResultRequest
	packbenchv1CancelPackRequest    = packbenchv1.CancelPackRequest
)

// assertGone checks that no process has the pid a runner wrote.
func assertGone(t *testing.T, pid string) {
	t.Helper()
	n, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatalf("pid %q: %v", pid, err)
	}
	if err := syscall.Kill(n, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: the runner outlived its pack", n, err)
	}
}

// waitGone waits, bounded, for the process a runner's pid names to end.
func waitGone(t *testing.T, pid string) {
	t.Helper()
	n, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatalf("pid %q: %v", pid, err)
	}
	for i := 0; i < 600 && !errors.Is(syscall.Kill(n, 0), syscall.ESRCH); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	assertGone(t, pid)
}

// contextWithCancel is bound(t) with its cancel function.
func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(bound(t))
	t.Cleanup(cancel)
	return ctx, cancel
}
