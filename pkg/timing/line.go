package timing

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
)

// num is a non-negative decimal as the runners print it.
const num = `([0-9]+(?:\.[0-9]+)?)`

var (
	// timingRE matches a timing line by its label, right after the colon
	// that ends "<name>:"; whatever comes before the name is ignored. "eval"
	// only matches right after that colon, so "prompt eval time" is never
	// read as "eval time". Sampling, samplers and unaccounted time do not match.
	timingRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)?:\s*(prompt eval|eval|load|total) time` +
		`\s*=\s*` + num + `\s*ms(?:\s*/\s*([0-9]+)\s*(?:runs|tokens)\b)?`)

	// summaryRE matches the chat client's one-line summary.
	summaryRE = regexp.MustCompile(`\[\s*Prompt:\s*([0-9.]+|(?i:-?inf|-?nan))\s*t/s\s*\|` +
		`\s*Generation:\s*([0-9.]+|(?i:-?inf|-?nan))\s*t/s\s*\]`)

	bufferRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(CPU_Mapped model|[A-Z0-9]+_REPACK model|` +
		`CPU KV|CPU\s+compute|CPU\s+output) buffer size\s*=\s*` + num + `\s*MiB`)
	kvSelfRE = regexp.MustCompile(`KV self size\s*=\s*` + num + `\s*MiB`)
	allocRE  = regexp.MustCompile(`failed to allocate buffer of size\s*([0-9]+)`)
	nCtxRE   = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])n_ctx\s*=\s*([0-9]+)`)
	buildRE  = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])build\s*[=:]\s*` +
		`(b?[0-9]+(?:-[0-9A-Za-z]+)?(?:\s*\([0-9A-Za-z]+\))?)`)
)

// failureNeedles classify a failure by what the runner printed.
var failureNeedles = []struct {
	needle  []byte
	failure string
}{
	{[]byte("failed to allocate buffer"), FailureOutOfMemory},
	{[]byte("llama_kv_cache_init() failed"), FailureOutOfMemory},
	{[]byte("couldn't bind"), FailureServerMode},
	{[]byte("Address already in use"), FailureServerMode},
	{[]byte("--no-conversation is not supported by llama-cli"), FailureChatClient},
	{[]byte("error: invalid argument: -no-cnv"), FailureChatClient},
}

// Literals that a line must hold before a regular expression is tried on it.
var (
	endOfText = []byte("[end of text]")
	timeWord  = []byte(" time")
	rateWord  = []byte("t/s")
	bufWord   = []byte("buffer size")
	kvWord    = []byte("KV self size")
	nCtxWord  = []byte("n_ctx")
	allocWord = []byte("failed to allocate buffer of size")
	buildWord = []byte("build")
)

// The four labels of a timing block, in the order runners print them.
const (
	labelLoad = iota
	labelPrompt
	labelEval
	labelTotal
	numLabels
)

var labels = map[string]int{
	"load": labelLoad, "prompt eval": labelPrompt, "eval": labelEval, "total": labelTotal,
}

// block is one timing report: up to one line per label.
type block struct {
	format string
	seen   [numLabels]bool
	ms     [numLabels]float64
	count  [numLabels]int
	hasN   [numLabels]bool
}

func (b *block) empty() bool {
	return b.seen == [numLabels]bool{}
}

// summary is the one-line "[ Prompt: x t/s | Generation: y t/s ]" report.
type summary struct {
	prompt, gen *float64
}

// parser holds what the lines read so far have said. The zero value is
// ready to use.
type parser struct {
	buf []byte // scratch for a line without its escape sequences

	cur      block
	complete *block // last block with an eval line
	partial  *block // last block without one
	summary  *summary

	endOfText bool
	build     string
	failure   string

	mem       Buffers
	cpuKV     *float64
	kvSelf    *float64
	nCtx      *int
	allocSize *int64
}

