package timing_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/packbench/packbench/pkg/timing"
)

// rateTol is how far a computed rate may be from the rate a case prints.
const rateTol = 0.005

func f(v float64) *float64 { return &v }
func n(v int) *int         { return &v }

// parseTestdata runs ParseFiles on files under testdata and checks that the
// report marshals.
func parseTestdata(t *testing.T, names ...string) timing.Report {
	t.Helper()
	paths := make([]string, len(names))
	for i, name := range names {
		paths[i] = filepath.Join("testdata", name)
	}
	rep, err := timing.ParseFiles(paths...)
	if err != nil {
		t.Fatalf("ParseFiles(%v) error = %v, want nil", names, err)
	}
	mustMarshal(t, rep)
	return rep
}

func mustMarshal(t *testing.T, rep timing.Report) []byte {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("json.Marshal(%+v) error = %v, want nil", rep, err)
	}
	return b
}

// checkReport compares every field, floats within rateTol.
func checkReport(t *testing.T, what string, got, want timing.Report) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, rateTol)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

func TestCase01(t *testing.T) {
	got := parseTestdata(t, "case01.stderr")
	want := timing.Report{
		Format: timing.FormatCommonPerf, LoadMS: f(61.27),
		PromptTokens: n(11), PromptMS: f(0.41), PromptTokPerSec: f(26829.27),
		EvalRuns: n(159), EvalMS: f(3301.20), EvalTokPerSec: f(48.16),
		TotalMS: f(3343.02), TotalTokens: n(170),
	}
	checkReport(t, "ParseFiles(case01.stderr)", got, want)
	if !got.HasEval() {
		t.Errorf("HasEval() = false, want true")
	}
}

func TestCase02(t *testing.T) {
	want := timing.Report{
		Format: timing.FormatPerfContext, LoadMS: f(187.02),
		PromptTokens: n(11), PromptMS: f(12.63), PromptTokPerSec: f(870.94),
		EvalRuns: n(159), EvalMS: f(402.18), EvalTokPerSec: f(395.35),
		TotalMS: f(641.77), TotalTokens: n(170),
	}
	// the report is on stdout here; the order of the files must not matter.
	for _, files := range [][]string{
		{"case02.stdout", "case02.stderr"},
		{"case02.stderr", "case02.stdout"},
	} {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			checkReport(t, "ParseFiles("+strings.Join(files, ", ")+")",
				parseTestdata(t, files...), want)
		})
	}

	t.Run("stderr alone", func(t *testing.T) {
		checkReport(t, "ParseFiles(case02.stderr)", parseTestdata(t, "case02.stderr"),
			timing.Report{})
	})
}

func TestCase03(t *testing.T) {
	got := parseTestdata(t, "case03.stderr")
	want := timing.Report{
		Format: timing.FormatPerfContext, LoadMS: f(20.11),
		PromptTokens: n(3), PromptMS: f(1.62), PromptTokPerSec: f(1851.85),
		EvalRuns: n(15), EvalMS: f(17.90), EvalTokPerSec: f(837.99),
		TotalMS: f(31.25), TotalTokens: n(18),
	}
	checkReport(t, "ParseFiles(case03.stderr)", got, want)
}

func TestCase04(t *testing.T) {
	got := parseTestdata(t, "case04.stdout")
	want := timing.Report{
		Format: timing.FormatCLISummary, SummaryOnly: true,
		PromptTokPerSec: f(31250.7), EvalTokPerSec: f(2874.3),
	}
	checkReport(t, "ParseFiles(case04.stdout)", got, want)
	if !got.HasEval() {
		t.Errorf("HasEval() = false, want true")
	}
}

func TestCase06(t *testing.T) {
	tests := []struct {
		file string
		want timing.Report
	}{
		{"case06a.stderr", timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(912.33),
			PromptTokens: n(12), PromptMS: f(455.18), PromptTokPerSec: f(26.36),
			EvalRuns: n(159), EvalMS: f(14020.96), EvalTokPerSec: f(11.34),
			TotalMS: f(14610.52), TotalTokens: n(171),
		}},
		// no rate printed on any line, and no total count.
		{"case06b.stderr", timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(1503.80),
			PromptTokens: n(9), PromptMS: f(810.02), PromptTokPerSec: f(11.11),
			EvalRuns: n(127), EvalMS: f(12412.60), EvalTokPerSec: f(10.23),
			TotalMS: f(14950.11),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkReport(t, "ParseFiles("+tt.file+")", parseTestdata(t, tt.file), tt.want)
		})
	}
}

