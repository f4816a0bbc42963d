package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/synth"
)

// preparedModel is a synthetic model the agent wrote or checked, with the
// file's stamp then, so that a later use can tell cheaply whether the file
// was changed since; a changed file is hashed again.
type preparedModel struct {
	model result.Model
	stamp fileStamp
}

// PrepareModel makes the synthetic model that ref names ready in the
// agent's model directory and describes it. It holds the agent like a pack
// does: writing gigabytes next to a running pack would disturb what the
// pack measures. Errors wrap api.ErrInvalid (ref, size), api.ErrNotAllowed
// (no model directory) or api.ErrBusy.
func (a *Agent) PrepareModel(ctx context.Context, ref string) (result.Model, error) {
	spec, err := a.checkModelRef(ref)
	if err != nil {
		return result.Model{}, err
	}
	if err := a.acquire("model " + spec.String() + " is being written"); err != nil {
		return result.Model{}, err
	}
	defer a.release()
	return a.prepare(ctx, spec)
}

// checkModelRef parses a synthetic model reference and holds it against
// the agent's settings, before anything is written.
func (a *Agent) checkModelRef(ref string) (synth.Spec, error) {
	if len(ref) > a.cfg.Limits.MaxArgLen {
		return synth.Spec{}, fmt.Errorf("%w: model reference of %d bytes; accepted: at most %d",
			api.ErrInvalid, len(ref), a.cfg.Limits.MaxArgLen)
	}
	spec, err := synth.ParseModelRef(ref)
	if err != nil {
		return synth.Spec{}, fmt.Errorf("model: %w", err)
	}
	if a.cfg.ModelDir == "" {
		return synth.Spec{}, fmt.Errorf("%w: model %s: this agent has no model directory "+
			"for synthetic models", api.ErrNotAllowed, ref)
	}
	if size, limit := spec.Size(), a.cfg.Limits.MaxSynthBytes; size > limit {
		return synth.Spec{}, fmt.Errorf("%w: model %s is %d bytes; accepted: at most %d "+
			"bytes (the agent's limits.max_synth_bytes)", api.ErrInvalid, spec, size, limit)
	}
	return spec, nil
}

// prepare is PrepareModel once the agent is held.
func (a *Agent) prepare(ctx context.Context, spec synth.Spec) (result.Model, error) {
	key := spec.String()
	a.mu.Lock()
	pm, ok := a.models[key]
	a.mu.Unlock()
	if ok {
		st, err := os.Stat(pm.model.Path)
		if err == nil && stampOf(st) == pm.stamp {
			m := pm.model
			m.Reused = true
			return m, nil
		}
	}

	log := a.logger.With("model", key, "dir", a.cfg.ModelDir)
	log.Info("preparing synthetic model", "bytes", spec.Size())
	start := time.Now()
	info, reused, err := synth.Ensure(ctx, a.cfg.ModelDir, spec)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (the deadline is the agent's limits."+
			"prepare_model_timeout_seconds, or the caller's)", err)
	}
	if err != nil {
		log.Error("synthetic model not prepared", "error", err,
			"duration", time.Since(start).Round(time.Millisecond))
		return result.Model{}, err
	}
	st, err := os.Stat(info.Path)
	if err != nil {
		return result.Model{}, fmt.Errorf("synthetic model %s: %w", key, err)
	}
	log.Info("synthetic model ready", "path", info.Path, "sha256", info.SHA256,
		"reused", reused, "duration", time.Since(start).Round(time.Millisecond))

	m := result.Model{Ref: key, Path: info.Path, Bytes: info.Bytes, SHA256: info.SHA256,
		Shape: spec.Shape.Name, Type: string(spec.Type), Seed: spec.Seed, Params: info.Params,
		Reused: reused}
	a.mu.Lock()
	a.models[key] = preparedModel{model: m, stamp: stampOf(st)}
	a.mu.Unlock()
	return m, nil
}
