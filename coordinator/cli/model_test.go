package cli_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var shaLine = regexp.MustCompile(`(?m)^sha256 ([0-9a-f]{64})$`)

func synthSHA(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "m.gguf")
	code, stdout, stderr := runPackbench(t, append([]string{"model", "synth", "-o", out}, args...)...)
	if code != 0 {
		t.Fatalf("model synth %v: exit %d\n%s", args, code, stderr)
	}
	m := shaLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("model synth printed no sha256:\n%s", stdout)
	}
	return m[1]
}

func TestModelSynthIsDeterministicPerSeed(t *testing.T) {
	a := synthSHA(t, "--shape", "tiny", "--type", "q8_0", "--seed", "7")
	b := synthSHA(t, "--shape", "tiny", "--type", "q8_0", "--seed", "7")
	c := synthSHA(t, "--shape", "tiny", "--type", "q8_0", "--seed", "8")
	if a != b {
		t.Errorf("same seed gave %s and %s, want the same sha256", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 both gave %s, want different files", a)
	}
}

func TestModelInspectShowsShapeTypeAndEstimate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.gguf")
	if code, _, stderr := runPackbench(t, "model", "synth", "--shape", "custom", "--embd", "256",
		"--layers", "3", "--heads", "4", "--heads-kv", "2", "--ffn", "512", "--vocab", "2048",
		"--ctx", "1024", "--type", "q4_0", "-o", out); code != 0 {
		t.Fatalf("model synth custom: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runPackbench(t, "model", "inspect", "--ctx-size", "512",
		"--instances", "3", out)
	if code != 0 {
		t.Fatalf("model inspect: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"type Q4_0", "embd 256, layers 3, heads 4, kv heads 2, ffn 512",
		"vocab 2048", "context 1024", "memory (ctx 512, gguf)", "pack of 3:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("model inspect output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestModelBadInputExit2(t *testing.T) {
	for _, args := range [][]string{
		{"model", "synth", "--shape", "llama-70b", "-o", filepath.Join(t.TempDir(), "x")},
		{"model", "synth", "--type", "q5_k", "-o", filepath.Join(t.TempDir(), "x")},
		{"model", "synth", "--shape", "tiny"},
		{"model", "inspect"},
	} {
		if code, _, stderr := runPackbench(t, args...); code != 2 {
			t.Errorf("packbench %v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}
