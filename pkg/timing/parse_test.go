package timing_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/timing"
)

const (
	loadLine   = "llama_perf_context_print:        load time =     388.20 ms\n"
	promptLine = "llama_perf_context_print: prompt eval time =      61.47 ms /     5 tokens " +
		"(   12.29 ms per token,    81.34 tokens per second)\n"
	evalLine = "llama_perf_context_print:        eval time =     214.66 ms /     7 runs   " +
		"(   30.67 ms per token,    32.61 tokens per second)\n"
	totalLine = "llama_perf_context_print:       total time =     281.03 ms /    12 tokens\n"
	block     = loadLine + promptLine + evalLine + totalLine
)

// blockReport is what block parses to.
var blockReport = timing.Report{
	Format: timing.FormatPerfContext, LoadMS: f(388.20),
	PromptTokens: n(5), PromptMS: f(61.47), PromptTokPerSec: f(81.34),
	EvalRuns: n(7), EvalMS: f(214.66), EvalTokPerSec: f(32.61),
	TotalMS: f(281.03), TotalTokens: n(12),
}

func parseString(t *testing.T, s string) timing.Report {
	t.Helper()
	rep, err := timing.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	mustMarshal(t, rep)
	return rep
}

// TestPromptEvalIsNotEval keeps the two labels apart whatever their order
// and whichever is missing.
func TestPromptEvalIsNotEval(t *testing.T) {
	tests := []struct {
		name, in string
		want     timing.Report
	}{
		{"prompt line alone", promptLine, timing.Report{
			Format: timing.FormatPerfContext, PromptTokens: n(5), PromptMS: f(61.47),
			PromptTokPerSec: f(81.34),
		}},
		{"eval line alone", evalLine, timing.Report{
			Format: timing.FormatPerfContext, EvalRuns: n(7), EvalMS: f(214.66),
			EvalTokPerSec: f(32.61),
		}},
		{"eval before prompt", evalLine + promptLine, timing.Report{
			Format: timing.FormatPerfContext, PromptTokens: n(5), PromptMS: f(61.47),
			PromptTokPerSec: f(81.34), EvalRuns: n(7), EvalMS: f(214.66),
			EvalTokPerSec: f(32.61),
		}},
		{"samplers line is no prompt line",
			"common_perf_print:    samplers time =      55.12 ms /   257 tokens\n" +
				"common_perf_print:    sampling time =     140.66 ms\n" +
				"llama_print_timings:      sample time =    52.64 ms /   128 runs\n",
			timing.Report{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseString(t, tt.in)
			checkReport(t, "Parse("+tt.name+")", got, tt.want)
		})
	}
}

// TestLineShapes covers prefixes, colours, redraws and blocks that the
// cases describe in words.
func TestLineShapes(t *testing.T) {
	tests := []struct {
		name, in string
		want     timing.Report
	}{
		{"CRLF endings", strings.ReplaceAll(block, "\n", "\r\n"), blockReport},
		{"colours and a redrawn line", "\x1b[32m" + strings.ReplaceAll(block, "\n",
			"\x1b[0m\n\x1b]0;title\x07Loading 50%\rLoading 100%\r\x1b[2K"), blockReport},
		{"timing glued to generated text", "and they lived happily. " + block, blockReport},
		{"copy prefix of case 14", "copy 1: llama_perf_context_print:        eval time =   " +
			"48120.90 ms /    63 runs   (  763.82 ms per token,     1.31 tokens per second)\n",
			timing.Report{Format: timing.FormatPerfContext, EvalRuns: n(63),
				EvalMS: f(48120.90), EvalTokPerSec: f(1.31)}},
		{"overflowing widths", "llama_print_timings:        eval time = 33458013.45 ms /" +
			"   135 runs   (247837.14 ms per token,     0.00 tokens per second)\n",
			timing.Report{Format: timing.FormatPrintTimings, EvalRuns: n(135),
				EvalMS: f(33458013.45), EvalTokPerSec: f(0.004)}},
		{"format strings ignored", "llama_print_timings:        eval time = %d ms / %d runs\n" +
			"%d\nFLAG_nocompile 0\n", timing.Report{}},
		{"count out of range", "x:        eval time = 1.00 ms / 99999999999999999999999 runs\n",
			timing.Report{Format: "x", EvalMS: f(1)}},
		{"ms out of range", "x:        eval time = 1" + strings.Repeat("0", 400) + " ms / 1 runs\n",
			timing.Report{}},
		{"last complete block wins",
			strings.ReplaceAll(block, "388.20", "1.00") + block + loadLine, blockReport},
		{"block beats summary", "[ Prompt: 1.0 t/s | Generation: 2.0 t/s ]\n" + block,
			blockReport},
		{"summary with inf", "[ Prompt: inf t/s | Generation: 38.7 t/s ]\n", timing.Report{
			Format: timing.FormatCLISummary, SummaryOnly: true, EvalTokPerSec: f(38.7)}},
		{"zero ms and zero count", "x:        eval time = 0.00 ms / 0 runs\n",
			timing.Report{Format: "x", EvalRuns: n(0), EvalMS: f(0)}},
		{"oom disproved by a report",
			"failed to allocate buffer of size 1024\n" + block, withAlloc(blockReport, 1024)},
		{"build line of newer builds", "build: 4635 (abc123de) with cc for x86_64\n",
			timing.Report{Build: "4635 (abc123de)"}},
		{"kv self size when no KV buffer line",
			"llama_new_context_with_model: KV self size  =  512.00 MiB, K (f16): 256.00 MiB\n",
			timing.Report{Memory: timing.Buffers{KVMiB: f(512)}}},
		{"two KV caches are summed",
			"llama_kv_cache_unified: CPU KV buffer size = 100.00 MiB\n" +
				"llama_kv_cache_unified: CPU KV buffer size = 28.50 MiB\n",
			timing.Report{Memory: timing.Buffers{KVMiB: f(128.5)}}},
		{"n_ctx_train is not n_ctx", "llm_load_print_meta: n_ctx_train      = 131072\n",
			timing.Report{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReport(t, "Parse("+tt.name+")", parseString(t, tt.in), tt.want)
		})
	}
}

