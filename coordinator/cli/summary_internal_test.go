package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/runner"
)

// The summary warns when the best combo's instances barely overlapped.
func TestPrintSummaryWarnsOfLowOverlap(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	doc := func(instances int, overlap *float64) coordinator.Document {
		row := result.Row{Instances: instances, Threads: 1, Status: result.StatusOK,
			OKCount: instances, TokPSSum: f(100), TokPSMedian: f(50), TokPSMin: f(40),
			TokPSMax: f(60), Overlap: overlap}
		return coordinator.Document{Results: []result.Row{row},
			BestByInstances: result.Best([]result.Row{row})}
	}
	tests := []struct {
		name string
		doc  coordinator.Document
		want bool
	}{
		{"low overlap", doc(2, f(0.09)), true},
		{"high overlap", doc(2, f(0.93)), false},
		{"one instance", doc(1, f(0)), false},
		{"no overlap measured", doc(3, nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			printSummary(&out, "out", tt.doc)
			got := strings.Contains(out.String(), "says little about packing")
			if got != tt.want {
				t.Errorf("summary warns = %t, want %t:\n%s", got, tt.want, out.String())
			}
			if tt.want && !strings.Contains(out.String(), "overlap 0.09") {
				t.Errorf("summary does not give the overlap:\n%s", out.String())
			}
		})
	}
}

func TestByteSizeAndPlural(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 721792: "704.9 KiB",
		48048576: "45.8 MiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB", 5 << 50: "5120.0 TiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := plural(1, "combo") + ", " + plural(2, "combo"); got != "1 combo, 2 combos" {
		t.Errorf("plural = %q, want %q", got, "1 combo, 2 combos")
	}
}

func TestContextWarning(t *testing.T) {
	w := runner.Workload{Prompt: "CPU pack benchmark. Write one short sentence.", CtxSize: 512}
	tests := []struct {
		n, ctx int
		want   string // "" for no warning
	}{
		{256, 512, ""},
		{256, 256, "-n/--n-predict 256 does not fit --ctx-size 256"},
		{240, 256, "may not fit --ctx-size 256 (a byte-level tokenizer, as synthetic " +
			"models have, needs 286)"},
		{160, 4096, ""},
	}
	for _, tt := range tests {
		w.NPredict, w.CtxSize = tt.n, tt.ctx
		got := contextWarning(w)
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("contextWarning(n %d, ctx %d) = %q, want %q", tt.n, tt.ctx, got, tt.want)
		}
	}
}
