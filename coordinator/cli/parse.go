package cli

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/packbench/packbench/pkg/timing"
)

// parsed is one file's entry in `packbench parse` output.
type parsed struct {
	File   string        `json:"file"`
	Report timing.Report `json:"report"`
	Eval   bool          `json:"has_eval"`
}

func runParse(args []string, env Env) error {
	fs := flag.NewFlagSet("packbench parse", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: packbench parse FILE...\n\n"+
			"Prints, as JSON, the timing report the parser reads from each saved runner log.")
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() == 0 {
		return usagef("parse: no FILE given; pass one or more saved runner logs")
	}

	out := make([]parsed, 0, fs.NArg())
	for _, f := range fs.Args() {
		rep, err := timing.ParseFiles(f)
		if err != nil {
			return fmt.Errorf("parse %s: %w", f, err)
		}
		out = append(out, parsed{File: f, Report: rep, Eval: rep.HasEval()})
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// flagErr turns the flag package's errors into usage errors.
func flagErr(err error) error {
	if err == flag.ErrHelp {
		return errHelp
	}
	return usagef("%v", err)
}
