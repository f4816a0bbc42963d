//go:build linux

package pack

import "time"

// UseLoopStart switches how packs start, for benchmarks that compare the
// strategies, and returns a func that restores the previous one.
func UseLoopStart(loop bool) (restore func()) {
	old := strategy
	strategy = startParallel
	if loop {
		strategy = startLoop
	}
	return func() { strategy = old }
}

// SetDrainWait changes the bound on draining output after a reap and
// returns a func that restores it.
func SetDrainWait(d time.Duration) (restore func()) {
	old := drainWait
	drainWait = d
	return func() { drainWait = old }
}
