package memory

import "math"

// DefaultHeadroom is the share of MemAvailable a pack may plan to use; the
// rest absorbs estimate error, page-cache churn and the host's own growth.
const DefaultHeadroom = 0.9

// Check is the verdict of comparing a pack's need with available memory.
type Check struct {
	TotalBytes     uint64  `json:"total_bytes"`
	CapBytes       uint64  `json:"cap_bytes"`
	AvailableBytes uint64  `json:"available_bytes"`
	Headroom       float64 `json:"headroom"`
	Fits           bool    `json:"fits"`
}

// CheckFit compares total with headroom x memAvailable. A headroom above 1 is
// taken as 1, so a pack never plans on more than is available; zero,
// negative or NaN is taken as 0, so nothing fits.
func CheckFit(total, memAvailable uint64, headroom float64) Check {
	switch {
	case math.IsNaN(headroom) || headroom < 0:
		headroom = 0
	case headroom > 1:
		headroom = 1
	}

	capBytes := memAvailable
	if headroom < 1 {
		capBytes = uint64(headroom * float64(memAvailable))
	}
	return Check{
		TotalBytes:     total,
		CapBytes:       capBytes,
		AvailableBytes: memAvailable,
		Headroom:       headroom,
		Fits:           capBytes > 0 && total <= capBytes,
	}
}

// NeedFromBuffers is the need in MiB of n copies, computed from the buffer
// sizes one probe copy printed: mappedMiB (the CPU_Mapped model buffer) is
// shared once under mmap, privateMiB (repacked weights, KV, compute, output)
// is per copy. Without mmap every copy holds both.
func NeedFromBuffers(mappedMiB, privateMiB float64, n int, mmap bool) float64 {
	if n <= 0 {
		return 0
	}
	if mmap {
		return mappedMiB + float64(n)*privateMiB
	}
	return float64(n) * (mappedMiB + privateMiB)
}
