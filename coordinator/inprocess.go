package coordinator

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/server"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// InProcess is an agent served over an in-memory gRPC connection, so that
// `packbench local` drives it through the same API and client as a fleet.
type InProcess struct {
	// Client is the Remote over the in-memory connection.
	Client *Remote

	srv    *server.Server
	grpc   *grpc.Server
	conn   *grpc.ClientConn
	served chan error
}

// StartInProcess serves ag on a bufconn listener, with stateDir for the
// server's kept packs, and connects a Remote to it. Close stops both.
func StartInProcess(logger hclog.Logger, ag *agent.Agent, stateDir string) (*InProcess, error) {
	// each connection allocates its buffer up front, both ways: keep it
	// small, since a writer just waits for the reader when it is full
	lis := bufconn.Listen(64 << 10)
	srv := server.New(logger, ag, server.Options{StateDir: stateDir})
	gs := grpc.NewServer()
	srv.Register(gs)
	p := &InProcess{srv: srv, grpc: gs, served: make(chan error, 1)}
	go func() { p.served <- gs.Serve(lis) }()

	conn, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return lis.DialContext(ctx)
		}))
	if err != nil {
		gs.Stop()
		return nil, fmt.Errorf("connect in-process agent: %w", err)
	}
	p.conn = conn
	p.Client = NewRemote(logger.Named("remote"), packbenchv1.NewAgentServiceClient(conn),
		DefaultBackoff)
	return p, nil
}

// Close shuts the server down, waiting a bounded time for a running pack's
// processes to be reaped, and closes the connection.
func (p *InProcess) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	p.conn.Close()
	p.grpc.Stop()
	<-p.served
	return err
}
