package result

import (
	"sort"
	"time"
)

// Row is one line of results.csv: a combo summarised. Pointer fields are nil
// when no instance gave the value (an empty cell, null in JSON).
type Row struct {
	Timestamp         time.Time `json:"timestamp"`
	Mode              string    `json:"mode"`
	Binary            string    `json:"binary"`
	Instances         int       `json:"instances"`
	Threads           int       `json:"threads_per_instance"`
	TokPSSum          *float64  `json:"tokps_sum"`
	TokPSMedian       *float64  `json:"tokps_median"`
	TokPSMin          *float64  `json:"tokps_min"`
	TokPSMax          *float64  `json:"tokps_max"`
	WallSMax          float64   `json:"wall_s_max"`
	OKCount           int       `json:"ok_count"`
	PromptLen         int       `json:"prompt_len"`
	NPredict          int       `json:"n_predict"`
	PerInstanceMemMiB float64   `json:"per_instance_mem_mib_est"`
	TotalMemMiB       float64   `json:"total_mem_mib_est"`
	MemCapMiB         float64   `json:"mem_cap_mib"`
	StdoutPaths       []string  `json:"stdout_paths"`
	StderrPaths       []string  `json:"stderr_paths"`

	Status         string   `json:"status"`
	Reason         string   `json:"reason"`
	Runner         string   `json:"runner"`
	TokPSWeighted  *float64 `json:"tokps_token_weighted"`
	PromptTokPS    *float64 `json:"prompt_tokps_median"`
	LoadMS         *float64 `json:"load_ms_median"`
	StartSkewMS    float64  `json:"start_skew_ms"`
	Overlap        *float64 `json:"overlap"`
	EarlyStops     int      `json:"early_stops"`
	TimedOut       int      `json:"timed_out"`
	RSSPeakMiBMax  float64  `json:"rss_peak_mib_max"`
	PSSPeakMiBSum  float64  `json:"pss_peak_mib_sum"`
	ThreadsTotal   int      `json:"threads_total"`
	UsableCPUs     int      `json:"usable_cpus"`
	Oversubscribed bool     `json:"oversubscribed"`
	MemSource      string   `json:"mem_source"`
}

const mib = 1 << 20

