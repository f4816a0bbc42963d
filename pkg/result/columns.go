package result

import (
	"strconv"
	"strings"
)

// Column is one column of a CSV file: its header, what it means (the README
// lists these) and how a row renders it.
type Column[R any] struct {
	Name    string
	Meaning string
	Cell    func(R) string
}

// Columns are results.csv's columns: the seed tool's, in its order, then
// packbench's own after them.
var Columns = []Column[Row]{
	{"timestamp", "UTC start of the pack, RFC 3339", func(r Row) string {
		return r.Timestamp.Format("2006-01-02T15:04:05.000Z07:00")
	}},
	{"mode", "how the binary was run: direct, sh or bash", func(r Row) string { return r.Mode }},
	{"binary", "the runner as given by --binary", func(r Row) string { return r.Binary }},
	{"instances", "M, processes run at once", func(r Row) string { return itoa(r.Instances) }},
	{"threads_per_instance", "T, threads given to each process", func(r Row) string {
		return itoa(r.Threads)
	}},
	{"tokps_sum", "generated tokens/s summed over the finished instances", func(r Row) string {
		return fptr(r.TokPSSum)
	}},
	{"tokps_median", "median generated tokens/s of one instance", func(r Row) string {
		return fptr(r.TokPSMedian)
	}},
	{"tokps_min", "slowest instance, generated tokens/s", func(r Row) string {
		return fptr(r.TokPSMin)
	}},
	{"tokps_max", "fastest instance, generated tokens/s", func(r Row) string {
		return fptr(r.TokPSMax)
	}},
	{"wall_s_max", "longest process wall time, seconds", func(r Row) string {
		return ftoa(r.WallSMax)
	}},
	{"ok_count", "instances that finished with a timing report", func(r Row) string {
		return itoa(r.OKCount)
	}},
	{"prompt_len", "prompt length, characters", func(r Row) string { return itoa(r.PromptLen) }},
	{"n_predict", "tokens asked for (-n)", func(r Row) string { return itoa(r.NPredict) }},
	{"per_instance_mem_mib_est", "estimated private memory of one instance, MiB: KV cache, " +
		"compute buffers and runtime (and the weights under --no-mmap); mmapped weights are " +
		"shared and counted once in total_mem_mib_est", func(r Row) string {
		return ftoa(r.PerInstanceMemMiB)
	}},
	{"total_mem_mib_est", "estimated memory of the pack, MiB (mmapped weights once)",
		func(r Row) string { return ftoa(r.TotalMemMiB) }},
	{"mem_cap_mib", "--mem-headroom x MemAvailable before the pack, MiB", func(r Row) string {
		return ftoa(r.MemCapMiB)
	}},
	{"stdout_paths", "per-instance stdout logs, ';'-separated", func(r Row) string {
		return strings.Join(r.StdoutPaths, ";")
	}},
	{"stderr_paths", "per-instance stderr logs, ';'-separated", func(r Row) string {
		return strings.Join(r.StderrPaths, ";")
	}},

	{"status", "ok; partial (some instances failed or timed out); failed; timeout; " +
		"cancelled (cut short by Ctrl-C or shutdown: a resume runs it again); skipped " +
		"(over the memory cap)", func(r Row) string {
		return r.Status
	}},
	{"reason", "why the combo is not ok (empty when it is)", func(r Row) string { return r.Reason }},
	{"runner", "runner profile used", func(r Row) string { return r.Runner }},
	{"tokps_token_weighted", "generated tokens/s of one instance, weighted by tokens: " +
		"sum of eval tokens over sum of eval seconds of the finished instances",
		func(r Row) string { return fptr(r.TokPSWeighted) }},
	{"prompt_tokps_median", "median prompt-processing tokens/s of one instance",
		func(r Row) string { return fptr(r.PromptTokPS) }},
	{"load_ms_median", "median model load time, milliseconds", func(r Row) string {
		return fptr(r.LoadMS)
	}},
	{"start_skew_ms", "time between the first and the last process start, milliseconds",
		func(r Row) string { return ftoa(r.StartSkewMS) }},
	{"overlap", "share (0-1) of the generation time during which all instances generated",
		func(r Row) string { return fptr(r.Overlap) }},
	{"early_stops", "instances that generated fewer tokens than asked", func(r Row) string {
		return itoa(r.EarlyStops)
	}},
	{"timed_out", "instances killed at --timeout", func(r Row) string { return itoa(r.TimedOut) }},
	{"rss_peak_mib_max", "highest peak RSS of one instance, MiB (shared pages included)",
		func(r Row) string { return ftoa(r.RSSPeakMiBMax) }},
	{"pss_peak_mib_sum", "sum of the instances' peak PSS, MiB (shared pages split)",
		func(r Row) string { return ftoa(r.PSSPeakMiBSum) }},
	{"threads_total", "instances x threads_per_instance", func(r Row) string {
		return itoa(r.ThreadsTotal)
	}},
	{"usable_cpus", "CPUs this process may use (affinity and cgroup quota)", func(r Row) string {
		return itoa(r.UsableCPUs)
	}},
	{"oversubscribed", "true when threads_total exceeds usable_cpus", func(r Row) string {
		return strconv.FormatBool(r.Oversubscribed)
	}},
	{"mem_source", "where the memory estimate came from: gguf or file-size", func(r Row) string {
		return r.MemSource
	}},
}

// BestColumns are best_by_instances.csv's columns, in the seed tool's order.
var BestColumns = []Column[BestRow]{
	{"instances", "M", func(b BestRow) string { return itoa(b.Instances) }},
	{"best_threads_per_instance", "the T with the highest tokps_sum for this M",
		func(b BestRow) string { return itoa(b.BestThreads) }},
	{"tokps_sum", "as in results.csv", func(b BestRow) string { return ftoa(b.TokPSSum) }},
	{"tokps_median", "as in results.csv", func(b BestRow) string { return ftoa(b.TokPSMedian) }},
	{"tokps_min", "as in results.csv", func(b BestRow) string { return ftoa(b.TokPSMin) }},
	{"tokps_max", "as in results.csv", func(b BestRow) string { return ftoa(b.TokPSMax) }},
	{"wall_s_max", "as in results.csv", func(b BestRow) string { return ftoa(b.WallSMax) }},
	{"per_instance_mem_mib_est", "as in results.csv", func(b BestRow) string {
		return ftoa(b.PerInstanceMemMiB)
	}},
	{"total_mem_mib_est", "as in results.csv", func(b BestRow) string {
		return ftoa(b.TotalMemMiB)
	}},
}

func itoa(v int) string { return strconv.Itoa(v) }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fptr(v *float64) string {
	if v == nil {
		return ""
	}
	return ftoa(*v)
}
