package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/api"
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
	// --seed reads decimal, as a synth: reference does: 010 is seed 10
	_, ten := synthSum(t, "synth:tiny:q8_0:10")
	if got := synthSHA(t, "--shape", "tiny", "--type", "q8_0", "--seed", "010"); got != ten {
		t.Errorf("--seed 010 gave sha256 %s, want %s as synth:tiny:q8_0:10", got, ten)
	}
}

// Ctrl-C during model synth removes the partial file and exits 130.
func TestModelSynthInterruptLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "big.gguf")
	// ~0.8 GB: seconds to write, long enough to interrupt
	synth := startPackbench(t, "model", "synth", "--shape", "llama-1b", "--type", "q4_0",
		"-o", out)
	waitFor(t, "temporary model file", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
		return len(m) > 0
	})
	synth.interrupt(t)
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("directory after an interrupted model synth: %v, %v; want empty", entries, err)
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
		"vocab 2048", "context 1024", "memory (llama-completion, ctx 512, gguf)", "pack of 3:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("model inspect output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestModelBadInputExit2(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x")
	for _, tt := range []struct {
		args []string
		want string // the whole message, after "packbench: "
	}{
		{[]string{"model", "synth", "--shape", "llama-70b", "-o", out},
			`invalid --shape "llama-70b": accepted: llama-13b, llama-1b, llama-3b, llama-7b, ` +
				"small, tiny, custom"},
		{[]string{"model", "synth", "--type", "q5_k", "-o", out},
			`invalid --type "q5_k": accepted: f32, f16, q8_0, q4_0`},
		{[]string{"model", "synth", "--shape", "custom", "--embd", "100", "--layers", "1",
			"--heads", "3", "--heads-kv", "1", "--ffn", "64", "--vocab", "300", "--ctx", "64",
			"-o", out},
			"invalid model shape: "},
		{[]string{"model", "synth", "--shape", "tiny"}, "model synth: -o FILE is required"},
		{[]string{"model", "synth", "--shape", "custom", "--embd", "256", "--ctx", "512",
			"-o", out}, "model synth --shape custom needs every dimension; missing: --layers, " +
			"--heads, --heads-kv, --ffn, --vocab"},
		{[]string{"model", "inspect"}, "model inspect: give exactly one FILE"},
		{[]string{"model", "synth", "-o", out, "--shape", "small", "oops", "--type", "q4_0"},
			`model synth: unexpected argument "oops"`},
		{[]string{"model", "synth", "-o", out, "--seed", "0x10"},
			`invalid value "0x10" for flag -seed: accepted: a decimal integer`},
		{[]string{"model", "synth", "-o", out, "--shape", "tiny", "--embd", "256"},
			`model synth: shape "tiny" has fixed dimensions; --embd are for --shape custom`},
		{[]string{"model", "synth", "-o", dir}, `invalid -o "` + dir + `": it is a directory`},
		{[]string{"model", "inspect", filepath.Join(dir, "missing.gguf")},
			"model inspect: stat " + filepath.Join(dir, "missing.gguf") +
				": no such file or directory"},
		{[]string{"model", "inspect", dir},
			"model inspect: " + dir + " is not a regular file; want a GGUF file"},
	} {
		code, _, stderr := runPackbench(t, tt.args...)
		msg := strings.TrimSpace(strings.TrimPrefix(stderr, "packbench: "))
		if code != 2 || !strings.HasPrefix(msg, tt.want) ||
			strings.Contains(msg, api.ErrInvalid.Error()) {
			t.Errorf("packbench %v: exit %d, %q; want exit 2 and a message starting %q "+
				"without %q", tt.args, code, msg, tt.want, api.ErrInvalid.Error())
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("refused synth left %s behind: %v", out, err)
	}
}
