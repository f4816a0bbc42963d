package synth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/pkg/synth"
)

func ensure(t *testing.T, dir string, spec synth.Spec) (synth.Info, bool) {
	t.Helper()
	info, reused, err := synth.Ensure(context.Background(), dir, spec)
	if err != nil {
		t.Fatalf("Ensure(%s) error = %v", spec, err)
	}
	return info, reused
}

func TestEnsureWritesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	spec := mustSpec(t, "synth:tiny:q8_0:7")
	want, wantSize := sum(t, spec)

	first, reused := ensure(t, dir, spec)
	if reused {
		t.Errorf("Ensure in an empty dir reused = true, want false")
	}
	if first.SHA256 != want || first.Bytes != wantSize {
		t.Errorf("Ensure() = %s, %d bytes, want %s, %d", first.SHA256, first.Bytes, want, wantSize)
	}
	if first.Path != filepath.Join(dir, spec.FileName()) {
		t.Errorf("Ensure().Path = %q, want %q", first.Path, filepath.Join(dir, spec.FileName()))
	}
	st, err := os.Stat(first.Path)
	if err != nil {
		t.Fatal(err)
	}

	second, reused := ensure(t, dir, spec)
	if !reused || second != first {
		t.Errorf("second Ensure() = %+v, reused %t, want %+v, reused true", second, reused, first)
	}
	st2, err := os.Stat(first.Path)
	if err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second Ensure rewrote the file (mtime %v, was %v; %v)",
			st2.ModTime(), st.ModTime(), err)
	}
}

// TestEnsureRewrites covers every way a file on disk may not be what its
// sidecar says: each must be rewritten to the right bytes, never reused.
func TestEnsureRewrites(t *testing.T) {
	spec := mustSpec(t, "synth:tiny:q4_0:3")
	want, _ := sum(t, spec)

	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
	}{
		{"flipped byte", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, 5000); err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0x40
			if _, err := f.WriteAt(b, 5000); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 4096); err != nil {
				t.Fatal(err)
			}
		}},
		{"no sidecar", func(t *testing.T, path string) {
			if err := os.Remove(path + ".json"); err != nil {
				t.Fatal(err)
			}
		}},
		{"sidecar of another seed", func(t *testing.T, path string) {
			other := mustSpec(t, "synth:tiny:q4_0:4")
			odir := t.TempDir()
			info, _ := ensure(t, odir, other)
			raw, err := os.ReadFile(info.Path + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".json", raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage sidecar", func(t *testing.T, path string) {
			if err := os.WriteFile(path+".json", []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"model gone", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first, _ := ensure(t, dir, spec)
			tt.spoil(t, first.Path)

			got, reused := ensure(t, dir, spec)
			if reused {
				t.Errorf("Ensure after %s reused = true, want a rewrite", tt.name)
			}
			if got.SHA256 != want {
				t.Errorf("Ensure after %s sha256 = %s, want %s", tt.name, got.SHA256, want)
			}
			again, reused := ensure(t, dir, spec)
			if !reused || again.SHA256 != want {
				t.Errorf("Ensure after the rewrite = %s, reused %t, want %s, reused true",
					again.SHA256, reused, want)
			}
		})
	}
}

func TestEnsureCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	spec := mustSpec(t, "synth:tiny:f16")
	_, _, err := synth.Ensure(ctx, dir, spec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ensure(cancelled ctx) error = %v, want context.Canceled", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("Ensure(cancelled ctx) left %s in the dir", e.Name())
	}
}

func TestEnsureRefusesInvalidSpec(t *testing.T) {
	spec := synth.Spec{Shape: synth.Shape{Name: "bad", Embd: 100}, Type: synth.Q8_0}
	if _, _, err := synth.Ensure(context.Background(), t.TempDir(), spec); err == nil {
		t.Fatalf("Ensure(embd 100) error = nil, want one")
	}
}
