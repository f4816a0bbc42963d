package synth

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestAsyncWriterKeepsOrderAndCopies(t *testing.T) {
	// Writes of many sizes, some larger than a chunk, with the caller's
	// buffer overwritten after each Write as bufio does.
	var want, got bytes.Buffer
	a := newAsyncWriter(&got)
	p := make([]byte, 3*asyncChunk+17)
	sizes := []int{1, 4095, asyncChunk, asyncChunk - 1, 2, len(p), 12345, asyncChunk + 1}
	for i, n := range sizes {
		for j := range p[:n] {
			p[j] = byte(i*31 + j)
		}
		want.Write(p[:n])
		if k, err := a.Write(p[:n]); k != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v, want %d, nil", n, k, err, n)
		}
		clear(p)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("asyncWriter wrote %d bytes differing from the %d given", got.Len(), want.Len())
	}
}

// limitWriter fails once it has taken limit bytes.
type limitWriter struct {
	limit int
	n     int
}

var errLimit = errors.New("no space left on device")

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+len(p) > l.limit {
		return 0, errLimit
	}
	l.n += len(p)
	return len(p), nil
}

func TestAsyncWriterReportsFirstError(t *testing.T) {
	a := newAsyncWriter(&limitWriter{limit: asyncChunk})
	p := make([]byte, asyncChunk)
	var werr error
	// The writer fails on the second chunk; at most a few more chunks are
	// taken before Write reports it. The bound keeps a bug from looping.
	for range 4 * asyncChunks {
		if _, werr = a.Write(p); werr != nil {
			break
		}
	}
	cerr := a.Close()
	if !errors.Is(cerr, errLimit) {
		t.Errorf("Close() = %v, want %v", cerr, errLimit)
	}
	if !errors.Is(werr, errLimit) {
		t.Errorf("Write after the failure = %v, want %v", werr, errLimit)
	}
}

func TestAsyncWriterSmallTail(t *testing.T) {
	var got bytes.Buffer
	a := newAsyncWriter(&got)
	if _, err := io.WriteString(a, "gguf"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil || got.String() != "gguf" {
		t.Errorf("Close() = %v with %q written, want nil and %q", err, got.String(), "gguf")
	}
}