func TestCase07(t *testing.T) {
	tests := []struct {
		file string
		want timing.Report
	}{
		{"case07a.stderr", timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(2841.37),
			PromptTokens: n(173), PromptMS: f(71204.55), PromptTokPerSec: f(2.43),
			EvalRuns: n(6), EvalMS: f(2961.08), EvalTokPerSec: f(2.03),
			TotalMS: f(74171.02),
		}},
		{"case07b.stderr", timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(612.40),
			PromptTokens: n(233), PromptMS: f(5120.77), PromptTokPerSec: f(45.50),
			EvalRuns: n(399), EvalMS: f(98310.42), EvalTokPerSec: f(4.06),
			TotalMS: f(103790.15),
		}},
		{"case07c.stderr", timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(301.55),
			PromptTokens: n(9), PromptMS: f(356.90), PromptTokPerSec: f(25.22),
			EvalRuns: n(63), EvalMS: f(4810.33), EvalTokPerSec: f(13.10),
			TotalMS: f(5188.47), TotalTokens: n(72),
			Build: "2648 (a1b2c3d4)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkReport(t, "ParseFiles("+tt.file+")", parseTestdata(t, tt.file), tt.want)
		})
	}
}

func TestCase08(t *testing.T) {
	tests := []struct {
		file string
		want timing.Report
	}{
		{"case08a.stderr", timing.Report{
			Format: timing.FormatPerfPrint, LoadMS: f(744.19),
			PromptTokens: n(12), PromptMS: f(212.40), PromptTokPerSec: f(56.50),
			EvalRuns: n(5), EvalMS: f(2093.77), EvalTokPerSec: f(2.39),
			TotalMS: f(2311.90), TotalTokens: n(17),
		}},
		{"case08b.stderr", timing.Report{
			Format: timing.FormatPerfContext, LoadMS: f(1377.54),
			PromptTokens: n(7), PromptMS: f(98.31), PromptTokPerSec: f(71.20),
			EvalRuns: n(31), EvalMS: f(11873.60), EvalTokPerSec: f(2.61),
			TotalMS: f(12016.72), TotalTokens: n(38),
		}},
		// "samplers time ... / 257 tokens" is not the prompt line.
		{"case08c.stderr", timing.Report{
			Format: timing.FormatCommonPerf, LoadMS: f(5020.31),
			PromptTokens: n(14), PromptMS: f(131.77), PromptTokPerSec: f(106.25),
			EvalRuns: n(255), EvalMS: f(20877.45), EvalTokPerSec: f(12.21),
			TotalMS: f(21160.04), TotalTokens: n(269),
		}},
		{"case08d.journal", timing.Report{
			Format:       timing.FormatPrintTimings,
			PromptTokens: n(120), PromptMS: f(444.10), PromptTokPerSec: f(270.21),
			EvalRuns: n(300), EvalMS: f(9876.00), EvalTokPerSec: f(30.38),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkReport(t, "ParseFiles("+tt.file+")", parseTestdata(t, tt.file), tt.want)
		})
	}
}

func TestCase09(t *testing.T) {
	got := parseTestdata(t, "case09.stderr")
	want := timing.Report{
		Format: timing.FormatPerfContext, LoadMS: f(1389.02),
		PromptTokens: n(1), PromptMS: f(0), // "inf tokens per second": no rate
		EvalRuns: n(11), EvalMS: f(4107.93), EvalTokPerSec: f(2.68),
		TotalMS: f(4165.20), TotalTokens: n(12),
		EndOfText: true,
		Memory:    timing.Buffers{NCtx: n(4096)},
	}
	checkReport(t, "ParseFiles(case09.stderr)", got, want)

	b := mustMarshal(t, got)
	if !strings.Contains(string(b), `"prompt_tok_per_s":null`) {
		t.Errorf("json.Marshal(report) = %s, want \"prompt_tok_per_s\":null", b)
	}
}

func TestCase10(t *testing.T) {
	t.Run("log-disable", func(t *testing.T) {
		got := parseTestdata(t, "case10a.log")
		checkReport(t, "ParseFiles(case10a.log)", got, timing.Report{})
		if got.HasEval() {
			t.Errorf("HasEval() = true, want false")
		}
	})

	t.Run("no-perf", func(t *testing.T) {
		got := parseTestdata(t, "case10b.stderr")
		want := timing.Report{
			Format: timing.FormatPerfContext, LoadMS: f(2211.40),
			PromptTokens: n(13), PromptMS: f(0),
			EvalRuns: n(47), EvalMS: f(0),
			TotalMS: f(6120.94), TotalTokens: n(60),
		}
		checkReport(t, "ParseFiles(case10b.stderr)", got, want)
		if got.HasEval() {
			t.Errorf("HasEval() = true, want false")
		}
	})
}

