package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// cancelWait bounds how long a cancelled pack's result is waited for: the
// agent's grace between SIGTERM and SIGKILL, and some.
const cancelWait = 15 * time.Second

// Remote is a Client over the agent's gRPC API. Calls that fail with
// UNAVAILABLE are retried within its Backoff; a pack whose stream breaks is
// followed again by its id (WatchPack) or read back (GetPackResult), never
// run twice. Once the bound is spent the error wraps ErrUnreachable. It is
// safe for concurrent use.
type Remote struct {
	logger  hclog.Logger
	svc     packbenchv1.AgentServiceClient
	backoff Backoff

	facts wire.HostFacts // set by Facts before any other call
}

var (
	_ Client     = (*Remote)(nil)
	_ PackKeeper = (*Remote)(nil)
	_ LogFetcher = (*Remote)(nil)
)

// NewRemote returns a client of svc that retries within b.
func NewRemote(logger hclog.Logger, svc packbenchv1.AgentServiceClient, b Backoff) *Remote {
	return &Remote{logger: logger, svc: svc, backoff: b}
}

// ClientKeepalive pings an agent that has sent nothing for a while during a
// call, so that a connection whose peer vanished (a host powered off, a NAT
// entry dropped) fails the call within Time+Timeout instead of waiting for
// the pack's own timeout. Agents accept pings this often (see the agent
// server's keepalive policy); gRPC raises a Time under 10 s to 10 s.
var ClientKeepalive = keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}

// Dial opens a connection to an agent at address, with creds (mTLS) or in
// plaintext when creds is nil, pinging as ClientKeepalive says; it does not
// block, the first call connects. opts come last and so win.
func Dial(address string, creds credentials.TransportCredentials,
	opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(ClientKeepalive)}, opts...)
	conn, err := grpc.NewClient(address, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	return conn, nil
}

// retryable reports whether err says the agent could not be reached, or a
// stream ended before its last event.
func retryable(err error) bool {
	return status.Code(err) == codes.Unavailable || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// transportCause is the last, most specific clause of a transport error,
// such as "connect: connection refused" out of gRPC's "connection error:
// desc = \"transport: Error while dialing: dial tcp 10.0.0.1:7070: connect:
// connection refused\"".
func transportCause(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), `"`)
	if i := strings.LastIndex(msg, "dial tcp "); i >= 0 {
		// keep the address: "dial tcp 10.0.0.1:7070: connect: connection refused"
		return msg[i:]
	}
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = strings.Trim(msg[i+len("desc = "):], `"`)
	}
	return msg
}

// callErr maps an error of a call for HostRun: UNAVAILABLE after the retry
// bound becomes ErrUnreachable, other codes their pkg/api sentinels.
func callErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case retryable(err):
		return fmt.Errorf("%s: %w: %s", op, ErrUnreachable, transportCause(err))
	default:
		return fmt.Errorf("%s: %w", op, wire.FromStatus(err))
	}
}

// Facts asks the agent for its host's facts and remembers its name.
func (r *Remote) Facts(ctx context.Context) (host.Facts, error) {
	var resp *packbenchv1.GetHostFactsResponse
	err := r.backoff.Retry(ctx, retryable, func() error {
		var err error
		resp, err = r.svc.GetHostFacts(ctx, &packbenchv1.GetHostFactsRequest{})
		return err
	})
	if err != nil {
		return host.Facts{}, callErr("get host facts", err)
	}
	r.facts = wire.HostFactsFromProto(resp)
	return r.facts.Facts, nil
}

// AgentName is the name the agent reported; empty before Facts.
func (r *Remote) AgentName() string { return r.facts.AgentName }

// Preflight asks the agent to identify a runner binary.
func (r *Remote) Preflight(ctx context.Context,
	req api.PreflightRequest) (runner.Preflight, error) {
	var resp *packbenchv1.PreflightResponse
	err := r.backoff.Retry(ctx, retryable, func() error {
		var err error
		resp, err = r.svc.Preflight(ctx, wire.PreflightRequestToProto(req))
		return err
	})
	if err != nil {
		return runner.Preflight{}, callErr("agent", err) // the agent's error says preflight
	}
	return wire.PreflightFromProto(resp.GetPreflight()), nil
}

