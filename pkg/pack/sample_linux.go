//go:build linux

package pack

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// rollupBufSize holds a whole smaps_rollup, which is about 1 KiB.
const rollupBufSize = 4 << 10

// openRollup opens /proc/<pid>/smaps_rollup.
func openRollup(pid int) (int, error) {
	path := fmt.Sprintf("/proc/%d/smaps_rollup", pid)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	return fd, nil
}

// readRollup reads an open smaps_rollup from its start into buf and returns
// its Rss and Pss in bytes; ok is false once the process has no memory left
// to report (it exited).
func readRollup(fd int, buf []byte) (rss, pss uint64, ok bool) {
	n := 0
	for n < len(buf) {
		k, err := unix.Pread(fd, buf[n:], int64(n))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 {
			break
		}
		n += k
	}
	return parseRollup(buf[:n])
}

// parseRollup returns the Rss: and Pss: lines of smaps_rollup in bytes.
func parseRollup(b []byte) (rss, pss uint64, ok bool) {
	var seenRSS, seenPSS bool
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}

		switch {
		case bytes.HasPrefix(line, []byte("Rss:")):
			rss, seenRSS = parseKB(line[len("Rss:"):])
		case bytes.HasPrefix(line, []byte("Pss:")):
			pss, seenPSS = parseKB(line[len("Pss:"):])
		}
	}
	return rss, pss, seenRSS && seenPSS
}

// parseKB parses "   1234 kB" into bytes.
func parseKB(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	b, found := bytes.CutSuffix(b, []byte("kB"))
	if !found {
		return 0, false
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}

	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v << 10, true
}

// sampler keeps the peak RSS and PSS of a pack's live instances. One
// goroutine runs it; its buffer is reused for every read.
type sampler struct {
	every time.Duration
	procs []*proc
	buf   []byte
}

// The sampling schedule. Memory grows fastest while a runner loads its
// model, and a short benchmark run peaks and exits within a second or two,
// so sampling starts every firstSampleGap, doubles to at most denseGap for
// the first densePeriod, then doubles on to s.every: short runs get a
// sample every fifth of a second to their end, and a long pack costs a few
// reads a second at most.
const (
	firstSampleGap = 25 * time.Millisecond
	denseGap       = 200 * time.Millisecond
	densePeriod    = 2 * time.Second
)

// run samples at once and then on the schedule above until stop is closed.
func (s *sampler) run(stop <-chan struct{}) {
	s.buf = make([]byte, rollupBufSize)
	start := time.Now()
	gap := min(firstSampleGap, s.every)
	timer := time.NewTimer(gap)
	defer timer.Stop()

	for {
		for _, pr := range s.procs {
			pr.sample(s.buf)
		}
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		limit := s.every
		if time.Since(start) < densePeriod {
			limit = min(denseGap, s.every)
		}
		gap = min(2*gap, limit)
		timer.Reset(gap)
	}
}
