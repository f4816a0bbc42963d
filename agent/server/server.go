package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// Options are a server's settings.
type Options struct {
	// StateDir keeps finished packs in StateDir/packs; the agent's LogDir
	// should be StateDir/logs.
	StateDir string
	// Version is reported by GetHostFacts; agent.Version when empty.
	Version string
	// EventBuffer bounds each stream's queue of events; 16 when zero.
	EventBuffer int
	// Transport bounds the gRPC layer; see GRPCOptions.
	Transport Transport
}

// Server implements AgentService on top of one agent. Its methods are safe
// for concurrent use.
type Server struct {
	packbenchv1.UnimplementedAgentServiceServer

	logger hclog.Logger
	agent  *agent.Agent
	opts   Options
	logDir string

	base     context.Context // parent of every pack's context
	stopAll  context.CancelFunc
	wg       sync.WaitGroup // one per pack goroutine and model being prepared
	mu       sync.Mutex
	packs    map[string]*record // by id, guarded by mu
	running  *record            // the pack being run, guarded by mu
	shutdown bool               // guarded by mu
}

var _ packbenchv1.AgentServiceServer = (*Server)(nil)

// record is one pack the server knows; its fields are guarded by Server.mu.
type record struct {
	id     string
	state  wire.PackState
	events []api.Event
	// changed is closed and replaced whenever events grows or state changes.
	changed chan struct{}
	result  *result.Pack
	cancel  context.CancelFunc
}

// New builds a server for a and loads the packs kept in opts.StateDir. A
// state directory it cannot read is logged and left empty.
func New(logger hclog.Logger, a *agent.Agent, opts Options) *Server {
	if opts.Version == "" {
		opts.Version = agent.Version
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 16
	}
	opts.Transport = opts.Transport.withDefaults()
	base, stop := context.WithCancel(context.Background())
	s := &Server{
		logger: logger.Named("server"), agent: a, opts: opts,
		base: base, stopAll: stop, packs: map[string]*record{},
	}

	s.logDir = a.LogDir()
	if abs, err := filepath.Abs(s.logDir); err == nil {
		s.logDir = abs
	}
	if err := os.MkdirAll(s.packDir(), 0o755); err != nil {
		s.logger.Error("cannot create the pack directory", "error", err)
	}
	s.load()
	return s
}

// Register adds the AgentService to a gRPC server.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	packbenchv1.RegisterAgentServiceServer(r, s)
}

// Shutdown refuses new packs, cancels the running one and blocks until its
// processes are reaped and its result is kept, or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.stopAll()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shut down: wait for the running pack: %w", ctx.Err())
	}
}

// GetHostFacts reports the host's facts, the agent's name, version and
// allowlist. Facts that could not be read are logged and left zero.
func (s *Server) GetHostFacts(ctx context.Context,
	_ *packbenchv1.GetHostFactsRequest) (*packbenchv1.GetHostFactsResponse, error) {
	facts, err := s.agent.Facts(ctx)
	if err != nil {
		s.logger.Warn("some host facts are unknown", "error", err)
	}
	return wire.HostFactsToProto(wire.HostFacts{
		Facts: facts, AgentName: s.agent.Name(), AgentVersion: s.opts.Version,
		Allowlist: classify(s.agent.Allowed()),
	}), nil
}

// classify sorts allowlist entries by what they are: directories, files
// with an executable bit (binaries) and other files (models).
func classify(paths []string) wire.Allowlist {
	var al wire.Allowlist
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			al.Directories = append(al.Directories, p)
		case err == nil && fi.Mode()&0o111 != 0:
			al.Binaries = append(al.Binaries, p)
		default:
			al.Models = append(al.Models, p)
		}
	}
	return al
}

// PrepareModel writes or reuses a synthetic model in the agent's model
// directory.
func (s *Server) PrepareModel(ctx context.Context,
	req *packbenchv1.PrepareModelRequest) (*packbenchv1.PrepareModelResponse, error) {
	// Shutdown cancels a write in progress and waits for it, so that its
	// temporary file is removed before the process exits.
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, wire.StatusError(fmt.Errorf("%w: the agent is shutting down", api.ErrBusy))
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.base, cancel)()

	m, err := s.agent.PrepareModel(ctx, req.GetModel())
	if err != nil {
		return nil, wire.StatusError(err)
	}
	return &packbenchv1.PrepareModelResponse{Model: wire.ModelToProto(&m)}, nil
}

// Preflight checks a runner binary of the allowlist.
func (s *Server) Preflight(ctx context.Context,
	req *packbenchv1.PreflightRequest) (*packbenchv1.PreflightResponse, error) {
	pf, err := s.agent.Preflight(ctx, wire.PreflightRequestFromProto(req))
	if err != nil {
		return nil, wire.StatusError(err) // it names the binary
	}
	return &packbenchv1.PreflightResponse{Preflight: wire.PreflightToProto(pf)}, nil
}

// CancelPack cancels a running pack; it does not wait for its processes.
func (s *Server) CancelPack(_ context.Context,
	req *packbenchv1.CancelPackRequest) (*packbenchv1.CancelPackResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.lookupLocked(req.GetPackId())
	if err != nil {
		return nil, wire.StatusError(err)
	}
	if rec.state != wire.PackRunning {
		return &packbenchv1.CancelPackResponse{Cancelled: false}, nil
	}
	s.logger.Info("cancelling pack", "pack", rec.id)
	rec.cancel()
	return &packbenchv1.CancelPackResponse{Cancelled: true}, nil
}

// GetPackResult returns a finished pack's result.
func (s *Server) GetPackResult(_ context.Context,
	req *packbenchv1.GetPackResultRequest) (*packbenchv1.GetPackResultResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.lookupLocked(req.GetPackId())
	if err != nil {
		return nil, wire.StatusError(err)
	}
	switch rec.state {
	case wire.PackRunning:
		return nil, wire.StatusError(fmt.Errorf("%w: pack %s has not finished yet",
			api.ErrBusy, rec.id))
	case wire.PackInterrupted:
		return nil, wire.StatusError(fmt.Errorf("%w: pack %s was interrupted by an agent "+
			"stop and has no result", api.ErrNotFound, rec.id))
	}
	return &packbenchv1.GetPackResultResponse{Result: wire.PackToProto(*rec.result)}, nil
}

// ListPacks lists the packs the server keeps, ordered by id.
func (s *Server) ListPacks(context.Context,
	*packbenchv1.ListPacksRequest) (*packbenchv1.ListPacksResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.packs))
	for id := range s.packs {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	out := &packbenchv1.ListPacksResponse{}
	for _, id := range ids {
		rec := s.packs[id]
		sum := wire.PackSummary{ID: id, State: rec.state}
		if rec.result != nil {
			sum.Status = rec.result.Status
		}
		out.Packs = append(out.Packs, wire.PackSummaryToProto(sum))
	}
	return out, nil
}

// lookupLocked finds a pack by id; the error wraps api.ErrNotFound.
func (s *Server) lookupLocked(id string) (*record, error) {
	rec, ok := s.packs[id]
	if !ok {
		return nil, fmt.Errorf("%w: no pack with id %q", api.ErrNotFound, id)
	}
	return rec, nil
}
