package memory_test

import (
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/memory"
)

func TestNoMmapRequested(t *testing.T) {
	tests := []struct {
		args string // split on spaces
		want bool
	}{
		{"", false},
		{"-c 256 -n 16 -t 2", false},
		{"--no-mmap", true},
		{"--no_mmap", true},
		{"-c 256 --no-mmap -n 16", true},
		{"--no-mmap --mmap", false},
		{"--mmap --no-mmap", true},
		{"--load-mode none", true},
		{"--load-mode=none", true},
		{"-lm mlock", true},
		{"-lm dio", true},
		{"-lm mmap", false},
		{"-lm auto", false},
		{"-lm mmap+mlock", false},
		{"--no-mmap -lm mmap", false},
		{"--no-mmap -lm bogus", true},
		{"-lm", false},
		{"-mmp 0", true},
		{"-mmp 1", false},
		{"--mmap 0", true},
		{"--mmap=0", true},
		{"--mmap=1", false},
		{"--mmap -c 256", false},
		{"--use_mmap false", true},
		{"--use-mmap=true", false},
		{"--no-mmap-weights", false},
		{"-m model.gguf --prompt --no-mmap", true},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			args := strings.Fields(tt.args)
			if got := memory.NoMmapRequested(args); got != tt.want {
				t.Errorf("NoMmapRequested(%q) = %v, want %v", args, got, tt.want)
			}
		})
	}
}
