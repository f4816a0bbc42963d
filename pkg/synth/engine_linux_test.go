package synth_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/pkg/synth"
	"github.com/packbench/packbench/pkg/timing"
)

// engine is the real llama.cpp runner used by the tests.
const engine = "../../tools/node_modules/.bin/node-llama-cpp"

// maxTokens is the runner's --maxTokens; a run that never stops early
// reports maxTokens-1 eval runs (the first token comes out of the prompt).
const maxTokens = 32

// generate runs the engine on model and prompt with a runner seed and temperature
// ("" for greedy) and returns its parsed timing report. The runner gets
// its own process group, which is killed by id when it overruns or when
// the test ends, so no child outlives the test.
func generate(t *testing.T, model, prompt string, seed int, temp string) timing.Report {
	t.Helper()
	args := []string{"complete", "-m", model, "--text", prompt,
		"--maxTokens", fmt.Sprint(maxTokens), "--threads", "1", "-c", "256",
		"--seed", fmt.Sprint(seed), "--printTimings", "--gpu", "false", "--gpuLayers", "0"}
	if temp != "" {
		args = append(args, "--temperature", temp)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(engine, args...) // stdin is the null device
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", engine, err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { killGroup(t, pgid) })

	timer := time.AfterFunc(2*time.Minute, func() { killGroup(t, pgid) })
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		t.Fatalf("%s %v: %v\nstderr tail: %s", engine, args, err, tail(stderr.Bytes()))
	}

	rep, err := timing.Parse(&stdout)
	if err != nil || rep.EvalRuns == nil {
		t.Fatalf("timing.Parse(stdout of %s) = %+v, %v, want an eval line\nstdout: %s",
			model, rep, err, tail(stdout.Bytes()))
	}
	return rep
}

func killGroup(t *testing.T, pgid int) {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill process group %d: %v", pgid, err)
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

type engineCase struct {
	spec       synth.Spec
	runnerSeed int
	temp       string
	prompt     string // "" for "hello world"
}

// runFullLength writes each case's model, runs the engine on it and wants
// every one of the maxTokens-1 eval runs: no early end of stream.
func runFullLength(t *testing.T, cases []engineCase) {
	dir := t.TempDir()
	for _, c := range cases {
		name := fmt.Sprintf("%s/seed=%d/temp=%s", c.spec, c.runnerSeed, c.temp)
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, c.spec.FileName())
			if _, err := synth.WriteFile(path, c.spec); err != nil {
				t.Fatalf("WriteFile(%s) error = %v", c.spec, err)
			}
			prompt := c.prompt
			if prompt == "" {
				prompt = "hello world"
			}
			rep := generate(t, path, prompt, c.runnerSeed, c.temp)
			if got, want := *rep.EvalRuns, maxTokens-1; got != want {
				t.Errorf("eval runs of %s = %d, want %d (no early stop)", c.spec, got, want)
			}
			if rep.EndOfText {
				t.Errorf("output of %s says [end of text], want none", c.spec)
			}
		})
	}
}

func TestSynthTinyLoadsInEngine(t *testing.T) {
	tiny, err := synth.ShapeByName("tiny")
	if err != nil {
		t.Fatal(err)
	}
	runFullLength(t, []engineCase{
		{synth.Spec{Shape: tiny, Type: synth.Q4_0, Seed: 1}, 42, "", ""},
		{synth.Spec{Shape: tiny, Type: synth.Q8_0, Seed: 2}, 43, "0.8", ""},
		{synth.Spec{Shape: tiny, Type: synth.F16, Seed: 3}, 44, "1.5", "Hello, World!"},
		// capitals and punctuation are byte tokens here: the last prompt
		// token is one, which a tied model must get past.
		{synth.Spec{Shape: oddShape, Type: synth.F32, Seed: 4}, 45, "0.8", "Hello, World!"},
		{synth.Spec{Shape: oddShape, Type: synth.Q4_0, Seed: 5}, 46, "", "Hello\n"},
	})
}

// TestSynthSmallLoadsInEngine runs the "small" shape, a 48 MB q8_0 file.
func TestSynthSmallLoadsInEngine(t *testing.T) {
	small, err := synth.ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	runFullLength(t, []engineCase{
		{synth.Spec{Shape: small, Type: synth.Q8_0, Seed: 1}, 42, "", ""},
		{synth.Spec{Shape: small, Type: synth.Q8_0, Seed: 2}, 43, "0.8", ""},
		{synth.Spec{Shape: small, Type: synth.Q8_0, Seed: 3}, 44, "1.5", ""},
	})
}

// TestControlChannelDecidesEOS flips the sign of the control tokens'
// output weight: the same construction that keeps end of stream away must
// then end every run at once, which shows the channel reaches the logits.
func TestControlChannelDecidesEOS(t *testing.T) {
	defer synth.SetControlLogit(256)()
	spec, err := synth.ParseModelRef("synth:tiny:q4_0:11")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), spec.FileName())
	if _, err := synth.WriteFile(path, spec); err != nil {
		t.Fatalf("WriteFile(%s) error = %v", spec, err)
	}
	for _, temp := range []string{"", "0.8"} {
		rep := generate(t, path, "hello world", 42, temp)
		if got, most := *rep.EvalRuns, 2; got > most {
			t.Errorf("eval runs with the control logit flipped (temp %q) = %d, want at most %d",
				temp, got, most)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
