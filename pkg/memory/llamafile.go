package memory

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

var (
	errNoGGUFEntry  = errors.New("no .gguf entry in the zip")
	errCompressed   = errors.New("the .gguf entry is compressed, not stored")
	errBadGGUF      = errors.New("malformed GGUF header")
	errGGUFTooShort = errors.New("GGUF header runs past its section")
)

// section is where a GGUF lies inside a larger file.
type section struct {
	name string
	off  int64 // absolute offset of the first GGUF byte
	n    int64 // length of the GGUF
}

// findZipGGUF finds the model inside a llamafile: the zip sits at the end of
// the executable and its central directory gives each entry's offset, so only
// the directory and one local header are read. Multimodal projector entries
// (mmproj) are skipped in favour of the language model.
func findZipGGUF(r io.ReaderAt, size int64) (section, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return section{}, fmt.Errorf("open zip: %w", err)
	}

	var zf *zip.File
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		if strings.HasSuffix(name, ".gguf") && !strings.Contains(name, "mmproj") {
			zf = f
			break
		}
	}
	// TODO(llamafile): the embedded .args may carry -c or --no-mmap; they are
	// not read, so the caller's Options must already reflect them.
	if zf == nil {
		return section{}, errNoGGUFEntry
	}
	if zf.Method != zip.Store {
		return section{}, fmt.Errorf("%s: %w", zf.Name, errCompressed)
	}

	off, err := zf.DataOffset()
	if err != nil {
		return section{}, fmt.Errorf("%s: data offset: %w", zf.Name, err)
	}
	n := int64(zf.UncompressedSize64)
	if n < 0 || off < 0 || off > size-n {
		return section{}, fmt.Errorf("%s: entry runs past the end of the file", zf.Name)
	}
	return section{name: zf.Name, off: off, n: n}, nil
}

// writeStandIn writes a sparse file that holds the section's GGUF header and
// has the section's length, so that a parser that only opens paths sees the
// same layout without the weights being copied.
//
// TODO(llamafile): gguf-parser-go v0.28.2 parses only from a path, not from an
// io.ReaderAt with an offset; drop the stand-in once it can. On a file system
// without sparse files the truncate writes zeros for the whole model.
func writeStandIn(r io.ReaderAt, sec section) (string, error) {
	h, err := headerLen(r, sec)
	if err != nil {
		return "", err
	}

	tmp, err := os.CreateTemp("", "packbench-model-*.gguf")
	if err != nil {
		return "", fmt.Errorf("create stand-in: %w", err)
	}
	_, err = io.Copy(tmp, io.NewSectionReader(r, sec.off, h))
	if err == nil {
		err = tmp.Truncate(sec.n)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write stand-in: %w", err)
	}
	return tmp.Name(), nil
}

// headerLen walks a GGUF's header (magic, version, counts, metadata and tensor
// infos) without keeping any of it and returns where the header ends.
func headerLen(r io.ReaderAt, sec section) (int64, error) {
	hr := &headerReader{
		br:    bufio.NewReaderSize(io.NewSectionReader(r, sec.off, sec.n), 64<<10),
		bo:    binary.LittleEndian,
		limit: sec.n,
	}
	tensors, kvs, err := hr.preamble()
	if err != nil {
		return 0, err
	}

	for i := uint64(0); i < kvs; i++ {
		if err := hr.skipString(); err != nil {
			return 0, fmt.Errorf("metadata key %d: %w", i, err)
		}
		t, err := hr.u32()
		if err == nil {
			err = hr.skipValue(t, 0)
		}
		if err != nil {
			return 0, fmt.Errorf("metadata value %d: %w", i, err)
		}
	}

	for i := uint64(0); i < tensors; i++ {
		if err := hr.skipTensorInfo(); err != nil {
			return 0, fmt.Errorf("tensor info %d: %w", i, err)
		}
	}
	return hr.pos, nil
}

// headerReader reads a GGUF header front to back, counting its position and
// refusing any length that runs past the section.
type headerReader struct {
	br    *bufio.Reader
	bo    binary.ByteOrder
	v1    bool // version 1 writes counts and lengths as uint32
	pos   int64
	limit int64
}

