package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// GGUF constants used here.
const (
	ggufMagic   = 0x46554747 // "GGUF" read as a little-endian uint32
	ggufVersion = 3
	alignment   = 32
)

// GGUF metadata value types.
const (
	kvUint32  = 4
	kvInt32   = 5
	kvFloat32 = 6
	kvBool    = 7
	kvString  = 8
	kvArray   = 9
)

// ggmlType is a tensor storage type as numbered by ggml.
type ggmlType uint32

const (
	ggmlF32  ggmlType = 0
	ggmlF16  ggmlType = 1
	ggmlQ4_0 ggmlType = 2
	ggmlQ8_0 ggmlType = 8
)

// ggml returns the tensor type and the general.file_type value of t.
func (t Type) ggml() (ggmlType, uint32) {
	switch t {
	case F16:
		return ggmlF16, 1
	case Q4_0:
		return ggmlQ4_0, 2
	case Q8_0:
		return ggmlQ8_0, 7
	}
	return ggmlF32, 0
}

// rowBytes is the stored size of n values of type g; n is a multiple of 32.
func (g ggmlType) rowBytes(n int) int64 {
	switch g {
	case ggmlF16:
		return int64(n) * 2
	case ggmlQ4_0:
		return int64(n/blockSize) * 18
	case ggmlQ8_0:
		return int64(n/blockSize) * 34
	}
	return int64(n) * 4
}

// le writes little-endian values and keeps the first error, so a long run
// of writes needs one check at the end.
type le struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *le) bytes(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

func (e *le) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}

func (e *le) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}

func (e *le) f32(v float32) { e.u32(math.Float32bits(v)) }

func (e *le) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		n, err := io.WriteString(e.w, s)
		e.n += int64(n)
		e.err = err
	}
}

func (e *le) pad(to int64) {
	var zero [alignment]byte
	e.bytes(zero[:(to-e.n%to)%to])
}

// header writes everything before the tensor data: the fixed header, the
// metadata, the tensor infos and the padding up to the data.
func header(e *le, spec Spec, ts []tensor) {
	s := spec.Shape
	_, fileType := spec.Type.ggml()
	kvs := []func(){
		kvStr(e, "general.architecture", "llama"),
		kvStr(e, "general.name", spec.name()),
		kvStr(e, "general.description", "packbench synthetic model: random weights, "+
			spec.String()),
		kvU32(e, "general.file_type", fileType),
		kvU32(e, "general.quantization_version", 2),
		kvU32(e, "general.alignment", alignment),
		kvU32(e, "llama.context_length", uint32(s.Ctx)),
		kvU32(e, "llama.embedding_length", uint32(s.Embd)),
		kvU32(e, "llama.block_count", uint32(s.Layers)),
		kvU32(e, "llama.feed_forward_length", uint32(s.FFN)),
		kvU32(e, "llama.attention.head_count", uint32(s.Heads)),
		kvU32(e, "llama.attention.head_count_kv", uint32(s.HeadsKV)),
		kvU32(e, "llama.rope.dimension_count", uint32(s.headDim())),
		kvF32(e, "llama.rope.freq_base", float32(s.ropeBase())),
		kvF32(e, "llama.attention.layer_norm_rms_epsilon", 1e-5),
		kvU32(e, "llama.vocab_size", uint32(s.Vocab)),
		kvStr(e, "tokenizer.ggml.model", "llama"),
		kvTokens(e, s.Vocab),
		kvScores(e, s.Vocab),
		kvTokenTypes(e, s.Vocab),
		kvU32(e, "tokenizer.ggml.unknown_token_id", tokUnk),
		kvU32(e, "tokenizer.ggml.bos_token_id", tokBOS),
		kvU32(e, "tokenizer.ggml.eos_token_id", tokEOS),
		kvBoolean(e, "tokenizer.ggml.add_bos_token", true),
		kvBoolean(e, "tokenizer.ggml.add_eos_token", false),
	}

	e.u32(ggufMagic)
	e.u32(ggufVersion)
	e.u64(uint64(len(ts)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		kv()
	}

	var off int64
	for _, t := range ts {
		e.str(t.name)
		if t.ne1 == 1 {
			e.u32(1)
			e.u64(uint64(t.ne0))
		} else {
			e.u32(2)
			e.u64(uint64(t.ne0))
			e.u64(uint64(t.ne1))
		}
		e.u32(uint32(t.typ))
		e.u64(uint64(off))
		off = alignUp(off + t.bytes())
	}
	e.pad(alignment)
}

func alignUp(n int64) int64 { return (n + alignment - 1) / alignment * alignment }

// name is general.name.
func (s Spec) name() string {
	return fmt.Sprintf("synth-%s-%s-s%d", s.Shape.Name, s.Type, s.Seed)
}

// The kv helpers return a closure so header can count the pairs before it
// writes them.

func kvStr(e *le, key, v string) func() {
	return func() { e.str(key); e.u32(kvString); e.str(v) }
}

func kvU32(e *le, key string, v uint32) func() {
	return func() { e.str(key); e.u32(kvUint32); e.u32(v) }
}

func kvF32(e *le, key string, v float32) func() {
	return func() { e.str(key); e.u32(kvFloat32); e.f32(v) }
}

func kvBoolean(e *le, key string, v bool) func() {
	return func() {
		e.str(key)
		e.u32(kvBool)
		if v {
			e.bytes([]byte{1})
		} else {
			e.bytes([]byte{0})
		}
	}
}

func kvList(e *le, key string, elem uint32, n int, each func(i int)) func() {
	return func() {
		e.str(key)
		e.u32(kvArray)
		e.u32(elem)
		e.u64(uint64(n))
		for i := 0; i < n && e.err == nil; i++ {
			each(i)
		}
	}
}

func kvTokens(e *le, vocab int) func() {
	return kvList(e, "tokenizer.ggml.tokens", kvString, vocab,
		func(i int) { e.str(tokenText(i)) })
}

func kvScores(e *le, vocab int) func() {
	return kvList(e, "tokenizer.ggml.scores", kvFloat32, vocab,
		func(i int) { e.f32(tokenScore(i)) })
}

func kvTokenTypes(e *le, vocab int) func() {
	return kvList(e, "tokenizer.ggml.token_type", kvInt32, vocab,
		func(i int) { e.u32(uint32(tokenType(i))) })
}
