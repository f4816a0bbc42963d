package runner_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/runner"
)

func TestResolveExecMode(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		head string
		mode runner.ExecMode
		want runner.ExecMode
	}{
		{"ape", "MZqFpD='\n'\nexec true\n", runner.ExecAuto, runner.ExecSh},
		{"elf", "\x7fELF\x02\x01\x01\x00", runner.ExecAuto, runner.ExecDirect},
		{"script", "#!/bin/sh\nexit 0\n", runner.ExecAuto, runner.ExecDirect},
		{"plain text", "exit 0\n", runner.ExecAuto, runner.ExecDirect},
		{"windows pe, not ape", "MZ\x90\x00\x03\x00", runner.ExecAuto, runner.ExecDirect},
		{"empty file", "", runner.ExecAuto, runner.ExecDirect},
		{"ape forced direct", "MZqFpD='\n", runner.ExecDirect, runner.ExecDirect},
		{"elf forced sh", "\x7fELF", runner.ExecSh, runner.ExecSh},
		{"script via bash", "#!/bin/sh\n", runner.ExecBash, runner.ExecBash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_"), tt.head)
			got, err := runner.ResolveExecMode(path, tt.mode)
			if err != nil || got != tt.want {
				t.Errorf("ResolveExecMode(%s, %s) = %q, %v, want %q",
					tt.name, tt.mode, got, err, tt.want)
			}
		})
	}

	missing := filepath.Join(dir, "missing")
	if _, err := runner.ResolveExecMode(missing, runner.ExecAuto); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ResolveExecMode(missing, auto) error = %v, want fs.ErrNotExist", err)
	}
	got, err := runner.ResolveExecMode(missing, runner.ExecSh)
	if err != nil || got != runner.ExecSh {
		t.Errorf("ResolveExecMode(missing, sh) = %q, %v, want sh without reading", got, err)
	}
	if _, err := runner.ResolveExecMode(missing, runner.ExecMode("zsh")); err == nil {
		t.Errorf("ResolveExecMode(zsh) error = nil, want an --exec-via error")
	}
}

func TestCheckBinary(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, dir, "runner", "#!/bin/sh\n")
	plain := writePlain(t, dir, "model.gguf", "GGUF")
	sub := filepath.Join(dir, "bin")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		wantErr string // "" for no error
	}{
		{"executable", exe, ""},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"directory", sub, "is a directory"},
		{"no x bit", plain, "not executable"},
		{"empty", "", "no path given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runner.CheckBinary(tt.path)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckBinary(%q) = %v, want nil", tt.path, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.Contains(err.Error(), "--binary") ||
				!strings.Contains(err.Error(), tt.path) {
				t.Errorf("CheckBinary(%q) = %v, want an error naming --binary, the path and %q",
					tt.path, err, tt.wantErr)
			}
		})
	}
}
