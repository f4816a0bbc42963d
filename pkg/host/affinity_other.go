//go:build !linux

package host

import "runtime"

// affinityCount returns runtime.NumCPU, which on these systems already
// reflects what the process may use as far as Go can tell.
func affinityCount() int {
	return runtime.NumCPU()
}
