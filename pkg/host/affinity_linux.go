//go:build linux

package host

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// affinityCount returns how many CPUs the calling thread may run on, from
// sched_getaffinity. When the call fails it falls back to runtime.NumCPU.
func affinityCount() int {
	// TODO(affinity): unix.CPUSet holds 1024 CPUs; larger hosts fail the call
	// and fall back to runtime.NumCPU, which is computed once at start-up.
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return runtime.NumCPU()
	}
	if n := set.Count(); n > 0 {
		return n
	}
	return runtime.NumCPU()
}
