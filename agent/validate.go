package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
)

// Limits bound a pack request, so that a request cannot take the host down.
// The JSON names are the keys of packbench-agent's "limits" config object.
type Limits struct {
	MaxInstances int `json:"max_instances"`
	MaxThreads   int `json:"max_threads"`
	MaxNPredict  int `json:"max_n_predict"`
	MaxCtxSize   int `json:"max_ctx_size"`
	// MaxPrompt bounds the prompt, in bytes.
	MaxPrompt int `json:"max_prompt_bytes"`
	// MaxExtraArgs bounds how many extra args a workload passes through.
	MaxExtraArgs int `json:"max_extra_args"`
	// MaxArgLen bounds each extra arg, and the binary and model paths, in bytes.
	MaxArgLen  int           `json:"max_arg_bytes"`
	MaxTimeout time.Duration `json:"-"`
	// MaxSynthBytes bounds the size of a synthetic model the agent writes.
	MaxSynthBytes int64 `json:"max_synth_bytes"`
}

// DefaultLimits are generous for any real host and still refuse absurd asks.
var DefaultLimits = Limits{
	MaxInstances: 256,
	MaxThreads:   1024,
	MaxNPredict:  1 << 16,
	MaxCtxSize:   1 << 20,
	MaxPrompt:    64 << 10,
	MaxExtraArgs: 64,
	MaxArgLen:    4096,
	MaxTimeout:   24 * time.Hour,
	// every named shape up to llama-13b in f32 (about 49 GiB)
	MaxSynthBytes: 64 << 30,
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&l.MaxInstances, d.MaxInstances)
	pick(&l.MaxThreads, d.MaxThreads)
	pick(&l.MaxNPredict, d.MaxNPredict)
	pick(&l.MaxCtxSize, d.MaxCtxSize)
	pick(&l.MaxPrompt, d.MaxPrompt)
	pick(&l.MaxExtraArgs, d.MaxExtraArgs)
	pick(&l.MaxArgLen, d.MaxArgLen)
	if l.MaxTimeout <= 0 {
		l.MaxTimeout = d.MaxTimeout
	}
	if l.MaxSynthBytes <= 0 {
		l.MaxSynthBytes = d.MaxSynthBytes
	}
	return l
}

// ArgPolicy says which extra args that name files, load other weights or
// open the network a request may pass to a runner. The zero policy refuses
// all of them (see RefusedArgs).
type ArgPolicy struct {
	// AllowAll passes every extra arg through unchecked, save for the limits.
	AllowAll bool `json:"allow_extra_args"`
	// Allowed lists flags, as spelled on the runner's command line
	// ("--lora", "-md"), that are passed through with their values.
	Allowed []string `json:"allowed_extra_args"`
}

// RefusedArgs are the runner flags an extra arg may not use unless the
// policy allows them: they name files to read or write, load other weights,
// download, or open a listener. Long names match without case, '-' or '_'
// (yargs takes --model-path for --modelPath), also in their --flag=value
// form; short ones match without case too.
var RefusedArgs = []string{
	// llama.cpp and llamafile
	"-m", "--model", "-f", "--file", "--prompt-file", "--log-file", "--lora",
	"--lora-scaled", "--control-vector", "--control-vector-scaled", "--grammar-file",
	"-jf", "--json-schema-file", "-mm", "--mmproj", "-mmu", "--mmproj-url", "-md",
	"--model-draft", "-mv", "--model-vocoder", "-mu", "--model-url", "-hf", "-hfr",
	"--hf-repo", "-hff", "--hf-file", "-hfd", "--hf-repo-draft", "-hfv", "--hf-repo-v",
	"-hffv", "--hf-file-v", "--slot-save-path", "-o", "--output", "--output-file",
	"--prompt-cache", "-lcs", "--lookup-cache-static", "-lcd", "--lookup-cache-dynamic",
	"--chat-template-file", "--in-file", "--ssl-key-file", "--ssl-cert-file",
	"--api-key-file", "--path", "--rpc", "--server", "--host", "--port",
	// node-llama-cpp (yargs)
	"--modelPath", "--url", "--uri", "-H", "--header", "--textFile", "-dm", "--draftModel",
	"--tokenPredictionDraftModel", "--promptFile", "--systemPromptFile",
	"-jsgf", "--jsonSchemaGrammarFile", "--prefixFile", "--suffixFile",
}

