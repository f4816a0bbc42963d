package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/runner"
)

// benchRunner prints a fixed timing report and exits at once.
const benchRunner = `#!/bin/sh
cat >&2 <<'EOF'
llama_perf_context_print:        load time =      10.00 ms
llama_perf_context_print: prompt eval time =       5.00 ms /    11 tokens (    0.45 ms per token,  2200.00 tokens per second)
llama_perf_context_print:        eval time =      40.00 ms /    15 runs   (    2.67 ms per token,   375.00 tokens per second)
llama_perf_context_print:       total time =      60.00 ms /    26 tokens
EOF
`

// BenchmarkFleet200 sweeps 200 in-process agents (each served over its own
// in-memory gRPC connection) through a 5-combo plan with a runner that
// exits at once. Per combo it reports the process's CPU time (coordinator
// and agents together: an upper bound of the coordinator's overhead), the
// sweep's wall time divided by all combos, and how long a host waited
// beyond its own packs (queueing on this machine's cores); and the
// process's peak RSS, the 200 agents and servers included.
func BenchmarkFleet200(b *testing.B) {
	const hosts, combos = 200, 5
	root := b.TempDir()
	bin := filepath.Join(root, "runner")
	if err := os.WriteFile(bin, []byte(benchRunner), 0o755); err != nil {
		b.Fatal(err)
	}
	// a model that is not GGUF is sized by its length: the agents' memory
	// check stays cheap, so the benchmark measures the sweep, not parsing
	model := filepath.Join(root, "model.bin")
	if err := os.WriteFile(model, make([]byte, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	logger := hclog.NewNullLogger()

	var wall, cpu time.Duration
	var queued float64
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(root, fmt.Sprint(i))
		clients := map[string]coordinator.Client{}
		var agents []coordinator.Agent
		for h := 0; h < hosts; h++ {
			hd := filepath.Join(dir, "agents", fmt.Sprint(h))
			ag, err := agent.New(logger, agent.Config{Name: fmt.Sprintf("h%03d", h),
				LogDir: filepath.Join(hd, "logs"), Allow: []string{bin, model}, LogCap: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			p, err := coordinator.StartInProcess(logger, ag, hd)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			addr := fmt.Sprintf("in-process-%d:1", h)
			clients[addr] = p.Client
			agents = append(agents, coordinator.Agent{Address: addr})
		}

		sweep := coordinator.NewSweep(logger, coordinator.SweepOptions{
			Agents: agents, OutDir: filepath.Join(dir, "out"),
			Dial: func(addr string) (coordinator.Client, io.Closer, error) {
				return clients[addr], io.NopCloser(nil), nil
			},
			Host: coordinator.Options{Binary: bin, Runner: runner.LlamaCompletion,
				ExecMode: runner.ExecAuto, NoPreflight: true,
				Workload: runner.Workload{Model: model, Prompt: "bench", NPredict: 16,
					CtxSize: 256},
				Plan: plan.Spec{Instances: "1", ThreadsMin: 1, ThreadsMax: combos,
					LadderSpan: combos, ReserveCores: 0},
				Timeout: time.Minute, MemHeadroom: 1},
		})
		cpu0 := cpuTime()
		start := time.Now()
		doc, err := sweep.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		cpu += cpuTime() - cpu0
		queued += perComboOverhead(b, dir, doc, start, combos)
	}
	n := float64(b.N * hosts * combos)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/n, "cpu_ms/combo")
	b.ReportMetric(float64(wall)/float64(time.Millisecond)/n, "wall_ms/combo")
	b.ReportMetric(queued/float64(b.N), "host_wait_ms/combo")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak_rss_MB")
	}
}

// perComboOverhead is, averaged over hosts, the time from the sweep's start
// to a host's last pack's end that its packs did not account for, per combo.
func perComboOverhead(b *testing.B, dir string, doc coordinator.FleetDocument,
	start time.Time, combos int) float64 {
	b.Helper()
	var sum float64
	for _, h := range doc.Hosts {
		if h.Status != coordinator.HostOK || h.CombosDone != combos {
			b.Fatalf("host %s: %s (%s), %d combos done, want ok and %d", h.Name, h.Status,
				h.Reason, h.CombosDone, combos)
		}
		data, err := os.ReadFile(filepath.Join(dir, "out", h.Dir, "results.json"))
		if err != nil {
			b.Fatal(err)
		}
		var hd coordinator.Document
		if err := json.Unmarshal(data, &hd); err != nil {
			b.Fatal(err)
		}
		var packs time.Duration
		var last time.Time
		for _, p := range hd.Packs {
			packs += p.EndedAt.Sub(p.StartedAt)
			if p.EndedAt.After(last) {
				last = p.EndedAt
			}
		}
		sum += float64(last.Sub(start)-packs) / float64(time.Millisecond) / float64(combos)
	}
	return sum / float64(len(doc.Hosts))
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
