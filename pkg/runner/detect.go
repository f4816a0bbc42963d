package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Errors wrapped by Detect, for callers to branch on with errors.Is.
var (
	// ErrUnrecognised means the help text matched no known runner.
	ErrUnrecognised = errors.New("runner not recognised")

	// ErrTimeout means a probe did not finish within its timeout; its whole
	// process group was killed.
	ErrTimeout = errors.New("preflight probe timed out")
)

// Preflight is what Detect learned about a runner binary.
type Preflight struct {
	Kind      Kind     `json:"kind"`
	ExecMode  ExecMode `json:"exec_mode"`            // resolved: direct, sh or bash
	Version   string   `json:"version"`              // "3.21.1", "0.9.3", "b7300-0a1b2c3" or ""
	HelpFlags []string `json:"help_flags,omitempty"` // the options of interest that --help lists
	Notes     []string `json:"notes,omitempty"`      // what preflight decided and why
}

// Profile returns the profile for the detected kind, with the options that
// depend on what the binary's help listed.
func (p Preflight) Profile() (Profile, error) {
	prof, err := ProfileFor(p.Kind)
	if err != nil {
		return Profile{}, err
	}
	prof.NoConversation = p.Kind == LlamaCompletion &&
		(p.hasFlag("-no-cnv") || p.hasFlag("--no-conversation"))
	prof.GPUDisable = p.Kind == Llamafile && p.hasFlag("--gpu")
	return prof, nil
}

func (p Preflight) hasFlag(name string) bool {
	for _, f := range p.HelpFlags {
		if f == name {
			return true
		}
	}
	return false
}

// Detect runs `binary --help` and `binary --version` and tells from their
// output which kind of runner it is. Each probe runs with stdin from
// /dev/null in its own session, keeps at most 1 MiB of output and is killed
// with its whole process group after timeout. It blocks until both probes
// end. Under ExecAuto a direct start that fails with ENOEXEC is retried
// through /bin/sh, and the result says so.
func Detect(ctx context.Context, binary string, mode ExecMode,
	timeout time.Duration) (Preflight, error) {
	if err := CheckBinary(binary); err != nil {
		return Preflight{}, fmt.Errorf("preflight: %w", err)
	}
	resolved, err := ResolveExecMode(binary, mode)
	if err != nil {
		return Preflight{}, fmt.Errorf("preflight %s: %w", binary, err)
	}

	pf := Preflight{ExecMode: resolved}
	help, err := probe(ctx, binary, resolved, timeout, "--help")
	if errors.Is(err, syscall.ENOEXEC) && resolved == ExecDirect {
		if mode != ExecAuto {
			return Preflight{}, fmt.Errorf("preflight %s: %w; it is not a native program"+
				" (a llamafile?): use %s sh", binary, err, FlagExecVia)
		}
		pf.ExecMode = ExecSh
		pf.Notes = append(pf.Notes, "direct start failed with exec format error:"+
			" running through /bin/sh")
		help, err = probe(ctx, binary, ExecSh, timeout, "--help")
	}
	if err != nil {
		return Preflight{}, fmt.Errorf("preflight %s --help: %w", binary, err)
	}

	// The version text helps classify: llamafile 0.10 prints llama.cpp's help.
	version, err := probe(ctx, binary, pf.ExecMode, timeout, "--version")
	if ctx.Err() != nil {
		return Preflight{}, fmt.Errorf("preflight %s --version: %w", binary, ctx.Err())
	}
	if err != nil {
		pf.Notes = append(pf.Notes, fmt.Sprintf("--version failed: %v", err))
		version = ""
	}

	return classifyInto(pf, binary, help, version)
}

// classifyInto fills in the kind, version, flags and notes of pf.
func classifyInto(pf Preflight, binary, help, version string) (Preflight, error) {
	kind, flags, err := Classify(help + "\n" + version)
	if err != nil {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		hint := fmt.Sprintf("if it is one, pass %s %s", FlagRunner, strings.Join(names, "|"))
		if strings.Contains(help, "run-detectors") ||
			strings.Contains(help, "find an interpreter") {
			hint = fmt.Sprintf("another loader ran it (binfmt_misc): try %s sh, or pass %s",
				FlagExecVia, FlagRunner)
		}
		return Preflight{}, fmt.Errorf("preflight %s: %w; %s", binary, err, hint)
	}

	pf.Kind = kind
	pf.HelpFlags = flags
	if kind == LlamaSimple {
		pf.Notes = append(pf.Notes, "llama-simple has no --version")
	} else {
		pf.Version = ParseVersion(version)
	}
	pf.Notes = append(pf.Notes, kindNotes(pf)...)
	return pf, nil
}

// kindNotes explains the choices the detected kind implies.
func kindNotes(pf Preflight) []string {
	prof, _ := pf.Profile()
	switch pf.Kind {
	case LlamaCLI:
		return []string{"llama-cli is the chat client: running it single-turn with -st" +
			" --simple-io; it reports only a [ Prompt | Generation ] rate line without" +
			" token counts, llama-completion from the same build reports full timings"}
	case LlamaCompletion:
		if !prof.NoConversation {
			return []string{"help lists no -no-cnv (an older build): not passing it"}
		}
	case LlamaSimple:
		return []string{"llama-simple takes no -t, -c, --seed or --temp: they are left out"}
	case Llamafile:
		if !prof.GPUDisable {
			return []string{"help lists no --gpu: keeping it on the CPU with -ngl 0 only"}
		}
		// TODO(llamafile): 0.10 and later run a server and a chat by default;
		// check `--cli --help` for -st/-no-cnv before relying on --cli (case 17).
	}
	return nil
}

