package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A host on which every combo failed measured nothing: it is failed, with
// the reason, and the sweep exits 1.
func TestSweepHostWithNoFinishedComboFails(t *testing.T) {
	eng := engine(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), eng) // the model is not allowed
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runPackbench(t, "sweep", "--agents", a.addr, "--binary", eng,
		"--model", sharedModel(t), "--instances", "1", "--threads-min", "1",
		"--threads-max", "1", "--ladder-span", "0", "--reserve-cores", "0",
		"--ctx-size", "256", "-n", "8", "--outdir", out)
	if code != 1 {
		t.Errorf("exit = %d, want 1\n%s", code, stderr)
	}
	fleet := readFleet(t, out)
	if len(fleet.Hosts) != 1 || fleet.Hosts[0].Status != "failed" ||
		!strings.Contains(fleet.Hosts[0].Reason, "allowlist") ||
		!strings.Contains(fleet.Hosts[0].Reason, "--allow") {
		t.Errorf("fleet.json hosts = %+v, want a1 failed naming the allowlist and --allow",
			fleet.Hosts)
	}
}

// A sweep without --model of a runner that needs one fails each host once,
// before any pack, saying what --model takes.
func TestSweepWithoutModelFailsTheHostUpFront(t *testing.T) {
	eng := engine(t)
	a := startAgent(t, "a1", "127.0.0.1:0", t.TempDir(), eng)
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runPackbench(t, "sweep", "--agents", a.addr, "--binary", eng,
		"--instances", "1,2", "--threads-min", "1", "--threads-max", "1", "--ladder-span", "0",
		"--reserve-cores", "0", "--ctx-size", "256", "-n", "8", "--outdir", out)
	if code != 1 {
		t.Errorf("exit = %d, want 1\n%s", code, stderr)
	}
	fleet := readFleet(t, out)
	if len(fleet.Hosts) != 1 || fleet.Hosts[0].Status != "failed" ||
		!strings.Contains(fleet.Hosts[0].Reason, "--model is required for runner "+
			"node-llama-cpp") || !strings.Contains(fleet.Hosts[0].Reason, "synth:") {
		t.Errorf("fleet.json hosts = %+v, want a1 failed saying --model is required",
			fleet.Hosts)
	}
	if _, err := os.Stat(filepath.Join(out, fleet.Hosts[0].Name, "results.csv")); err == nil {
		_, rows := readCSV(t, filepath.Join(out, fleet.Hosts[0].Name, "results.csv"))
		if len(rows) != 0 {
			t.Errorf("results.csv has %d rows, want none: no pack should run", len(rows))
		}
	}
}
