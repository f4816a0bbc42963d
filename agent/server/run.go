package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// RunPack starts a pack and streams its events until PackFinished. A
// request the agent refuses (malformed, outside the allowlist, busy) is
// answered with an error status before any process starts. The pack runs on
// the server's context: a stream that breaks stops only the streaming.
func (s *Server) RunPack(req *packbenchv1.RunPackRequest,
	stream grpc.ServerStreamingServer[packbenchv1.RunPackResponse]) error {
	ctx := stream.Context()
	rec, first, err := s.start(wire.PackRequestFromProto(req))
	if err != nil {
		return wire.StatusError(err)
	}

	// wait for the agent to accept (or skip) the pack, or to refuse it
	select {
	case err := <-first:
		if err != nil {
			return wire.StatusError(err)
		}
	case <-ctx.Done():
		return wire.StatusError(ctx.Err())
	}
	return wire.StatusError(s.follow(ctx, rec, func(ev api.Event) error {
		return stream.Send(&packbenchv1.RunPackResponse{Event: wire.EventToProto(ev)})
	}))
}

// WatchPack replays a pack's events so far, then follows it until
// PackFinished.
func (s *Server) WatchPack(req *packbenchv1.WatchPackRequest,
	stream grpc.ServerStreamingServer[packbenchv1.WatchPackResponse]) error {
	s.mu.Lock()
	rec, err := s.lookupLocked(req.GetPackId())
	if err == nil && rec.state == wire.PackInterrupted {
		err = fmt.Errorf("%w: pack %s was interrupted by an agent stop and has no events",
			api.ErrNotFound, rec.id)
	}
	s.mu.Unlock()
	if err != nil {
		return wire.StatusError(err)
	}
	return wire.StatusError(s.follow(stream.Context(), rec, func(ev api.Event) error {
		return stream.Send(&packbenchv1.WatchPackResponse{Event: wire.EventToProto(ev)})
	}))
}

// start registers a pack and runs it in a goroutine of the server. first
// receives one value: nil once the pack produced its first event, or the
// error that refused it (then the pack is forgotten).
func (s *Server) start(req api.PackRequest) (*record, <-chan error, error) {
	if err := agent.ValidateID(req.ID); err != nil {
		return nil, nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.shutdown:
		return nil, nil, fmt.Errorf("%w: the agent is shutting down", api.ErrBusy)
	case s.running != nil:
		return nil, nil, fmt.Errorf("%w: pack %s is running; one pack at a time",
			api.ErrBusy, s.running.id)
	case s.packs[req.ID] != nil:
		return nil, nil, fmt.Errorf("%w: pack id %q is already used on this agent",
			wire.ErrExists, req.ID)
	}

	ctx, cancel := context.WithCancel(s.base)
	rec := &record{id: req.ID, state: wire.PackRunning, changed: make(chan struct{}),
		cancel: cancel}
	s.packs[req.ID], s.running = rec, rec

	first := make(chan error, 1)
	s.wg.Add(1)
	go s.run(ctx, rec, req, first)
	return rec, first, nil
}

// run runs one pack to its end and keeps its result.
func (s *Server) run(ctx context.Context, rec *record, req api.PackRequest,
	first chan<- error) {
	defer s.wg.Done()
	defer rec.cancel()

	// emit is never called concurrently, so the flags need no lock
	accepted, finished := false, false
	p, err := s.agent.RunPack(ctx, req, func(ev api.Event) {
		if !accepted {
			accepted = true
			s.markAccepted(rec)
			first <- nil
		}
		finished = finished || ev.Kind == api.EventPackFinished
		s.publish(rec, ev)
	})

	switch {
	case err != nil && !accepted:
		s.forget(rec)
		first <- err
		return
	case err != nil && finished:
		s.logger.Info("pack stopped", "pack", rec.id, "reason", err)
	case err != nil:
		// the agent accepted the pack but could not finish it: report it
		// as failed so that watchers still get their PackFinished
		s.logger.Error("pack lost", "pack", rec.id, "error", err)
		p = result.Pack{ID: req.ID, Instances: req.Instances, Threads: req.Threads,
			Status: result.StatusFailed, Reason: err.Error(), EndedAt: time.Now()}
		s.publish(rec, api.Event{Kind: api.EventPackFinished, PackID: req.ID,
			At: p.EndedAt, Pack: &p})
	}
}

// publish appends an event to the pack's record and wakes its followers.
// PackFinished also keeps the result on disk first and frees the server for
// the next pack, so whoever sees that event can ask for the result or start
// another pack at once.
func (s *Server) publish(rec *record, ev api.Event) {
	if ev.Kind == api.EventPackFinished && ev.Pack != nil {
		s.persist(*ev.Pack)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec.events = append(rec.events, ev)
	if ev.Kind == api.EventPackFinished {
		rec.state, rec.result = wire.PackFinished, ev.Pack
		if s.running == rec {
			s.running = nil
		}
	}
	close(rec.changed)
	rec.changed = make(chan struct{})
}

// forget drops a pack the agent refused, so its id can be used again.
func (s *Server) forget(rec *record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.packs, rec.id)
	if s.running == rec {
		s.running = nil
	}
}

// follow sends a pack's events, from the first, until PackFinished or until
// ctx ends. A copier goroutine feeds them through a bounded channel: the
// pack itself only appends to its record and never waits for a stream, so
// a slow client holds back nothing but its own copier, which stays at most
// EventBuffer events ahead of send.
func (s *Server) follow(ctx context.Context, rec *record, send func(api.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan api.Event, s.opts.EventBuffer)
	go s.copyEvents(ctx, rec, events)

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return fmt.Errorf("follow pack %s: events ended before PackFinished", rec.id)
			}
			if err := send(ev); err != nil {
				return fmt.Errorf("send event of pack %s: %w", rec.id, err)
			}
			if ev.Kind == api.EventPackFinished {
				return nil
			}
		}
	}
}

// copyEvents copies a pack's events into out, in order, waiting for new ones
// until PackFinished; it closes out when it returns.
func (s *Server) copyEvents(ctx context.Context, rec *record, out chan<- api.Event) {
	defer close(out)
	next := 0
	for {
		s.mu.Lock()
		// appends never touch the elements already there, so the slice is
		// safe to read after unlocking
		evs, changed, done := rec.events[next:], rec.changed, rec.state != wire.PackRunning
		s.mu.Unlock()

		for _, ev := range evs {
			select {
			case out <- ev:
				next++
			case <-ctx.Done():
				return
			}
		}
		if done {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
