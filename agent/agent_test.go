package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
)

// fakeRunner writes a runner script that records its pid, so a test can
// prove it never ran.
func fakeRunner(t *testing.T, dir string) (bin, pids string) {
	t.Helper()
	pids = filepath.Join(dir, "pids")
	bin = filepath.Join(dir, "runner")
	script := "#!/bin/sh\necho $$ >> " + pids + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, pids
}

func sharedModel(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../shared/models/llama-2-tiny-random.gguf")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A pack whose estimate exceeds the headroom is skipped with the numbers in
// its reason, and no process is started for it.
func TestRunPackSkipsWhenMemoryWouldBeOversubscribed(t *testing.T) {
	dir := t.TempDir()
	bin, pids := fakeRunner(t, dir)
	model := sharedModel(t)
	logDir := filepath.Join(dir, "logs")
	a, err := agent.New(hclog.NewNullLogger(), agent.Config{LogDir: logDir,
		Allow: []string{bin, model}})
	if err != nil {
		t.Fatal(err)
	}

	var kinds []api.EventKind
	p, err := a.RunPack(context.Background(), api.PackRequest{
		ID: "m200_t1", Binary: bin, Runner: runner.LlamaCompletion, NoPreflight: true,
		ExecMode: runner.ExecAuto, Instances: 200, Threads: 1, Timeout: time.Minute,
		MemHeadroom: 1e-6,
		Workload:    runner.Workload{Model: model, Prompt: "hi", NPredict: 8, CtxSize: 256},
	}, func(ev api.Event) { kinds = append(kinds, ev.Kind) })
	if err != nil {
		t.Fatalf("RunPack error = %v, want a skipped pack", err)
	}

	if p.Status != result.StatusSkipped || !strings.Contains(p.Reason, "exceeds the cap") {
		t.Errorf("status %q reason %q, want skipped with the cap in the reason", p.Status, p.Reason)
	}
	if p.Memory.TotalBytes <= p.Memory.CapBytes || p.Memory.Source != "gguf" {
		t.Errorf("memory = %+v, want a gguf estimate above the cap", p.Memory)
	}
	want := []api.EventKind{api.EventSkipped, api.EventPackFinished}
	if len(kinds) != 2 || kinds[0] != want[0] || kinds[1] != want[1] {
		t.Errorf("events = %v, want %v", kinds, want)
	}
	if _, err := os.Stat(pids); !os.IsNotExist(err) {
		t.Errorf("the runner ran (pid file: %v)", err)
	}
	if logs, _ := filepath.Glob(filepath.Join(logDir, "*")); len(logs) != 0 {
		t.Errorf("log files written for a skipped pack: %v", logs)
	}
}
