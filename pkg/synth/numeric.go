package synth

import "math"

// blockSize is the number of weights in one q8_0 or q4_0 block.
const blockSize = 32

// golden is the splitmix64 increment.
const golden = 0x9e3779b97f4a7c15

// mix is the splitmix64 finaliser: a bijection on uint64 whose outputs pass
// the usual statistical tests when fed a counter. Only integer operations,
// so every platform and Go version gives the same bits.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// tensorKey is the stream key of tensor number index for a seed.
func tensorKey(seed uint64, index int) uint64 {
	return mix(mix(seed) + uint64(index+1)*0xd1b54a32d192ed03)
}

// word is the i-th 64-bit draw of the stream with the given key: a
// counter-based generator, so any part of a tensor can be made on its own.
func word(key, i uint64) uint64 {
	return mix(key + (i+1)*golden)
}

// f16 converts a float32 to IEEE 754 binary16, rounding to nearest even;
// values beyond the range become infinities and NaN stays NaN.
func f16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff

	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 31 {
		return sign | 0x7c00
	}

	// results below the normal range: shift the full mantissa into a
	// subnormal, whatever falls off decides the rounding.
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := man | 0x800000
		shift := uint(14 - e)
		return sign | uint16(roundShift(m, shift))
	}

	// a carry out of the mantissa rightly bumps the exponent, up to infinity.
	h := uint32(e)<<10 | man>>13
	rest := man & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// roundShift is m >> shift rounded to nearest, ties to even.
func roundShift(m uint32, shift uint) uint32 {
	h := m >> shift
	rest := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || (rest == half && h&1 == 1) {
		h++
	}
	return h
}

// f16ToF32 widens a binary16 value exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// subnormal: value is man * 2^-24.
		v := float32(man) * float32(1.0/(1<<24))
		if sign != 0 {
			return -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// quantQ8 stores 32 values as q8_0 (an f16 scale d, then 32 int8 q with
// value q*d) into dst[:34], choosing d so the largest magnitude maps to 127.
func quantQ8(dst []byte, x *[blockSize]float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}

	putU16(dst, f16(d))
	for i, v := range x {
		dst[2+i] = byte(int8(math.Round(float64(v * id))))
	}
}

// quantQ4 stores 32 values as q4_0 (an f16 scale d, then 16 bytes of
// nibbles q with value (q-8)*d; byte j holds value j low and value j+16
// high) into dst[:18]. The value of largest magnitude maps to -8.
func quantQ4(dst []byte, x *[blockSize]float32) {
	var amax, peak float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, peak = a, v
		}
	}
	d := peak / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}

	putU16(dst, f16(d))
	// the explicit float32 conversions stop a fused multiply-add, which
	// would round differently on some platforms.
	for j := 0; j < blockSize/2; j++ {
		lo := min(15, int8(float32(x[j]*id)+8.5))
		hi := min(15, int8(float32(x[j+blockSize/2]*id)+8.5))
		dst[2+j] = byte(lo) | byte(hi)<<4
	}
}

// dequantQ8 and dequantQ4 read a block back, for tests and for the
// control-channel blocks.
func dequantQ8(src []byte, x *[blockSize]float32) {
	d := f16ToF32(getU16(src))
	for i := range x {
		x[i] = float32(int8(src[2+i])) * d
	}
}

func dequantQ4(src []byte, x *[blockSize]float32) {
	d := f16ToF32(getU16(src))
	for j := 0; j < blockSize/2; j++ {
		x[j] = float32(int(src[2+j]&0x0f)-8) * d
		x[j+blockSize/2] = float32(int(src[2+j]>>4)-8) * d
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

func getU16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
