package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/synth"
)

// engine is the real llama.cpp runner that `make engine` installs.
func engine(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../tools/node_modules/.bin/node-llama-cpp")
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.CheckBinary(p); err != nil {
		t.Fatalf("the engine is missing (run make engine): %v", err)
	}
	return p
}

// A pack on a synthetic model written by the agent gets exactly the tokens
// asked for from every instance: n-1 eval runs (the first token comes out of
// the prompt's evaluation), no end of text, and the model recorded by hash.
func TestSyntheticModelPackGeneratesEveryToken(t *testing.T) {
	eng := engine(t)
	const nPredict = 24
	tests := []struct {
		ref       string
		instances int
		minBytes  int64
	}{
		{"synth:tiny:q8_0", 3, 0},
		// about 50 MB: twelve layers of width 512, in q8_0
		{"synth:small:q8_0:2", 2, 40 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			spec, err := synth.ParseModelRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if _, err := synth.Write(h, spec); err != nil {
				t.Fatal(err)
			}
			wantSum := hex.EncodeToString(h.Sum(nil))

			dir := t.TempDir()
			a, err := agent.New(hclog.NewNullLogger(), agent.Config{
				LogDir: filepath.Join(dir, "logs"), ModelDir: filepath.Join(dir, "models"),
				Allow: []string{eng}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			p, err := a.RunPack(ctx, api.PackRequest{
				ID: "synth", Binary: eng, Runner: runner.Auto, ExecMode: runner.ExecAuto,
				Instances: tt.instances, Threads: 1, Timeout: 3 * time.Minute, MemHeadroom: 0.9,
				Workload: runner.Workload{Model: tt.ref, Prompt: "Count the stars:",
					NPredict: nPredict, Seed: 7, CtxSize: 256, Temp: 0.8},
			}, nil)
			if err != nil {
				t.Fatalf("RunPack(%s) error = %v", tt.ref, err)
			}

			if p.Status != result.StatusOK || len(p.Results) != tt.instances {
				t.Fatalf("pack status %q (%s) with %d instances, want ok with %d", p.Status,
					p.Reason, len(p.Results), tt.instances)
			}
			for _, in := range p.Results {
				runs := in.Timing.EvalRuns
				if runs == nil || *runs != nPredict-1 || in.Timing.EndOfText || in.StoppedEarly {
					t.Errorf("instance %d: eval runs %v, end of text %t, stopped early %t; "+
						"want %d runs (n-predict %d), never stopped", in.Index, deref(runs),
						in.Timing.EndOfText, in.StoppedEarly, nPredict-1, nPredict)
				}
			}
			m := p.Model
			if m == nil || m.SHA256 != wantSum || m.Ref != spec.String() || m.Bytes < tt.minBytes {
				t.Fatalf("pack model = %+v, want %s with sha256 %s and at least %d bytes",
					m, spec, wantSum, tt.minBytes)
			}
			if got := p.Runner.Args; !slices.Contains(got, m.Path) {
				t.Errorf("runner args %q do not name the synthesized file %s", got, m.Path)
			}
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