// fileShorts are the one-letter refused flags that take a value: yargs also
// reads it glued (-m/x) and gives the next arg to the last of a group (-xm).
const fileShorts = "mfo"

var refusedLong, refusedShort = func() (map[string]bool, map[string]bool) {
	long, short := map[string]bool{}, map[string]bool{}
	for _, f := range RefusedArgs {
		if name, ok := strings.CutPrefix(f, "--"); ok {
			long[normLong(name)] = true
		} else {
			short[strings.ToLower(f[1:])] = true
		}
	}
	return long, short
}()

// normLong folds a long flag name the way the runners' parsers confuse it:
// no case, no '-' or '_', nothing after a yargs dot.
func normLong(name string) string {
	name, _, _ = strings.Cut(name, ".")
	name = strings.ToLower(name)
	return strings.NewReplacer("-", "", "_", "").Replace(name)
}

// ValidateRequest checks a pack request's fields against l, and its extra
// args against p, before any path is resolved or process started. Errors
// wrap api.ErrInvalid and name the field, the value and the limit.
func ValidateRequest(req api.PackRequest, l Limits, p ArgPolicy) error {
	l = l.withDefaults()
	w := req.Workload
	bad := func(field string, v any, accepted string) error {
		return fmt.Errorf("%w: %s %v; accepted: %s", api.ErrInvalid, field, v, accepted)
	}
	if err := ValidateID(req.ID); err != nil {
		return err
	}

	switch {
	case req.Instances < 1 || req.Instances > l.MaxInstances:
		return bad("instances", req.Instances, fmt.Sprintf("1..%d", l.MaxInstances))
	case req.Threads < 1 || req.Threads > l.MaxThreads:
		return bad("threads", req.Threads, fmt.Sprintf("1..%d", l.MaxThreads))
	case w.NPredict < 1 || w.NPredict > l.MaxNPredict:
		return bad("n_predict", w.NPredict, fmt.Sprintf("1..%d", l.MaxNPredict))
	case w.CtxSize < 0 || w.CtxSize > l.MaxCtxSize:
		return bad("ctx_size", w.CtxSize, fmt.Sprintf("0..%d", l.MaxCtxSize))
	case req.Timeout <= 0 || req.Timeout > l.MaxTimeout:
		return bad("timeout", req.Timeout, fmt.Sprintf("more than 0 and at most %s",
			l.MaxTimeout))
	case !(req.MemHeadroom > 0 && req.MemHeadroom <= 1):
		return bad("mem_headroom", req.MemHeadroom, "more than 0 and at most 1")
	case !knownKind(req.Runner):
		return bad("runner", fmt.Sprintf("%.40q", req.Runner), fmt.Sprintf("%q or one of %q",
			runner.Auto, runner.Kinds))
	case !knownMode(req.ExecMode):
		return bad("exec_mode", fmt.Sprintf("%.40q", req.ExecMode), fmt.Sprintf("one of %q",
			runner.ExecModes))
	case len(w.Prompt) > l.MaxPrompt:
		return bad("prompt length", len(w.Prompt), fmt.Sprintf("at most %d bytes", l.MaxPrompt))
	case len(w.ExtraArgs) > l.MaxExtraArgs:
		return bad("extra_args count", len(w.ExtraArgs), fmt.Sprintf("at most %d",
			l.MaxExtraArgs))
	}

	// a NUL cannot reach a child's argv; say so instead of failing the start
	texts := []struct{ field, v string }{{"binary", req.Binary}, {"model", w.Model},
		{"prompt", w.Prompt}, {"runner", string(req.Runner)},
		{"exec_mode", string(req.ExecMode)}}
	for i, a := range w.ExtraArgs {
		texts = append(texts, struct{ field, v string }{fmt.Sprintf("extra_args[%d]", i), a})
	}
	for _, t := range texts {
		if strings.IndexByte(t.v, 0) >= 0 {
			return bad(t.field, fmt.Sprintf("%.40q", t.v), "no NUL byte")
		}
		if t.field != "prompt" && len(t.v) > l.MaxArgLen {
			return bad(t.field+" length", len(t.v), fmt.Sprintf("at most %d bytes", l.MaxArgLen))
		}
	}
	return checkExtraArgs(w.ExtraArgs, p)
}

