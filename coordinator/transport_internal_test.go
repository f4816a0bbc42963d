package coordinator

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTransportCause(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while `+
			`dialing: dial tcp 10.0.0.1:7070: connect: connection refused"`),
			"dial tcp 10.0.0.1:7070: connect: connection refused"},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server `+
			`preface: EOF"`), "error reading server preface: EOF"},
		{status.Error(codes.Unavailable, "keepalive ping failed to receive ACK within timeout"),
			"keepalive ping failed to receive ACK within timeout"},
		{errors.New("unexpected EOF"), "unexpected EOF"},
	}
	for _, tt := range tests {
		if got := transportCause(tt.err); got != tt.want {
			t.Errorf("transportCause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
