package memory_test

import (
	"math"
	"testing"

	"github.com/packbench/packbench/pkg/memory"
)

// TestCase15KVCacheForLlama3Shapes checks the per-copy KV cache of case 15:
// a Llama-3-8B-class model (32 layers, 8 KV heads of 128) with an f16 cache.
func TestCase15KVCacheForLlama3Shapes(t *testing.T) {
	tests := []struct {
		name    string
		ctx     int
		bytes   float64
		wantMiB uint64
	}{
		{"explicit -c 4096", 4096, 2, 512},
		{"unset -c, training context", 131072, 2, 16384},
		{"q8_0 cache at 4096", 4096, 34.0 / 32, 272},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memory.KVCacheBytes(32, 8, 128, tt.ctx, tt.bytes)
			if want := tt.wantMiB * memory.MiB; got != want {
				t.Errorf("KVCacheBytes(32, 8, 128, %d, %v) = %d, want %d",
					tt.ctx, tt.bytes, got, want)
			}
		})
	}

	// the failing copy asked for the 16 GiB cache plus a little alignment.
	if got := memory.KVCacheBytes(32, 8, 128, 131072, 2); got > 17179869216 {
		t.Errorf("KVCacheBytes at 131072 = %d, want at most the failed allocation 17179869216", got)
	}
}

func TestKVCacheBytesRejectsNonPositive(t *testing.T) {
	tests := []struct {
		name                          string
		layers, headsKV, headDim, ctx int
		bytes                         float64
	}{
		{"zero layers", 0, 8, 128, 4096, 2},
		{"negative ctx", 32, 8, 128, -1, 2},
		{"zero bytes", 32, 8, 128, 4096, 0},
		{"nan bytes", 32, 8, 128, 4096, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memory.KVCacheBytes(tt.layers, tt.headsKV, tt.headDim, tt.ctx, tt.bytes)
			if got != 0 {
				t.Errorf("KVCacheBytes(%d, %d, %d, %d, %v) = %d, want 0",
					tt.layers, tt.headsKV, tt.headDim, tt.ctx, tt.bytes, got)
			}
		})
	}
}

// TestCase16NeedFromBuffers checks the arithmetic of case 16: four copies of
// a 4.3 GiB Q4_0 model whose CPU repacks its weights.
func TestCase16NeedFromBuffers(t *testing.T) {
	const (
		mapped   = 4403.49
		repack   = 4219.87
		output   = 0.49
		buffers  = 512.00 + 300.75           // KV and compute; the case's 812.75 leaves out output
		private  = repack + buffers + output // 5033.11
		availMiB = 28.0 * 1024
	)
	tests := []struct {
		name    string
		mapped  float64
		private float64
		mmap    bool
		wantMiB float64
	}{
		{"mmap with repack", mapped, private, true, 24535.93},
		{"no-mmap, repack in place", mapped, buffers, false, 20864.96},
		{"mmap without repack", mapped, buffers, true, 7654.49},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memory.NeedFromBuffers(tt.mapped, tt.private, 4, tt.mmap)
			if math.Abs(got-tt.wantMiB) > 0.005 {
				t.Errorf("NeedFromBuffers(%v, %v, 4, %v) = %.2f, want %.2f",
					tt.mapped, tt.private, tt.mmap, got, tt.wantMiB)
			}
			if got > availMiB*0.9 {
				t.Errorf("NeedFromBuffers(...) = %.2f MiB, want it to fit 90%% of 28 GiB", got)
			}
		})
	}

	// summing the per-copy max RSS (9663078 KiB) would wrongly refuse the run.
	rssSumMiB := 4 * 9663078.0 / 1024
	if c := memory.CheckFit(uint64(rssSumMiB*memory.MiB), uint64(availMiB*memory.MiB), 1); c.Fits {
		t.Errorf("CheckFit(sum of RSS %.0f MiB, 28 GiB, 1).Fits = true, want false", rssSumMiB)
	}
	if got := memory.NeedFromBuffers(mapped, private, 0, true); got != 0 {
		t.Errorf("NeedFromBuffers(..., 0, true) = %v, want 0", got)
	}
}

func TestCheckFit(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name         string
		total, avail uint64
		headroom     float64
		wantCap      uint64
		wantHeadroom float64
		wantFits     bool
	}{
		{"well inside", 10 * gib, 28 * gib, 0.9, 28 * gib * 9 / 10, 0.9, true},
		{"exactly at the cap", 9 * gib, 10 * gib, 0.9, 9 * gib, 0.9, true},
		{"one byte over the cap", 9*gib + 1, 10 * gib, 0.9, 9 * gib, 0.9, false},
		{"fits available, not the headroom", 27 * gib, 28 * gib, 0.9, 28 * gib * 9 / 10, 0.9,
			false},
		{"headroom above one clamps", 11 * gib, 10 * gib, 1.5, 10 * gib, 1, false},
		{"full headroom", 10 * gib, 10 * gib, 1, 10 * gib, 1, true},
		{"negative headroom", 1, 10 * gib, -0.5, 0, 0, false},
		{"nan headroom", 1, 10 * gib, math.NaN(), 0, 0, false},
		{"nothing available", 0, 0, 0.9, 0, 0.9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memory.CheckFit(tt.total, tt.avail, tt.headroom)
			want := memory.Check{
				TotalBytes: tt.total, CapBytes: tt.wantCap, AvailableBytes: tt.avail,
				Headroom: tt.wantHeadroom, Fits: tt.wantFits,
			}
			if got != want {
				t.Errorf("CheckFit(%d, %d, %v) = %+v, want %+v",
					tt.total, tt.avail, tt.headroom, got, want)
			}
		})
	}
}
