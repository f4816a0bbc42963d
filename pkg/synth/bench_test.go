package synth_test

import (
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/packbench/packbench/pkg/synth"
)

// gigShape is a shape of about 1 GB in q4_0 (1.8 G weights).
var gigShape = synth.Shape{Name: "gig", Embd: 2048, Layers: 28, Heads: 16, HeadsKV: 4,
	FFN: 8192, Vocab: 32000, Ctx: 4096}

func benchmarkWrite(b *testing.B, typ synth.Type) {
	spec := synth.Spec{Shape: gigShape, Type: typ, Seed: 1}
	b.SetBytes(spec.Size())
	for b.Loop() {
		if _, err := synth.Write(io.Discard, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteQ4_0 measures Write of a ~1 GB q4_0 file; the goal is at
// least 1 GB/s so that a 4 GB model takes seconds.
func BenchmarkWriteQ4_0(b *testing.B) { benchmarkWrite(b, synth.Q4_0) }

// BenchmarkWriteQ8_0 measures Write of a ~1.9 GB q8_0 file.
func BenchmarkWriteQ8_0(b *testing.B) { benchmarkWrite(b, synth.Q8_0) }

// BenchmarkWriteFileQ4_0 measures WriteFile of a ~1 GB q4_0 file to the
// test's temporary directory, hash and fsync included: what an agent pays
// to prepare a model. Its goal is the disk's own speed (compare dd with
// conv=fsync). It reports the largest heap in use while writing
// (peak-heap-MiB), which must stay a few buffers whatever the file size.
// Set TMPDIR to put the file on the disk under test.
func BenchmarkWriteFileQ4_0(b *testing.B) {
	spec := synth.Spec{Shape: gigShape, Type: synth.Q4_0, Seed: 1}
	path := filepath.Join(b.TempDir(), spec.FileName())
	b.SetBytes(spec.Size())

	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	for b.Loop() {
		if _, err := synth.WriteFile(path, spec); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
