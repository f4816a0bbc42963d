// Package memory estimates how much RAM a pack of M runner processes of one
// model needs, and checks that need against MemAvailable before any copy starts.
//
// The estimate splits memory the way the kernel shares it. Weights that a
// runner maps from the model file are shared by every copy and counted once;
// with --no-mmap (or a non-mapping load mode) each copy reads its own. The KV
// cache, the compute buffer, the logits output buffer and a fixed runtime
// allowance are private to each copy. Summing per-copy RSS would count the
// mapped weights M times and refuse runs that fit.
//
// Where the numbers come from, for a readable GGUF (Source "gguf"):
//
//   - weights, KV cache and compute buffer: gguf-parser-go's llama.cpp run
//     estimate for the given context on the CPU (no layers offloaded, f16
//     cache). The KV figure is cross-checked against KVCacheBytes, the
//     2 x layers x kv_heads x head_dim x n_ctx x bytes formula; a mismatch is
//     reported in Warning and the library's figure is kept.
//   - output buffer: computed here as n_vocab x 4 bytes for one sequence,
//     what llama.cpp reserves at context creation (0.49 MiB for a
//     128k-vocabulary model). The library sizes it for a whole micro-batch of
//     logits, which llama-cli and llama-bench never request.
//   - runtime overhead: a fixed allowance per process (see
//     DefaultRuntimeOverheadBytes); the library's bootstrap footprint
//     (loader scratch, metadata copy, tokenizer tables) is not added on top,
//     because the allowance is sized to hold it.
//
// A llamafile (an APE executable with a zip at its end) is read through the
// uncompressed .gguf entry inside the zip. A file that is neither falls back
// to its size as the weights (Source "file-size") with a Warning that says why.
//
// Weight repacking (CPU_REPACK buffers) is not estimated: it depends on the
// CPU and the build. When a probe run has printed its buffer sizes,
// NeedFromBuffers turns them into the pack's need directly.
package memory