// PrepareModel asks the agent to make a synthetic model ready. Writing a
// large model takes minutes; the call has no deadline of its own.
func (r *Remote) PrepareModel(ctx context.Context, ref string) (result.Model, error) {
	var resp *packbenchv1.PrepareModelResponse
	err := r.backoff.Retry(ctx, retryable, func() error {
		var err error
		resp, err = r.svc.PrepareModel(ctx, &packbenchv1.PrepareModelRequest{Model: ref})
		return err
	})
	if err != nil {
		return result.Model{}, callErr("prepare model", err)
	}
	m := wire.ModelFromProto(resp.GetModel())
	if m == nil {
		return result.Model{}, fmt.Errorf("prepare model %s: the agent described no model", ref)
	}
	return *m, nil
}

// recvFunc reads the next event of a pack's stream.
type recvFunc func() (*packbenchv1.PackEvent, error)

// RunPack starts the pack and follows its events to PackFinished. When the
// stream breaks it asks the agent what became of the pack, backing off
// while the agent is unreachable: a running pack is followed again, a
// finished one's result is read, a pack the agent never got is started.
// When ctx ends the pack is cancelled on the agent.
func (r *Remote) RunPack(ctx context.Context, req api.PackRequest,
	emit func(api.Event)) (result.Pack, error) {
	open := func() (recvFunc, error) { return r.start(ctx, req) }
	for n := 0; ; n++ {
		p, err := r.follow(open, emit)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return r.cancel(req.ID, emit, ctx.Err())
		}
		if !retryable(err) && !errors.Is(err, wire.ErrExists) {
			return result.Pack{}, callErr("run pack "+req.ID, err)
		}
		if n >= r.backoff.Tries {
			return result.Pack{}, callErr("run pack "+req.ID, err)
		}
		r.logger.Warn("pack stream broken; re-attaching", "combo", req.ID, "error", err)
		if !sleep(ctx, r.backoff.Delay(n+1)) {
			return r.cancel(req.ID, emit, ctx.Err())
		}

		state, p, err := r.LookupPack(ctx, req.ID)
		switch {
		case err != nil:
			return result.Pack{}, err // LookupPack spent its own retries
		case state == PackFinished:
			return p, nil
		case state == PackInterrupted:
			return result.Pack{}, fmt.Errorf("run pack %s: %w", req.ID, ErrInterrupted)
		case state == PackRunning:
			open = func() (recvFunc, error) { return r.watch(ctx, req.ID) }
		default:
			open = func() (recvFunc, error) { return r.start(ctx, req) }
		}
	}
}

// WatchPack follows a running or finished pack of the agent to its end.
func (r *Remote) WatchPack(ctx context.Context, id string,
	emit func(api.Event)) (result.Pack, error) {
	var p result.Pack
	err := r.backoff.Retry(ctx, retryable, func() error {
		var err error
		p, err = r.follow(func() (recvFunc, error) { return r.watch(ctx, id) }, emit)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return r.cancel(id, emit, ctx.Err())
	}
	return p, callErr("watch pack "+id, err)
}

func (r *Remote) start(ctx context.Context, req api.PackRequest) (recvFunc, error) {
	s, err := r.svc.RunPack(ctx, wire.PackRequestToProto(req))
	if err != nil {
		return nil, err
	}
	return func() (*packbenchv1.PackEvent, error) {
		m, err := s.Recv()
		return m.GetEvent(), err
	}, nil
}

func (r *Remote) watch(ctx context.Context, id string) (recvFunc, error) {
	s, err := r.svc.WatchPack(ctx, &packbenchv1.WatchPackRequest{PackId: id})
	if err != nil {
		return nil, err
	}
	return func() (*packbenchv1.PackEvent, error) {
		m, err := s.Recv()
		return m.GetEvent(), err
	}, nil
}

// follow opens a stream and passes its events to emit until PackFinished.
// A stream that ends before it gives io.ErrUnexpectedEOF.
func (r *Remote) follow(open func() (recvFunc, error),
	emit func(api.Event)) (result.Pack, error) {
	recv, err := open()
	if err != nil {
		return result.Pack{}, err
	}
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return result.Pack{}, io.ErrUnexpectedEOF
		}
		if err != nil {
			return result.Pack{}, err
		}
		ev, err := wire.EventFromProto(m)
		if err != nil {
			return result.Pack{}, fmt.Errorf("read pack event: %w", err)
		}
		if emit != nil {
			emit(ev)
		}
		if ev.Kind == api.EventPackFinished && ev.Pack != nil {
			return *ev.Pack, nil
		}
	}
}

