package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/synth"
)

func newModelAgent(t *testing.T, modelDir string, l agent.Limits) *agent.Agent {
	t.Helper()
	a, err := agent.New(hclog.NewNullLogger(), agent.Config{
		LogDir: filepath.Join(t.TempDir(), "logs"), ModelDir: modelDir, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPrepareModelWritesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	a := newModelAgent(t, dir, agent.Limits{})
	ctx := context.Background()

	spec, err := synth.ParseModelRef("synth:tiny:q4_0:5")
	if err != nil {
		t.Fatal(err)
	}
	want, err := synth.WriteFile(filepath.Join(t.TempDir(), "ref.gguf"), spec)
	if err != nil {
		t.Fatal(err)
	}

	m, err := a.PrepareModel(ctx, "synth:tiny:q4_0:5")
	if err != nil {
		t.Fatalf("PrepareModel error = %v", err)
	}
	if m.SHA256 != want.SHA256 || m.Bytes != want.Bytes || m.Reused {
		t.Errorf("PrepareModel = %s, %d bytes, reused %t; want %s, %d, false",
			m.SHA256, m.Bytes, m.Reused, want.SHA256, want.Bytes)
	}
	if m.Ref != "synth:tiny:q4_0:5" || m.Shape != "tiny" || m.Type != "q4_0" || m.Seed != 5 ||
		m.Params != want.Params {
		t.Errorf("PrepareModel = %+v, want ref synth:tiny:q4_0:5, tiny, q4_0, seed 5, %d params",
			m, want.Params)
	}
	if m.Path != filepath.Join(dir, spec.FileName()) {
		t.Errorf("PrepareModel path = %q, want %q", m.Path, filepath.Join(dir, spec.FileName()))
	}

	again, err := a.PrepareModel(ctx, "synth:tiny:q4_0:5")
	if err != nil || !again.Reused || again.SHA256 != want.SHA256 {
		t.Errorf("second PrepareModel = %+v, %v; want reused, sha256 %s", again, err, want.SHA256)
	}

	// a new agent on the same directory (an agent restart) hashes the
	// file and reuses it; one that finds it changed writes it again
	fresh := newModelAgent(t, dir, agent.Limits{})
	if m, err := fresh.PrepareModel(ctx, "synth:tiny:q4_0:5"); err != nil || !m.Reused {
		t.Errorf("PrepareModel after a restart = %+v, %v; want reused", m, err)
	}
	if err := os.WriteFile(m.Path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = a.PrepareModel(ctx, "synth:tiny:q4_0:5")
	if err != nil || m.Reused || m.SHA256 != want.SHA256 {
		t.Errorf("PrepareModel after the file changed = %+v, %v; want rewritten, sha256 %s",
			m, err, want.SHA256)
	}

	// a few bytes changed in place, with size and mtime put back as they
	// were, must not pass for the model the agent hashed
	st, err := os.Stat(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(m.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{1, 2, 3, 4}, m.Bytes/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(m.Path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	m, err = a.PrepareModel(ctx, "synth:tiny:q4_0:5")
	if err != nil || m.Reused || m.SHA256 != want.SHA256 {
		t.Errorf("PrepareModel after an in-place change with the mtime restored = %+v, %v; "+
			"want rewritten, sha256 %s", m, err, want.SHA256)
	}
	if got := fileSHA(t, m.Path); got != want.SHA256 {
		t.Errorf("model file sha256 = %s, want %s", got, want.SHA256)
	}
}

// fileSHA hashes the file at path.
func fileSHA(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestPrepareModelRefusals(t *testing.T) {
	tests := []struct {
		name     string
		modelDir string
		limits   agent.Limits
		ref      string
		want     error
		wantMsg  string
	}{
		{"unknown shape", "dir", agent.Limits{}, "synth:huge:q8_0", api.ErrInvalid, `"huge"`},
		{"unknown type", "dir", agent.Limits{}, "synth:tiny:q5_k", api.ErrInvalid, `"q5_k"`},
		{"bad seed", "dir", agent.Limits{}, "synth:tiny:q8_0:-1", api.ErrInvalid, `"-1"`},
		{"a path", "dir", agent.Limits{}, "/etc/passwd", api.ErrInvalid, "synth:"},
		{"traversal", "dir", agent.Limits{}, "synth:../../x:q8_0", api.ErrInvalid, "shape"},
		{"no model dir", "", agent.Limits{}, "synth:tiny:q8_0", api.ErrNotAllowed,
			"no model directory"},
		{"over the limit", "dir", agent.Limits{MaxSynthBytes: 1 << 20}, "synth:small:q8_0",
			api.ErrInvalid, "is 48048576 bytes; accepted: at most 1048576 bytes (the agent's " +
				"limits.max_synth_bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ""
			if tt.modelDir != "" {
				dir = filepath.Join(t.TempDir(), tt.modelDir)
			}
			a := newModelAgent(t, dir, tt.limits)
			_, err := a.PrepareModel(context.Background(), tt.ref)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("PrepareModel(%q) error = %v, want %v naming %s", tt.ref, err, tt.want,
					tt.wantMsg)
			}
			if dir != "" {
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("PrepareModel(%q) left %d files in the model dir", tt.ref, len(ents))
				}
			}
		})
	}
}

// A file where the model dir should be is refused when the agent starts,
// not at every synthetic model.
func TestModelDirThatIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "models")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := agent.New(hclog.NewNullLogger(), agent.Config{
		LogDir: filepath.Join(t.TempDir(), "logs"), ModelDir: file})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("agent.New(model dir is a file) = %v, want an error saying so", err)
	}
}

// A write cut by its deadline says which setting set it.
func TestPrepareModelDeadlineNamesTheSetting(t *testing.T) {
	a := newModelAgent(t, filepath.Join(t.TempDir(), "models"), agent.Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	time.Sleep(2 * time.Millisecond)
	_, err := a.PrepareModel(ctx, "synth:small:q8_0")
	if !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "prepare_model_timeout_seconds") {
		t.Errorf("PrepareModel past its deadline = %v, want DeadlineExceeded naming "+
			"prepare_model_timeout_seconds", err)
	}
}
