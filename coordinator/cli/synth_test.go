package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/memory"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/synth"
)

// synthSum is the sha256 of the model a reference names, computed here.
func synthSum(t *testing.T, ref string) (synth.Spec, string) {
	t.Helper()
	spec, err := synth.ParseModelRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := synth.Write(h, spec); err != nil {
		t.Fatal(err)
	}
	return spec, hex.EncodeToString(h.Sum(nil))
}

// docModel reads the model that a host's results.json and its packs record,
// failing when a pack disagrees with the top level.
func docModel(t *testing.T, dir string) result.Model {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Workload struct {
			IgnoreEOS bool `json:"ignore_eos"`
		} `json:"workload"`
		Model *result.Model `json:"model"`
		Packs []struct {
			ID    string        `json:"id"`
			Model *result.Model `json:"model"`
		} `json:"packs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s/results.json: %v", dir, err)
	}
	if doc.Model == nil {
		t.Fatalf("%s/results.json records no model", dir)
	}
	if doc.Model.Ref != "" && !doc.Workload.IgnoreEOS {
		t.Errorf("%s/results.json workload.ignore_eos = false for synthetic model %s, whose "+
			"packs run with it", dir, doc.Model.Ref)
	}
	for _, p := range doc.Packs {
		// whether the model was written for this run is the run's to say
		if p.Model == nil || p.Model.SHA256 != doc.Model.SHA256 ||
			p.Model.Ref != doc.Model.Ref || p.Model.Reused {
			t.Errorf("%s pack %s model = %+v, want %s %s, not marked reused", dir, p.ID,
				p.Model, doc.Model.Ref, doc.Model.SHA256)
		}
	}
	return *doc.Model
}

// Each agent writes the synthetic model into its own state directory; the
// results of every host name it by the same hash, the one computed here,
// and a second sweep reuses the files.
func TestSweepSyntheticModelSameBytesOnEveryAgent(t *testing.T) {
	eng := engine(t)
	const ref = "synth:tiny:q8_0:3"
	spec, want := synthSum(t, ref)

	names := []string{"left", "right"}
	var addrs, states []string
	for _, n := range names {
		state := t.TempDir()
		a := startAgent(t, n, "127.0.0.1:0", state, eng)
		addrs, states = append(addrs, a.addr), append(states, state)
	}

	sweep := func(out string) {
		t.Helper()
		code, stdout, stderr := runPackbench(t, "sweep", "--agents", strings.Join(addrs, ","),
			"--binary", eng, "--model", "synth:tiny:q8_0:3",
			"--instances", "2", "--threads-min", "1", "--threads-max", "1",
			"--ladder-span", "0", "--reserve-cores", "0",
			"--ctx-size", "256", "-n", "12", "--timeout", "120", "--outdir", out)
		if code != 0 {
			t.Fatalf("packbench sweep exit = %d, want 0\nstdout:\n%s\nstderr:\n%s",
				code, stdout, stderr)
		}
	}

	// a dry run says what the model costs and where it will go
	code, stdout, stderr := runPackbench(t, "sweep", "--agents", strings.Join(addrs, ","),
		"--binary", eng, "--model", ref, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "runner: node-llama-cpp 3.21.1") ||
		!strings.Contains(stdout, "model: "+ref+", 704.9 KiB, 656000 weights, "+
			"written to STATE_DIR/models/"+spec.FileName()+" on each agent on first use") {
		t.Errorf("sweep --dry-run: exit %d, want 0 and the model line\nstdout:\n%s\n"+
			"stderr:\n%s", code, stdout, stderr)
	}

	// a binary outside the agents' allowlists is caught by the dry run
	code, stdout, stderr = runPackbench(t, "sweep", "--agents", strings.Join(addrs, ","),
		"--binary", "/bin/echo", "--model", ref, "--dry-run")
	if code != 1 || strings.Count(stdout, "runner: refused") != 2 ||
		!strings.Contains(stdout, "outside the agent's allowlist") {
		t.Errorf("sweep --dry-run of a binary no agent allows: exit %d, want 1 and two "+
			"refusals\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	out := filepath.Join(t.TempDir(), "first")
	sweep(out)
	_, fleet := readCSV(t, filepath.Join(out, "fleet.csv"))
	for i, n := range names {
		m := docModel(t, filepath.Join(out, n))
		if m.SHA256 != want || m.Ref != ref || m.Shape != "tiny" || m.Type != "q8_0" ||
			m.Seed != 3 || m.Reused {
			t.Errorf("%s model = %+v, want %s, sha256 %s, freshly written", n, m, ref, want)
		}
		file := filepath.Join(states[i], "models", spec.FileName())
		if m.Path != file {
			t.Errorf("%s model path = %q, want %q in the agent's state dir", n, m.Path, file)
		}
		if st, err := os.Stat(file); err != nil || st.Size() != m.Bytes {
			t.Errorf("%s: model file %s: %v, want %d bytes", n, file, err, m.Bytes)
		}
		if fleet[i]["model"] != ref || fleet[i]["model_sha256"] != want {
			t.Errorf("fleet.csv %s model = %q %q, want %q %q", n, fleet[i]["model"],
				fleet[i]["model_sha256"], ref, want)
		}
		_, rows := readCSV(t, filepath.Join(out, n, "results.csv"))
		for _, r := range rows {
			if r["status"] != "ok" || r["early_stops"] != "0" {
				t.Errorf("%s row m=%s: status %q (%s), early stops %s; want ok, 0", n,
					r["instances"], r["status"], r["reason"], r["early_stops"])
			}
		}
	}

	out = filepath.Join(t.TempDir(), "second")
	sweep(out)
	for _, n := range names {
		if m := docModel(t, filepath.Join(out, n)); !m.Reused || m.SHA256 != want {
			t.Errorf("second sweep %s model = %+v, want reused with sha256 %s", n, m, want)
		}
	}
}

// local writes the model into --model-dir once and reuses it after, from a
// new process, after checking its hash.
func TestLocalSyntheticModelWrittenOnceThenReused(t *testing.T) {
	const ref = "synth:tiny:f16"
	spec, want := synthSum(t, ref)
	modelDir := filepath.Join(t.TempDir(), "models")

	run := func() (result.Model, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := runPackbench(t, "local", "--binary", engine(t), "--model", ref,
			"--model-dir", modelDir, "--instances", "2", "--threads-min", "1",
			"--threads-max", "1", "--ladder-span", "0", "--reserve-cores", "0",
			"--ctx-size", "256", "-n", "12", "--timeout", "120", "--outdir", out)
		if code != 0 {
			t.Fatalf("packbench local exit = %d, want 0\nstdout:\n%s\nstderr:\n%s",
				code, stdout, stderr)
		}
		if !strings.Contains(stdout, "sha256 "+want) {
			t.Errorf("stdout does not show the model's sha256 %s:\n%s", want, stdout)
		}
		return docModel(t, out), out
	}

	first, out := run()
	if first.Reused || first.SHA256 != want || first.Path != filepath.Join(modelDir,
		spec.FileName()) {
		t.Errorf("first run model = %+v, want written to %s with sha256 %s", first, modelDir, want)
	}
	st, err := os.Stat(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := run()
	if !second.Reused || second.SHA256 != want {
		t.Errorf("second run model = %+v, want reused with sha256 %s", second, want)
	}
	if st2, err := os.Stat(first.Path); err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second run rewrote %s (%v)", first.Path, err)
	}

	// model inspect prints the estimate the pack's memory check used; flags
	// may follow the file
	code, stdout, stderr := runPackbench(t, "model", "inspect", first.Path, "--runner",
		"node-llama-cpp", "--ctx-size", "256", "--instances", "2", "--json")
	if code != 0 {
		t.Fatalf("model inspect exit = %d\n%s", code, stderr)
	}
	var in struct {
		Estimate memory.Estimate `json:"estimate"`
		Total    float64         `json:"pack_total_mib"`
	}
	if err := json.Unmarshal([]byte(stdout), &in); err != nil {
		t.Fatalf("model inspect --json: %v\n%s", err, stdout)
	}
	_, rows := readCSV(t, filepath.Join(out, "results.csv"))
	got := fmt.Sprintf("%.2f %.2f", float64(in.Estimate.PerInstanceBytes())/(1<<20), in.Total)
	if len(rows) != 1 || got != rows[0]["per_instance_mem_mib_est"]+" "+
		rows[0]["total_mem_mib_est"] {
		t.Errorf("model inspect per instance and pack MiB = %s; the run's check used %v", got,
			rows)
	}
}

// A model that cannot be written fails the run before any combo, with no
// summary pointing at result files that were never written.
func TestLocalModelFailureBeforeAnyCombo(t *testing.T) {
	spec, _ := synthSum(t, "synth:tiny:q8_0")
	modelDir := t.TempDir()
	// a directory where the model file goes: the write cannot replace it
	if err := os.Mkdir(filepath.Join(modelDir, spec.FileName()), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runPackbench(t, "local", "--binary", engine(t), "--model",
		"synth:tiny:q8_0", "--model-dir", modelDir, "--instances", "1", "--threads-min", "1",
		"--threads-max", "1", "--ladder-span", "0", "--reserve-cores", "0", "--ctx-size", "256",
		"-n", "8", "--outdir", out)
	if code != 1 || !strings.Contains(stderr, "synthetic model") {
		t.Errorf("exit %d, want 1 with the model's error\nstderr:\n%s", code, stderr)
	}
	if strings.Contains(stdout, "best:") || strings.Contains(stdout, "results:") {
		t.Errorf("stdout has a summary of a run that measured nothing:\n%s", stdout)
	}
}