func TestCase11(t *testing.T) {
	got := parseTestdata(t, "case11.stdout", "case11.stderr")
	want := timing.Report{
		Format: timing.FormatPerfContext, LoadMS: f(388.20),
		PromptTokens: n(5), PromptMS: f(61.47), PromptTokPerSec: f(81.34),
		EvalRuns: n(7), EvalMS: f(214.66), EvalTokPerSec: f(32.61),
		TotalMS: f(281.03), TotalTokens: n(12),
	}
	checkReport(t, "ParseFiles(case11.stdout, case11.stderr)", got, want)
}

func TestCase12(t *testing.T) {
	t.Run("no-conversation", func(t *testing.T) {
		got := parseTestdata(t, "case12.stdout")
		want := timing.Report{
			Format: timing.FormatCLISummary, SummaryOnly: true,
			PromptTokPerSec: f(412.3), EvalTokPerSec: f(38.7),
			Build:   "b10400-0a1b2c3d4",
			Failure: timing.FailureChatClient,
		}
		checkReport(t, "ParseFiles(case12.stdout)", got, want)
	})

	t.Run("-no-cnv refused", func(t *testing.T) {
		got, err := timing.Parse(strings.NewReader("error: invalid argument: -no-cnv\n"))
		if err != nil {
			t.Fatalf("Parse() error = %v, want nil", err)
		}
		if got.Failure != timing.FailureChatClient {
			t.Errorf("Parse().Failure = %q, want %q", got.Failure, timing.FailureChatClient)
		}
	})
}

func TestCase15(t *testing.T) {
	t.Run("fits", func(t *testing.T) {
		got := parseTestdata(t, "case15ok.stderr")
		want := timing.Report{Memory: timing.Buffers{
			NCtx: n(131072), KVMiB: f(16384.00), ComputeMiB: f(8464.01),
		}}
		checkReport(t, "ParseFiles(case15ok.stderr)", got, want)
	})

	t.Run("fails", func(t *testing.T) {
		got := parseTestdata(t, "case15fail.stderr")
		size := int64(17179869216)
		want := timing.Report{
			Failure: timing.FailureOutOfMemory,
			Memory:  timing.Buffers{NCtx: n(131072), FailedAllocBytes: &size},
		}
		checkReport(t, "ParseFiles(case15fail.stderr)", got, want)
		if got.Memory.FailedAllocBytes != nil {
			if gib := float64(*got.Memory.FailedAllocBytes) / (1 << 30); gib < 15.99 || gib > 16.01 {
				t.Errorf("failed allocation = %.3f GiB, want 16.0", gib)
			}
		}
	})
}

func TestCase16(t *testing.T) {
	got := parseTestdata(t, "case16.stderr")
	want := timing.Report{Memory: timing.Buffers{
		MappedMiB: f(4403.49), RepackMiB: f(4219.87), KVMiB: f(512.00),
		OutputMiB: f(0.49), ComputeMiB: f(300.75),
	}}
	checkReport(t, "ParseFiles(case16.stderr)", got, want)

	private, ok := got.Memory.PrivateMiB()
	if !ok || private < 5033.11-rateTol || private > 5033.11+rateTol {
		t.Errorf("PrivateMiB() = %.2f, %t, want 5033.11, true", private, ok)
	}
	if need := *got.Memory.MappedMiB + 4*private; need < 24535.93-rateTol || need > 24535.93+rateTol {
		t.Errorf("need for 4 copies = %.2f MiB, want 24535.93", need)
	}
}

func TestCase17(t *testing.T) {
	t.Run("cli", func(t *testing.T) {
		got := parseTestdata(t, "case17.log")
		want := timing.Report{
			Format: timing.FormatPrintTimings, LoadMS: f(1920.44),
			PromptTokens: n(5), PromptMS: f(88.31), PromptTokPerSec: f(56.62),
			EvalRuns: n(2), EvalMS: f(61.02), EvalTokPerSec: f(32.78),
			TotalMS: f(152.90), TotalTokens: n(7),
		}
		checkReport(t, "ParseFiles(case17.log)", got, want)
	})

	t.Run("port taken", func(t *testing.T) {
		got := parseTestdata(t, "case17bind.log")
		checkReport(t, "ParseFiles(case17bind.log)", got,
			timing.Report{Failure: timing.FailureServerMode})
	})
}
