package coordinator_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/server"
	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// freezer forwards one loopback connection to target until frozen; then it
// keeps both sockets open but drops every byte, as a vanished host or a
// dropped NAT entry does: nothing is closed and nothing comes back.
type freezer struct {
	lis    net.Listener
	frozen atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{lis: lis}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			f.wg.Add(2)
			go f.pipe(out, in)
			go f.pipe(in, out)
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *freezer) pipe(dst io.Writer, src io.Reader) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !f.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestKeepaliveEndsAFrozenStream runs a long pack through a connection that
// then goes silent without closing. The coordinator's pings must end the
// stream as Unavailable within seconds, not at the pack's timeout, and the
// agent must accept pings at the coordinator's fastest rate for as long as
// the connection is healthy (an agent that refused them would close it).
func TestKeepaliveEndsAFrozenStream(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "llama-completion")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexec sleep 120\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	model := sharedModelPath(t)
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})
	ag, err := agent.New(logger, agent.Config{Name: "keepalive", LogDir: t.TempDir(),
		Allow: []string{dir, model}, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(logger, ag, server.Options{StateDir: t.TempDir()})
	gs := grpc.NewServer(srv.GRPCOptions()...)
	srv.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(srv.Listener(lis)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		gs.Stop()
	})

	proxy := newFreezer(t, lis.Addr().String())
	// gRPC's fastest client ping; the default is slower only to save traffic
	conn, err := coordinator.Dial(proxy.lis.Addr().String(), nil,
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second,
			Timeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	req := api.PackRequest{ID: "quiet", Binary: bin, Runner: runner.LlamaCompletion,
		ExecMode: runner.ExecDirect, NoPreflight: true, Instances: 1, Threads: 1,
		Workload: runner.Workload{Model: model, Prompt: "hi", NPredict: 8, CtxSize: 256},
		Timeout:  90 * time.Second, MemHeadroom: 0.9}
	stream, err := packbenchv1.NewAgentServiceClient(conn).RunPack(ctx,
		wire.PackRequestToProto(req))
	if err != nil {
		t.Fatal(err)
	}
	started := false
	for range 10 {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv before the freeze: %v", err)
		}
		if msg.GetEvent().GetInstanceStarted() != nil {
			started = true
			break
		}
	}
	if !started {
		t.Fatal("no InstanceStarted event in the first 10 messages")
	}

	ended := make(chan error, 1)
	go func() {
		_, err := stream.Recv() // the runner sleeps: nothing comes until the end
		ended <- err
	}()

	// four pings' worth of a quiet, healthy stream: gRPC's default policy
	// (pings no more often than every 5 min) answers the fourth by closing
	// the connection
	select {
	case err := <-ended:
		t.Fatalf("quiet healthy stream ended: %v; want it open until the freeze", err)
	case <-time.After(45 * time.Second):
	}
	proxy.frozen.Store(true)
	frozenAt := time.Now()
	select {
	case err := <-ended:
		if got := status.Code(err); got != codes.Unavailable {
			t.Fatalf("Recv on the frozen stream = %v, want Unavailable", err)
		}
		t.Logf("frozen stream ended after %v: %v", time.Since(frozenAt).Round(time.Second),
			err)
	case <-ctx.Done():
		t.Fatalf("frozen stream still open after %v; want the pings to end it",
			time.Since(frozenAt).Round(time.Second))
	}
}

// sharedModelPath is the tiny real model beside the checkout, which the
// agent's memory check reads.
func sharedModelPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../shared/models/llama-2-tiny-random.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared model missing: %v", err)
	}
	return p
}