// preamble reads magic and version and returns the tensor and metadata counts.
func (h *headerReader) preamble() (tensors, kvs uint64, err error) {
	magic := make([]byte, 4)
	if err := h.read(magic); err != nil {
		return 0, 0, err
	}
	switch string(magic) {
	case "GGUF":
	case "FUGG":
		h.bo = binary.BigEndian
	default:
		return 0, 0, fmt.Errorf("%w: magic %q", errBadGGUF, magic)
	}

	v, err := h.u32()
	if err != nil {
		return 0, 0, err
	}
	if v < 1 || v > 3 {
		return 0, 0, fmt.Errorf("%w: version %d", errBadGGUF, v)
	}
	h.v1 = v == 1

	if tensors, err = h.count(); err == nil {
		kvs, err = h.count()
	}
	return tensors, kvs, err
}

// fixedSize is the byte size of each scalar GGUF value type, by type id.
var fixedSize = map[uint32]uint64{
	0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8,
}

const (
	typeString = 8
	typeArray  = 9
	maxNesting = 4
)

func (h *headerReader) skipValue(t uint32, depth int) error {
	if size, ok := fixedSize[t]; ok {
		return h.skip(size)
	}
	switch t {
	case typeString:
		return h.skipString()
	case typeArray:
		return h.skipArray(depth)
	}
	return fmt.Errorf("%w: value type %d", errBadGGUF, t)
}

func (h *headerReader) skipArray(depth int) error {
	if depth >= maxNesting {
		return fmt.Errorf("%w: arrays nested deeper than %d", errBadGGUF, maxNesting)
	}
	et, err := h.u32()
	if err != nil {
		return err
	}
	n, err := h.count()
	if err != nil {
		return err
	}

	if size, ok := fixedSize[et]; ok {
		if n > uint64(h.limit)/size {
			return errGGUFTooShort
		}
		return h.skip(n * size)
	}
	// every variable-size element takes at least one byte, so n is bounded by
	// the bytes left and a lying count fails on the way instead of spinning.
	if n > uint64(h.limit-h.pos) {
		return errGGUFTooShort
	}
	for i := uint64(0); i < n; i++ {
		if err := h.skipValue(et, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (h *headerReader) skipTensorInfo() error {
	if err := h.skipString(); err != nil {
		return err
	}
	dims, err := h.u32()
	if err != nil {
		return err
	}
	if dims > 4 {
		return fmt.Errorf("%w: %d dimensions", errBadGGUF, dims)
	}
	dimSize := uint64(8)
	if h.v1 {
		dimSize = 4
	}
	// the dimensions, then the type (uint32) and the data offset (uint64).
	return h.skip(uint64(dims)*dimSize + 4 + 8)
}

func (h *headerReader) skipString() error {
	n, err := h.count()
	if err != nil {
		return err
	}
	return h.skip(n)
}

// count reads a length or count: uint32 in version 1, uint64 after.
func (h *headerReader) count() (uint64, error) {
	if h.v1 {
		v, err := h.u32()
		return uint64(v), err
	}
	b := make([]byte, 8)
	if err := h.read(b); err != nil {
		return 0, err
	}
	return h.bo.Uint64(b), nil
}

func (h *headerReader) u32() (uint32, error) {
	b := make([]byte, 4)
	if err := h.read(b); err != nil {
		return 0, err
	}
	return h.bo.Uint32(b), nil
}

func (h *headerReader) read(b []byte) error {
	if int64(len(b)) > h.limit-h.pos {
		return errGGUFTooShort
	}
	if _, err := io.ReadFull(h.br, b); err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	h.pos += int64(len(b))
	return nil
}

func (h *headerReader) skip(n uint64) error {
	if n > uint64(h.limit-h.pos) {
		return errGGUFTooShort
	}
	if _, err := h.br.Discard(int(n)); err != nil {
		return fmt.Errorf("skip header bytes: %w", err)
	}
	h.pos += int64(n)
	return nil
}
