package synth

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Weight construction. Matrices are uniform random with amplitude
// 1/sqrt(fan-in), token embeddings with amplitude embdAmp, norms are 1.0.
// One residual dimension, number 0, is a control channel that keeps the
// control tokens (<unk>, <s>, </s>) and the byte tokens from ever being
// sampled, so a run never ends at end of stream and never prints broken
// UTF-8:
//   - row 0 of every attn_output and ffn_down is zero, so no layer writes
//     dimension 0: the final hidden state at a position keeps the sign of
//     its own token's embedding there, through the final RMS norm;
//   - untied: every token embedding has chanValue in dimension 0, and the
//     output rows of the suppressed tokens have -256 there (the control
//     tokens' rows are zero elsewhere), so their logits are -256 times a
//     positive number while the others stay within a few units of zero;
//   - tied (token_embd is also the output): normal tokens have tiedChan in
//     dimension 0 and suppressed tokens tiedChan/2. Whatever the input
//     token, a normal token's logit then gets twice the channel term of a
//     suppressed one, with h0 = x0/rms(x) > 0, a margin of tens of logits.
const (
	embdAmp   = 0.25
	chanValue = 1.0
	tiedChan  = 8.0
)

// byteLogit is the dimension-0 weight of the byte tokens' output rows when
// untied, controlLogit that of the control tokens. Tests flip the sign of
// controlLogit to show that the channel is what decides.
const byteLogit = -256

var controlLogit float32 = -256

// fill says how a tensor's rows are made.
type fill int

const (
	fillOnes    fill = iota // every value 1.0 (norm weights)
	fillRandom              // random
	fillZeroRow             // random, row 0 zero (writers into the residual)
	fillEmbd                // random, dimension 0 set to chanValue
	fillOutput              // random, control and byte tokens' rows suppressed
)

// tensor is one tensor of the file: ne0 values per row, ne1 rows.
type tensor struct {
	name     string
	ne0, ne1 int
	typ      ggmlType
	fill     fill
	amp      float32 // amplitude of the random values
	tied     bool    // token_embd doubles as output
}

func (t tensor) bytes() int64 { return int64(t.ne1) * t.typ.rowBytes(t.ne0) }

// tensors lists the tensors of a spec in file order.
func tensors(spec Spec) []tensor {
	s := spec.Shape
	typ, _ := spec.Type.ggml()
	kv := s.headDim() * s.HeadsKV
	mat := func(name string, ne0, ne1 int, f fill) tensor {
		return tensor{name: name, ne0: ne0, ne1: ne1, typ: typ, fill: f,
			amp: float32(1 / math.Sqrt(float64(ne0)))}
	}
	norm := func(name string) tensor {
		return tensor{name: name, ne0: s.Embd, ne1: 1, typ: ggmlF32, fill: fillOnes}
	}

	ts := []tensor{{name: "token_embd.weight", ne0: s.Embd, ne1: s.Vocab, typ: typ,
		fill: fillEmbd, amp: embdAmp, tied: s.Tied}}
	for i := 0; i < s.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", s.Embd, s.Embd, fillRandom),
			mat(p+"attn_k.weight", s.Embd, kv, fillRandom),
			mat(p+"attn_v.weight", s.Embd, kv, fillRandom),
			mat(p+"attn_output.weight", s.Embd, s.Embd, fillZeroRow),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", s.Embd, s.FFN, fillRandom),
			mat(p+"ffn_up.weight", s.Embd, s.FFN, fillRandom),
			mat(p+"ffn_down.weight", s.FFN, s.Embd, fillZeroRow),
		)
	}
	ts = append(ts, norm("output_norm.weight"))
	if !s.Tied {
		ts = append(ts, mat("output.weight", s.Embd, s.Vocab, fillOutput))
	}
	return ts
}

// wordsPerBlock is how many 64-bit draws make one block of 32 values.
func (g ggmlType) wordsPerBlock() uint64 {
	switch g {
	case ggmlQ4_0:
		return 2 // 32 nibbles
	case ggmlQ8_0:
		return 4 // 32 bytes
	}
	return blockSize / 2 // two 32-bit draws per word
}