// knownKind reports whether k names a runner profile or auto; "" is auto.
func knownKind(k runner.Kind) bool {
	return k == "" || k == runner.Auto || slices.Contains(runner.Kinds, k)
}

// knownMode reports whether m is an exec mode, spelled exactly.
func knownMode(m runner.ExecMode) bool { return slices.Contains(runner.ExecModes, m) }

// checkExtraArgs refuses extra args that name files, load weights or open
// the network, unless p allows them. A bare arg that looks like a path is
// refused too (node-llama-cpp takes a positional model path), except as the
// value right after a flag p allows.
func checkExtraArgs(args []string, p ArgPolicy) error {
	if p.AllowAll {
		return nil
	}
	refuse := func(i int, arg, why string) error {
		return fmt.Errorf("%w: extra_args[%d] %q %s; accepted: flags outside the agent's "+
			"refused list, or those its config allows (allowed_extra_args)", api.ErrInvalid,
			i, clip(arg), why)
	}
	valueOfAllowed := false
	for i, arg := range args {
		// the value of an allowed flag passes; a flag after one that takes
		// none is checked as any flag
		skip := valueOfAllowed && !isFlag(arg)
		valueOfAllowed = false
		if skip {
			continue
		}
		if !isFlag(arg) {
			if looksLikePath(arg) {
				return refuse(i, arg, "looks like a path")
			}
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		if p.allows(name) {
			valueOfAllowed = !hasValue
			continue
		}
		if why := refusedFlag(name); why != "" {
			return refuse(i, arg, why)
		}
		if hasValue && looksLikePath(value) {
			return refuse(i, arg, "has a value that looks like a path")
		}
	}
	return nil
}

// refusedFlag says why a flag name (with its dashes, before any '=') is
// refused, or "" when it is not.
func refusedFlag(name string) string {
	if name == "--" {
		return "ends option parsing, so what follows could be a model path"
	}
	if long, ok := strings.CutPrefix(name, "--"); ok {
		if refusedLong[normLong(long)] {
			return "names a file, other weights or a network endpoint"
		}
		return ""
	}

	short := strings.ToLower(name[1:])
	switch {
	case refusedShort[short]:
		return "names a file, other weights or a network endpoint"
	case len(short) >= 2 && strings.IndexByte(fileShorts, short[0]) >= 0 && !isLetter(short[1]):
		return "glues a file name to a flag that takes one"
	case len(short) >= 2 && allLetters(short) &&
		strings.IndexByte(fileShorts, short[len(short)-1]) >= 0:
		return "is a short-flag group whose last flag takes a file"
	}
	return ""
}

// allows reports whether the policy lists a flag name, compared as
// refusedFlag compares it.
func (p ArgPolicy) allows(name string) bool {
	for _, a := range p.Allowed {
		if a == name {
			return true
		}
		la, ok1 := strings.CutPrefix(a, "--")
		ln, ok2 := strings.CutPrefix(name, "--")
		if ok1 && ok2 && normLong(la) == normLong(ln) {
			return true
		}
	}
	return false
}

// isFlag reports whether arg is an option rather than a value; "-1" and
// "-.5" are values.
func isFlag(arg string) bool {
	if len(arg) < 2 || arg[0] != '-' {
		return false
	}
	c := arg[1]
	return !(c >= '0' && c <= '9' || c == '.')
}

// looksLikePath reports whether a value could name a file outside the
// runner's working directory.
func looksLikePath(v string) bool {
	return strings.ContainsAny(v, `/\`) || strings.HasPrefix(v, "~") || v == ".."
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