// line feeds one raw line, newline included or not. It does not keep line.
func (p *parser) line(raw []byte) {
	l := p.clean(raw)
	if len(l) == 0 {
		return
	}

	if hasTimeEquals(l) {
		p.timing(l)
	}
	if bytes.Contains(l, rateWord) {
		p.summaryLine(l)
	}
	if bytes.Contains(l, endOfText) {
		p.endOfText = true
	}
	p.buffers(l)
	if p.build == "" && bytes.Contains(l, buildWord) {
		if m := buildRE.FindSubmatch(l); m != nil {
			p.build = string(m[1])
		}
	}
	if p.failure == "" {
		for _, f := range failureNeedles {
			if bytes.Contains(l, f.needle) {
				p.failure = f.failure
				break
			}
		}
	}
}

// clean drops the line ending, everything up to the last carriage return
// (a progress display redraws the line) and ANSI escape sequences.
func (p *parser) clean(raw []byte) []byte {
	l := bytes.TrimRight(raw, "\r\n")
	if i := bytes.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	if bytes.IndexByte(l, 0x1b) < 0 {
		return l
	}

	out := p.buf[:0]
	for i := 0; i < len(l); {
		if l[i] != 0x1b {
			out = append(out, l[i])
			i++
			continue
		}
		i = skipEscape(l, i)
	}
	p.buf = out
	return out
}

// skipEscape returns the index just past the escape sequence at b[i].
func skipEscape(b []byte, i int) int {
	i++
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '[':
		// CSI: parameter and intermediate bytes, then one final byte.
		i++
		for i < len(b) && b[i] >= 0x20 && b[i] <= 0x3f {
			i++
		}
		if i < len(b) && b[i] >= 0x40 && b[i] <= 0x7e {
			i++
		}
		return i
	case ']', 'P', '_', '^', 'X':
		// string sequences (OSC, DCS...) end at BEL or ESC backslash.
		for i++; i < len(b); i++ {
			if b[i] == 0x07 {
				return i + 1
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
		}
		return i
	case '(', ')', '*', '+', '#', '%':
		return min(i+2, len(b))
	}
	return i + 1
}

// hasTimeEquals reports whether l holds " time" followed by "=", as every
// timing line does; it keeps the regular expression off ordinary text.
func hasTimeEquals(l []byte) bool {
	for {
		i := bytes.Index(l, timeWord)
		if i < 0 {
			return false
		}
		l = bytes.TrimLeft(l[i+len(timeWord):], " \t")
		if len(l) > 0 && l[0] == '=' {
			return true
		}
	}
}

// timing reads a timing line into the current block. A label seen twice,
// or a load line after other lines, starts a new block.
func (p *parser) timing(l []byte) {
	m := timingRE.FindSubmatch(l)
	if m == nil {
		return
	}
	ms, ok := parseFloat(m[3])
	if !ok {
		return
	}
	lab := labels[string(m[2])]

	if p.cur.seen[lab] || (lab == labelLoad && !p.cur.empty()) {
		p.finish()
	}
	b := &p.cur
	b.seen[lab], b.ms[lab] = true, ms
	if len(m[4]) > 0 {
		if n, err := strconv.Atoi(string(m[4])); err == nil {
			b.count[lab], b.hasN[lab] = n, true
		}
	}
	if b.format == "" || lab == labelEval {
		b.format = string(m[1])
	}
}

// finish closes the current block.
func (p *parser) finish() {
	if p.cur.empty() {
		return
	}
	b := p.cur
	if b.seen[labelEval] {
		p.complete = &b
	} else {
		p.partial = &b
	}
	p.cur = block{}
}

func (p *parser) summaryLine(l []byte) {
	m := summaryRE.FindSubmatch(l)
	if m == nil {
		return
	}
	s := &summary{}
	if v, ok := parseFloat(m[1]); ok {
		s.prompt = &v
	}
	if v, ok := parseFloat(m[2]); ok {
		s.gen = &v
	}
	p.summary = s
}

