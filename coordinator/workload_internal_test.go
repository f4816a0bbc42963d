package coordinator

import (
	"testing"

	"github.com/packbench/packbench/pkg/runner"
)

func TestWorkloadDiff(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	base := runner.Workload{Model: "synth:tiny:q8_0", Prompt: "hi", NPredict: 8, CtxSize: 256,
		Temp: 0.8}
	tests := []struct {
		name string
		edit func(*runner.Workload)
		want string
	}{
		{"same", func(*runner.Workload) {}, ""},
		{"no extra args and empty ones", func(w *runner.Workload) { w.ExtraArgs = []string{} }, ""},
		{"n_predict", func(w *runner.Workload) { w.NPredict = 160 }, "n_predict 160, was 8"},
		{"prompt and top_p", func(w *runner.Workload) { w.Prompt, w.TopP = "other", p(0.9) },
			`prompt "other", was "hi"; top_p 0.9, was unset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := base
			tt.edit(&now)
			if got := workloadDiff(base, now); got != tt.want {
				t.Errorf("workloadDiff = %q, want %q", got, tt.want)
			}
		})
	}
}
