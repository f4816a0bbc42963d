package memory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHeaderLenTinyModel(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "models", "llama-2-tiny-random.gguf")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// gguf-parser-go puts the tensor data at 724416, after up to 31 bytes
	// of padding to the 32-byte alignment.
	got, err := headerLen(bytes.NewReader(b), section{n: int64(len(b))})
	if err != nil {
		t.Fatalf("headerLen(tiny model) error: %v", err)
	}
	if got > 724416 || got <= 724416-32 {
		t.Errorf("headerLen(tiny model) = %d, want in (%d, 724416]", got, 724416-32)
	}
}

// ggufBytes assembles a version-3 little-endian GGUF header from parts.
func ggufBytes(parts ...any) []byte {
	var buf bytes.Buffer
	buf.WriteString("GGUF")
	for _, p := range parts {
		if s, ok := p.(string); ok {
			binary.Write(&buf, binary.LittleEndian, uint64(len(s)))
			buf.WriteString(s)
			continue
		}
		binary.Write(&buf, binary.LittleEndian, p)
	}
	return buf.Bytes()
}

func TestHeaderLenMalformed(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), errBadGGUF},
		{"version 9", ggufBytes(uint32(9), uint64(0), uint64(0)), errBadGGUF},
		{"huge metadata count", ggufBytes(uint32(3), uint64(0), uint64(1<<62)), errGGUFTooShort},
		{"string past the end", ggufBytes(uint32(3), uint64(0), uint64(1), "k",
			uint32(typeString), uint64(1<<40)), errGGUFTooShort},
		{"huge array", ggufBytes(uint32(3), uint64(0), uint64(1), "k",
			uint32(typeArray), uint32(12), uint64(1<<61)), errGGUFTooShort},
		{"unknown value type", ggufBytes(uint32(3), uint64(0), uint64(1), "k",
			uint32(99)), errBadGGUF},
		{"five dimensions", ggufBytes(uint32(3), uint64(1), uint64(0), "t",
			uint32(5)), errBadGGUF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := headerLen(bytes.NewReader(tt.data), section{n: int64(len(tt.data))})
			if !errors.Is(err, tt.want) {
				t.Errorf("headerLen(%q) error = %v, want %v", tt.data, err, tt.want)
			}
		})
	}
}

func TestHeaderLenWellFormed(t *testing.T) {
	data := ggufBytes(uint32(3), uint64(1), uint64(2),
		"general.architecture", uint32(typeString), "llama",
		"tokens", uint32(typeArray), uint32(typeString), uint64(2), "a", "bc",
		"t0", uint32(2), uint64(8), uint64(4), uint32(1), uint64(0))
	got, err := headerLen(bytes.NewReader(data), section{n: int64(len(data))})
	if err != nil || got != int64(len(data)) {
		t.Errorf("headerLen(well formed) = %d, %v, want %d, nil", got, err, len(data))
	}
}
