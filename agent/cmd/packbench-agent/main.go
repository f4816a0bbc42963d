package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/sdnotify"
	"github.com/packbench/packbench/agent/server"
	"github.com/packbench/packbench/pkg/certs"
)

// How long a stop waits: for the running pack's processes to be reaped,
// then for open RPCs to end before they are cut.
const (
	shutdownWait = 30 * time.Second
	drainWait    = 10 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit code: 0 after a stop by
// signal, 2 for bad settings, 1 when serving fails.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flagHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "packbench-agent: %v\n", err)
		return 2
	}
	if cfg.version {
		fmt.Fprintf(stdout, "packbench-agent %s\n", agent.Version)
		return 0
	}
	level, err := cfg.validate()
	if err != nil {
		fmt.Fprintf(stderr, "packbench-agent: %v\n", err)
		return 2
	}

	logger := hclog.New(&hclog.LoggerOptions{Name: "packbench-agent", Level: level,
		Output: stderr})
	a, err := agent.New(logger, cfg.agentConfig())
	if err != nil {
		fmt.Fprintf(stderr, "packbench-agent: --allow (allow) or --state-dir: %v\n", err)
		return 2
	}
	creds, err := cfg.credentials()
	if err != nil {
		fmt.Fprintf(stderr, "packbench-agent: %v\n", err)
		return 2
	}
	if err := serve(logger, cfg, a, creds); err != nil {
		logger.Error("agent stopped", "error", err)
		return 1
	}
	return 0
}

// serve listens, serves until SIGTERM or SIGINT, then stops gracefully.
func serve(logger hclog.Logger, cfg config, a *agent.Agent,
	creds credentials.TransportCredentials) error {
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := server.New(logger, a, server.Options{StateDir: cfg.StateDir,
		Transport: cfg.transport()})
	lis = srv.Listener(lis)
	opts := srv.GRPCOptions()
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(opts...)
	srv.Register(gs)

	logger.Info("agent starting", "name", cfg.Name, "listen", cfg.Listen,
		"allow", a.Allowed(), "state_dir", cfg.StateDir, "version", agent.Version,
		"tls", creds != nil)
	switch {
	case creds != nil:
	case cfg.insecure:
		logger.Warn("serving without TLS (--insecure); anyone who reaches the port can run " +
			"the allowed binaries")
	default:
		logger.Warn("serving without TLS on loopback; any local user can run the allowed " +
			"binaries")
	}
	if cfg.AllowAll {
		logger.Warn("extra args are not checked (allow_extra_args); a request may make " +
			"runners read or write any file the agent can")
	}
	if len(a.Allowed()) == 0 {
		logger.Warn("the allowlist is empty; every pack will be refused")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	logger.Info("agent listening", "address", lis.Addr().String())
	if _, err := sdnotify.Notify(sdnotify.Ready); err != nil {
		logger.Warn("cannot notify systemd", "error", err)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("agent stopping")
	if _, err := sdnotify.Notify(sdnotify.Stopping); err != nil {
		logger.Warn("cannot notify systemd", "error", err)
	}
	stopServer(logger, srv, gs)
	return nil
}

// credentials loads the agent's mTLS configuration, or returns nil for a
// plaintext agent; errors name the flags.
func (c config) credentials() (credentials.TransportCredentials, error) {
	if !c.tls() {
		return nil, nil
	}
	tc, err := certs.ServerConfig(c.TLSCert, c.TLSKey, c.TLSCA)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key, --tls-ca: %w", err)
	}
	return credentials.NewTLS(tc), nil
}

// stopServer cancels the running pack and waits for it, then lets open RPCs
// end, cutting them after drainWait.
func stopServer(logger hclog.Logger, srv *server.Server, gs *grpc.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Error("running pack did not stop in time", "error", err)
	}

	done := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(drainWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		logger.Warn("open calls did not end in time; closing them")
		gs.Stop()
		<-done
	}
	logger.Info("agent stopped")
}
