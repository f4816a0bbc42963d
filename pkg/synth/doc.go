// Package synth writes synthetic llama-architecture GGUF models of a named
// shape with random weights, and inspects any GGUF file.
//
// A model is named by a Spec, written "synth:SHAPE:TYPE[:SEED]" (see
// ParseModelRef): the same Spec gives the same bytes on every host, Go
// version and platform, so hosts of a benchmark can each make the file
// instead of downloading it. Write streams the file in constant memory;
// WriteFile writes it atomically and returns its size and sha256; Size and
// Params answer without writing.
//
// The files are GGUF v3, little-endian, aligned to 32, with the llama
// metadata llama.cpp needs and a small SentencePiece-style byte-level
// tokenizer (control tokens, the 256 byte tokens, then made-up lowercase
// words). Weights are drawn from a counter-based splitmix64 stream keyed by
// the seed and the tensor's index. A control channel in the weights (see
// tensor.go) keeps end of stream and byte tokens from ever being sampled, so
// a runner always generates the number of tokens it is asked for.
//
// Inspect reads the header of any GGUF file with gguf-parser-go.
package synth
