package api

import (
	"errors"
	"time"

	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
)

// PackRequest asks for one pack: Instances processes of Binary started
// together, each with Threads threads, running Workload.
type PackRequest struct {
	// ID names the pack; it is also the stem of its log files, so it is
	// restricted to letters, digits, '.', '_' and '-'.
	ID       string
	Binary   string
	Runner   runner.Kind
	ExecMode runner.ExecMode
	// NoPreflight skips running the binary to identify it; Runner must then
	// name a profile.
	NoPreflight bool
	Workload    runner.Workload
	Instances   int
	Threads     int
	Timeout     time.Duration
	MemHeadroom float64
}

// PreflightRequest asks which runner profile and exec mode fit Binary. With
// NoPreflight the binary is not run and Runner must name a profile.
type PreflightRequest struct {
	Binary      string
	Runner      runner.Kind
	ExecMode    runner.ExecMode
	NoPreflight bool
}

// EventKind tells which field of an Event is set.
type EventKind int

// The events of a pack, in the order they happen.
const (
	EventAccepted EventKind = iota + 1
	EventSkipped
	EventInstanceStarted
	EventInstanceFinished
	EventPackFinished
)

// Event is one step of a running pack, as streamed to whoever asked for it.
type Event struct {
	Kind     EventKind
	PackID   string
	At       time.Time
	Memory   *result.Memory   // Accepted, Skipped
	Reason   string           // Skipped
	Index    int              // InstanceStarted, InstanceFinished
	PID      int              // InstanceStarted
	Instance *result.Instance // InstanceFinished
	Pack     *result.Pack     // PackFinished
}

// Errors a caller can branch on with errors.Is. The agent's gRPC server maps
// each to one status code and the coordinator's client maps it back.
var (
	// ErrBusy: the agent is running a pack or writing a model.
	ErrBusy = errors.New("the agent is busy")
	// ErrNotAllowed: a path is outside the agent's allowlist.
	ErrNotAllowed = errors.New("not allowed")
	// ErrInvalid: the request is malformed or out of bounds.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: no pack or log with that name is known.
	ErrNotFound = errors.New("not found")
)
