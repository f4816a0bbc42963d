package runner

import (
	"fmt"
	"strings"
)

// Kind names a family of runner programs that share a command line.
type Kind string

// The runner kinds packbench knows, and Auto, which asks preflight to tell
// them apart from the binary's --help text.
const (
	Auto            Kind = "auto"
	Llamafile       Kind = "llamafile"
	LlamaCompletion Kind = "llama-completion"
	LlamaCLI        Kind = "llama-cli"
	LlamaSimple     Kind = "llama-simple"
	NodeLlamaCpp    Kind = "node-llama-cpp"
)

// Kinds lists the concrete kinds in the order they are offered to users.
var Kinds = []Kind{Llamafile, LlamaCompletion, LlamaCLI, LlamaSimple, NodeLlamaCpp}

// ExecMode says how a runner binary is started: directly, or as an argument
// of /bin/sh or bash. Auto is resolved from the file's first bytes.
type ExecMode string

// The exec modes accepted by --exec-via.
const (
	ExecAuto   ExecMode = "auto"
	ExecDirect ExecMode = "direct"
	ExecSh     ExecMode = "sh"
	ExecBash   ExecMode = "bash"
)

// ExecModes lists every value --exec-via accepts.
var ExecModes = []ExecMode{ExecAuto, ExecDirect, ExecSh, ExecBash}

// Flag names used in FlagError, spelled as on the command line.
const (
	FlagRunner    = "--runner"
	FlagExecVia   = "--exec-via"
	FlagBinary    = "--binary"
	FlagExtraArgs = "--extra-args"
)

// FlagError reports a flag value this package cannot use. It names the flag,
// the value as given, why it was refused and what the flag accepts.
type FlagError struct {
	Flag     string // the flag, e.g. "--runner"
	Value    string // the value as the user gave it
	Reason   string // why it was refused, lowercase
	Accepted string // what the flag accepts; empty when no list applies
}

// Error returns a one-line message such as
// `invalid --runner "gpt": unknown runner; accepted: auto, llamafile, ...`.
func (e *FlagError) Error() string {
	msg := fmt.Sprintf("invalid %s %q: %s", e.Flag, e.Value, e.Reason)
	if e.Accepted != "" {
		msg += "; accepted: " + e.Accepted
	}
	return msg
}

// ParseKind parses a --runner value. It accepts "auto" and the names in
// Kinds, ignoring case and surrounding spaces.
func ParseKind(s string) (Kind, error) {
	v := Kind(strings.ToLower(strings.TrimSpace(s)))
	if v == Auto {
		return Auto, nil
	}
	for _, k := range Kinds {
		if v == k {
			return k, nil
		}
	}

	names := []string{string(Auto)}
	for _, k := range Kinds {
		names = append(names, string(k))
	}
	return "", &FlagError{
		Flag:     FlagRunner,
		Value:    s,
		Reason:   "unknown runner",
		Accepted: strings.Join(names, ", "),
	}
}

// ParseExecMode parses an --exec-via value, ignoring case and surrounding
// spaces.
func ParseExecMode(s string) (ExecMode, error) {
	v := ExecMode(strings.ToLower(strings.TrimSpace(s)))
	for _, m := range ExecModes {
		if v == m {
			return m, nil
		}
	}

	names := make([]string, 0, len(ExecModes))
	for _, m := range ExecModes {
		names = append(names, string(m))
	}
	return "", &FlagError{
		Flag:     FlagExecVia,
		Value:    s,
		Reason:   "unknown exec mode",
		Accepted: strings.Join(names, ", "),
	}
}
