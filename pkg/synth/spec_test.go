package synth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/synth"
)

func TestParseModelRef(t *testing.T) {
	tiny, err := synth.ShapeByName("tiny")
	if err != nil {
		t.Fatal(err)
	}
	seven, err := synth.ShapeByName("llama-7b")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		in      string
		want    synth.Spec
		wantErr string // a part of the error that names what is wrong
	}{
		{in: "synth:tiny:q4_0", want: synth.Spec{Shape: tiny, Type: synth.Q4_0, Seed: 1}},
		{in: "synth:tiny:F16:7", want: synth.Spec{Shape: tiny, Type: synth.F16, Seed: 7}},
		{in: "synth:llama-7b:q8_0:18446744073709551615",
			want: synth.Spec{Shape: seven, Type: synth.Q8_0, Seed: 1<<64 - 1}},
		{in: "tiny:q4_0", wantErr: `want prefix "synth:"`},
		{in: "synth:tiny", wantErr: "synth:SHAPE:TYPE[:SEED]"},
		{in: "synth:tiny:q4_0:1:2", wantErr: "synth:SHAPE:TYPE[:SEED]"},
		{in: "synth:huge:q4_0", wantErr: `shape "huge": unknown, want one of llama-13b, ` +
			`llama-1b, llama-3b, llama-7b, small, tiny`},
		{in: "synth:tiny:q5_k", wantErr: `type "q5_k": unknown`},
		{in: "synth:tiny:q4_0:-1", wantErr: `seed "-1" is not a decimal uint64`},
		{in: "synth:tiny:q4_0:0x10", wantErr: `seed "0x10"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := synth.ParseModelRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseModelRef(%q) error = %v, want one containing %q",
						tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, api.ErrInvalid) {
					t.Errorf("ParseModelRef(%q) error = %v, want it to wrap api.ErrInvalid",
						tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseModelRef(%q) error = %v, want nil", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseModelRef(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if back, err := synth.ParseModelRef(got.String()); err != nil || back != got {
				t.Errorf("ParseModelRef(%q) = %v, %v, want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestShapeByNamePublishedDimensions(t *testing.T) {
	tests := []struct {
		name   string
		want   synth.Shape
		params int64 // weights, at any type
	}{
		{"llama-7b", synth.Shape{Name: "llama-7b", Embd: 4096, Layers: 32, Heads: 32,
			HeadsKV: 32, FFN: 11008, Vocab: 32000, Ctx: 4096}, 6738415616},
		{"llama-13b", synth.Shape{Name: "llama-13b", Embd: 5120, Layers: 40, Heads: 40,
			HeadsKV: 40, FFN: 13824, Vocab: 32000, Ctx: 4096}, 13015864320},
		{"llama-1b", synth.Shape{Name: "llama-1b", Embd: 2048, Layers: 16, Heads: 32,
			HeadsKV: 8, FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000,
			Tied: true}, 1235814400},
		{"llama-3b", synth.Shape{Name: "llama-3b", Embd: 3072, Layers: 28, Heads: 24,
			HeadsKV: 8, FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000,
			Tied: true}, 3212749824},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := synth.ShapeByName(tt.name)
			if err != nil {
				t.Fatalf("ShapeByName(%q) error = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ShapeByName(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
			spec := synth.Spec{Shape: got, Type: synth.Q4_0, Seed: 1}
			if got := spec.Params(); got != tt.params {
				t.Errorf("Params(%s) = %d, want %d", spec, got, tt.params)
			}
		})
	}
}

func TestShapeValidate(t *testing.T) {
	ok := synth.Shape{Name: "x", Embd: 64, Layers: 1, Heads: 2, HeadsKV: 1, FFN: 96,
		Vocab: 300, Ctx: 128}
	tests := []struct {
		name    string
		edit    func(*synth.Shape)
		wantErr string
	}{
		{"valid", func(*synth.Shape) {}, ""},
		{"embd not a block multiple", func(s *synth.Shape) { s.Embd = 48 }, "embd 48"},
		{"ffn not a block multiple", func(s *synth.Shape) { s.FFN = 100 }, "ffn 100"},
		{"no layers", func(s *synth.Shape) { s.Layers = 0 }, "layers 0"},
		{"odd head width", func(s *synth.Shape) { s.Heads = 64 }, "heads 64"},
		{"kv heads", func(s *synth.Shape) { s.HeadsKV = 3 }, "heads_kv 3"},
		{"vocab too small", func(s *synth.Shape) { s.Vocab = 259 }, "vocab 259"},
		{"no ctx", func(s *synth.Shape) { s.Ctx = 0 }, "ctx 0"},
		// the file stores ctx in 32 bits and sizes multiply: bounded
		{"ctx past 32 bits", func(s *synth.Shape) { s.Ctx = 1<<32 + 1 }, "ctx 4294967297"},
		{"embd of a terabyte", func(s *synth.Shape) { s.Embd = 1 << 40 }, "embd 1099511627776"},
		{"ffn too wide", func(s *synth.Shape) { s.FFN = 1 << 19 }, "ffn 524288"},
		{"too many layers", func(s *synth.Shape) { s.Layers = 1025 }, "layers 1025"},
		{"too many heads", func(s *synth.Shape) { s.Heads = 2048 }, "heads 2048"},
		{"vocab too large", func(s *synth.Shape) { s.Vocab = 1<<20 + 1 }, "vocab 1048577"},
		{"largest accepted", func(s *synth.Shape) {
			*s = synth.Shape{Name: "x", Embd: 1 << 16, Layers: 1024, Heads: 1024, HeadsKV: 1,
				FFN: 1 << 18, Vocab: 1 << 20, Ctx: 1 << 24}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
				!errors.Is(err, api.ErrInvalid) {
				t.Fatalf("Validate(%+v) = %v, want an api.ErrInvalid naming %q", s, err,
					tt.wantErr)
			}
			if got := (synth.Spec{Shape: s, Type: synth.F32}).Size(); got != 0 {
				t.Errorf("Size() of an invalid spec = %d, want 0", got)
			}
		})
	}
}
