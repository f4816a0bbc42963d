package cli_test

import (
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
		!strings.Contains(fleet.Hosts[0].Reason, "allowlist") {
		t.Errorf("fleet.json hosts = %+v, want a1 failed naming the allowlist", fleet.Hosts)
	}
}
