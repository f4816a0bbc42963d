package result

import (
	"os"
	"strings"
	"testing"
)

// The README documents every output column; this keeps it from drifting.
func TestReadmeListsEveryColumn(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, c := range Columns {
		if !strings.Contains(readme, "| `"+c.Name+"` | "+c.Meaning+" |") {
			t.Errorf("README.md lacks the results.csv column %q with its meaning", c.Name)
		}
	}
	for _, c := range BestColumns {
		if !strings.Contains(readme, "| `"+c.Name+"` |") {
			t.Errorf("README.md lacks the best_by_instances.csv column %q", c.Name)
		}
	}
}
