//go:build !linux

package pack

import (
	"context"

	"github.com/hashicorp/go-hclog"
)

// Run is only implemented on Linux; elsewhere it returns ErrUnsupported.
func Run(ctx context.Context, logger hclog.Logger, spec Spec, obs Observer) (Result, error) {
	return Result{}, ErrUnsupported
}
