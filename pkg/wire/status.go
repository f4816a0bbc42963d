package wire

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
)

// ErrExists: a pack id is already in use on the agent. It maps to
// ALREADY_EXISTS.
//
// TODO(api): move to pkg/api beside the other sentinels; it lives here
// because pkg/api belongs to another change.
var ErrExists = errors.New("already exists")

// sentinels pairs each error callers branch on with its status code, in the
// order StatusError tries them.
var sentinels = []struct {
	err  error
	code codes.Code
}{
	{api.ErrInvalid, codes.InvalidArgument},
	{api.ErrNotAllowed, codes.PermissionDenied},
	{api.ErrBusy, codes.FailedPrecondition},
	{api.ErrNotFound, codes.NotFound},
	{ErrExists, codes.AlreadyExists},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// StatusError is the one mapper from our errors to gRPC status errors, for
// the agent's handlers: the code comes from the sentinel err wraps (an error
// that already carries a status keeps its code; anything else is INTERNAL)
// and the message is err's text. A nil err gives nil.
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return status.Error(s.code, err.Error())
		}
	}
	if st, ok := status.FromError(err); ok {
		return status.Error(st.Code(), err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// FromStatus maps a gRPC status error back to our errors, for clients: the
// result wraps the sentinel of its code (api.ErrBusy for
// FAILED_PRECONDITION, context.Canceled for CANCELED, ...), reads as the
// status message and still carries the status for status.Code. An error
// that is not a status is returned as it is; nil gives nil.
func FromStatus(err error) error {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return err
	}
	if st.Code() == codes.OK {
		return nil
	}
	var sentinel error
	for _, s := range sentinels {
		if s.code == st.Code() {
			sentinel = s.err
			break
		}
	}
	return &Error{Status: st, sentinel: sentinel}
}

// Error is an error an agent answered with: its status, and the sentinel of
// its code for errors.Is (none for codes without one, INTERNAL say).
type Error struct {
	Status   *status.Status
	sentinel error
}

// Error is the status message, or the code's name when the message is empty.
func (e *Error) Error() string {
	if msg := e.Status.Message(); msg != "" {
		return msg
	}
	return e.Status.Code().String()
}

// Unwrap returns the sentinel of the status code, or nil.
func (e *Error) Unwrap() error { return e.sentinel }

// GRPCStatus lets status.Code and status.FromError see the original status.
func (e *Error) GRPCStatus() *status.Status { return e.Status }
