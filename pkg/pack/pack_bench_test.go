//go:build linux

package pack_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/packbench/packbench/pkg/pack"
)

// benchSleepEnv sets how long BenchmarkIdlePack8 keeps its pack running.
const benchSleepEnv = "PACKBENCH_BENCH_SLEEP"

// benchPack returns a spec of n instances of path with args, output
// discarded and sampling at the default period.
func benchPack(n int, path string, args ...string) pack.Spec {
	spec := pack.Spec{}
	for i := range n {
		spec.Instances = append(spec.Instances, pack.Instance{Index: i, Path: path, Args: args})
	}
	return spec
}

// BenchmarkStartSkew8 starts packs of 8 /bin/true and reports the median
// start skew, for each way of starting a pack.
func BenchmarkStartSkew8(b *testing.B) {
	for _, bb := range []struct {
		name string
		loop bool
	}{{"goroutines", false}, {"loop", true}} {
		b.Run(bb.name, func(b *testing.B) {
			defer pack.UseLoopStart(bb.loop)()
			spec := benchPack(8, "/bin/sleep", "0.05")
			skews := make([]time.Duration, 0, b.N)

			for b.Loop() {
				res, err := pack.Run(context.Background(), nil, spec, nil)
				if err != nil {
					b.Fatalf("Run() error = %v", err)
				}
				skews = append(skews, res.StartSkew)
			}
			slices.Sort(skews)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(skews[len(skews)/2]), "skew-ms/op")
			b.ReportMetric(ms(skews[len(skews)*9/10]), "p90-skew-ms/op")
		})
	}
}

// BenchmarkIdlePack8 supervises 8 sleeping runners for PACKBENCH_BENCH_SLEEP
// (default 5s) and reports this process's CPU use, as a percentage of one
// core, and its peak RSS: what packbench itself costs while a pack runs.
func BenchmarkIdlePack8(b *testing.B) {
	hold := 5 * time.Second
	if v := os.Getenv(benchSleepEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("parse %s=%q: %v", benchSleepEnv, v, err)
		}
		hold = d
	}
	dir := b.TempDir()
	spec := benchPack(8, "/bin/sh", "-c", "echo started; exec sleep 60")
	for i := range spec.Instances {
		spec.Instances[i].StdoutPath = dir + "/out"
		spec.Instances[i].StderrPath = dir + "/err"
	}
	spec.Timeout, spec.Grace = hold, time.Second

	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &before); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	start := time.Now()
	for b.Loop() {
		if _, err := pack.Run(context.Background(), nil, spec, nil); err != nil {
			b.Fatalf("Run() error = %v", err)
		}
	}
	wall := time.Since(start)
	if err := unix.Getrusage(unix.RUSAGE_SELF, &after); err != nil {
		b.Fatalf("getrusage: %v", err)
	}

	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() -
		before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(float64(after.Maxrss)/1024, "maxrss-MiB")
}
