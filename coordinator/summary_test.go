package coordinator

import (
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/result"
)

func TestModelMismatch(t *testing.T) {
	host := func(name, ref, sum string) HostSummary {
		return HostSummary{Name: name, Model: &result.Model{Ref: ref, SHA256: sum}}
	}
	tests := []struct {
		name  string
		hosts []HostSummary
		want  string // "" for agreement, else a host name the message must carry
	}{
		{"none", nil, ""},
		{"agree", []HostSummary{host("a", "synth:tiny:q8_0:1", "aa"),
			host("b", "synth:tiny:q8_0:1", "aa")}, ""},
		{"no model on one host", []HostSummary{host("a", "synth:tiny:q8_0:1", "aa"),
			{Name: "b"}}, ""},
		{"files given by path carry no hash", []HostSummary{host("a", "", ""),
			host("b", "", "")}, ""},
		{"differ", []HostSummary{host("a", "synth:tiny:q8_0:1", "aa"),
			host("b", "synth:tiny:q8_0:1", "aa"), host("c", "synth:tiny:q8_0:1", "cc")}, "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := modelMismatch(tt.hosts)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("modelMismatch() = %q, want a message naming %q", got, tt.want)
			}
			if tt.want != "" && !strings.Contains(got, "cc") {
				t.Errorf("modelMismatch() = %q, want both hashes", got)
			}
		})
	}
}
