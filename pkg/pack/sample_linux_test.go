//go:build linux

package pack

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseRollup(t *testing.T) {
	tests := []struct {
		name            string
		in              string
		wantRSS, wantPS uint64
		wantOK          bool
	}{
		{
			name: "rollup",
			in: "55d0e0c00000-7ffc1c5fe000 ---p 00000000 00:00 0    [rollup]\n" +
				"Rss:                2048 kB\nPss:                 512 kB\n" +
				"Pss_Dirty:           100 kB\nSwapPss:               0 kB\n",
			wantRSS: 2048 << 10,
			wantPS:  512 << 10,
			wantOK:  true,
		},
		{"exited process", "", 0, 0, false},
		{"no pss", "Rss: 4 kB\n", 4 << 10, 0, false},
		{"bad number", "Rss: 4x kB\nPss: 1 kB", 0, 1 << 10, false},
		{"no unit", "Rss: 4\nPss: 1 kB", 0, 1 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, pss, ok := parseRollup([]byte(tt.in))
			if rss != tt.wantRSS || pss != tt.wantPS || ok != tt.wantOK {
				t.Errorf("parseRollup(%q) = %d, %d, %v, want %d, %d, %v",
					tt.in, rss, pss, ok, tt.wantRSS, tt.wantPS, tt.wantOK)
			}
		})
	}
}

func TestReadRollupSelf(t *testing.T) {
	fd, err := openRollup(os.Getpid())
	if err != nil {
		t.Fatalf("openRollup() = %v", err)
	}
	defer unix.Close(fd)

	buf := make([]byte, rollupBufSize)
	for i := range 2 {
		rss, pss, ok := readRollup(fd, buf)
		if !ok || rss == 0 || pss == 0 || pss > rss {
			t.Errorf("readRollup() #%d = %d, %d, %v, want 0 < pss <= rss, true", i, rss, pss, ok)
		}
	}
}
