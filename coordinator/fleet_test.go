package coordinator_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/packbench/packbench/coordinator"
)

func TestReadFleetFile(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  []coordinator.Agent
		field string // the FleetError's field; empty when the file is good
	}{
		{"good", `{"agents":[{"name":"a1","address":"127.0.0.1:7071",` +
			`"labels":{"sku":"c7i.4xlarge"}},{"address":"h2:7070"}]}`,
			[]coordinator.Agent{{Name: "a1", Address: "127.0.0.1:7071",
				Labels: map[string]string{"sku": "c7i.4xlarge"}}, {Address: "h2:7070"}}, ""},
		{"not json", `{"agents":`, nil, "json"},
		{"no agents", `{"agents":[]}`, nil, "agents"},
		{"no address", `{"agents":[{"name":"x"}]}`, nil, "agents[0].address"},
		{"no port", `{"agents":[{"address":"h1:1"},{"address":"h2"}]}`, nil, "agents[1].address"},
		{"port zero", `{"agents":[{"address":"h1:0"}]}`, nil, "agents[0].address"},
		{"unknown field", `{"agents":[{"adress":"h1:1"}]}`, nil, `"adress"`},
		{"name twice", `{"agents":[{"name":"a","address":"h1:1"},{"name":"a","address":"h2:1"}]}`,
			nil, "agents[1].name"},
		{"labels wrong type", `{"agents":[{"address":"h1:1","labels":[1]}]}`, nil,
			"agents.labels"},
		{"empty label", `{"agents":[{"address":"h1:1","labels":{"":"x"}}]}`, nil,
			"agents[0].labels"},
		{"duplicate", `{"agents":[{"address":"h1:1"},{"address":"h1:1"}]}`, nil,
			"agents[1].address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fleet.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := coordinator.ReadFleetFile(path)
			var fe *coordinator.FleetError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("ReadFleetFile = %v, want no error", err)
			case tt.field == "":
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ReadFleetFile mismatch (-want +got):\n%s", diff)
				}
			case !errors.As(err, &fe):
				t.Fatalf("ReadFleetFile error = %v, want a *FleetError", err)
			case fe.Field != tt.field:
				t.Errorf("ReadFleetFile field = %q, want %q (%v)", fe.Field, tt.field, err)
			}
		})
	}
}

// A syntax error in a hand-written fleet file is located by line and column.
func TestReadFleetFileSyntaxErrorPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.json")
	body := "{\"agents\": [\n  {\"address\": \"127.0.0.1:7070\"},\n  {\"address\": \"h2:7070\",}\n]}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := coordinator.ReadFleetFile(path)
	if err == nil || !strings.Contains(err.Error(), "line 3, column 25: invalid character '}'") {
		t.Errorf("ReadFleetFile(trailing comma on line 3) = %v, want line 3, column 25", err)
	}
}

func TestParseAgentList(t *testing.T) {
	got, err := coordinator.ParseAgentList("127.0.0.1:7070, [::1]:7071")
	want := []coordinator.Agent{{Address: "127.0.0.1:7070"}, {Address: "[::1]:7071"}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("ParseAgentList = %v, %v, want %v", got, err, want)
	}
	for _, bad := range []string{"", "h1", "h1:x", ":7070", "h1:1,h1:1"} {
		if _, err := coordinator.ParseAgentList(bad); err == nil {
			t.Errorf("ParseAgentList(%q) = nil error, want one", bad)
		}
	}
}

func TestSanitizeAndUniqueNames(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a1", "a1"},
		{"web-01.example.com", "web-01.example.com"},
		{"../../etc", "_._.._etc"},
		{".hidden", "_hidden"},
		{"a b/c:d", "a_b_c_d"},
		{"", "host"},
		{"ünï", "__n__"}, // bytes, not runes
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
	}
	for _, tt := range tests {
		if got := coordinator.SanitizeName(tt.in); got != tt.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	got := coordinator.UniqueNames([]string{"a", "a", "a/", "fleet.csv", "a-2", "b"})
	want := []string{"a", "a-2", "a_", "fleet.csv-2", "a-2-2", "b"}
	if !cmp.Equal(got, want) {
		t.Errorf("UniqueNames = %v, want %v", got, want)
	}
}

func TestBackoffDelayIsBounded(t *testing.T) {
	b := coordinator.Backoff{Tries: 6, Initial: 200 * time.Millisecond, Max: time.Second}
	want := []time.Duration{200, 400, 800, 1000, 1000, 1000}
	for n, w := range want {
		if got := b.Delay(n + 1); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", n+1, got, w*time.Millisecond)
		}
	}
	if got := coordinator.DefaultBackoff.Delay(100); got != 5*time.Second {
		t.Errorf("DefaultBackoff.Delay(100) = %v, want 5s", got)
	}
}
