package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCapWriter(t *testing.T) {
	tests := []struct {
		name        string
		limit       int64
		tail        int
		writes      []string
		want        string
		wantDropped int64
	}{
		{"under the limit", 10, 4, []string{"abc\n", "de\n"}, "abc\nde\n", 0},
		{"overflow fits the tail", 4, 4, []string{"abc\nde\n"}, "abc\nde\n", 0},
		{
			name:   "tail cut at a line",
			limit:  3,
			tail:   3,
			writes: []string{"ab\n", "cd\nef\n"},
			// the kept "ef\n" follows a newline, so nothing more is cut.
			want:        "ab\n[packbench: 3 bytes dropped]\nef\n",
			wantDropped: 3,
		},
		{
			name:        "tail cut mid-line",
			limit:       4,
			tail:        5,
			writes:      []string{"ab\ncd\nef\ngh\n"},
			want:        "ab\nc\n[packbench: 5 bytes dropped]\ngh\n",
			wantDropped: 5,
		},
		{
			name:        "one long write",
			limit:       3,
			tail:        3,
			writes:      []string{"12\n" + strings.Repeat("x", 100) + "\nok\n"},
			want:        "12\n[packbench: 101 bytes dropped]\nok\n",
			wantDropped: 101,
		},
		{
			name:        "tail without a newline",
			limit:       2,
			tail:        2,
			writes:      []string{"aaaaaaa", "bc"},
			want:        "aa\n[packbench: 5 bytes dropped]\nbc",
			wantDropped: 5,
		},
		{
			name:        "tail bounded by the limit",
			limit:       2,
			tail:        100,
			writes:      []string{"abcdefgh"},
			want:        "ab\n[packbench: 4 bytes dropped]\ngh",
			wantDropped: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			f, err := os.Create(path)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			cw := newCapWriter(f, tt.limit, tt.tail)
			var total int64
			for _, w := range tt.writes {
				if n, err := cw.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v, want %d, nil", w, n, err, len(w))
				}
				total += int64(len(w))
			}
			if err := cw.Close(); err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}

			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("file = %q, want %q", got, tt.want)
			}
			if cw.Total() != total || cw.Dropped() != tt.wantDropped {
				t.Errorf("Total(), Dropped() = %d, %d, want %d, %d",
					cw.Total(), cw.Dropped(), total, tt.wantDropped)
			}
		})
	}
}

// fakeFile fails every write.
type fakeFile struct{ closed bool }

func (f *fakeFile) Write(p []byte) (int, error) { return 0, os.ErrClosed }
func (f *fakeFile) Close() error                { f.closed = true; return nil }

func TestCapWriterKeepsDrainingAfterError(t *testing.T) {
	ff := &fakeFile{}
	cw := newCapWriter(ff, 8, 8)
	if n, err := cw.Write([]byte("0123456789abcdef")); n != 16 || err != nil {
		t.Errorf("Write() = %d, %v, want 16, nil", n, err)
	}
	if err := cw.Close(); err == nil || !ff.closed {
		t.Errorf("Close() = %v, closed %v, want an error, true", err, ff.closed)
	}
}
