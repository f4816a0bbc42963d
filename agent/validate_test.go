package agent_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
)

// goodRequest is a request every default limit accepts.
func goodRequest() api.PackRequest {
	return api.PackRequest{ID: "m2_t4", Binary: "/opt/llama/llama-completion",
		Runner: runner.LlamaCompletion, ExecMode: runner.ExecAuto, Instances: 2, Threads: 4,
		Workload: runner.Workload{Model: "/models/m.gguf", Prompt: "Once upon a time",
			NPredict: 64, CtxSize: 256, ExtraArgs: []string{"--mlock", "-fa", "on"}},
		Timeout: time.Minute, MemHeadroom: 0.85}
}

func TestValidateRequest(t *testing.T) {
	with := func(mut func(*api.PackRequest)) api.PackRequest {
		r := goodRequest()
		mut(&r)
		return r
	}
	args := func(a ...string) api.PackRequest {
		return with(func(r *api.PackRequest) { r.Workload.ExtraArgs = a })
	}
	tests := []struct {
		name   string
		req    api.PackRequest
		policy agent.ArgPolicy
		want   string // "" for accepted, else a part of the message
	}{
		{"good", goodRequest(), agent.ArgPolicy{}, ""},
		{"negative seed value", args("--seed", "-1", "--temp", "-.5"), agent.ArgPolicy{}, ""},
		{"id with slash", with(func(r *api.PackRequest) { r.ID = "a/b" }), agent.ArgPolicy{},
			"pack id"},
		{"id too long", with(func(r *api.PackRequest) { r.ID = strings.Repeat("a", 129) }),
			agent.ArgPolicy{}, "pack id"},
		{"million instances", with(func(r *api.PackRequest) { r.Instances = 1_000_000 }),
			agent.ArgPolicy{}, "instances 1000000; accepted: 1..256"},
		{"threads", with(func(r *api.PackRequest) { r.Threads = 4096 }), agent.ArgPolicy{},
			"threads 4096; accepted: 1..1024"},
		{"n_predict", with(func(r *api.PackRequest) { r.Workload.NPredict = 1 << 30 }),
			agent.ArgPolicy{}, "n_predict 1073741824; accepted: 1..65536"},
		{"ctx_size", with(func(r *api.PackRequest) { r.Workload.CtxSize = 1 << 30 }),
			agent.ArgPolicy{}, "ctx_size 1073741824; accepted: 0..1048576"},
		{"1 MB prompt", with(func(r *api.PackRequest) {
			r.Workload.Prompt = strings.Repeat("a", 1<<20)
		}), agent.ArgPolicy{}, "prompt length 1048576; accepted: at most 65536 bytes"},
		{"NUL in prompt", with(func(r *api.PackRequest) { r.Workload.Prompt = "a\x00b" }),
			agent.ArgPolicy{}, "no NUL byte"},
		{"65 extra args", args(make([]string, 65)...), agent.ArgPolicy{},
			"extra_args count 65; accepted: at most 64"},
		{"long extra arg", args("--temp", strings.Repeat("9", 5000)), agent.ArgPolicy{},
			"extra_args[1] length 5000; accepted: at most 4096 bytes"},
		{"long binary", with(func(r *api.PackRequest) { r.Binary = strings.Repeat("b", 5000) }),
			agent.ArgPolicy{}, "binary length 5000"},
		{"--model", args("--model", "/etc/shadow"), agent.ArgPolicy{}, `"--model"`},
		{"-f", args("-f", "/etc/passwd"), agent.ArgPolicy{}, `"-f"`},
		{"--log-file=", args("--log-file=/tmp/x"), agent.ArgPolicy{}, `"--log-file=/tmp/x"`},
		{"--lora", args("--lora", "x"), agent.ArgPolicy{}, `"--lora"`},
		{"upper case", args("--MODEL=x"), agent.ArgPolicy{}, "names a file"},
		{"camel case", args("--model-path", "x"), agent.ArgPolicy{}, "names a file"},
		{"yargs camel", args("--text-file", "x"), agent.ArgPolicy{}, "names a file"},
		{"yargs dot", args("--model.x", "y"), agent.ArgPolicy{}, "names a file"},
		{"draftModel", args("--draftModel", "x"), agent.ArgPolicy{}, "names a file"},
		{"short =", args("-m=x"), agent.ArgPolicy{}, "names a file"},
		{"short glued", args("-m/etc/shadow"), agent.ArgPolicy{}, "glues a file name"},
		{"short group", args("-xm", "x"), agent.ArgPolicy{}, "short-flag group"},
		{"short upper", args("-MD", "x"), agent.ArgPolicy{}, "names a file"},
		{"hf", args("-hf", "org/repo"), agent.ArgPolicy{}, "names a file"},
		{"double dash", args("--", "x"), agent.ArgPolicy{}, "ends option parsing"},
		{"bare path", args("/etc/shadow"), agent.ArgPolicy{}, "looks like a path"},
		{"unknown flag with path", args("--foo=../x"), agent.ArgPolicy{},
			"value that looks like a path"},
		{"server", args("--server"), agent.ArgPolicy{}, "network"},
		{"allow all", args("--model", "/x.gguf", "-m/y"), agent.ArgPolicy{AllowAll: true}, ""},
		{"allowed lora", args("--lora", "/l/a.gguf", "--lora=/l/b.gguf"),
			agent.ArgPolicy{Allowed: []string{"--lora"}}, ""},
		{"allowed is not others", args("--lora", "/l/a.gguf", "--model", "x"),
			agent.ArgPolicy{Allowed: []string{"--lora"}}, `"--model"`},
		{"allowed flag then a refused one", args("--mlock", "-m", "x"),
			agent.ArgPolicy{Allowed: []string{"--mlock"}}, `"-m"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := agent.ValidateRequest(tt.req, agent.DefaultLimits, tt.policy)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateRequest = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ValidateRequest = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// TestValidateID checks that only ids that keep their log files inside the
// log directory are accepted.
func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"m2_t4", true}, {"a.b-c_1", true}, {strings.Repeat("a", 128), true},
		{"", false}, {"..", false}, {".hidden", false}, {"-rf", false}, {"a/b", false},
		{"x/../../etc", false}, {`a\b`, false}, {"a\x00b", false}, {"a b", false},
		{strings.Repeat("a", 129), false}, {"é", false},
	}
	for _, tt := range tests {
		err := agent.ValidateID(tt.id)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ValidateID(%q) = %v, want ok %t", tt.id, err, tt.ok)
		}
		if tt.ok && !staysIn("/state/logs", tt.id) {
			t.Errorf("ValidateID(%q) accepted an id whose log leaves the log dir", tt.id)
		}
	}
}

// staysIn reports whether id's log file names a file directly in dir.
func staysIn(dir, id string) bool {
	p := filepath.Join(dir, id+"_p0.stdout.txt")
	return filepath.Dir(p) == dir
}

// TestValidateRequestLimits checks that configured limits replace the
// defaults and that zero fields keep them.
func TestValidateRequestLimits(t *testing.T) {
	l := agent.Limits{MaxInstances: 2, MaxExtraArgs: 1}
	r := goodRequest()
	r.Workload.ExtraArgs = nil
	if err := agent.ValidateRequest(r, l, agent.ArgPolicy{}); err != nil {
		t.Fatalf("ValidateRequest(2 instances, limit 2) = %v, want nil", err)
	}
	r.Instances = 3
	err := agent.ValidateRequest(r, l, agent.ArgPolicy{})
	if err == nil || !strings.Contains(err.Error(), "instances 3; accepted: 1..2") {
		t.Errorf("ValidateRequest(3 instances, limit 2) = %v, want the limit named", err)
	}
	r.Instances, r.Threads = 1, 1025
	err = agent.ValidateRequest(r, l, agent.ArgPolicy{})
	if err == nil || !strings.Contains(err.Error(), "1..1024") {
		t.Errorf("ValidateRequest(1025 threads, default limit) = %v, want 1..1024", err)
	}
}

// caseLines reads the lines of the shared runner-output cases, at most max.
func caseLines(f *testing.F, max int) []string {
	f.Helper()
	paths, err := filepath.Glob("../../shared/cases/*.md")
	if err != nil || len(paths) == 0 {
		f.Fatalf("glob cases: %v, %d files", err, len(paths))
	}
	var lines []string
	for _, p := range paths {
		file, err := os.Open(p)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() && len(lines) < max {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				lines = append(lines, line)
			}
		}
		file.Close()
	}
	return lines
}

var fuzzID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// FuzzValidateRequest checks that ValidateRequest never panics and that what
// it accepts keeps every limit, has a safe id and passes no refused flag.
// Extra args arrive as one string split on newlines.
func FuzzValidateRequest(f *testing.F) {
	g := goodRequest()
	f.Add(g.ID, g.Workload.Prompt, "--mlock\n-fa\non", 2, 4, 64, 256, int64(time.Minute), 0.85)
	hostile := []string{"--model\n/etc/shadow", "-f\n/etc/passwd", "--log-file=/tmp/x",
		"--lora\nx", "-m/etc/shadow", "-xm\nx", "--\nx.gguf", "--MoDeL-PaTh=x", "-MM=x",
		"--seed\n-1", "---model\nx", "-=x", "-", "--=", "\x00"}
	for _, a := range hostile {
		f.Add("../../etc", "hi", a, 1_000_000, 0, -1, 1<<30, int64(-1), 2.0)
		f.Add("ok", "hi", a, 1, 1, 1, 0, int64(time.Second), 1.0)
	}
	for i, line := range caseLines(f, 400) {
		f.Add("case", line, line, 1+i%300, 1+i%8, 16, 256, int64(time.Minute), 0.5)
		f.Add(line, line, strings.ReplaceAll(line, " ", "\n"), 1, 1, 16, 256,
			int64(time.Minute), 0.5)
	}

	l := agent.DefaultLimits
	f.Fuzz(func(t *testing.T, id, prompt, extra string, instances, threads, nPredict,
		ctx int, timeout int64, headroom float64) {
		req := goodRequest()
		req.ID, req.Workload.Prompt = id, prompt
		req.Workload.ExtraArgs = nil
		if extra != "" {
			req.Workload.ExtraArgs = strings.Split(extra, "\n")
		}
		req.Instances, req.Threads, req.Workload.NPredict = instances, threads, nPredict
		req.Workload.CtxSize, req.Timeout = ctx, time.Duration(timeout)
		req.MemHeadroom = headroom
		if agent.ValidateRequest(req, l, agent.ArgPolicy{}) != nil {
			return
		}

		w := req.Workload
		if !fuzzID.MatchString(id) || !staysIn("/state/logs", id) {
			t.Errorf("accepted id %q", id)
		}
		if instances < 1 || instances > l.MaxInstances || threads < 1 ||
			threads > l.MaxThreads || nPredict < 1 || nPredict > l.MaxNPredict ||
			ctx < 0 || ctx > l.MaxCtxSize || len(prompt) > l.MaxPrompt ||
			len(w.ExtraArgs) > l.MaxExtraArgs || req.Timeout <= 0 ||
			req.Timeout > l.MaxTimeout || !(headroom > 0 && headroom <= 1) {
			t.Errorf("accepted out of limits: %+v", req)
		}
		for _, a := range w.ExtraArgs {
			if len(a) > l.MaxArgLen || strings.ContainsRune(a, 0) {
				t.Errorf("accepted extra arg of %d bytes or with NUL", len(a))
			}
			name, _, _ := strings.Cut(a, "=")
			for _, r := range agent.RefusedArgs {
				if strings.EqualFold(name, r) {
					t.Errorf("accepted refused flag %q in %q", r, w.ExtraArgs)
				}
			}
		}
	})
}