// cancel stops pack id on the agent after ctx ended and waits a bounded
// time for its result, which says which instances finished. Without a
// result it returns cause.
func (r *Remote) cancel(id string, emit func(api.Event), cause error) (result.Pack, error) {
	ctx, done := context.WithTimeout(context.Background(), cancelWait)
	defer done()
	if _, err := r.svc.CancelPack(ctx, &packbenchv1.CancelPackRequest{PackId: id}); err != nil {
		r.logger.Warn("cannot cancel pack", "combo", id, "error", wire.FromStatus(err))
		return result.Pack{}, fmt.Errorf("run pack %s: %w", id, cause)
	}
	p, err := r.follow(func() (recvFunc, error) { return r.watch(ctx, id) }, emit)
	if err != nil {
		return result.Pack{}, fmt.Errorf("run pack %s: %w", id, cause)
	}
	r.logger.Info("pack cancelled", "combo", id, "status", p.Status)
	return p, nil
}

// CancelPack stops a running pack; it is not an error when the pack has
// already finished.
func (r *Remote) CancelPack(ctx context.Context, id string) error {
	_, err := r.svc.CancelPack(ctx, &packbenchv1.CancelPackRequest{PackId: id})
	return callErr("cancel pack "+id, err)
}

// LookupPack asks the agent what it knows of pack id: its result when it
// finished, else whether it runs, was interrupted or is unknown.
func (r *Remote) LookupPack(ctx context.Context, id string) (PackState, result.Pack, error) {
	var resp *packbenchv1.GetPackResultResponse
	err := r.backoff.Retry(ctx, retryable, func() error {
		var err error
		resp, err = r.svc.GetPackResult(ctx, &packbenchv1.GetPackResultRequest{PackId: id})
		return err
	})
	switch status.Code(err) {
	case codes.OK:
		return PackFinished, wire.PackFromProto(resp.GetResult()), nil
	case codes.NotFound, codes.FailedPrecondition:
		// unknown, interrupted or running: only the list tells which
	default:
		return PackUnknown, result.Pack{}, callErr("get pack result "+id, err)
	}

	var list *packbenchv1.ListPacksResponse
	err = r.backoff.Retry(ctx, retryable, func() error {
		var err error
		list, err = r.svc.ListPacks(ctx, &packbenchv1.ListPacksRequest{})
		return err
	})
	if err != nil {
		return PackUnknown, result.Pack{}, callErr("list packs", err)
	}
	for _, s := range list.GetPacks() {
		if s.GetPackId() != id {
			continue
		}
		switch wire.PackSummaryFromProto(s).State {
		case wire.PackInterrupted:
			return PackInterrupted, result.Pack{}, nil
		case wire.PackRunning:
			return PackRunning, result.Pack{}, nil
		}
		// finished since GetPackResult: following it replays its result
		return PackRunning, result.Pack{}, nil
	}
	return PackUnknown, result.Pack{}, nil
}

// FetchLogs copies every log of p from the agent into dir, each file
// replaced atomically.
func (r *Remote) FetchLogs(ctx context.Context, p result.Pack, dir string) error {
	for _, in := range p.Results {
		for _, name := range []string{in.StdoutPath, in.StderrPath} {
			if name == "" {
				continue
			}
			err := r.backoff.Retry(ctx, retryable, func() error {
				return r.fetchLog(ctx, p.ID, name, dir)
			})
			if err != nil {
				return callErr("fetch log "+name, err)
			}
		}
	}
	return nil
}

// fetchLog streams one log into a temporary file in dir and renames it
// into place. The name must be a plain file name: an agent cannot write
// outside dir.
func (r *Remote) fetchLog(ctx context.Context, id, name, dir string) error {
	if name != filepath.Base(name) || name == "." || name == ".." || name[0] == '.' {
		return fmt.Errorf("%w: log name %q is not a plain file name", api.ErrInvalid, name)
	}
	s, err := r.svc.FetchLog(ctx, &packbenchv1.FetchLogRequest{PackId: id, Name: name})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("create log %s: %w", name, err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed

	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(m.GetData()); err != nil {
			f.Close()
			return fmt.Errorf("write log %s: %w", name, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close log %s: %w", name, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod log %s: %w", name, err)
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// sleep waits d, or less when ctx ends; it reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// newAgentServiceClient is the generated client over conn.
func newAgentServiceClient(conn grpc.ClientConnInterface) packbenchv1.AgentServiceClient {
	return packbenchv1.NewAgentServiceClient(conn)
}