// Summarize turns a pack into its results.csv row. promptLen is the prompt's
// length in characters and nPredict the tokens asked for, as the seed tool
// recorded them.
func Summarize(p Pack, promptLen, nPredict int) Row {
	r := Row{
		Timestamp:         p.StartedAt.UTC(),
		Mode:              p.Runner.ExecMode,
		Binary:            p.Runner.Binary,
		Instances:         p.Instances,
		Threads:           p.Threads,
		PromptLen:         promptLen,
		NPredict:          nPredict,
		PerInstanceMemMiB: round(float64(p.Memory.PerInstanceBytes)/mib, 2),
		TotalMemMiB:       round(float64(p.Memory.TotalBytes)/mib, 2),
		MemCapMiB:         round(float64(p.Memory.CapBytes)/mib, 2),
		Status:            p.Status,
		Reason:            p.Reason,
		Runner:            p.Runner.Kind,
		StartSkewMS:       round(float64(p.StartSkew)/float64(time.Millisecond), 3),
		ThreadsTotal:      p.Instances * p.Threads,
		UsableCPUs:        p.UsableCPUs,
		Oversubscribed:    p.UsableCPUs > 0 && p.Instances*p.Threads > p.UsableCPUs,
		MemSource:         p.Memory.Source,
	}
	if r.Timestamp.IsZero() {
		r.Timestamp = time.Now().UTC()
	}

	var rates, prompt, load []float64
	var pss uint64
	var evalRuns, evalMS float64
	for _, in := range p.Results {
		r.StdoutPaths = append(r.StdoutPaths, in.StdoutPath)
		r.StderrPaths = append(r.StderrPaths, in.StderrPath)
		r.WallSMax = max(r.WallSMax, round(in.WallSeconds(), 3))
		r.RSSPeakMiBMax = max(r.RSSPeakMiBMax, round(float64(in.PeakRSSBytes)/mib, 2))
		pss += in.PeakPSSBytes
		if in.StoppedEarly {
			r.EarlyStops++
		}
		if in.Status == StatusTimedOut {
			r.TimedOut++
		}
		if v, ok := in.TokPerSec(); ok {
			r.OKCount++
			rates = append(rates, v)
			if t := in.Timing; t.EvalRuns != nil && t.EvalMS != nil && *t.EvalMS > 0 {
				evalRuns += float64(*t.EvalRuns)
				evalMS += *t.EvalMS
			}
		}
		if in.Status == StatusOK && in.Timing.PromptTokPerSec != nil {
			prompt = append(prompt, *in.Timing.PromptTokPerSec)
		}
		if in.Timing.LoadMS != nil {
			load = append(load, *in.Timing.LoadMS)
		}
	}
	r.PSSPeakMiBSum = round(float64(pss)/mib, 2)

	if len(rates) > 0 {
		sum, lo, hi := 0.0, rates[0], rates[0]
		for _, v := range rates {
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		r.TokPSSum = ptr(round(sum, 3))
		r.TokPSMedian = ptr(round(median(rates), 3))
		r.TokPSMin, r.TokPSMax = ptr(round(lo, 3)), ptr(round(hi, 3))
	}
	if evalMS > 0 {
		r.TokPSWeighted = ptr(round(evalRuns/(evalMS/1000), 3))
	}
	if len(prompt) > 0 {
		r.PromptTokPS = ptr(round(median(prompt), 3))
	}
	if len(load) > 0 {
		r.LoadMS = ptr(round(median(load), 3))
	}
	if ov, ok := Overlap(p.Results); ok {
		r.Overlap = &ov
	}
	return r
}

// BestRow is one line of best_by_instances.csv.
type BestRow struct {
	Instances         int     `json:"instances"`
	BestThreads       int     `json:"best_threads_per_instance"`
	TokPSSum          float64 `json:"tokps_sum"`
	TokPSMedian       float64 `json:"tokps_median"`
	TokPSMin          float64 `json:"tokps_min"`
	TokPSMax          float64 `json:"tokps_max"`
	WallSMax          float64 `json:"wall_s_max"`
	PerInstanceMemMiB float64 `json:"per_instance_mem_mib_est"`
	TotalMemMiB       float64 `json:"total_mem_mib_est"`
}

// Best picks, for every instance count, the thread setting with the highest
// tokps_sum among the combos in which every instance finished. Instance
// counts with no such combo are left out. The result is ordered by instances.
func Best(rows []Row) []BestRow {
	best := map[int]Row{}
	var order []int
	for _, r := range rows {
		if r.Status != StatusOK || r.OKCount != r.Instances || r.TokPSSum == nil {
			continue
		}
		cur, seen := best[r.Instances]
		if !seen {
			order = append(order, r.Instances)
		}
		if !seen || *r.TokPSSum > *cur.TokPSSum {
			best[r.Instances] = r
		}
	}
	sort.Ints(order)

	out := make([]BestRow, 0, len(order))
	for _, m := range order {
		r := best[m]
		out = append(out, BestRow{
			Instances: m, BestThreads: r.Threads,
			TokPSSum: *r.TokPSSum, TokPSMedian: *r.TokPSMedian,
			TokPSMin: *r.TokPSMin, TokPSMax: *r.TokPSMax,
			WallSMax: r.WallSMax, PerInstanceMemMiB: r.PerInstanceMemMiB,
			TotalMemMiB: r.TotalMemMiB,
		})
	}
	return out
}

// Top is the best combo overall, and whether any combo finished.
func Top(best []BestRow) (BestRow, bool) {
	if len(best) == 0 {
		return BestRow{}, false
	}
	top := best[0]
	for _, b := range best[1:] {
		if b.TokPSSum > top.TokPSSum {
			top = b
		}
	}
	return top, true
}

// LowOverlap is the overlap under which a multi-instance row mostly
// measured instances running one after another, not side by side, so its
// tokps_sum says little about packing.
const LowOverlap = 0.5

// BestOverlap is the overlap of the row that best came from, when it has
// more than one instance and an overlap was measured.
func BestOverlap(rows []Row, best BestRow) (float64, bool) {
	if best.Instances < 2 {
		return 0, false
	}
	for _, r := range rows {
		if r.Instances == best.Instances && r.Threads == best.BestThreads &&
			r.Status == StatusOK && r.Overlap != nil {
			return *r.Overlap, true
		}
	}
	return 0, false
}
