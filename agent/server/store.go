package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// File suffixes in the pack directory: a finished pack's result, and the
// marker of a pack that was accepted and has not finished.
const (
	resultSuffix  = ".json"
	runningSuffix = ".running"
	// chunkSize is the most FetchLog sends in one message.
	chunkSize = 1 << 20
)

func (s *Server) packDir() string { return filepath.Join(s.opts.StateDir, "packs") }

// markAccepted leaves a marker for a pack that starts, so that a restarted
// agent lists it as interrupted if it never finished.
func (s *Server) markAccepted(rec *record) {
	path := filepath.Join(s.packDir(), rec.id+runningSuffix)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		s.logger.Warn("cannot mark pack as running", "pack", rec.id, "error", err)
	}
}

// persist keeps a finished pack's result and drops its running marker.
func (s *Server) persist(p result.Pack) {
	if err := result.WriteJSON(filepath.Join(s.packDir(), p.ID+resultSuffix), p); err != nil {
		s.logger.Error("cannot keep pack result", "pack", p.ID, "error", err)
		return
	}
	_ = os.Remove(filepath.Join(s.packDir(), p.ID+runningSuffix))
}

// load reads the packs kept in the state directory. A finished pack gets a
// single PackFinished event, for WatchPack.
func (s *Server) load() {
	entries, err := os.ReadDir(s.packDir())
	if err != nil {
		s.logger.Warn("cannot read kept packs", "error", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		id, ok := strings.CutSuffix(name, resultSuffix)
		if !ok || agent.ValidateID(id) != nil {
			continue
		}
		p, err := readPack(filepath.Join(s.packDir(), name))
		if err == nil && p.ID != id {
			err = fmt.Errorf("read %s: holds pack %q", name, p.ID)
		}
		if err != nil {
			s.logger.Warn("cannot load kept pack", "pack", id, "error", err)
			continue
		}
		s.packs[id] = &record{id: id, state: wire.PackFinished, result: &p,
			changed: make(chan struct{}), cancel: func() {},
			events: []api.Event{{Kind: api.EventPackFinished, PackID: id, At: p.EndedAt,
				Pack: &p}}}
	}

	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), runningSuffix)
		if !ok || agent.ValidateID(id) != nil || s.packs[id] != nil {
			continue
		}
		s.packs[id] = &record{id: id, state: wire.PackInterrupted,
			changed: make(chan struct{}), cancel: func() {}}
	}
	s.logger.Debug("kept packs loaded", "packs", len(s.packs))
}

func readPack(path string) (result.Pack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return result.Pack{}, err
	}
	var p result.Pack
	if err := json.Unmarshal(data, &p); err != nil {
		return result.Pack{}, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return p, nil
}

// FetchLog streams one log file of a pack in chunks of at most 1 MiB.
func (s *Server) FetchLog(req *packbenchv1.FetchLogRequest,
	stream grpc.ServerStreamingServer[packbenchv1.FetchLogResponse]) error {
	path, err := s.logPath(req.GetPackId(), req.GetName())
	if err != nil {
		return wire.StatusError(err)
	}
	f, err := os.Open(path)
	if err != nil {
		return wire.StatusError(fmt.Errorf("open log %s: %w", req.GetName(), err))
	}
	defer f.Close()

	buf := make([]byte, chunkSize)
	for {
		if err := stream.Context().Err(); err != nil {
			return wire.StatusError(err)
		}
		n, err := f.Read(buf)
		if n > 0 {
			// Send marshals before it returns, so buf can be reused
			if err := stream.Send(&packbenchv1.FetchLogResponse{Data: buf[:n]}); err != nil {
				return wire.StatusError(fmt.Errorf("send log %s: %w", req.GetName(), err))
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wire.StatusError(fmt.Errorf("read log %s: %w", req.GetName(), err))
		}
	}
}

// logPath checks a log name from the network: it must be one of the pack's
// own stdout or stderr names, and resolve to a regular file directly inside
// the log directory.
func (s *Server) logPath(id, name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
		return "", fmt.Errorf("%w: log name %q; accepted: a stdout or stderr name of the pack",
			api.ErrInvalid, name)
	}
	if !s.hasLog(id, name) {
		return "", fmt.Errorf("%w: pack %q has no log named %q", api.ErrNotFound, id, name)
	}

	path := filepath.Join(s.logDir, name)
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%w: log %s: %v", api.ErrNotFound, name, err)
	}
	dir, err := filepath.EvalSymlinks(s.logDir)
	if err != nil || resolved != filepath.Join(dir, name) {
		return "", fmt.Errorf("%w: log %s leaves the log directory", api.ErrNotAllowed, name)
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: log %s is not a regular file", api.ErrNotFound, name)
	}
	return resolved, nil
}

// hasLog reports whether name is a log of the pack: in its result once it
// finished, in its InstanceFinished events while it runs.
func (s *Server) hasLog(id, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.packs[id]
	if !ok {
		return false
	}
	var insts []result.Instance
	if rec.result != nil {
		insts = rec.result.Results
	}
	for _, ev := range rec.events {
		if ev.Kind == api.EventInstanceFinished && ev.Instance != nil {
			insts = append(insts, *ev.Instance)
		}
	}
	for _, in := range insts {
		if name == in.StdoutPath || name == in.StderrPath {
			return true
		}
	}
	return false
}
