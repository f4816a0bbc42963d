package coordinator

import (
	"os"
	"strings"
	"testing"
)

// The README documents every fleet.csv column; this keeps it from drifting.
func TestReadmeListsEveryFleetColumn(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range FleetColumns {
		if !strings.Contains(string(data), "| `"+c.Name+"` | "+c.Meaning+" |") {
			t.Errorf("README.md lacks the fleet.csv column %q with its meaning", c.Name)
		}
	}
}
