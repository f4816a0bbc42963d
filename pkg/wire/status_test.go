package wire_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/wire"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestStatusRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     codes.Code
		sentinel error
	}{
		{"invalid", fmt.Errorf("%w: instances 0", api.ErrInvalid), codes.InvalidArgument,
			api.ErrInvalid},
		{"not allowed", fmt.Errorf("check: %w: /x", api.ErrNotAllowed),
			codes.PermissionDenied, api.ErrNotAllowed},
		{"busy", fmt.Errorf("%w: pack a runs", api.ErrBusy), codes.FailedPrecondition,
			api.ErrBusy},
		{"not found", fmt.Errorf("%w: pack z", api.ErrNotFound), codes.NotFound,
			api.ErrNotFound},
		{"exists", fmt.Errorf("%w: pack a", wire.ErrExists), codes.AlreadyExists,
			wire.ErrExists},
		{"canceled", fmt.Errorf("run: %w", context.Canceled), codes.Canceled,
			context.Canceled},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded,
			context.DeadlineExceeded},
		{"other", errors.New("disk on fire"), codes.Internal, nil},
		{"already a status", status.Error(codes.Unavailable, "gone"), codes.Unavailable, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serr := wire.StatusError(tt.err)
			if got := status.Code(serr); got != tt.code {
				t.Errorf("status.Code(StatusError(err)) = %v, want %v", got, tt.code)
			}
			if got, want := status.Convert(serr).Message(), tt.err.Error(); got != want {
				t.Errorf("message = %q, want %q", got, want)
			}

			back := wire.FromStatus(serr)
			if tt.sentinel != nil && !errors.Is(back, tt.sentinel) {
				t.Errorf("FromStatus(...) = %v, want it to wrap %v", back, tt.sentinel)
			}
			if got, want := back.Error(), tt.err.Error(); got != want {
				t.Errorf("FromStatus(...).Error() = %q, want %q", got, want)
			}
			if got := status.Code(back); got != tt.code {
				t.Errorf("status.Code(FromStatus(...)) = %v, want %v", got, tt.code)
			}
			if got := status.Code(wire.StatusError(back)); got != tt.code {
				t.Errorf("status.Code(StatusError(FromStatus(...))) = %v, want %v", got, tt.code)
			}
		})
	}
}

func TestStatusNil(t *testing.T) {
	if err := wire.StatusError(nil); err != nil {
		t.Errorf("StatusError(nil) = %v, want nil", err)
	}
	if err := wire.FromStatus(nil); err != nil {
		t.Errorf("FromStatus(nil) = %v, want nil", err)
	}
	plain := errors.New("plain")
	if err := wire.FromStatus(plain); err != plain {
		t.Errorf("FromStatus(plain) = %v, want the same error", err)
	}
}

func TestFromStatusEmptyMessage(t *testing.T) {
	err := wire.FromStatus(status.Error(codes.Internal, ""))
	if got, want := err.Error(), "Internal"; got != want {
		t.Errorf("FromStatus(INTERNAL, \"\").Error() = %q, want %q", got, want)
	}
	if errors.Is(err, api.ErrBusy) {
		t.Errorf("FromStatus(INTERNAL) wraps api.ErrBusy, want no sentinel")
	}
}
