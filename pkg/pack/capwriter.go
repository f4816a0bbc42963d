package pack

import (
	"bytes"
	"fmt"
	"io"
)

// tailMax is the most bytes a capWriter keeps past its limit.
const tailMax = 256 << 10

// capWriter streams a child's output into a file, keeping at most limit bytes
// at the head. Past the limit only the last tailMax bytes are kept in a ring,
// allocated on first use, and appended at Close after a line that says how
// many bytes were dropped. It is used by one goroutine at a time.
type capWriter struct {
	w        io.WriteCloser
	limit    int64
	tailSize int

	head  int64  // bytes written to w
	total int64  // bytes given to Write
	last  byte   // last byte written to w, to end the head's line
	ring  []byte // tail past the limit, nil until needed
	ringN int64  // bytes given to the ring
	err   error  // first error from w

	dropped int64 // set by Close
}

// newCapWriter returns a capWriter over w that keeps limit bytes at the head
// and up to min(tail, limit) bytes at the tail; limit must be positive.
func newCapWriter(w io.WriteCloser, limit int64, tail int) *capWriter {
	if int64(tail) > limit {
		tail = int(limit)
	}
	return &capWriter{w: w, limit: limit, tailSize: tail}
}

// Write never fails, so that the copier keeps draining the pipe; an error
// from the file is kept and returned by Close.
func (c *capWriter) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)

	if c.head < c.limit {
		k := min(int64(len(p)), c.limit-c.head)
		c.writeHead(p[:k])
		p = p[k:]
	}
	if len(p) > 0 {
		c.writeRing(p)
	}
	return n, nil
}

// writeHead writes p to the file unless an earlier write failed.
func (c *capWriter) writeHead(p []byte) {
	c.head += int64(len(p))
	if c.err != nil || len(p) == 0 {
		return
	}
	if _, err := c.w.Write(p); err != nil {
		c.err = fmt.Errorf("write output: %w", err)
		return
	}
	c.last = p[len(p)-1]
}

// writeRing keeps the last bytes of everything past the head. The ring
// holds one byte more than the tail, so that Close can tell whether the kept
// tail starts at a line.
func (c *capWriter) writeRing(p []byte) {
	if c.tailSize == 0 {
		c.ringN += int64(len(p))
		return
	}
	if c.ring == nil {
		c.ring = make([]byte, c.tailSize+1)
	}

	// only the last len(c.ring) bytes of p can survive.
	size := len(c.ring)
	if len(p) > size {
		c.ringN += int64(len(p) - size)
		p = p[len(p)-size:]
	}
	for len(p) > 0 {
		at := int(c.ringN % int64(size))
		k := copy(c.ring[at:], p)
		c.ringN += int64(k)
		p = p[k:]
	}
}

// tail returns the ring's bytes in order and whether bytes were lost before
// them.
func (c *capWriter) tail() ([]byte, bool) {
	size := int64(len(c.ring))
	if c.ringN <= size {
		return c.ring[:c.ringN], c.ringN > 0 && c.ring == nil
	}
	at := int(c.ringN % size)
	out := make([]byte, 0, size)
	out = append(out, c.ring[at:]...)
	return append(out, c.ring[:at]...), true
}

// Close appends the kept tail, with a dropped-bytes line when bytes were
// lost, and closes the file. It returns the first write error.
func (c *capWriter) Close() error {
	tail, lost := c.tail()

	// after a loss the first kept byte only says whether the next starts a
	// line; a tail that does not is cut to its first full line.
	if lost && len(tail) > 0 {
		i := 0
		if tail[0] != '\n' {
			i = bytes.IndexByte(tail, '\n')
			if i < 0 || i == len(tail)-1 {
				i = 0
			}
		}
		tail = tail[i+1:]
	}
	c.dropped = c.ringN - int64(len(tail))

	if c.dropped > 0 {
		nl := ""
		if c.head > 0 && c.last != '\n' {
			nl = "\n"
		}
		c.writeHead(fmt.Appendf(nil, "%s[packbench: %d bytes dropped]\n", nl, c.dropped))
	}
	c.writeHead(tail)
	c.ring = nil

	if err := c.w.Close(); err != nil && c.err == nil {
		c.err = fmt.Errorf("close output: %w", err)
	}
	return c.err
}

// Total is the number of bytes given to Write.
func (c *capWriter) Total() int64 { return c.total }

// Dropped is the number of bytes that did not reach the file; valid after
// Close.
func (c *capWriter) Dropped() int64 { return c.dropped }
