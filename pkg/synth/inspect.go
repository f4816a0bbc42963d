package synth

import (
	"fmt"
	"strings"

	gguf "github.com/gpustack/gguf-parser-go"
)

// Inspection is what a GGUF file says about itself, as read by
// gguf-parser-go. It works for any GGUF model, synthetic or not.
type Inspection struct {
	Path     string `json:"path"`
	Name     string `json:"name,omitempty"` // general.name
	Arch     string `json:"arch"`           // general.architecture
	Embd     int    `json:"embd"`
	Layers   int    `json:"layers"`
	Heads    int    `json:"heads"`
	HeadsKV  int    `json:"heads_kv"`
	FFN      int    `json:"ffn"` // the first layer's, when layers differ
	Vocab    int    `json:"vocab"`
	CtxTrain int    `json:"ctx_train"`
	// FileType is the parser's name for the dominant weight type, such as
	// "Q4_0" or "F16".
	FileType      string  `json:"file_type"`
	Params        int64   `json:"params"`
	Bytes         int64   `json:"bytes"` // file size
	BitsPerWeight float64 `json:"bits_per_weight"`
	Tokenizer     string  `json:"tokenizer,omitempty"` // tokenizer.ggml.model
	BOS           int64   `json:"bos_token_id"`
	EOS           int64   `json:"eos_token_id"`
}

// Inspect reads the header of the GGUF file at path; it reads no tensor
// data.
func Inspect(path string) (Inspection, error) {
	f, err := gguf.ParseGGUFFile(path)
	if err != nil {
		return Inspection{}, fmt.Errorf("inspect %s: not a GGUF file it can read: %w", path, err)
	}
	m := f.Metadata()
	a := f.Architecture()
	tk := f.Tokenizer()

	in := Inspection{
		Path: path, Name: m.Name, Arch: m.Architecture,
		Embd: int(a.EmbeddingLength), Layers: int(a.BlockCount),
		Heads: int(a.AttentionHeadCount), HeadsKV: int(a.AttentionHeadCountKV),
		Vocab: int(a.VocabularyLength), CtxTrain: int(a.MaximumContextLength),
		FileType: m.FileTypeDescriptor, Params: int64(m.Parameters),
		Bytes: int64(m.FileSize), BitsPerWeight: float64(m.BitsPerWeight),
		Tokenizer: tk.Model, BOS: tk.BOSTokenID, EOS: tk.EOSTokenID,
	}
	if len(a.FeedForwardLength) > 0 {
		in.FFN = int(a.FeedForwardLength[0])
	}
	return in, nil
}

// Type is the synthetic Type matching FileType, or "" for any other.
func (in Inspection) Type() Type {
	t, err := ParseType(strings.TrimPrefix(strings.ToLower(in.FileType), "mostly_"))
	if err != nil {
		return ""
	}
	return t
}