func withAlloc(r timing.Report, size int64) timing.Report {
	r.Memory.FailedAllocBytes = &size
	return r
}

// TestLongLine feeds lines far longer than the parser keeps.
func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 10<<20)
	tests := []struct {
		name, in string
		want     timing.Report
	}{
		{"before the block", long + "\n" + block, blockReport},
		{"glued before the block", long + block, blockReport},
		// a carriage return redraws the line: only the text after the last one counts.
		{"block redrawn on one line", long + strings.ReplaceAll(block, "\n", "\r"),
			timing.Report{Format: timing.FormatPerfContext, TotalMS: f(281.03),
				TotalTokens: n(12)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReport(t, "Parse("+tt.name+")", parseString(t, tt.in), tt.want)
		})
	}

	t.Run("only a long line", func(t *testing.T) {
		checkReport(t, "Parse(10 MB line)", parseString(t, long), timing.Report{})
	})
}

// TestPromptLoop parses the endless "> " output of a chat client that was
// killed: no report, no failure, and no trouble.
func TestPromptLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loop.stdout")
	data := bytes.Repeat([]byte("> \n"), 100000)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := timing.ParseFiles(path)
	if err != nil {
		t.Fatalf("ParseFiles(loop) error = %v, want nil", err)
	}
	checkReport(t, "ParseFiles(loop)", got, timing.Report{})
	if got.HasEval() {
		t.Errorf("HasEval() = true, want false")
	}
}

// TestJSON marshals the report of every recorded output, and reads it back.
func TestJSON(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("testdata files = %v, %v, want some", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			rep, err := timing.ParseFiles(path)
			if err != nil {
				t.Fatalf("ParseFiles(%s) error = %v, want nil", path, err)
			}
			b := mustMarshal(t, rep)

			var back timing.Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) error = %v, want nil", b, err)
			}
			checkReport(t, "json round trip of "+path, back, rep)
		})
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	k := copy(p, r.data)
	r.data = r.data[k:]
	return k, nil
}

func TestParseReadError(t *testing.T) {
	errBroken := errors.New("broken pipe")
	got, err := timing.Parse(&failingReader{data: []byte(block), err: errBroken})
	if !errors.Is(err, errBroken) {
		t.Errorf("Parse(failing reader) error = %v, want %v", err, errBroken)
	}
	checkReport(t, "Parse(failing reader)", got, blockReport)
}

func TestParseFilesMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.stdout")
	got, err := timing.ParseFiles(missing, "", filepath.Join("testdata", "case11.stderr"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ParseFiles(missing, ...) error = %v, want %v", err, fs.ErrNotExist)
	}
	checkReport(t, "ParseFiles(missing, case11.stderr)", got, blockReport)
}

// TestParseFilesMerge takes timing from one stream and the rest from the other.
func TestParseFilesMerge(t *testing.T) {
	dir := t.TempDir()
	stdout := filepath.Join(dir, "run.stdout")
	stderr := filepath.Join(dir, "run.stderr")
	writeFile(t, stdout, "hello [end of text]\n[ Prompt: 1.0 t/s | Generation: 2.0 t/s ]\n")
	writeFile(t, stderr, "main: build = 2648 (a1b2c3d4)\nllama_context: n_ctx = 256\n"+
		"failed to allocate buffer of size 8\n"+block)

	got, err := timing.ParseFiles(stdout, stderr)
	if err != nil {
		t.Fatalf("ParseFiles() error = %v, want nil", err)
	}
	want := withAlloc(blockReport, 8)
	want.EndOfText, want.Build, want.Memory.NCtx = true, "2648 (a1b2c3d4)", n(256)
	checkReport(t, "ParseFiles(stdout, stderr)", got, want)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(block))

	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := timing.Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Parse() error = %v, want nil", err)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("json.Marshal(%+v) error = %v, want nil", rep, err)
		}
		for _, v := range []*float64{rep.PromptTokPerSec, rep.EvalTokPerSec} {
			if v != nil && (*v < 0 || math.IsInf(*v, 0) || math.IsNaN(*v)) {
				t.Fatalf("Parse() rate = %v, want finite and >= 0", *v)
			}
		}
	})
}

// BenchmarkParse parses a 1 MB log: loader chatter, generated text, and the
// timing block at the end.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	chatter := "llama_model_loader: - kv  12: llama.attention.head_count u32 = 32\n" +
		"load_tensors:   CPU_Mapped model buffer size =  4403.49 MiB\n" +
		" Once upon a time there was a lighthouse keeper who kept the light.\n"
	for buf.Len() < 1<<20 {
		buf.WriteString(chatter)
	}
	buf.WriteString(block)
	data := buf.Bytes()

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := timing.Parse(bytes.NewReader(data))
		if err != nil || !rep.HasEval() {
			b.Fatalf("Parse() = %+v, %v, want a report with eval", rep, err)
		}
	}
}

var _ io.Reader = (*failingReader)(nil)
