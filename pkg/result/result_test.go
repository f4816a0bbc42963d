package result

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/pkg/timing"
)

func f64(v float64) *float64 { return &v }
func i(v int) *int           { return &v }

// okInstance is an instance that generated runs tokens in ms, ending at end.
func okInstance(idx int, rate float64, runs int, ms float64, end time.Time) Instance {
	return Instance{
		Index: idx, Status: StatusOK, StartedAt: end.Add(-2 * time.Second), EndedAt: end,
		Timing: timing.Report{EvalRuns: i(runs), EvalMS: f64(ms), EvalTokPerSec: f64(rate),
			PromptTokPerSec: f64(100), LoadMS: f64(50)},
		StdoutPath: "a.stdout.txt", StderrPath: "a.stderr.txt",
	}
}

func TestSummarizeSumsFinishedInstancesOnly(t *testing.T) {
	end := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	p := Pack{Instances: 3, Threads: 2, UsableCPUs: 4,
		Runner: Runner{Binary: "/bin/r", ExecMode: "direct"},
		Results: []Instance{
			okInstance(0, 10, 15, 1500, end),
			okInstance(1, 30, 15, 500, end),
			{Index: 2, Status: StatusTimedOut, StartedAt: end.Add(-5 * time.Second), EndedAt: end},
		}}
	r := Summarize(p, 12, 16)

	if r.TokPSSum == nil || *r.TokPSSum != 40 {
		t.Errorf("TokPSSum = %v, want 40", r.TokPSSum)
	}
	if *r.TokPSMedian != 20 || *r.TokPSMin != 10 || *r.TokPSMax != 30 {
		t.Errorf("median/min/max = %v/%v/%v, want 20/10/30", *r.TokPSMedian, *r.TokPSMin, *r.TokPSMax)
	}
	if r.OKCount != 2 || r.TimedOut != 1 || r.WallSMax != 5 {
		t.Errorf("ok %d, timed out %d, wall %v; want 2, 1, 5", r.OKCount, r.TimedOut, r.WallSMax)
	}
	if !r.Oversubscribed || r.ThreadsTotal != 6 {
		t.Errorf("oversubscribed %v threads %d, want true 6", r.Oversubscribed, r.ThreadsTotal)
	}
	if r.Overlap != nil {
		t.Errorf("overlap = %v, want none when an instance did not finish", *r.Overlap)
	}
}

func TestSummarizeWithoutFinishedInstanceHasNoRate(t *testing.T) {
	r := Summarize(Pack{Instances: 1, Results: []Instance{{Status: StatusFailed}}}, 1, 1)
	if r.TokPSSum != nil || r.OKCount != 0 {
		t.Errorf("TokPSSum = %v, ok %d; want nil, 0", r.TokPSSum, r.OKCount)
	}
	data, err := EncodeCSV(Columns, []Row{r})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "NaN") || strings.Contains(string(data), "Inf") {
		t.Errorf("CSV has a non-number:\n%s", data)
	}
}

