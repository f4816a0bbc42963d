package synth_test

import (
	"io"
	"testing"

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
