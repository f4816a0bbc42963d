package timing

// Format values: the tag on the timing lines, or the one-line summary.
const (
	FormatPrintTimings = "llama_print_timings"      // llama.cpp 2023 to mid 2024, llamafile 0.x
	FormatPerfPrint    = "llama_perf_print"         // llama.cpp around b3700
	FormatPerfContext  = "llama_perf_context_print" // llama.cpp late 2024 on, other tools
	FormatCommonPerf   = "common_perf_print"        // llama-completion, late 2025 on
	FormatCLISummary   = "cli_summary"              // "[ Prompt: x t/s | Generation: y t/s ]"
	formatNone         = ""
)

// Failure values: what the runner's own words say went wrong.
//
// FailureOutOfMemory and FailureServerMode are dropped when the same output
// also holds a timing block with an eval line, since such a run got past
// context creation and past the port; FailureChatClient is always kept.
const (
	FailureOutOfMemory = "context allocation failed (out of memory)"
	FailureServerMode  = "started in server/chat mode"
	FailureChatClient  = "runner is a chat client (use llama-completion)"
)

// Report is what one runner's output says about its run. Nil pointers mean
// "not reported". Every value is finite, so a Report always marshals with
// encoding/json.
type Report struct {
	// Format is the tag seen on the chosen timing lines (see the Format
	// constants; an unknown tag is kept as printed), or FormatCLISummary.
	Format string `json:"format,omitempty"`

	LoadMS       *float64 `json:"load_ms"`
	PromptTokens *int     `json:"prompt_tokens"`
	PromptMS     *float64 `json:"prompt_ms"`
	// PromptTokPerSec is PromptTokens/(PromptMS/1000), nil when PromptMS is
	// 0; only the summary line's printed rate is used as is.
	PromptTokPerSec *float64 `json:"prompt_tok_per_s"`
	EvalRuns        *int     `json:"eval_runs"`
	EvalMS          *float64 `json:"eval_ms"`
	// EvalTokPerSec is EvalRuns/(EvalMS/1000), by the same rule.
	EvalTokPerSec *float64 `json:"eval_tok_per_s"`
	TotalMS       *float64 `json:"total_ms"`
	TotalTokens   *int     `json:"total_tokens"`

	// SummaryOnly is set when the rates come from the one-line summary
	// "[ Prompt: x t/s | Generation: y t/s ]": counts and times are unknown.
	SummaryOnly bool `json:"summary_only,omitempty"`
	// EndOfText is set when the runner printed " [end of text]": generation
	// stopped at an end-of-stream token, possibly before -n.
	EndOfText bool `json:"end_of_text,omitempty"`
	// Build is the runner's build as printed: "2648 (a1b2c3d4)" from
	// "main: build = 2648 (a1b2c3d4)", "b10400-0a1b2c3d4" from "build : b10400-0a1b2c3d4".
	Build string `json:"build,omitempty"`
	// Failure is one of the Failure constants, or empty. An output without
	// any timing report and without a known failure line leaves it empty:
	// the caller decides what "no timing report" means for the run.
	Failure string `json:"failure,omitempty"`
	// Memory holds the buffer sizes the runner logged while loading.
	Memory Buffers `json:"memory"`
}

// Buffers are the buffer sizes a runner logs while it loads a model and
// creates its context, in MiB. Several lines of one kind (a KV cache split
// in two, say) are summed. Nil means the runner did not log it.
type Buffers struct {
	NCtx       *int     `json:"n_ctx,omitempty"`       // "n_ctx = 131072"
	MappedMiB  *float64 `json:"mapped_mib,omitempty"`  // "CPU_Mapped model buffer size": shared
	RepackMiB  *float64 `json:"repack_mib,omitempty"`  // "CPU_REPACK model buffer size": private
	KVMiB      *float64 `json:"kv_mib,omitempty"`      // "CPU KV buffer size", else "KV self size"
	ComputeMiB *float64 `json:"compute_mib,omitempty"` // "CPU compute buffer size"
	OutputMiB  *float64 `json:"output_mib,omitempty"`  // "CPU output buffer size"
	// FailedAllocBytes is the size of the first allocation the runner
	// reported as failed ("failed to allocate buffer of size N").
	FailedAllocBytes *int64 `json:"failed_alloc_bytes,omitempty"`
}

// HasEval reports whether a generation rate is available, computed from the
// eval line's count and time or printed on the summary line.
func (r Report) HasEval() bool {
	return r.EvalTokPerSec != nil
}

// PrivateMiB is the memory each copy of the runner holds for itself:
// repacked weights, KV cache, compute and output buffers. Mapped weights are
// shared between copies and left out. It is false when none was logged.
func (b Buffers) PrivateMiB() (float64, bool) {
	sum, found := 0.0, false
	for _, v := range []*float64{b.RepackMiB, b.KVMiB, b.ComputeMiB, b.OutputMiB} {
		if v != nil {
			sum += *v
			found = true
		}
	}
	return sum, found
}

// rank orders reports by how much timing they carry, for merging streams:
// a block with an eval line beats the summary line, which beats a partial
// block, which beats nothing.
func (r Report) rank() int {
	switch {
	case !r.SummaryOnly && r.EvalMS != nil:
		return 3
	case r.SummaryOnly:
		return 2
	case r.Format != formatNone || r.LoadMS != nil || r.PromptMS != nil || r.TotalMS != nil:
		return 1
	}
	return 0
}

// settle drops the failures that a complete timing block disproves.
func (r *Report) settle() {
	if r.rank() == 3 && (r.Failure == FailureOutOfMemory || r.Failure == FailureServerMode) {
		r.Failure = ""
	}
}

// merge fills dst from src: the timing fields as one group from whichever
// ranks higher (dst on a tie), every other field where dst has none.
func merge(dst *Report, src Report) {
	if src.rank() > dst.rank() {
		dst.Format, dst.SummaryOnly = src.Format, src.SummaryOnly
		dst.LoadMS, dst.TotalMS, dst.TotalTokens = src.LoadMS, src.TotalMS, src.TotalTokens
		dst.PromptTokens, dst.PromptMS = src.PromptTokens, src.PromptMS
		dst.PromptTokPerSec = src.PromptTokPerSec
		dst.EvalRuns, dst.EvalMS, dst.EvalTokPerSec = src.EvalRuns, src.EvalMS, src.EvalTokPerSec
	}

	dst.EndOfText = dst.EndOfText || src.EndOfText
	if dst.Build == "" {
		dst.Build = src.Build
	}
	if dst.Failure == "" {
		dst.Failure = src.Failure
	}
	mergeBuffers(&dst.Memory, src.Memory)
}

func mergeBuffers(dst *Buffers, src Buffers) {
	if dst.NCtx == nil {
		dst.NCtx = src.NCtx
	}
	if dst.FailedAllocBytes == nil {
		dst.FailedAllocBytes = src.FailedAllocBytes
	}
	for _, p := range []struct {
		d **float64
		s *float64
	}{
		{&dst.MappedMiB, src.MappedMiB}, {&dst.RepackMiB, src.RepackMiB},
		{&dst.KVMiB, src.KVMiB}, {&dst.ComputeMiB, src.ComputeMiB},
		{&dst.OutputMiB, src.OutputMiB},
	} {
		if *p.d == nil {
			*p.d = p.s
		}
	}
}
