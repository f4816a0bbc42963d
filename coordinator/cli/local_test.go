package cli_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/packbench/packbench/pkg/timing"
)

// seedColumns are results.csv's columns as the seed tool defined them; they
// must stay first and in this order.
var seedColumns = []string{"timestamp", "mode", "binary", "instances",
	"threads_per_instance", "tokps_sum", "tokps_median", "tokps_min", "tokps_max",
	"wall_s_max", "ok_count", "prompt_len", "n_predict", "per_instance_mem_mib_est",
	"total_mem_mib_est", "mem_cap_mib", "stdout_paths", "stderr_paths"}

var seedBestColumns = []string{"instances", "best_threads_per_instance", "tokps_sum",
	"tokps_median", "tokps_min", "tokps_max", "wall_s_max", "per_instance_mem_mib_est",
	"total_mem_mib_est"}

// readCSV returns the header and the records as maps keyed by column.
func readCSV(t *testing.T, path string) ([]string, []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s is empty", path)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, name := range recs[0] {
			m[name] = rec[i]
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func TestLocalEndToEndRealEngine(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runPackbench(t, "local",
		"--binary", engine(t), "--model", sharedModel(t),
		"--instances", "1,2", "--threads-min", "1", "--threads-max", "1",
		"--ladder-span", "0", "--reserve-cores", "0",
		"--ctx-size", "256", "-n", "24", "--timeout", "120", "--outdir", out)
	if code != 0 {
		t.Fatalf("packbench local exit = %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	header, rows := readCSV(t, filepath.Join(out, "results.csv"))
	if len(header) < len(seedColumns) {
		t.Fatalf("results.csv has %d columns, want at least %d", len(header), len(seedColumns))
	}
	if got := strings.Join(header[:len(seedColumns)], ","); got != strings.Join(seedColumns, ",") {
		t.Fatalf("results.csv seed columns = %s, want %s", got, strings.Join(seedColumns, ","))
	}
	seen := map[string]bool{}
	logName := regexp.MustCompile(`^m(\d+)_t(\d+)_.+_p(\d+)\.(stdout|stderr)\.txt$`)
	for _, r := range rows {
		seen[r["instances"]] = true
		if r["ok_count"] != r["instances"] || r["status"] != "ok" {
			t.Errorf("row m=%s t=%s: ok_count = %s, status %q (%s), want every instance ok",
				r["instances"], r["threads_per_instance"], r["ok_count"], r["status"], r["reason"])
		}
		stdouts := strings.Split(r["stdout_paths"], ";")
		stderrs := strings.Split(r["stderr_paths"], ";")
		if len(stdouts) != int(num(t, r["instances"])) || len(stderrs) != len(stdouts) {
			t.Fatalf("row m=%s: %d stdout and %d stderr logs", r["instances"], len(stdouts), len(stderrs))
		}

		// tokps_sum must be the sum of what the logs themselves say
		sum := 0.0
		for k := range stdouts {
			for _, name := range []string{stdouts[k], stderrs[k]} {
				m := logName.FindStringSubmatch(name)
				if m == nil || m[1] != r["instances"] || m[2] != r["threads_per_instance"] {
					t.Errorf("log name %q does not follow m{M}_t{T}_..._p{K}", name)
				}
			}
			rep, err := timing.ParseFiles(filepath.Join(out, stdouts[k]), filepath.Join(out, stderrs[k]))
			if err != nil || rep.EvalTokPerSec == nil {
				t.Fatalf("parse logs of instance %d: %v, eval %v", k, err, rep.EvalTokPerSec)
			}
			sum += *rep.EvalTokPerSec
		}
		if got := num(t, r["tokps_sum"]); math.Abs(got-sum) > 0.01 {
			t.Errorf("row m=%s: tokps_sum = %v, want %v (sum of the logs)", r["instances"], got, sum)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("results cover instance counts %v, want at least two", seen)
	}

	checkBest(t, out, rows)
	checkJSON(t, out, len(rows))
	if !strings.Contains(stdout, "best: ") {
		t.Errorf("stdout does not name the best combo:\n%s", stdout)
	}
}

// checkBest asserts best_by_instances.csv picks, for every instance count,
// the row of results.csv with the highest tokps_sum.
func checkBest(t *testing.T, out string, rows []map[string]string) {
	t.Helper()
	header, best := readCSV(t, filepath.Join(out, "best_by_instances.csv"))
	if got := strings.Join(header, ","); got != strings.Join(seedBestColumns, ",") {
		t.Fatalf("best_by_instances.csv columns = %s, want %s", got, strings.Join(seedBestColumns, ","))
	}
	want := map[string]map[string]string{}
	for _, r := range rows {
		cur, ok := want[r["instances"]]
		if !ok || num(t, r["tokps_sum"]) > num(t, cur["tokps_sum"]) {
			want[r["instances"]] = r
		}
	}
	if len(best) != len(want) {
		t.Fatalf("best_by_instances has %d rows, want %d", len(best), len(want))
	}
	for _, b := range best {
		w := want[b["instances"]]
		if w == nil || b["best_threads_per_instance"] != w["threads_per_instance"] ||
			b["tokps_sum"] != w["tokps_sum"] || b["wall_s_max"] != w["wall_s_max"] {
			t.Errorf("best for m=%s = %v, want the results row %v", b["instances"], b, w)
		}
	}
}

func checkJSON(t *testing.T, out string, nrows int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Complete bool `json:"complete"`
		Host     struct {
			CPUModel      string `json:"cpu_model"`
			PhysicalCores int    `json:"physical_cores"`
			LogicalCores  int    `json:"logical_cores"`
			MemTotal      uint64 `json:"mem_total_bytes"`
			Kernel        string `json:"kernel"`
		} `json:"host"`
		Plan struct {
			Combos []json.RawMessage `json:"combos"`
		} `json:"plan"`
		Runner struct {
			Kind    string   `json:"kind"`
			Version string   `json:"version"`
			CPUOnly []string `json:"cpu_only"`
		} `json:"runner"`
		Results []map[string]any `json:"results"`
		Best    []map[string]any `json:"best_by_instances"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if !doc.Complete || len(doc.Results) != nrows || len(doc.Plan.Combos) != nrows {
		t.Errorf("results.json: complete %v, %d results, %d planned; want complete, %d and %d",
			doc.Complete, len(doc.Results), len(doc.Plan.Combos), nrows, nrows)
	}
	h := doc.Host
	if h.PhysicalCores < 1 || h.LogicalCores < h.PhysicalCores || h.MemTotal == 0 || h.Kernel == "" {
		t.Errorf("results.json host facts incomplete: %+v", h)
	}
	if doc.Runner.Kind != "node-llama-cpp" || doc.Runner.Version != "3.21.1" {
		t.Errorf("results.json runner = %+v, want node-llama-cpp 3.21.1", doc.Runner)
	}
	if len(doc.Runner.CPUOnly) == 0 {
		t.Errorf("results.json runner records no CPU-only options")
	}
	for _, col := range seedColumns {
		if _, ok := doc.Results[0][col]; !ok {
			t.Errorf("results.json rows lack %q", col)
		}
	}
}

// apeScript writes an executable that starts with the Actually Portable
// Executable magic, as a llamafile does, followed by shell lines.
func apeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("MZqFpD='\n'\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLocalAPEFileRunsThroughSh(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	ape := apeScript(t, dir, "engine.llamafile",
		fmt.Sprintf("exec %q \"$@\"\n", engine(t)))

	code, stdout, stderr := runPackbench(t, "local", "--binary", ape, "--model", sharedModel(t),
		"--exec-via", "auto", "--instances", "1", "--threads-min", "1", "--threads-max", "1",
		"--ladder-span", "0", "--reserve-cores", "0", "--ctx-size", "256", "-n", "16",
		"--timeout", "120", "--outdir", out)
	if code != 0 {
		t.Fatalf("exit = %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	_, rows := readCSV(t, filepath.Join(out, "results.csv"))
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	if r["mode"] != "sh" || r["binary"] != ape || r["ok_count"] != "1" {
		t.Errorf("row mode %q binary %q ok_count %s; want sh, %s, 1 (%s)",
			r["mode"], r["binary"], r["ok_count"], ape, r["reason"])
	}
}

func TestLocalHangingRunnerIsKilledAtTimeout(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	pids := filepath.Join(dir, "pids")
	// the runner and a child of its own both hang; each records its pid
	hang := apeScript(t, dir, "hang.llamafile", fmt.Sprintf(
		"echo $$ >> %q\nsleep 1000 &\necho $! >> %q\nwait\n", pids, pids))

	code, stdout, stderr := runPackbench(t, "local", "--binary", hang, "--model", sharedModel(t),
		"--no-preflight", "--runner", "llama-completion",
		"--instances", "1,2", "--threads-min", "1", "--threads-max", "1", "--ladder-span", "0",
		"--reserve-cores", "0", "--ctx-size", "256", "-n", "16", "--timeout", "1",
		"--outdir", out)
	if code != 1 {
		t.Errorf("exit = %d, want 1 (no combo finished)\nstderr:\n%s", code, stderr)
	}
	_, rows := readCSV(t, filepath.Join(out, "results.csv"))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: the sweep must go on after a timeout\n%s", len(rows), stdout)
	}
	for _, r := range rows {
		if r["status"] != "timeout" || r["timed_out"] != r["instances"] || r["tokps_sum"] != "" {
			t.Errorf("row m=%s: status %q, timed_out %s, tokps_sum %q; want timeout for all, no rate",
				r["instances"], r["status"], r["timed_out"], r["tokps_sum"])
		}
	}

	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Fields(string(data))
	if len(list) != 6 {
		t.Fatalf("recorded %d pids, want 6 (3 runners, 3 children): %v", len(list), list)
	}
	for _, s := range list {
		pid, _ := strconv.Atoi(s)
		if alive(pid) {
			t.Errorf("process %d outlived packbench", pid)
		}
	}
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
