package synth

import (
	"fmt"
	"sort"
	"strings"

	"github.com/packbench/packbench/pkg/api"
)

// Shape is the geometry of a llama-architecture model. Embd and FFN must be
// multiples of 32 (the quantization block), Embd a multiple of Heads with an
// even head width, and Heads a multiple of HeadsKV.
type Shape struct {
	Name    string `json:"name"`
	Embd    int    `json:"embd"`     // llama.embedding_length
	Layers  int    `json:"layers"`   // llama.block_count
	Heads   int    `json:"heads"`    // llama.attention.head_count
	HeadsKV int    `json:"heads_kv"` // llama.attention.head_count_kv
	FFN     int    `json:"ffn"`      // llama.feed_forward_length
	Vocab   int    `json:"vocab"`    // tokens in the byte-level tokenizer
	Ctx     int    `json:"ctx"`      // llama.context_length (training context)
	// RopeBase is llama.rope.freq_base; 0 means 10000.
	RopeBase float64 `json:"rope_base,omitempty"`
	// Tied leaves out output.weight, so the runner reuses token_embd for the
	// logits, as the published Llama 3.2 1B and 3B do.
	Tied bool `json:"tied,omitempty"`
}

// minVocab is the three control tokens plus the 256 byte tokens.
const minVocab = 3 + 256

// Upper bounds of a shape: well past every published dense model, and low
// enough that no product of them overflows the file's 32-bit fields or
// an int64 size.
const (
	maxEmbd   = 1 << 16
	maxFFN    = 1 << 18
	maxLayers = 1 << 10
	maxHeads  = 1 << 10
	maxVocab  = 1 << 20
	maxCtx    = 1 << 24
)

// shapes are the named shapes. The llama-1b and llama-3b entries keep the
// Llama 3.2 vocabulary size (128256) so the output layer costs what it costs
// there, but their tokenizer is the same small byte-level SentencePiece-style
// one as every other shape, filled with made-up tokens.
var shapes = map[string]Shape{
	"tiny": {Name: "tiny", Embd: 128, Layers: 2, Heads: 4, HeadsKV: 2, FFN: 384,
		Vocab: 1024, Ctx: 2048},
	"small": {Name: "small", Embd: 512, Layers: 12, Heads: 8, HeadsKV: 8, FFN: 1536,
		Vocab: 4096, Ctx: 2048},
	"llama-1b": {Name: "llama-1b", Embd: 2048, Layers: 16, Heads: 32, HeadsKV: 8,
		FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000, Tied: true},
	"llama-3b": {Name: "llama-3b", Embd: 3072, Layers: 28, Heads: 24, HeadsKV: 8,
		FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000, Tied: true},
	"llama-7b": {Name: "llama-7b", Embd: 4096, Layers: 32, Heads: 32, HeadsKV: 32,
		FFN: 11008, Vocab: 32000, Ctx: 4096},
	"llama-13b": {Name: "llama-13b", Embd: 5120, Layers: 40, Heads: 40, HeadsKV: 40,
		FFN: 13824, Vocab: 32000, Ctx: 4096},
}

// ShapeNames returns the accepted shape names, sorted.
func ShapeNames() []string {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ShapeByName returns a named shape. The error wraps api.ErrInvalid and lists
// the accepted names.
func ShapeByName(name string) (Shape, error) {
	s, ok := shapes[name]
	if !ok {
		return Shape{}, fmt.Errorf("shape %q: unknown, want one of %s: %w",
			name, strings.Join(ShapeNames(), ", "), api.ErrInvalid)
	}
	return s, nil
}

// Validate reports the first dimension that a llama.cpp runner or the
// quantized formats would refuse. The error wraps api.ErrInvalid.
func (s Shape) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("shape %q: %s: %w", s.Name, fmt.Sprintf(format, args...),
			api.ErrInvalid)
	}
	switch {
	case s.Embd <= 0 || s.Embd%blockSize != 0 || s.Embd > maxEmbd:
		return bad("embd %d is not a multiple of %d from %d to %d", s.Embd, blockSize,
			blockSize, maxEmbd)
	case s.FFN <= 0 || s.FFN%blockSize != 0 || s.FFN > maxFFN:
		return bad("ffn %d is not a multiple of %d from %d to %d", s.FFN, blockSize, blockSize,
			maxFFN)
	case s.Layers <= 0 || s.Layers > maxLayers:
		return bad("layers %d is not from 1 to %d", s.Layers, maxLayers)
	case s.Heads > maxHeads:
		return bad("heads %d is above %d", s.Heads, maxHeads)
	case s.Heads <= 0 || s.Embd%s.Heads != 0 || (s.Embd/s.Heads)%2 != 0:
		return bad("heads %d does not split embd %d into even widths", s.Heads, s.Embd)
	case s.HeadsKV <= 0 || s.Heads%s.HeadsKV != 0:
		return bad("heads_kv %d does not divide heads %d", s.HeadsKV, s.Heads)
	case s.Vocab < minVocab+1 || s.Vocab > maxVocab:
		return bad("vocab %d is not from %d to %d", s.Vocab, minVocab+1, maxVocab)
	case s.Ctx <= 0 || s.Ctx > maxCtx:
		return bad("ctx %d is not from 1 to %d", s.Ctx, maxCtx)
	}
	return nil
}

// headDim is the width of one attention head.
func (s Shape) headDim() int { return s.Embd / s.Heads }

// ropeBase is the rope frequency base written to the file.
func (s Shape) ropeBase() float64 {
	if s.RopeBase == 0 {
		return 10000
	}
	return s.RopeBase
}