func TestOverlap(t *testing.T) {
	end := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	tests := []struct {
		name  string
		insts []Instance
		want  float64
	}{
		{"identical windows", []Instance{okInstance(0, 1, 1, 1000, end),
			okInstance(1, 1, 1, 1000, end)}, 1},
		{"half overlap", []Instance{okInstance(0, 1, 1, 2000, end),
			okInstance(1, 1, 1, 2000, end.Add(time.Second))}, 1.0 / 3},
		{"disjoint", []Instance{okInstance(0, 1, 1, 1000, end),
			okInstance(1, 1, 1, 1000, end.Add(2*time.Second))}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Overlap(tt.insts)
			if !ok || math.Abs(got-tt.want) > 0.001 {
				t.Errorf("Overlap = %v, %v, want %v", got, ok, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	eval := timing.Report{EvalRuns: i(15), EvalMS: f64(100), EvalTokPerSec: f64(150)}
	early := timing.Report{EvalRuns: i(11), EvalMS: f64(4107.93), EvalTokPerSec: f64(2.678)}
	endOfText := early
	endOfText.EndOfText = true
	tests := []struct {
		name   string
		rep    timing.Report
		o      Outcome
		status string
		early  bool
		reason string
	}{
		{"ok", eval, Outcome{}, StatusOK, false, ""},
		{"timeout", timing.Report{}, Outcome{TimedOut: true, ExitCode: 143}, StatusTimedOut,
			false, "--timeout"},
		{"no report", timing.Report{}, Outcome{}, StatusFailed, false, "no timing report"},
		{"exit status", eval, Outcome{ExitCode: 1}, StatusFailed, false, "exit status 1"},
		{"start error", timing.Report{}, Outcome{StartError: "exec format error", ExitCode: -1},
			StatusFailed, false, "exec format error"},
		{"early stop without end of text", early, Outcome{}, StatusOK, true,
			"stopped early: 12 of 16 tokens generated (a context too small"},
		{"early stop at end of text", endOfText, Outcome{}, StatusOK, true,
			"stopped early: the model ended the text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Instance{Timing: tt.rep}
			Judge(&in, tt.o, 16, time.Second)
			if in.Status != tt.status || in.StoppedEarly != tt.early ||
				!strings.Contains(in.Reason, tt.reason) {
				t.Errorf("Judge = %s, early %v, %q; want %s, %v, containing %q",
					in.Status, in.StoppedEarly, in.Reason, tt.status, tt.early, tt.reason)
			}
		})
	}
}

func TestBestPicksHighestFullyFinishedCombo(t *testing.T) {
	rows := []Row{
		{Instances: 1, Threads: 2, Status: StatusOK, OKCount: 1, TokPSSum: f64(10),
			TokPSMedian: f64(10), TokPSMin: f64(10), TokPSMax: f64(10)},
		{Instances: 1, Threads: 4, Status: StatusOK, OKCount: 1, TokPSSum: f64(12),
			TokPSMedian: f64(12), TokPSMin: f64(12), TokPSMax: f64(12)},
		{Instances: 2, Threads: 2, Status: StatusPartial, OKCount: 1, TokPSSum: f64(99),
			TokPSMedian: f64(99), TokPSMin: f64(99), TokPSMax: f64(99)},
	}
	best := Best(rows)
	if len(best) != 1 || best[0].Instances != 1 || best[0].BestThreads != 4 || best[0].TokPSSum != 12 {
		t.Errorf("Best = %+v, want only m=1 with t=4 at 12", best)
	}
}

func TestWriteFileAtomicReplacesWhole(t *testing.T) {
	p := filepath.Join(t.TempDir(), "results.csv")
	for _, content := range []string{"first version, longer\n", "second\n"} {
		if err := WriteFileAtomic(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != content {
			t.Errorf("file = %q, want %q", got, content)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestColumnsStartWithTheSeedsInOrder(t *testing.T) {
	seed := "timestamp,mode,binary,instances,threads_per_instance,tokps_sum,tokps_median," +
		"tokps_min,tokps_max,wall_s_max,ok_count,prompt_len,n_predict," +
		"per_instance_mem_mib_est,total_mem_mib_est,mem_cap_mib,stdout_paths,stderr_paths"
	var names []string
	for _, c := range Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); !strings.HasPrefix(got, seed+",") {
		t.Errorf("Columns = %s, want the seed's first:\n%s", got, seed)
	}
}

// Case 14: four copies on an oversubscribed host, two finish, two are killed
// at the timeout. The finished ones keep their rates, the killed ones have
// none (not 0), and the token-weighted rate is (63+63) tokens over the eval
// seconds of the copies that finished.
func TestCase14OversubscribedPackWithTimeouts(t *testing.T) {
	logs := []string{
		"copy 1: llama_perf_context_print:        eval time =   48120.90 ms /    63 runs   " +
			"(  763.82 ms per token,     1.31 tokens per second)\n",
		"copy 2: llama_perf_context_print:        eval time =  281540.20 ms /    63 runs   " +
			"( 4468.89 ms per token,     0.22 tokens per second)\n",
	}
	end := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	p := Pack{Instances: 4, Threads: 4, UsableCPUs: 8}
	for k := 0; k < 4; k++ {
		in := Instance{Index: k, StartedAt: end.Add(-300 * time.Second), EndedAt: end}
		o := Outcome{TimedOut: true, ExitCode: 143}
		if k < 2 {
			rep, err := timing.Parse(strings.NewReader(logs[k]))
			if err != nil {
				t.Fatal(err)
			}
			in.Timing, o = rep, Outcome{}
		}
		Judge(&in, o, 64, 300*time.Second)
		p.Results = append(p.Results, in)
	}
	p.Status, p.Reason = ComboStatus(p.Results)
	r := Summarize(p, 10, 64)

	if got := *r.TokPSMax; math.Abs(got-1.31) > 0.005 {
		t.Errorf("copy 1 rate = %v, want 1.31", got)
	}
	if got := *r.TokPSMin; math.Abs(got-0.22) > 0.005 {
		t.Errorf("copy 2 rate = %v, want 0.22", got)
	}
	if got, want := *r.TokPSWeighted, 126/(48.1209+281.5402); math.Abs(got-want) > 0.001 {
		t.Errorf("token-weighted rate = %v, want %v", got, want)
	}
	if r.OKCount != 2 || r.TimedOut != 2 || r.Status != StatusPartial ||
		!strings.Contains(r.Reason, "2 of 4 instances did not finish") {
		t.Errorf("ok %d, timed out %d, status %s (%s); want 2, 2, partial, 2 of 4",
			r.OKCount, r.TimedOut, r.Status, r.Reason)
	}
	if !r.Oversubscribed || r.ThreadsTotal != 16 || r.UsableCPUs != 8 {
		t.Errorf("oversubscribed %v (%d threads on %d CPUs), want true, 16 on 8",
			r.Oversubscribed, r.ThreadsTotal, r.UsableCPUs)
	}
	for _, in := range p.Results[2:] {
		if _, ok := in.TokPerSec(); ok {
			t.Errorf("timed-out instance %d has a rate; want none", in.Index)
		}
	}
}

// A pack cancelled while some instances had finished is cancelled, not
// partial: a resume must run it again.
func TestComboStatusCancelledWins(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		want     string
	}{
		{"all ok", []string{StatusOK, StatusOK}, StatusOK},
		{"one cancelled after one finished", []string{StatusOK, StatusCancelled},
			StatusCancelled},
		{"one failed, one cancelled", []string{StatusFailed, StatusCancelled}, StatusCancelled},
		{"one timed out", []string{StatusOK, StatusTimedOut}, StatusPartial},
		{"all failed", []string{StatusFailed, StatusFailed}, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var insts []Instance
			for i, s := range tt.statuses {
				insts = append(insts, Instance{Index: i, Status: s, Reason: s})
			}
			if got, reason := ComboStatus(insts); got != tt.want {
				t.Errorf("ComboStatus(%v) = %s (%s), want %s", tt.statuses, got, reason, tt.want)
			}
		})
	}
}
