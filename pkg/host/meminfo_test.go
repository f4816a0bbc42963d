package host

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseMemAvailable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{"real layout", readTestdata(t, "meminfo"), 16000000 * 1024, false},
		{"zero", "MemAvailable:          0 kB\n", 0, false},
		{"no unit", "MemAvailable: 12\n", 0, true},
		{"not a number", "MemAvailable: lots kB\n", 0, true},
		{"overflow", "MemAvailable: 18446744073709551615 kB\n", 0, true},
		{"missing line", readTestdata(t, "meminfo-old"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMemAvailable(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseMemAvailable(%s) = %d, %v; want %d, error %v",
					tt.name, got, err, tt.want, tt.wantErr)
			}
		})
	}

	_, err := parseMemAvailable(strings.NewReader(readTestdata(t, "meminfo-old")))
	if !errors.Is(err, errNoMemAvailable) {
		t.Errorf("parseMemAvailable(meminfo-old) error = %v, want errNoMemAvailable", err)
	}
}

// readTestdata returns the contents of testdata/name.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
