package cli

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// The README's flag table documents every flag of `packbench local`.
func TestReadmeListsEveryLocalFlag(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	var bf benchFlags
	bf.register(fs)
	fs.String("outdir", defaultOutDir, "")
	fs.VisitAll(func(f *flag.Flag) {
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		if !strings.Contains(readme, "`"+dashes+f.Name) {
			t.Errorf("README.md does not document %s%s", dashes, f.Name)
		}
	})
}