// buffers reads the context size and buffer sizes a runner logs at load.
func (p *parser) buffers(l []byte) {
	if bytes.Contains(l, bufWord) {
		p.bufferSize(l)
	}
	if bytes.Contains(l, kvWord) {
		if m := kvSelfRE.FindSubmatch(l); m != nil {
			if v, ok := parseFloat(m[1]); ok {
				addMiB(&p.kvSelf, v)
			}
		}
	}
	if bytes.Contains(l, nCtxWord) {
		if m := nCtxRE.FindSubmatch(l); m != nil {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				p.nCtx = &n
			}
		}
	}
	if p.allocSize == nil && bytes.Contains(l, allocWord) {
		if m := allocRE.FindSubmatch(l); m != nil {
			if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil {
				p.allocSize = &n
			}
		}
	}
}

// bufferSize adds a "<kind> buffer size = X MiB" line to its kind.
//
// TODO(memory): builds before late 2024 log their weights as
// "llm_load_tensors: CPU buffer size = X MiB", mapped or private depending on
// --no-mmap; that line is not read, so MappedMiB stays nil for those builds.
func (p *parser) bufferSize(l []byte) {
	m := bufferRE.FindSubmatch(l)
	if m == nil {
		return
	}
	v, ok := parseFloat(m[2])
	if !ok {
		return
	}
	switch string(bytes.Join(bytes.Fields(m[1]), []byte(" "))) {
	case "CPU_Mapped model":
		addMiB(&p.mem.MappedMiB, v)
	case "CPU KV":
		addMiB(&p.cpuKV, v)
	case "CPU compute":
		addMiB(&p.mem.ComputeMiB, v)
	case "CPU output":
		addMiB(&p.mem.OutputMiB, v)
	default: // CPU_REPACK, AARCH64_REPACK...
		addMiB(&p.mem.RepackMiB, v)
	}
}

func addMiB(dst **float64, v float64) {
	if *dst == nil {
		*dst = new(float64)
	}
	if s := **dst + v; !math.IsInf(s, 0) {
		**dst = s
	}
}

// report builds the Report from everything read: the last block with an
// eval line, else the last summary line, else the last partial block.
func (p *parser) report() Report {
	p.finish()
	r := Report{EndOfText: p.endOfText, Build: p.build, Failure: p.failure}

	switch {
	case p.complete != nil:
		r.fillBlock(p.complete)
	case p.summary != nil:
		r.Format, r.SummaryOnly = FormatCLISummary, true
		r.PromptTokPerSec, r.EvalTokPerSec = p.summary.prompt, p.summary.gen
	case p.partial != nil:
		r.fillBlock(p.partial)
	}

	r.Memory = p.mem
	r.Memory.NCtx, r.Memory.FailedAllocBytes = p.nCtx, p.allocSize
	r.Memory.KVMiB = p.cpuKV
	if r.Memory.KVMiB == nil {
		r.Memory.KVMiB = p.kvSelf
	}
	r.settle()
	return r
}

func (r *Report) fillBlock(b *block) {
	r.Format = b.format
	ms := func(l int) *float64 {
		if !b.seen[l] {
			return nil
		}
		v := b.ms[l]
		return &v
	}
	count := func(l int) *int {
		if !b.seen[l] || !b.hasN[l] {
			return nil
		}
		n := b.count[l]
		return &n
	}

	r.LoadMS = ms(labelLoad)
	r.PromptMS, r.PromptTokens = ms(labelPrompt), count(labelPrompt)
	r.PromptTokPerSec = rate(r.PromptTokens, r.PromptMS)
	r.EvalMS, r.EvalRuns = ms(labelEval), count(labelEval)
	r.EvalTokPerSec = rate(r.EvalRuns, r.EvalMS)
	r.TotalMS, r.TotalTokens = ms(labelTotal), count(labelTotal)
}

// rate is n tokens over ms milliseconds in tokens per second, nil when
// either is missing or ms is 0 (counters disabled, or nothing timed).
func rate(n *int, ms *float64) *float64 {
	if n == nil || ms == nil || *ms <= 0 {
		return nil
	}
	v := float64(*n) / (*ms / 1000)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

// parseFloat parses a printed number; "inf", "nan" and anything out of
// range are not numbers here.
func parseFloat(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || v < 0 {
		return 0, false
	}
	return v, true
}
