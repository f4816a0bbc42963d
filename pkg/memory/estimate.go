package memory

import (
	"errors"
	"fmt"
	"os"
)

// MiB is one mebibyte, the unit llama.cpp prints its buffer sizes in.
const MiB = 1 << 20

// DefaultRuntimeOverheadBytes is the private memory allowed per llama.cpp or
// llamafile process beyond its model buffers: the executable and its shared
// libraries, malloc arenas, thread stacks actually touched, tokenizer tables
// (about 100 bytes per vocabulary entry, 12 MiB at 128k), the GGUF metadata copy
// and the loader's scratch space. 64 MiB is an allowance, not a measurement.
const DefaultRuntimeOverheadBytes = 64 * MiB

// NodeRuntimeOverheadBytes is the allowance for a runner hosted by Node.js
// (node-llama-cpp and the like): the V8 heap and the node runtime add roughly
// 100 MiB of private memory to what llama.cpp itself needs.
const NodeRuntimeOverheadBytes = 192 * MiB

// Estimate sources.
const (
	// SourceGGUF marks an estimate built from the model's GGUF metadata.
	SourceGGUF = "gguf"
	// SourceFileSize marks the fallback that takes the file size as the weights.
	SourceFileSize = "file-size"
)

// ModelInfo is what the GGUF metadata says about the model's shape.
type ModelInfo struct {
	Arch      string `json:"arch"`
	Layers    int    `json:"layers"`
	EmbdDim   int    `json:"embd_dim"`
	Heads     int    `json:"heads"`
	HeadsKV   int    `json:"heads_kv"`
	HeadDim   int    `json:"head_dim"`
	CtxTrain  int    `json:"ctx_train"`
	Vocab     int    `json:"vocab"`
	FileType  string `json:"file_type"`
	Params    uint64 `json:"params"`
	FileBytes uint64 `json:"file_bytes"`
}

// Estimate is the memory one model needs per runner process, split into what
// the copies share (mapped weights) and what each copy holds privately.
type Estimate struct {
	// Source is SourceGGUF or SourceFileSize.
	Source string `json:"source"`
	// Warning says why the estimate fell back or where its sources disagree.
	Warning string `json:"warning,omitempty"`
	// Mmap is true when the weights are mapped and so shared between copies.
	Mmap bool `json:"mmap"`
	// CtxSize is the context the KV cache and compute buffer were sized for.
	CtxSize int `json:"ctx_size"`

	// WeightsBytes is counted once when Mmap, once per copy otherwise.
	WeightsBytes uint64 `json:"weights_bytes"`
	// KVBytes, ComputeBytes, OutputBytes and OverheadBytes are per copy.
	KVBytes       uint64 `json:"kv_bytes"`
	ComputeBytes  uint64 `json:"compute_bytes"`
	OutputBytes   uint64 `json:"output_bytes"`
	OverheadBytes uint64 `json:"overhead_bytes"`

	Model ModelInfo `json:"model"`
}

// PerInstanceBytes is the private memory of one copy, weights included when
// they are not mapped.
func (e Estimate) PerInstanceBytes() uint64 {
	p := e.KVBytes + e.ComputeBytes + e.OutputBytes + e.OverheadBytes
	if !e.Mmap {
		p += e.WeightsBytes
	}
	return p
}

// TotalBytes is the need of m copies: the mapped weights once plus m private
// parts, or m times weights and private part when nothing is mapped.
func (e Estimate) TotalBytes(m int) uint64 {
	if m <= 0 {
		return 0
	}
	total := uint64(m) * e.PerInstanceBytes()
	if e.Mmap {
		total += e.WeightsBytes
	}
	return total
}

// Options are the run settings that change the estimate.
type Options struct {
	// CtxSize is the -c given to each copy; 0 means the training context, as
	// `-c 0` does in llama.cpp and llamafile.
	CtxSize int
	// NoMmap is true when the runner reads the weights into private memory.
	NoMmap bool
	// RuntimeOverheadBytes replaces DefaultRuntimeOverheadBytes when non-zero.
	RuntimeOverheadBytes uint64
}

func (o Options) overhead() uint64 {
	if o.RuntimeOverheadBytes > 0 {
		return o.RuntimeOverheadBytes
	}
	return DefaultRuntimeOverheadBytes
}

// EstimateFile estimates the memory of one copy running the model at path, a
// .gguf file or a llamafile holding one. It falls back to the file size, with
// a Warning, when no GGUF can be read; it fails only when path cannot be read.
func EstimateFile(path string, opt Options) (Estimate, error) {
	f, err := os.Open(path)
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate memory: %w", err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate memory: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Estimate{}, fmt.Errorf("estimate memory: %s: %w", path, errNotRegular)
	}
	size := uint64(fi.Size())

	est, err := estimateOpened(path, f, fi.Size(), opt)
	if err != nil {
		return fallback(size, opt, err), nil
	}
	est.Model.FileBytes = size
	return est, nil
}

var errNotRegular = errors.New("not a regular file")

// fallback takes the file size as the weights when the GGUF cannot be read;
// the KV cache and compute buffer are unknown and left at zero.
func fallback(size uint64, opt Options, why error) Estimate {
	return Estimate{
		Source: SourceFileSize,
		Warning: fmt.Sprintf("no GGUF metadata (%v): weights taken as the file size, "+
			"KV cache and compute buffer unknown", why),
		Mmap:          !opt.NoMmap,
		CtxSize:       opt.CtxSize,
		WeightsBytes:  size,
		OverheadBytes: opt.overhead(),
		Model:         ModelInfo{FileBytes: size},
	}
}

// KVCacheBytes is the size of a KV cache: keys and values for every layer,
// KV head and context position, at bytesPerElem (2 for f16, 34/32 for q8_0).
// Any negative or zero input gives 0.
func KVCacheBytes(layers, headsKV, headDim, ctx int, bytesPerElem float64) uint64 {
	if layers <= 0 || headsKV <= 0 || headDim <= 0 || ctx <= 0 || !(bytesPerElem > 0) {
		return 0
	}
	elems := 2 * uint64(layers) * uint64(headsKV) * uint64(headDim) * uint64(ctx)
	return uint64(float64(elems)*bytesPerElem + 0.5)
}
