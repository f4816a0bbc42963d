package cli

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/synth"
)

// flagAliases maps a short flag to the long name it is recorded under.
var flagAliases = map[string]string{"n": "n-predict", "v": "verbose"}

// notRecorded are benchmark flags that change how a run is shown, not what
// it measures; a resume may change them freely.
var notRecorded = map[string]bool{"dry-run": true, "verbose": true}

func canonicalFlag(name string) string {
	if long, ok := flagAliases[name]; ok {
		return long
	}
	return name
}

// recordedFlagNames are the names of the flags a sweep records: every
// benchmark flag but those of notRecorded, by their long names.
func recordedFlagNames() []string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var bf benchFlags
	bf.register(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if name := canonicalFlag(f.Name); name == f.Name && !notRecorded[name] {
			names = append(names, name)
		}
	})
	return names
}

// givenFlags are the recorded flags that were set on fs, by long name, as
// their parsed values print.
func givenFlags(fs *flag.FlagSet) map[string]string {
	keep := map[string]bool{}
	for _, name := range recordedFlagNames() {
		keep[name] = true
	}
	out := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if name := canonicalFlag(f.Name); keep[name] {
			out[name] = f.Value.String()
		}
	})
	return out
}

// readResumed reads the fleet.json of the sweep that --resume continues;
// none there is a usage error.
func readResumed(outDir string) (*coordinator.FleetDocument, error) {
	doc, err := coordinator.ReadFleetDocument(outDir)
	if errors.Is(err, coordinator.ErrNothingToResume) {
		return nil, usagef("invalid --resume: %v", err)
	}
	return doc, err
}

// recordedAgents are the agents of the resumed sweep, for a resume that
// names none.
func recordedAgents(doc *coordinator.FleetDocument) []coordinator.Agent {
	agents := make([]coordinator.Agent, len(doc.Hosts))
	for i, h := range doc.Hosts {
		agents[i] = coordinator.Agent{Name: h.Name, Address: h.Address, Labels: h.Labels}
	}
	return agents
}

// resumeAgents refuses a resume whose --agents or --fleet names other hosts
// than the sweep in outDir: a host left out would silently lose its
// remaining combos and its row in fleet.csv. Giving the same ones again
// (labels may change) is fine.
func resumeAgents(agents []coordinator.Agent, doc *coordinator.FleetDocument,
	outDir string) error {
	var given, had []string
	for _, a := range agents {
		given = append(given, a.Address)
	}
	for _, h := range doc.Hosts {
		had = append(had, h.Address)
	}
	slices.Sort(given)
	slices.Sort(had)
	if !slices.Equal(given, had) {
		return usagef("invalid --resume: the agents given (%s) differ from the sweep's in %s "+
			"(%s); drop --agents/--fleet to resume its hosts, or give a new --outdir",
			strings.Join(given, ", "), outDir, strings.Join(had, ", "))
	}
	return nil
}

// sameFlagValue says whether two values of the flag name mean the same:
// 1-2 and 1,2 for --instances, synth:tiny:q8_0 and synth:tiny:q8_0:1 for
// --model; other flags compare as written.
func sameFlagValue(name, a, b string) bool {
	if a == b {
		return true
	}
	switch name {
	case "instances":
		x, errX := plan.ParseInstances(a)
		y, errY := plan.ParseInstances(b)
		return errX == nil && errY == nil && slices.Equal(x, y)
	case "model":
		x, errX := synth.ParseModelRef(a)
		y, errY := synth.ParseModelRef(b)
		return errX == nil && errY == nil && x.String() == y.String()
	}
	return false
}

// resumeFlags gives fs the benchmark flags recorded in doc, the fleet.json
// of the sweep in outDir, so that a resume measures the rest of the plan as
// the sweep began it. A flag given again must have its recorded value (or,
// if the sweep did not set it, its default): a different one would mix two
// workloads in one results.csv, so it is refused. A sweep that recorded no
// flags leaves fs as it is.
func resumeFlags(fs *flag.FlagSet, doc *coordinator.FleetDocument, outDir string) error {
	if doc.Flags == nil {
		return nil
	}
	known := recordedFlagNames()
	for _, name := range slices.Sorted(maps.Keys(doc.Flags)) {
		if !slices.Contains(known, name) {
			return usagef("invalid --resume: %s records a flag --%s that sweep does not "+
				"take; accepted: %s", filepath.Join(outDir, "fleet.json"), name,
				strings.Join(known, ", "))
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[canonicalFlag(f.Name)] = true })

	var conflicts []string
	for _, name := range known {
		f := fs.Lookup(name)
		rec, recorded := doc.Flags[name]
		now := f.Value.String()
		switch {
		case set[name] && recorded && !sameFlagValue(name, now, rec):
			conflicts = append(conflicts, fmt.Sprintf("--%s %q (it used %q)", name, now, rec))
		case set[name] && !recorded && !sameFlagValue(name, now, f.DefValue):
			was := "the default"
			if f.DefValue != "" {
				was += fmt.Sprintf(" %q", f.DefValue)
			} else {
				was = "none"
			}
			conflicts = append(conflicts, fmt.Sprintf("--%s %q (it used %s)", name, now, was))
		case !set[name] && recorded:
			if err := fs.Set(name, rec); err != nil {
				return usagef("invalid --resume: --%s %q recorded in %s: %v", name, rec,
					filepath.Join(outDir, "fleet.json"), err)
			}
		}
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return usagef("invalid --resume: flags differ from the sweep in %s: %s; drop them "+
			"to resume with its settings, or give a new --outdir to start another sweep",
			outDir, strings.Join(conflicts, ", "))
	}
	return nil
}
