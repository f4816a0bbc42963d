package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetJSON is the part of fleet.json the tests read.
type fleetJSON struct {
	Stamp string `json:"stamp"`
	Hosts []struct {
		Name    string            `json:"name"`
		Address string            `json:"address"`
		Labels  map[string]string `json:"labels"`
		Status  string            `json:"status"`
		Reason  string            `json:"reason"`
		Done    int               `json:"combos_done"`
	} `json:"hosts"`
}

func readFleet(t *testing.T, out string) fleetJSON {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fleetJSON
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("fleet.json: %v", err)
	}
	return f
}

// packsJSON reads the packs of a host's results.json: id and instance pids.
func packsJSON(t *testing.T, dir string) []struct {
	ID        string `json:"id"`
	Instances []struct {
		PID    int    `json:"pid"`
		Stdout string `json:"stdout_path"`
		Stderr string `json:"stderr_path"`
	} `json:"instances_detail"`
} {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packs []struct {
			ID        string `json:"id"`
			Instances []struct {
				PID    int    `json:"pid"`
				Stdout string `json:"stdout_path"`
				Stderr string `json:"stderr_path"`
			} `json:"instances_detail"`
		} `json:"packs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s/results.json: %v", dir, err)
	}
	return doc.Packs
}

func TestSweepThreeAgentsRealEngine(t *testing.T) {
	eng, model := engine(t), sharedModel(t)
	names := []string{"alpha", "bravo", "charlie"}
	var addrs []string
	for _, n := range names {
		a := startAgent(t, n, "127.0.0.1:0", t.TempDir(), eng, model)
		addrs = append(addrs, a.addr)
	}

	out := filepath.Join(t.TempDir(), "sweep")
	code, stdout, stderr := runPackbench(t, "sweep", "--agents", strings.Join(addrs, ","),
		"--binary", eng, "--model", model,
		"--instances", "1,2", "--threads-min", "1", "--threads-max", "1",
		"--ladder-span", "0", "--reserve-cores", "0",
		"--ctx-size", "256", "-n", "16", "--timeout", "120", "--outdir", out)
	if code != 0 {
		t.Fatalf("packbench sweep exit = %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// three agents on this one machine disturb each other: the sweep says so
	if n := strings.Count(stderr, "agents report the same host name"); n != 1 ||
		!strings.Contains(stderr, addrs[2]) {
		t.Errorf("stderr warns %d times of agents sharing a machine, want once naming all "+
			"three:\n%s", n, stderr)
	}

	for _, n := range names {
		dir := filepath.Join(out, n)
		header, rows := readCSV(t, filepath.Join(dir, "results.csv"))
		if got := strings.Join(header[:len(seedColumns)], ","); got != strings.Join(seedColumns, ",") {
			t.Fatalf("%s results.csv seed columns = %s, want %s", n, got, strings.Join(seedColumns, ","))
		}
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows, want 2", n, len(rows))
		}
		for _, r := range rows {
			if r["ok_count"] != r["instances"] || r["status"] != "ok" {
				t.Errorf("%s row m=%s: ok_count %s, status %q (%s); want every instance ok",
					n, r["instances"], r["ok_count"], r["status"], r["reason"])
			}
			for _, col := range []string{"stdout_paths", "stderr_paths"} {
				logs := strings.Split(r[col], ";")
				if len(logs) != int(num(t, r["instances"])) {
					t.Errorf("%s row m=%s: %d %s, want one per instance", n, r["instances"],
						len(logs), col)
				}
				for _, l := range logs {
					if st, err := os.Stat(filepath.Join(dir, l)); err != nil || st.Size() == 0 {
						t.Errorf("%s: log %s not fetched: %v", n, l, err)
					}
				}
			}
		}
		checkBest(t, dir, rows)
		checkJSON(t, dir, len(rows))
	}

	_, fleet := readCSV(t, filepath.Join(out, "fleet.csv"))
	if len(fleet) != 3 {
		t.Fatalf("fleet.csv has %d rows, want 3", len(fleet))
	}
	for i, h := range fleet {
		if h["name"] != names[i] || h["address"] != addrs[i] || h["status"] != "ok" {
			t.Errorf("fleet row %d = %s %s %s, want %s %s ok", i, h["name"], h["address"],
				h["status"], names[i], addrs[i])
		}
		if h["physical_cores"] == "" || h["kernel"] == "" || h["cpu_model"] == "" {
			t.Errorf("fleet row %s lacks facts: %v", h["name"], h)
		}
		_, best := readCSV(t, filepath.Join(out, names[i], "best_by_instances.csv"))
		top := best[0]
		for _, b := range best {
			if num(t, b["tokps_sum"]) > num(t, top["tokps_sum"]) {
				top = b
			}
		}
		if h["best_instances"] != top["instances"] ||
			h["best_threads_per_instance"] != top["best_threads_per_instance"] ||
			num(t, h["best_tokps_sum"]) != num(t, top["tokps_sum"]) {
			t.Errorf("fleet row %s best = m%s t%s %s, want m%s t%s %s", h["name"],
				h["best_instances"], h["best_threads_per_instance"], h["best_tokps_sum"],
				top["instances"], top["best_threads_per_instance"], top["tokps_sum"])
		}
	}
}

// pidLine is one runner start recorded by the fake runner.
type pidLine struct {
	pid, agent int
	at         time.Time
}

func readPids(t *testing.T, path string) []pidLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []pidLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("bad pid line %q", l)
		}
		pid, _ := strconv.Atoi(f[0])
		ppid, _ := strconv.Atoi(f[1])
		ns, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, pidLine{pid: pid, agent: ppid, at: time.Unix(0, ns)})
	}
	return out
}

// rowPids lists the runner pids of a host's packs, failing on a pack id
// seen twice.
func rowPids(t *testing.T, dir string) map[int]bool {
	t.Helper()
	pids, ids := map[int]bool{}, map[string]bool{}
	for _, p := range packsJSON(t, dir) {
		if ids[p.ID] {
			t.Errorf("%s: pack %s recorded twice", dir, p.ID)
		}
		ids[p.ID] = true
		for _, in := range p.Instances {
			pids[in.PID] = true
		}
	}
	return pids
}

func TestSweepKilledAgentFailsItsHostAndResumeFinishesIt(t *testing.T) {
	model := sharedModel(t)
	runDir := t.TempDir()
	pidFile := filepath.Join(runDir, "pids")
	runner := fakeRunner(t, runDir, pidFile)

	names := []string{"a", "b", "c"}
	agents := map[string]*agentProc{}
	var entries []string
	for _, n := range names {
		agents[n] = startAgent(t, "agent-"+n, "127.0.0.1:0", t.TempDir(), runDir, model)
		entries = append(entries, fmt.Sprintf(
			`{"name":%q,"address":%q,"labels":{"sku":"sku-%s"}}`, n, agents[n].addr, n))
	}
	fleetFile := filepath.Join(t.TempDir(), "fleet.json")
	body := `{"agents":[` + strings.Join(entries, ",") + `]}`
	if err := os.WriteFile(fleetFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sweep")
	args := []string{"--binary", runner, "--model", model,
		"--no-preflight", "--runner", "llama-completion",
		"--instances", "1-4", "--threads-min", "1", "--threads-max", "1",
		"--ladder-span", "0", "--reserve-cores", "0",
		"--ctx-size", "256", "-n", "16", "--timeout", "60", "--outdir", out}

	// the sweep runs in the background; b is killed once it has a row
	type exit struct {
		code           int
		stdout, stderr string
	}
	first := make(chan exit, 1)
	go func() {
		code, so, se := runPackbench(t, append([]string{"sweep", "--fleet", fleetFile}, args...)...)
		first <- exit{code, so, se}
	}()
	bResults := filepath.Join(out, "b", "results.csv")
	for i := 0; ; i++ {
		if i == 3000 {
			t.Fatal("host b wrote no row within 60 s")
		}
		if data, err := os.ReadFile(bResults); err == nil &&
			strings.Count(strings.TrimSpace(string(data)), "\n") >= 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	killedAt := time.Now()
	agents["b"].kill(t)
	res := <-first
	if res.code != 1 {
		t.Fatalf("sweep with a killed agent exit = %d, want 1\nstdout:\n%s\nstderr:\n%s",
			res.code, res.stdout, res.stderr)
	}

	fl := readFleet(t, out)
	for _, h := range fl.Hosts {
		want := "ok"
		if h.Name == "b" {
			want = "failed"
		}
		if h.Status != want || h.Labels["sku"] != "sku-"+h.Name {
			t.Errorf("fleet.json host %s: status %q (%s), labels %v; want %s, sku-%s",
				h.Name, h.Status, h.Reason, h.Labels, want, h.Name)
		}
	}
	if b := fl.Hosts[1]; !strings.Contains(b.Reason, "unreachable") {
		t.Errorf("fleet.json host b reason = %q, want it to say the agent is unreachable",
			b.Reason)
	}
	_, fleetRows := readCSV(t, filepath.Join(out, "fleet.csv"))
	if fleetRows[1]["status"] != "failed" || fleetRows[1]["reason"] == "" {
		t.Errorf("fleet.csv host b = %v, want failed with a reason", fleetRows[1])
	}
	before := map[string][]map[string]string{}
	for _, n := range names {
		_, before[n] = readCSV(t, filepath.Join(out, n, "results.csv"))
	}
	if len(before["a"]) != 4 || len(before["c"]) != 4 {
		t.Fatalf("hosts a and c have %d and %d rows, want 4 each",
			len(before["a"]), len(before["c"]))
	}
	if n := len(before["b"]); n < 1 || n > 3 {
		t.Fatalf("killed host b kept %d rows, want 1 to 3", n)
	}

	// the same agent comes back on the same address with the same state;
	// the resume names only the outdir (and one flag as it was) and runs the
	// rest with the sweep's recorded flags
	old := agents["b"]
	agents["b"] = startAgent(t, "agent-b", old.addr, old.stateDir, old.allow...)
	code, stdout, stderr := runPackbench(t, "sweep", "--resume", "--outdir", out,
		"--n-predict", "16")
	if code != 0 {
		t.Fatalf("sweep --resume exit = %d, want 0\nstdout:\n%s\nstderr:\n%s",
			code, stdout, stderr)
	}
	if f := readFleet(t, out); f.Stamp != fl.Stamp {
		t.Errorf("resume changed the sweep's stamp: %s, want %s", f.Stamp, fl.Stamp)
	}
	for _, n := range names {
		dir := filepath.Join(out, n)
		_, rows := readCSV(t, filepath.Join(dir, "results.csv"))
		if len(rows) != 4 {
			t.Fatalf("host %s after resume: %d rows, want 4", n, len(rows))
		}
		for i, r := range before[n] {
			if fmt.Sprint(rows[i]) != fmt.Sprint(r) {
				t.Errorf("host %s row %d changed on resume:\n%v\nwant\n%v", n, i, rows[i], r)
			}
		}
		for _, r := range rows {
			if r["status"] != "ok" || r["ok_count"] != r["instances"] {
				t.Errorf("host %s row m=%s: status %s ok_count %s", n, r["instances"],
					r["status"], r["ok_count"])
			}
			for _, l := range strings.Split(r["stdout_paths"]+";"+r["stderr_paths"], ";") {
				if _, err := os.Stat(filepath.Join(dir, l)); err != nil {
					t.Errorf("host %s: log %s missing: %v", n, l, err)
				}
			}
		}
	}

	// every runner start is a pack of the results, but for the one pack b's
	// kill interrupted; nothing started after the kill was run twice
	started := readPids(t, pidFile)
	for _, n := range names {
		pids := rowPids(t, filepath.Join(out, n))
		mine := map[int]bool{agents[n].pid: true}
		if n == "b" {
			mine[old.pid] = true
		}
		var lost []int
		count := 0
		for _, l := range started {
			if !mine[l.agent] {
				continue
			}
			count++
			if !pids[l.pid] {
				lost = append(lost, l.pid)
				if n != "b" || l.at.After(killedAt) {
					t.Errorf("host %s: runner %s started at %s is in no result", n,
						strconv.Itoa(l.pid), l.at.Format(time.RFC3339Nano))
				}
			}
		}
		if count-len(lost) != len(pids) {
			t.Errorf("host %s: %d runner starts in results, want %d (one per instance)",
				n, count-len(lost), len(pids))
		}
		if len(lost) > 4 {
			t.Errorf("host %s: %d runner starts lost, want at most one pack's", n, len(lost))
		}
	}
}

func TestSweepBadFleetExit2NamingTheField(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"missing file", []string{"--fleet", filepath.Join(dir, "nope.json")}, "file"},
		{"not json", []string{"--fleet", write("bad.json", "{agents:")}, "json"},
		{"no agents", []string{"--fleet", write("empty.json", `{"agents":[]}`)}, "agents"},
		{"address missing", []string{"--fleet",
			write("noaddr.json", `{"agents":[{"name":"a"}]}`)}, "agents[0].address"},
		{"bad port", []string{"--fleet",
			write("port.json", `{"agents":[{"address":"127.0.0.1:99999"}]}`)}, "agents[0].address"},
		{"misspelt field", []string{"--fleet",
			write("typo.json", `{"agents":[{"adress":"127.0.0.1:7070"}]}`)}, `"adress"`},
		{"labels not a map", []string{"--fleet", write("labels.json",
			`{"agents":[{"address":"127.0.0.1:7070","labels":["x"]}]}`)}, "labels"},
		{"duplicate", []string{"--agents", "127.0.0.1:7070,127.0.0.1:7070"}, "address"},
		{"agents without port", []string{"--agents", "127.0.0.1"}, "address 1"},
		{"both", []string{"--agents", "127.0.0.1:1", "--fleet", "x"}, "--agents and --fleet"},
		{"none", nil, "--agents or --fleet"},
		{"relative binary", []string{"--agents", "127.0.0.1:1", "--binary", "rel/bin"}, "--binary"},
		// refused before any agent is asked (this one does not listen)
		{"threads-max beyond any host", []string{"--agents", "127.0.0.1:1", "--threads-max",
			"5000"}, "--threads-max"},
		{"ladder-span too wide", []string{"--agents", "127.0.0.1:1", "--ladder-span",
			"100000"}, "--ladder-span"},
		{"named runner without a model", []string{"--agents", "127.0.0.1:1", "--runner",
			"llama-completion"}, "--model is required for runner llama-completion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sweep", "--binary", "/opt/llama/bin",
				"--outdir", filepath.Join(t.TempDir(), "out")}, tt.args...)
			code, _, stderr := runPackbench(t, args...)
			if code != 2 {
				t.Errorf("exit = %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.field) {
				t.Errorf("stderr does not name %s:\n%s", tt.field, stderr)
			}
		})
	}
}

// TestSweepResumeRefusesOtherFlags resumes a recorded sweep with flags that
// differ from it: the resume must refuse before contacting any agent,
// naming each flag, its value and the recorded one.
func TestSweepResumeRefusesOtherFlags(t *testing.T) {
	out := t.TempDir()
	doc := `{"tool":"packbench","stamp":"20261204-120000","flags":{"binary":"/opt/llama",` +
		`"model":"synth:tiny:q8_0","n-predict":"16","instances":"1-4"},` +
		`"hosts":[{"name":"a","address":"127.0.0.1:1","dir":"a","status":"failed"}]}`
	if err := os.WriteFile(filepath.Join(out, "fleet.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "64"}, []string{`--n-predict "64" (it used "16")`}},
		{[]string{"--model", "synth:small:q8_0", "--ctx-size", "512"},
			[]string{`--model "synth:small:q8_0" (it used "synth:tiny:q8_0")`,
				`--ctx-size "512" (it used the default "4096")`}},
		{[]string{"--top-p", "0.5"}, []string{`--top-p "0.5" (it used none)`}},
		// the same values written otherwise are not a conflict; the agent list is
		{[]string{"--instances", "1,2,3,4", "--model", "synth:tiny:q8_0:1",
			"--agents", "127.0.0.1:9"}, []string{"the agents given"}},
		{[]string{"--agents", "127.0.0.1:2"}, []string{"the agents given (127.0.0.1:2) " +
			"differ from the sweep's in " + out + " (127.0.0.1:1)"}},
	}
	// a flag name the sweep never had is refused, not ignored
	typo := t.TempDir()
	if err := os.WriteFile(filepath.Join(typo, "fleet.json"),
		[]byte(strings.Replace(doc, `"n-predict"`, `"n-predikt"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runPackbench(t, "sweep", "--resume", "--outdir", typo); code != 2 ||
		!strings.Contains(stderr, "records a flag --n-predikt") {
		t.Errorf("resume with a recorded n-predikt: exit %d, want 2 naming it\n%s", code, stderr)
	}
	// a host dir edited to leave the outdir is refused before anything is written
	escape := t.TempDir()
	bad := strings.Replace(doc, `"dir":"a"`, `"dir":"../../x"`, 1)
	if err := os.WriteFile(filepath.Join(escape, "fleet.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runPackbench(t, "sweep", "--resume", "--outdir", escape); code != 2 ||
		!strings.Contains(stderr, `hosts[0].dir "../../x"`) {
		t.Errorf("resume with hosts[0].dir ../../x: exit %d, want 2 naming the field\n%s", code,
			stderr)
	}
	for _, tt := range tests {
		args := append([]string{"sweep", "--resume", "--outdir", out}, tt.args...)
		code, _, stderr := runPackbench(t, args...)
		if code != 2 {
			t.Errorf("packbench %v: exit %d, want 2\n%s", args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("packbench %v: stderr lacks %q:\n%s", args, w, stderr)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "fleet.json"))
	if err != nil || string(data) != doc {
		t.Errorf("refused resume changed fleet.json: %v\n%s", err, data)
	}
}
