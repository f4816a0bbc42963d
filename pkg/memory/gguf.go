package memory

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"

	gguf "github.com/gpustack/gguf-parser-go"
)

// ggufMagic opens a GGUF file; gguf-parser-go reads the reversed spelling as
// a big-endian one.
var ggufMagic, ggufMagicBE = []byte("GGUF"), []byte("FUGG")

var errNotModel = errors.New("not a language model")

// estimateOpened builds the estimate from the GGUF at the start of f, or from
// the .gguf entry of the zip at its end when f is a llamafile.
func estimateOpened(path string, f *os.File, size int64, opt Options) (Estimate, error) {
	head := make([]byte, len(ggufMagic))
	if _, err := f.ReadAt(head, 0); err != nil {
		return Estimate{}, fmt.Errorf("read magic: %w", err)
	}
	if bytes.Equal(head, ggufMagic) || bytes.Equal(head, ggufMagicBE) {
		return estimateGGUF(path, opt)
	}

	sec, err := findZipGGUF(f, size)
	if err != nil {
		return Estimate{}, fmt.Errorf("not a GGUF file nor a llamafile holding one: %w", err)
	}
	standIn, err := writeStandIn(f, sec)
	if err != nil {
		return Estimate{}, fmt.Errorf("llamafile entry %s: %w", sec.name, err)
	}
	defer os.Remove(standIn)

	est, err := estimateGGUF(standIn, opt)
	if err != nil {
		return Estimate{}, fmt.Errorf("llamafile entry %s: %w", sec.name, err)
	}
	return est, nil
}

// estimateGGUF parses the GGUF at path and maps gguf-parser-go's llama.cpp
// run estimate (CPU only, nothing offloaded) onto an Estimate.
func estimateGGUF(path string, opt Options) (est Estimate, err error) {
	// the parser panics on some malformed files (size overflows); a bad
	// model must degrade to the file-size fallback, not end the agent.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parse gguf: %v", r)
		}
	}()

	gf, err := gguf.ParseGGUFFile(path, gguf.SkipLargeMetadata())
	if err != nil {
		return Estimate{}, fmt.Errorf("parse gguf: %w", err)
	}
	a := gf.Architecture()
	if a.Type != "model" {
		return Estimate{}, fmt.Errorf("parse gguf: %w (type %q)", errNotModel, a.Type)
	}

	runOpts := []gguf.GGUFRunEstimateOption{gguf.WithLLaMACppOffloadLayers(0)}
	if opt.CtxSize > 0 {
		ctx := int32(min(opt.CtxSize, math.MaxInt32))
		runOpts = append(runOpts, gguf.WithLLaMACppContextSize(ctx))
	}
	// TODO(repack): x86 and ARM builds since late 2024 repack Q4_0/IQ4_NL/Q4_K
	// weights into a private CPU_REPACK buffer per copy (case 16), which the
	// library does not model; until it does, probe one copy and use
	// NeedFromBuffers, or the estimate is low by about the weights per copy.
	run := gf.EstimateLLaMACppRun(runOpts...)
	cpu := run.Devices[0]

	est = Estimate{
		Source:        SourceGGUF,
		Mmap:          !opt.NoMmap && !run.NoMMap,
		CtxSize:       int(run.ContextSize),
		WeightsBytes:  uint64(cpu.Weight.Sum()),
		KVBytes:       uint64(cpu.KVCache.Sum()),
		ComputeBytes:  uint64(cpu.Computation.Sum()),
		OutputBytes:   outputBufferBytes(a),
		OverheadBytes: opt.overhead(),
		Model:         modelInfo(gf, a),
	}
	est.Warning = crossCheckKV(a, est)
	return est, nil
}

// outputBufferBytes is what llama.cpp reserves for results at context
// creation: one row of f32 logits for a causal model, one embedding otherwise.
func outputBufferBytes(a gguf.GGUFArchitecture) uint64 {
	if a.AttentionCausal {
		return a.VocabularyLength * 4
	}
	return a.EmbeddingLength * 4
}

func modelInfo(gf *gguf.GGUFFile, a gguf.GGUFArchitecture) ModelInfo {
	headDim := int(a.AttentionKeyLength)
	if headDim == 0 && a.AttentionHeadCount > 0 {
		headDim = int(a.EmbeddingLength / a.AttentionHeadCount)
	}
	return ModelInfo{
		Arch:     a.Architecture,
		Layers:   int(a.BlockCount),
		EmbdDim:  int(a.EmbeddingLength),
		Heads:    int(a.AttentionHeadCount),
		HeadsKV:  int(a.AttentionHeadCountKV),
		HeadDim:  headDim,
		CtxTrain: int(a.MaximumContextLength),
		Vocab:    int(a.VocabularyLength),
		FileType: gf.Metadata().FileTypeDescriptor,
		Params:   uint64(gf.ModelParameters),
	}
}

// crossCheckKV compares the library's KV cache with the plain formula for
// models the formula describes: every layer caches the full context with
// equal key and value widths. It returns a warning when the two disagree.
func crossCheckKV(a gguf.GGUFArchitecture, est Estimate) string {
	plain := a.AttentionSlidingWindow == 0 && !a.AttentionRecurrent && !a.AttentionHybrid &&
		a.AttentionKeyLength == a.AttentionValueLength && a.AttentionKeyLengthMLA == 0 &&
		len(a.AttentionHeadCountKVs) == 0 && a.AttentionKVFromStartLayerCount == 0
	if !plain {
		return ""
	}

	m := est.Model
	want := KVCacheBytes(m.Layers, m.HeadsKV, m.HeadDim, est.CtxSize, 2)
	if want == est.KVBytes {
		return ""
	}
	return fmt.Sprintf("kv cache: gguf-parser-go estimates %d bytes, "+
		"2 x %d layers x %d kv heads x %d head dim x %d ctx x 2 bytes = %d; "+
		"using the library's figure", est.KVBytes, m.Layers, m.HeadsKV, m.HeadDim,
		est.CtxSize, want)
}
