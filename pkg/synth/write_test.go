package synth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/packbench/packbench/pkg/synth"
)

var allTypes = []synth.Type{synth.F32, synth.F16, synth.Q8_0, synth.Q4_0}

// oddShape has a vocabulary that is no multiple of anything, tied weights
// and grouped-query attention.
var oddShape = synth.Shape{Name: "odd", Embd: 96, Layers: 3, Heads: 6, HeadsKV: 2, FFN: 160,
	Vocab: 1001, Ctx: 512, RopeBase: 500000, Tied: true}

func mustSpec(t *testing.T, ref string) synth.Spec {
	t.Helper()
	spec, err := synth.ParseModelRef(ref)
	if err != nil {
		t.Fatalf("ParseModelRef(%q) error = %v", ref, err)
	}
	return spec
}

func sum(t *testing.T, spec synth.Spec) (string, int64) {
	t.Helper()
	h := sha256.New()
	n, err := synth.Write(h, spec)
	if err != nil {
		t.Fatalf("Write(%s) error = %v", spec, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// TestWriteGolden pins the bytes: the same spec must give these files on
// every host, platform and Go version.
func TestWriteGolden(t *testing.T) {
	tests := []struct {
		ref  string
		want string
	}{
		{"synth:tiny:f32:1", "c886ca54ada5ea98f1ff798a7cfcc6b2a3c91c14eda90af446e8a691ca12b2dc"},
		{"synth:tiny:f16:1", "a3585ed6f6321fb0f4bd835609524caf6b7d79b21eaecf16f092348b3d24e184"},
		{"synth:tiny:q8_0:1", "d2a40cfc8dcabc4e14f7fd6899f4b90acdb4c6c8d80e5a4ac95b1b56485daca7"},
		{"synth:tiny:q4_0:1", "290ba734843cd72e01b33b502153609dfb0a63a2379067bedf591064bc1fd789"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got, _ := sum(t, mustSpec(t, tt.ref)); got != tt.want {
				t.Errorf("sha256(Write(%s)) = %s, want %s", tt.ref, got, tt.want)
			}
		})
	}
}

func TestWriteSizeAndSeed(t *testing.T) {
	tiny, err := synth.ShapeByName("tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range []synth.Shape{tiny, oddShape} {
		for _, typ := range allTypes {
			spec := synth.Spec{Shape: shape, Type: typ, Seed: 5}
			t.Run(spec.String(), func(t *testing.T) {
				first, n := sum(t, spec)
				if got, want := spec.Size(), n; got != want {
					t.Errorf("Size() = %d, want %d (bytes written)", got, want)
				}
				if again, _ := sum(t, spec); again != first {
					t.Errorf("sha256 of a second Write = %s, want %s", again, first)
				}
				other := spec
				other.Seed = 6
				if got, _ := sum(t, other); got == first {
					t.Errorf("sha256 with seed 6 = %s, want it to differ from seed 5", got)
				}
			})
		}
	}
}

func TestWriteFileInspect(t *testing.T) {
	tiny, err := synth.ShapeByName("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, shape := range []synth.Shape{tiny, oddShape} {
		for _, typ := range allTypes {
			spec := synth.Spec{Shape: shape, Type: typ, Seed: 3}
			t.Run(spec.String(), func(t *testing.T) {
				path := filepath.Join(dir, spec.FileName())
				info, err := synth.WriteFile(path, spec)
				if err != nil {
					t.Fatalf("WriteFile(%s) error = %v", spec, err)
				}
				checkInfo(t, path, info, spec)

				in, err := synth.Inspect(path)
				if err != nil {
					t.Fatalf("Inspect(%s) error = %v", path, err)
				}
				s := spec.Shape
				got := []any{in.Arch, in.Embd, in.Layers, in.Heads, in.HeadsKV, in.FFN,
					in.Vocab, in.CtxTrain, in.Type(), in.Params, in.Bytes, in.Tokenizer,
					in.BOS, in.EOS}
				want := []any{"llama", s.Embd, s.Layers, s.Heads, s.HeadsKV, s.FFN,
					s.Vocab, s.Ctx, typ, info.Params, info.Bytes, "llama",
					int64(1), int64(2)}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("Inspect(%s) field %d = %v, want %v (%+v)", path, i,
							got[i], want[i], in)
					}
				}
			})
		}
	}
}

// checkInfo compares Info with the file on disk and looks for leftovers.
func checkInfo(t *testing.T, path string, info synth.Info, spec synth.Spec) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, want := info.SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("WriteFile(%s).SHA256 = %s, want %s", spec, got, want)
	}
	if got, want := info.Bytes, int64(len(data)); got != want {
		t.Errorf("WriteFile(%s).Bytes = %d, want %d", spec, got, want)
	}
	if got, want := info.Params, spec.Params(); got != want || got <= 0 {
		t.Errorf("WriteFile(%s).Params = %d, want %d", spec, got, want)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), os.FileMode(0o644); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
	tmps, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp"))
	if err != nil || len(tmps) != 0 {
		t.Errorf("temporary files left = %v (%v), want none", tmps, err)
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.gguf")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	bad := mustSpec(t, "synth:tiny:q4_0")
	bad.Shape.Embd = 100
	if _, err := synth.WriteFile(path, bad); err == nil {
		t.Fatalf("WriteFile(embd 100) error = nil, want one")
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
		t.Errorf("file after a failed WriteFile = %q, %v, want %q", got, err, "old")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("directory after a failed WriteFile = %v, %v, want only old.gguf", entries, err)
	}

	if _, err := synth.WriteFile(filepath.Join(dir, "missing", "m.gguf"), bad); err == nil {
		t.Errorf("WriteFile(into a missing directory) error = nil, want one")
	}
}

type failWriter struct{ left int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errFull
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteReportsWriterError(t *testing.T) {
	spec := mustSpec(t, "synth:small:q8_0")
	w := &failWriter{left: 3 << 20}
	n, err := synth.Write(w, spec)
	if !errors.Is(err, errFull) {
		t.Fatalf("Write(full disk) error = %v, want %v", err, errFull)
	}
	if got, want := n, int64(3<<20); got != want {
		t.Errorf("Write(full disk) n = %d, want %d", got, want)
	}
}

// memWriter discards and samples the heap every 64 MiB written.
type memWriter struct {
	written, next int64
	maxInuse      uint64
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.written += int64(len(p))
	if w.written >= w.next {
		w.next += 64 << 20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.maxInuse = max(w.maxInuse, ms.HeapInuse)
	}
	return len(p), nil
}

func TestWriteBoundedMemory(t *testing.T) {
	spec := synth.Spec{Shape: gigShape, Type: synth.Q4_0, Seed: 9}
	runtime.GC()
	w := &memWriter{}
	n, err := synth.Write(w, spec)
	if err != nil {
		t.Fatalf("Write(%s) error = %v", spec, err)
	}
	if n < 1e9 || n != spec.Size() {
		t.Fatalf("Write(%s) = %d bytes, want Size() = %d, over 1e9", spec, n, spec.Size())
	}
	if limit := uint64(64 << 20); w.maxInuse > limit {
		t.Errorf("peak HeapInuse while writing %d bytes = %d, want under %d",
			n, w.maxInuse, limit)
	}
	t.Logf("wrote %d bytes, peak HeapInuse %d", n, w.maxInuse)
}
