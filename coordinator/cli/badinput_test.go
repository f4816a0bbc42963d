package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalBadValuesExit2NamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	noExec := filepath.Join(dir, "runner-without-x")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eng, model := engine(t), sharedModel(t)

	tests := []struct {
		name string
		args []string
		flag string
	}{
		{"instances zero", []string{"--instances", "0"}, "--instances"},
		{"instances open range", []string{"--instances", "3-"}, "--instances"},
		{"instances zero step", []string{"--instances", "2:0:8"}, "--instances"},
		{"instances letters", []string{"--instances", "a,b"}, "--instances"},
		{"threads-min above max", []string{"--threads-min", "8", "--threads-max", "4"},
			"--threads-min"},
		{"mem-headroom zero", []string{"--mem-headroom", "0"}, "--mem-headroom"},
		{"mem-headroom above one", []string{"--mem-headroom", "1.5"}, "--mem-headroom"},
		{"missing binary", []string{"--binary", filepath.Join(dir, "nope")}, "--binary"},
		{"binary without run bit", []string{"--binary", noExec}, "--binary"},
		{"outdir not writable", []string{"--outdir", filepath.Join(aFile, "sub")}, "--outdir"},
		{"unknown runner", []string{"--runner", "vllm"}, "--runner"},
		{"unknown exec-via", []string{"--exec-via", "zsh"}, "--exec-via"},
		{"n-predict zero", []string{"-n", "0"}, "--n-predict"},
		{"model in extra args", []string{"--extra-args", "-m /tmp/other.gguf"}, "--extra-args"},
		{"empty prompt", []string{"--prompt", ""}, "--prompt"},
		{"blank prompt", []string{"--prompt", "  "}, "--prompt"},
		{"model= in extra args", []string{"--extra-args", "--model=/x.gguf"}, "--extra-args"},
		{"synthetic shape unknown", []string{"--model", "synth:huge:q8_0"}, "--model"},
		{"synthetic type missing", []string{"--model", "synth:tiny"}, "--model"},
		{"synthetic seed negative", []string{"--model", "synth:tiny:q8_0:-3"}, "--model"},
		{"model-dir not writable", []string{"--model", "synth:tiny:q8_0", "--model-dir",
			filepath.Join(aFile, "sub")}, "--model-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"local", "--binary", eng, "--model", model,
				"--outdir", filepath.Join(t.TempDir(), "out"), "--dry-run"}
			if tt.flag == "--outdir" || tt.flag == "--model-dir" {
				args = args[:len(args)-1] // the dirs are checked on a real run
			}
			args = append(args, tt.args...)
			code, _, stderr := runPackbench(t, args...)
			if code != 2 {
				t.Errorf("exit = %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.flag) {
				t.Errorf("stderr does not name %s:\n%s", tt.flag, stderr)
			}
		})
	}
}

func TestLocalDryRunOnThisHost(t *testing.T) {
	code, stdout, stderr := runPackbench(t, "local", "--binary", engine(t),
		"--model", sharedModel(t), "--dry-run")
	if code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "plan: ") || !strings.Contains(stdout, "instances") ||
		!strings.Contains(stdout, "runner: node-llama-cpp 3.21.1 (direct)") {
		t.Errorf("dry run printed no plan or runner:\n%s", stdout)
	}
	lines := 0
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] != "instances" && f[0] != "plan:" &&
			f[0] != "note:" {
			lines++
		}
	}
	if lines == 0 {
		t.Errorf("dry run planned no combo on this host:\n%s", stdout)
	}
}

// A dry run prints each plan note once, on stdout, not also as a log line.
func TestLocalDryRunNotesOnce(t *testing.T) {
	// more reserved cores than any host has always gives a note
	code, stdout, stderr := runPackbench(t, "local", "--binary", engine(t),
		"--model", sharedModel(t), "--reserve-cores", "100000", "--dry-run")
	if code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", code, stderr)
	}
	if n := strings.Count(stdout, "note: --reserve-cores 100000 lowered"); n != 1 {
		t.Errorf("stdout has the reserve note %d times, want 1:\n%s", n, stdout)
	}
	if strings.Contains(stderr, "reserve-cores") {
		t.Errorf("stderr repeats the note:\n%s", stderr)
	}
}

// A binary that is no runner packbench knows is bad input: exit 2, naming
// the kinds --runner takes.
func TestLocalBinaryNotARunner(t *testing.T) {
	// with a model the run finds out; without, the check for a needed model does
	for _, model := range [][]string{{"--model", sharedModel(t)}, nil,
		{"--model", sharedModel(t), "--dry-run"}} {
		args := append([]string{"local", "--binary", "/bin/echo", "--instances", "1",
			"--outdir", filepath.Join(t.TempDir(), "out")}, model...)
		code, stdout, stderr := runPackbench(t, args...)
		if code != 2 || !strings.Contains(stderr, "runner not recognised") ||
			!strings.Contains(stderr, "--runner llamafile|llama-completion") ||
			strings.Count(stderr, "preflight") != 1 || strings.Contains(stderr, "invalid request") {
			t.Errorf("%v: exit %d, want 2 with one preflight message listing the runners\n%s",
				args, code, stderr)
		}
		if strings.Contains(stdout, "best:") {
			t.Errorf("a run that measured nothing printed a summary:\n%s", stdout)
		}
	}
}
