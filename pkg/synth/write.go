package synth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/packbench/packbench/pkg/api"
)

// writeBuffer is the size of the write buffer, the bulk of Write's memory.
const writeBuffer = 1 << 20

// Info describes a written synthetic model file.
type Info struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // lowercase hex
	Params int64  `json:"params"` // number of weights
	Spec   Spec   `json:"spec"`
}

// Write streams the GGUF file of spec to w and returns the bytes w accepted.
// Memory stays bounded by a buffer and one row, whatever the file size.
func Write(w io.Writer, spec Spec) (int64, error) {
	if err := spec.Validate(); err != nil {
		return 0, fmt.Errorf("write synthetic model: %w", err)
	}
	ts := tensors(spec)

	cw := &counter{w: w}
	bw := bufio.NewWriterSize(cw, writeBuffer)
	e := &le{w: bw}
	header(e, spec, ts)

	var row []byte
	for i, t := range ts {
		e.pad(alignment)
		key := tensorKey(spec.Seed, i)
		n := int(t.typ.rowBytes(t.ne0))
		if cap(row) < n {
			row = make([]byte, n)
		}
		row = row[:n]
		for r := 0; r < t.ne1 && e.err == nil; r++ {
			t.row(row, key, r)
			e.bytes(row)
		}
	}

	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("write synthetic model %s: %w", spec, e.err)
	}
	return cw.n, nil
}

// counter counts the bytes its writer accepted.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Size is the exact size of the file Write makes, found without making the
// tensor data. It is 0 for an invalid spec.
func (s Spec) Size() int64 {
	if s.Validate() != nil {
		return 0
	}
	ts := tensors(s)
	e := &le{w: io.Discard}
	header(e, s, ts)

	var off int64
	for i, t := range ts {
		if i > 0 {
			off = alignUp(off)
		}
		off += t.bytes()
	}
	return e.n + off
}

// Params is the number of weights in the file of s.
func (s Spec) Params() int64 {
	if s.Validate() != nil {
		return 0
	}
	var n int64
	for _, t := range tensors(s) {
		n += int64(t.ne0) * int64(t.ne1)
	}
	return n
}

// WriteFile writes the model of spec to path atomically: into a temporary
// file in the same directory, synced, then renamed over path.
func WriteFile(path string, spec Spec) (Info, error) {
	return WriteFileContext(context.Background(), path, spec)
}

// WriteFileContext is WriteFile, stopped part way when ctx ends; the
// temporary file is then removed and path left as it was.
func WriteFileContext(ctx context.Context, path string, spec Spec) (Info, error) {
	if err := spec.Validate(); err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// refuse up front rather than fill the disk and fail at the end
	size := spec.Size()
	if free, ok := freeBytes(dir); ok && uint64(size)+diskMargin > free {
		return Info{}, fmt.Errorf("write synthetic model %s: it needs %d MiB and %s has %d "+
			"MiB free, of which %d MiB are left for others: %w", spec, size>>20, dir,
			int64(free)>>20, diskMargin>>20, api.ErrInvalid)
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()

	// CreateTemp makes the file private; a model is read by other users'
	// runners too.
	if err := f.Chmod(0o644); err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	h := sha256.New()
	aw := newAsyncWriter(&ctxWriter{ctx: ctx, w: f})
	n, err := Write(io.MultiWriter(h, aw), spec)
	if cerr := aw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write synthetic model %s: %w", path, cerr)
	}
	if err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Info{}, fmt.Errorf("write synthetic model %s: %w", path, err)
	}
	ok = true

	return Info{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		Params: spec.Params(), Spec: spec}, nil
}
