package synth

import (
	"math"
	"testing"
)

func TestWordKnownAnswer(t *testing.T) {
	// the first output of splitmix64 seeded with 0, as published with the
	// algorithm; pins the generator on every platform.
	if got, want := word(0, 0), uint64(0xe220a8397b1dcdaf); got != want {
		t.Errorf("word(0, 0) = %#x, want %#x", got, want)
	}
	if got, want := word(0, 1), uint64(0x6e789e6aa1b965f4); got != want {
		t.Errorf("word(0, 1) = %#x, want %#x", got, want)
	}
}

func TestF16(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},
		{65519, 0x7bff},                       // below the halfway point to 65536
		{65520, 0x7c00},                       // rounds up to infinity
		{1 + 1.0/2048, 0x3c00},                // tie, even mantissa stays
		{1 + 3.0/2048, 0x3c02},                // tie, odd mantissa rounds up
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000}, // tie to even: zero
		{float32(math.Ldexp(3, -26)), 0x0001}, // above the tie
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1e-10, 0x0000},
	}
	for _, tt := range tests {
		if got := f16(tt.in); got != tt.want {
			t.Errorf("f16(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	if got := f16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("f16(NaN) = %#04x, want a NaN", got)
	}
}

func TestF16RoundTripsEveryHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN payloads are not kept
		}
		if got := f16(f16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("f16(f16ToF32(%#04x)) = %#04x, want %#04x", h, got, h)
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	var x [blockSize]float32
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*1.7)) * 0.3
	}
	x[5] = -0.9 // the peak, negative

	tests := []struct {
		name   string
		n      int
		quant  func([]byte, *[blockSize]float32)
		dequan func([]byte, *[blockSize]float32)
		levels float32 // steps from zero to the peak
	}{
		{"q8_0", 34, quantQ8, dequantQ8, 127},
		{"q4_0", 18, quantQ4, dequantQ4, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.n)
			tt.quant(buf, &x)
			var y [blockSize]float32
			tt.dequan(buf, &y)

			step := 0.9 / tt.levels
			for i := range x {
				if d := abs32(y[i] - x[i]); d > step*0.51 {
					t.Errorf("value %d = %g, want %g within %g", i, y[i], x[i], step/2)
				}
			}
		})
	}
}

func TestInt7sRange(t *testing.T) {
	seen := map[int8]bool{}
	for i := uint64(0); i < 4096; i++ {
		u := int7s(word(42, i))
		for k := 0; k < 8; k++ {
			v := int8(u >> (8 * k))
			if v < -64 || v > 63 {
				t.Fatalf("int7s byte = %d, want -64..63", v)
			}
			seen[v] = true
		}
	}
	if got, want := len(seen), 128; got != want {
		t.Errorf("distinct int7s values = %d, want %d", got, want)
	}
}

func TestTokenText(t *testing.T) {
	tests := []struct {
		id   int
		want string
		typ  int32
	}{
		{0, "<unk>", typeUnknown},
		{1, "<s>", typeControl},
		{2, "</s>", typeControl},
		{3, "<0x00>", typeByte},
		{3 + 0x0a, "<0x0A>", typeByte},
		{258, "<0xFF>", typeByte},
		{259, "\u2581a", typeNormal},
		{260, "a", typeNormal},
		{259 + 2*25, "\u2581z", typeNormal},
		{259 + 2*26 + 1, "aa", typeNormal},
		{259 + 2*(26+26*26) + 1, "aaa", typeNormal},
	}
	for _, tt := range tests {
		if got := tokenText(tt.id); got != tt.want {
			t.Errorf("tokenText(%d) = %q, want %q", tt.id, got, tt.want)
		}
		if got := tokenType(tt.id); got != tt.typ {
			t.Errorf("tokenType(%d) = %d, want %d", tt.id, got, tt.typ)
		}
	}

	seen := map[string]int{}
	for i := 0; i < 128256; i++ {
		s := tokenText(i)
		if j, dup := seen[s]; dup {
			t.Fatalf("tokenText(%d) = tokenText(%d) = %q, want unique", i, j, s)
		}
		seen[s] = i
	}
}