// row writes row r of t into dst, which is t.typ.rowBytes(t.ne0) long;
// key is the tensor's stream key. Rows depend on nothing but (key, r).
func (t tensor) row(dst []byte, key uint64, r int) {
	switch {
	case t.fill == fillOnes:
		for i := 0; i < len(dst); i += 4 {
			binary.LittleEndian.PutUint32(dst[i:], math.Float32bits(1))
		}
	case t.fill == fillZeroRow && r == 0:
		clear(dst)
	case t.fill == fillOutput && r < firstWord && isControl(r):
		t.suppressedRow(dst, key, r, controlLogit)
	case t.fill == fillOutput && r < firstWord:
		t.suppressedRow(dst, key, r, byteLogit)
	case t.fill == fillEmbd && t.tied && r < firstWord:
		t.suppressedRow(dst, key, r, tiedChan/2)
	default:
		t.randomRow(dst, key, t.firstWord(r))
		switch {
		case t.fill == fillEmbd && t.tied:
			t.setFirst(dst, tiedChan)
		case t.fill == fillEmbd:
			t.setFirst(dst, chanValue)
		}
	}
}

// firstWord is the number of the first draw of row r.
func (t tensor) firstWord(r int) uint64 {
	return uint64(r) * uint64(t.ne0/blockSize) * t.typ.wordsPerBlock()
}

func isControl(id int) bool { return id == tokUnk || id == tokBOS || id == tokEOS }

// suppressedRow writes the row of a control or byte token: v in dimension
// 0, zeros elsewhere for control tokens and random values for bytes.
func (t tensor) suppressedRow(dst []byte, key uint64, r int, v float32) {
	if isControl(r) {
		clear(dst)
	} else {
		t.randomRow(dst, key, t.firstWord(r))
	}
	t.setFirst(dst, v)
}

// setFirst sets value 0 of a row, requantizing its first block; the other
// 31 values of that block are kept as well as the scale allows.
func (t tensor) setFirst(dst []byte, v float32) {
	var x [blockSize]float32
	switch t.typ {
	case ggmlF32:
		binary.LittleEndian.PutUint32(dst, math.Float32bits(v))
	case ggmlF16:
		putU16(dst, f16(v))
	case ggmlQ8_0:
		dequantQ8(dst, &x)
		x[0] = v
		quantQ8(dst, &x)
	case ggmlQ4_0:
		dequantQ4(dst, &x)
		x[0] = v
		quantQ4(dst, &x)
	}
}

// randomRow fills dst with random values from draw number w0 on. Quantized
// types draw the quants themselves under a fixed scale: q4_0 nibbles
// uniform in -8..7 times amp/8, q8_0 values uniform in -64..63 times
// amp/64; floats are uniform in [-amp, amp).
func (t tensor) randomRow(dst []byte, key, w0 uint64) {
	w := w0
	switch t.typ {
	case ggmlQ4_0:
		d := f16(t.amp / 8)
		for i := 0; i+18 <= len(dst); i += 18 {
			putU16(dst[i:], d)
			binary.LittleEndian.PutUint64(dst[i+2:], word(key, w))
			binary.LittleEndian.PutUint64(dst[i+10:], word(key, w+1))
			w += 2
		}
	case ggmlQ8_0:
		d := f16(t.amp / 64)
		for i := 0; i+34 <= len(dst); i += 34 {
			putU16(dst[i:], d)
			for j := 0; j < 4; j++ {
				binary.LittleEndian.PutUint64(dst[i+2+8*j:], int7s(word(key, w)))
				w++
			}
		}
	case ggmlF16:
		scale := t.amp / (1 << 31)
		for i := 0; i+4 <= len(dst); i += 4 {
			u := word(key, w)
			w++
			putU16(dst[i:], f16(float32(int32(uint32(u)))*scale))
			putU16(dst[i+2:], f16(float32(int32(u>>32))*scale))
		}
	default:
		scale := t.amp / (1 << 31)
		for i := 0; i+8 <= len(dst); i += 8 {
			u := word(key, w)
			w++
			binary.LittleEndian.PutUint32(dst[i:], math.Float32bits(float32(int32(uint32(u)))*scale))
			binary.LittleEndian.PutUint32(dst[i+4:], math.Float32bits(float32(int32(u>>32))*scale))
		}
	}
}

// int7s turns each byte of u into a signed 7-bit value (-64..63) by copying
// bit 6 into bit 7. q8_0 avoids -128, whose magnitude some SIMD dot
// products cannot represent.
func int7s(u uint64) uint64 {
	const low7, bit6 = 0x7f7f7f7f7f7f7f7f, 0x4040404040404040
	return u&low7 | (u&bit6)<<1
}
