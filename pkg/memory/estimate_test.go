package memory_test

import (
	"archive/zip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packbench/packbench/pkg/memory"
)

// tinyModel is the shared test model, found from this file's directory.
func tinyModel(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "models",
		"llama-2-tiny-random.gguf")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("tiny model: %v", err)
	}
	return path
}

// tinyShape is what the tiny model's metadata says; only FileBytes differs
// between the bare GGUF and a llamafile holding it.
func tinyShape(fileBytes uint64) memory.ModelInfo {
	return memory.ModelInfo{
		Arch: "llama", Layers: 1, EmbdDim: 8, Heads: 2, HeadsKV: 2, HeadDim: 4,
		CtxTrain: 4096, Vocab: 32000, FileType: "F16", Params: 513048,
		FileBytes: fileBytes,
	}
}

func estimate(t *testing.T, path string, opt memory.Options) memory.Estimate {
	t.Helper()
	est, err := memory.EstimateFile(path, opt)
	if err != nil {
		t.Fatalf("EstimateFile(%s) error: %v", path, err)
	}
	return est
}

func TestEstimateFileTinyModel(t *testing.T) {
	path := tinyModel(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	est := estimate(t, path, memory.Options{CtxSize: 256})

	if est.Source != memory.SourceGGUF || est.Warning != "" {
		t.Fatalf("EstimateFile source, warning = %q, %q, want %q, \"\"",
			est.Source, est.Warning, memory.SourceGGUF)
	}
	if diff := cmp.Diff(tinyShape(uint64(fi.Size())), est.Model); diff != "" {
		t.Errorf("EstimateFile model (-want +got):\n%s", diff)
	}
	if !est.Mmap || est.CtxSize != 256 {
		t.Errorf("EstimateFile mmap, ctx = %v, %d, want true, 256", est.Mmap, est.CtxSize)
	}

	// the weights are the tensor data: the file less its 724416-byte header.
	if got, want := est.WeightsBytes, uint64(fi.Size())-724416; got != want {
		t.Errorf("WeightsBytes = %d, want %d", got, want)
	}
	// 2 x 1 layer x 2 kv heads x 4 head dim x 256 ctx x 2 bytes.
	if got, want := est.KVBytes, uint64(8192); got != want {
		t.Errorf("KVBytes = %d, want %d", got, want)
	}
	// one row of f32 logits over the 32000-token vocabulary.
	if got, want := est.OutputBytes, uint64(128000); got != want {
		t.Errorf("OutputBytes = %d, want %d", got, want)
	}
	// the graph's logits for a 256-token batch alone are 32000 x 256 x 4 bytes.
	if est.ComputeBytes < 32000*256*4 || est.ComputeBytes > 64*memory.MiB {
		t.Errorf("ComputeBytes = %d, want between %d and %d",
			est.ComputeBytes, 32000*256*4, 64*memory.MiB)
	}
	if got, want := est.OverheadBytes, uint64(memory.DefaultRuntimeOverheadBytes); got != want {
		t.Errorf("OverheadBytes = %d, want %d", got, want)
	}
}

func TestEstimateTotalBytesMmapAndNoMmap(t *testing.T) {
	path := tinyModel(t)
	mapped := estimate(t, path, memory.Options{CtxSize: 256})
	private := estimate(t, path, memory.Options{CtxSize: 256, NoMmap: true})

	if !mapped.Mmap || private.Mmap {
		t.Fatalf("Mmap = %v (default), %v (NoMmap), want true, false", mapped.Mmap, private.Mmap)
	}

	part := mapped.KVBytes + mapped.ComputeBytes + mapped.OutputBytes + mapped.OverheadBytes
	if got := mapped.PerInstanceBytes(); got != part {
		t.Errorf("PerInstanceBytes() mmap = %d, want %d", got, part)
	}
	if got, want := mapped.TotalBytes(3), mapped.WeightsBytes+3*part; got != want {
		t.Errorf("TotalBytes(3) mmap = %d, want %d", got, want)
	}
	if got, want := private.PerInstanceBytes(), private.WeightsBytes+part; got != want {
		t.Errorf("PerInstanceBytes() no-mmap = %d, want %d", got, want)
	}
	if got, want := private.TotalBytes(3), 3*(private.WeightsBytes+part); got != want {
		t.Errorf("TotalBytes(3) no-mmap = %d, want %d", got, want)
	}
	if got := mapped.TotalBytes(0); got != 0 {
		t.Errorf("TotalBytes(0) = %d, want 0", got)
	}
}

func TestEstimateKVGrowsLinearlyWithContext(t *testing.T) {
	path := tinyModel(t)
	small := estimate(t, path, memory.Options{CtxSize: 256})
	large := estimate(t, path, memory.Options{CtxSize: 4096})

	if got, want := large.KVBytes, 16*small.KVBytes; got != want {
		t.Errorf("KVBytes at ctx 4096 = %d, want 16 x %d = %d", got, small.KVBytes, want)
	}
	if got, want := large.KVBytes, memory.KVCacheBytes(1, 2, 4, 4096, 2); got != want {
		t.Errorf("KVBytes at ctx 4096 = %d, want KVCacheBytes %d", got, want)
	}
	if large.ComputeBytes <= small.ComputeBytes {
		t.Errorf("ComputeBytes at ctx 4096 = %d, want more than at 256 (%d)",
			large.ComputeBytes, small.ComputeBytes)
	}
}

func TestEstimateZeroContextUsesTrainingContext(t *testing.T) {
	est := estimate(t, tinyModel(t), memory.Options{})

	if got, want := est.CtxSize, est.Model.CtxTrain; got != want {
		t.Errorf("CtxSize with CtxSize 0 = %d, want the training context %d", got, want)
	}
	if got, want := est.KVBytes, memory.KVCacheBytes(1, 2, 4, 4096, 2); got != want {
		t.Errorf("KVBytes with CtxSize 0 = %d, want %d", got, want)
	}
}

func TestEstimateRuntimeOverheadOption(t *testing.T) {
	opt := memory.Options{CtxSize: 256, RuntimeOverheadBytes: memory.NodeRuntimeOverheadBytes}
	est := estimate(t, tinyModel(t), opt)

	if got, want := est.OverheadBytes, uint64(memory.NodeRuntimeOverheadBytes); got != want {
		t.Errorf("OverheadBytes = %d, want %d", got, want)
	}
}

// writeLlamafile builds an APE-style llamafile in dir: a shell-script prefix
// and filler standing in for the executable, then a zip whose offsets count
// from the start of the file, as zipalign writes them.
func writeLlamafile(t testing.TB, dir, model string, method uint16) string {
	t.Helper()
	path := filepath.Join(dir, "tiny.llamafile")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	prefix := append([]byte("MZqFpD='\n'\n"), make([]byte, 5000)...)
	if _, err := out.Write(prefix); err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	zw.SetOffset(int64(len(prefix)))

	args, err := zw.CreateHeader(&zip.FileHeader{Name: ".args", Method: zip.Store})
	if err == nil {
		_, err = io.WriteString(args, "-m\nmodel.gguf\n...\n")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := copyInto(zw, "model.gguf", model, method); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyInto(zw *zip.Writer, name, src string, method uint16) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()

	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}

func TestEstimateFileLlamafile(t *testing.T) {
	model := tinyModel(t)
	path := writeLlamafile(t, t.TempDir(), model, zip.Store)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	got := estimate(t, path, memory.Options{CtxSize: 256})
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("EstimateFile(llamafile) left %d files in TMPDIR (%v), want 0", len(left), err)
	}
	want := estimate(t, model, memory.Options{CtxSize: 256})
	want.Model.FileBytes = uint64(fi.Size())

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EstimateFile(llamafile) differs from the bare GGUF (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tinyShape(uint64(fi.Size())), got.Model); diff != "" {
		t.Errorf("EstimateFile(llamafile) model (-want +got):\n%s", diff)
	}
}

func TestEstimateFileFallsBackToFileSize(t *testing.T) {
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "notes.txt")
	text := []byte(strings.Repeat("not a model\n", 100))
	if err := os.WriteFile(notGGUF, text, 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.gguf")
	if err := truncateCopy(tinyModel(t), truncated, 100000); err != nil {
		t.Fatal(err)
	}
	deflated := writeLlamafile(t, t.TempDir(), tinyModel(t), zip.Deflate)

	tests := []struct {
		name, path, warn string
	}{
		{"text file", notGGUF, "not a GGUF file"},
		{"truncated gguf", truncated, "parse gguf"},
		{"deflated llamafile", deflated, "compressed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			est := estimate(t, tt.path, memory.Options{CtxSize: 256})

			if est.Source != memory.SourceFileSize {
				t.Errorf("EstimateFile source = %q, want %q", est.Source, memory.SourceFileSize)
			}
			if !strings.Contains(est.Warning, tt.warn) {
				t.Errorf("EstimateFile warning = %q, want it to contain %q", est.Warning, tt.warn)
			}
			if est.WeightsBytes != uint64(fi.Size()) || est.Model.FileBytes != uint64(fi.Size()) {
				t.Errorf("EstimateFile weights, file bytes = %d, %d, want %d",
					est.WeightsBytes, est.Model.FileBytes, fi.Size())
			}
			if est.KVBytes != 0 || !est.Mmap {
				t.Errorf("EstimateFile kv, mmap = %d, %v, want 0, true", est.KVBytes, est.Mmap)
			}
		})
	}
}

func truncateCopy(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(out, in, n); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestEstimateFileMissingIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.gguf")
	if _, err := memory.EstimateFile(path, memory.Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EstimateFile(%s) error = %v, want a not-exist error", path, err)
	}
}

func BenchmarkEstimateFileLlamafile(b *testing.B) {
	path := writeLlamafile(b, b.TempDir(), tinyModel(b), zip.Store)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := memory.EstimateFile(path, memory.Options{CtxSize: 256}); err != nil {
			b.Fatal(err)
		}
	}
}
