package synth

import (
	"io"
	"sync"
)

// Sizes of the asyncWriter's chunks and how many it keeps: enough to keep a
// disk busy while the next chunk is generated, small enough to stay a fixed
// cost next to the file.
const (
	asyncChunk  = 4 << 20
	asyncChunks = 3
)

// asyncWriter hands what it is given to w from a goroutine of its own, so
// that making the next bytes (random weights and their hash) overlaps with
// the disk taking the last ones. It copies each Write into one of a fixed
// set of chunks, so its memory is bounded and callers may reuse p at once.
// Close flushes and must be called; the first error of w is returned by the
// Write or Close that follows it.
type asyncWriter struct {
	w    io.Writer
	cur  []byte
	free chan []byte
	full chan []byte
	done chan struct{}

	mu  sync.Mutex
	err error
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{
		w:    w,
		free: make(chan []byte, asyncChunks),
		full: make(chan []byte, asyncChunks),
		done: make(chan struct{}),
	}
	for range asyncChunks - 1 {
		a.free <- make([]byte, 0, asyncChunk)
	}
	a.cur = make([]byte, 0, asyncChunk)
	go a.drain()
	return a
}

// drain writes full chunks in order until Close; after an error it only
// returns chunks so that Write never blocks on a dead writer.
func (a *asyncWriter) drain() {
	defer close(a.done)
	for c := range a.full {
		if a.failed() == nil {
			if _, err := a.w.Write(c); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- c[:0]
	}
}

func (a *asyncWriter) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := a.failed(); err != nil {
			return n, err
		}
		k := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+k]
		p = p[k:]
		n += k
		if len(a.cur) == cap(a.cur) {
			a.full <- a.cur
			a.cur = <-a.free
		}
	}
	return n, nil
}

// Close writes what is left, waits for the goroutine and returns the first
// error of w. It must be called once, also after a failed Write.
func (a *asyncWriter) Close() error {
	if len(a.cur) > 0 {
		a.full <- a.cur
		a.cur = nil
	}
	close(a.full)
	<-a.done
	return a.failed()
}