// helpFlags are the options whose presence in --help decides the kind or
// the profile's options, in the order Preflight.HelpFlags lists them.
var helpFlags = []string{
	"-no-cnv", "--no-conversation", "-st", "--single-turn", "--simple-io",
	"--interactive-first", "--ctx-size", "-ngl", "--n-gpu-layers", "--gpu",
}

// Classify tells the runner kind from its --help (and --version) text and
// returns the options of interest that the text lists.
func Classify(text string) (Kind, []string, error) {
	text = cleanText(text)
	tokens := tokenSet(text)
	var flags []string
	for _, f := range helpFlags {
		if tokens[f] {
			flags = append(flags, f)
		}
	}

	has := func(names ...string) bool {
		for _, n := range names {
			if tokens[n] {
				return true
			}
		}
		return false
	}
	singleTurn := has("-st", "--single-turn") && has("--simple-io")
	noCnv := has("-no-cnv", "--no-conversation")
	interactive := has("--interactive-first")

	switch {
	case strings.Contains(text, "run-detectors") || strings.Contains(text, "find an interpreter"):
		// another loader ran the file and printed only its own complaint
		return "", flags, ErrUnrecognised
	case strings.Contains(text, "node-llama-cpp"):
		return NodeLlamaCpp, flags, nil
	case isLlamafile(text, tokens):
		return Llamafile, flags, nil
	case singleTurn && (!noCnv || !interactive):
		// the chat client: some builds still list -no-cnv but refuse it
		return LlamaCLI, flags, nil
	case noCnv:
		return LlamaCompletion, flags, nil
	case interactive && has("--ctx-size"):
		// the old `main` from before conversation mode
		return LlamaCompletion, flags, nil
	case isSimpleUsage(text, tokens):
		return LlamaSimple, flags, nil
	}
	return "", flags, ErrUnrecognised
}

// llamafileVersionRE matches the --version line, "llamafile v0.9.3".
var llamafileVersionRE = regexp.MustCompile(`(?i)\bllamafile\s+v?\d+\.\d+`)

// isLlamafile matches llamafile's version line or its manual page; the bare
// word is not enough, as other programs print a file name like m.llamafile.
func isLlamafile(text string, tokens map[string]bool) bool {
	if llamafileVersionRE.MatchString(text) || strings.Contains(text, "LLAMAFILE(1)") {
		return true
	}
	return tokens["--cli"] && tokens["llamafile"]
}

// isSimpleUsage matches the one-line usage of llama.cpp's small examples,
// `-m model.gguf [-n n_predict] ... [prompt]`, with few flags.
func isSimpleUsage(text string, tokens map[string]bool) bool {
	if !strings.Contains(text, "model.gguf") || !strings.Contains(text, "[prompt]") {
		return false
	}
	if !tokens["-m"] || !tokens["-n"] || tokens["--ctx-size"] || tokens["-c"] {
		return false
	}

	n := 0
	for t := range tokens {
		if strings.HasPrefix(t, "-") {
			n++
		}
	}
	return n <= 8
}

// tokenSet splits text into words at spaces and punctuation that help texts
// put around option names.
func tokenSet(text string) map[string]bool {
	words := strings.FieldsFunc(text, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', ',', '[', ']', '|', '(', ')', '`', '\'', '"', '=', '<', '>':
			return true
		}
		return false
	})
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[w] = true
	}
	return set
}

var (
	ansiRE      = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	overstrikRE = regexp.MustCompile(`.\x08`)
	hyphens     = strings.NewReplacer("\u2010", "-", "\u2011", "-", "\u2212", "-")
)

// cleanText removes colour codes, man-page overstrike and typographic
// hyphens, so that option names read as typed.
func cleanText(s string) string {
	s = ansiRE.ReplaceAllString(s, "")
	s = overstrikRE.ReplaceAllString(s, "")
	return hyphens.Replace(s)
}

var (
	llamaBuildRE = regexp.MustCompile(`version:\s*(\d+)\s*\(([0-9a-fA-F]+)\)`)
	semverRE     = regexp.MustCompile(`\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)\b`)
)

// ParseVersion reads a runner's --version output: "llamafile v0.9.3" gives
// "0.9.3", "3.21.1" gives itself, llama.cpp's "version: 7300 (0a1b2c3)"
// gives "b7300-0a1b2c3". Anything else gives its first line, or "".
func ParseVersion(out string) string {
	out = cleanText(out)
	if m := llamaBuildRE.FindStringSubmatch(out); m != nil {
		return "b" + m[1] + "-" + m[2]
	}

	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := semverRE.FindStringSubmatch(line); m != nil {
			return m[1]
		}
		if len(line) > 80 {
			line = line[:80]
		}
		return line
	}
	return ""
}
