package runner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/runner"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in      string
		want    runner.Kind
		wantErr bool
	}{
		{"auto", runner.Auto, false},
		{"llamafile", runner.Llamafile, false},
		{"llama-completion", runner.LlamaCompletion, false},
		{" Llama-CLI ", runner.LlamaCLI, false},
		{"llama-simple", runner.LlamaSimple, false},
		{"node-llama-cpp", runner.NodeLlamaCpp, false},
		{"main", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := runner.ParseKind(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("ParseKind(%q) = %q, %v, want %q, error %v",
					tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				return
			}
			var fe *runner.FlagError
			if !errors.As(err, &fe) || fe.Flag != "--runner" || fe.Value != tt.in {
				t.Errorf("ParseKind(%q) error = %#v, want a *FlagError for --runner", tt.in, err)
			}
			parts := []string{"--runner", `"` + tt.in + `"`, "llama-completion",
				"node-llama-cpp", "auto"}
			for _, part := range parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("ParseKind(%q) error %q does not mention %s", tt.in, err, part)
				}
			}
		})
	}
}

func TestParseExecMode(t *testing.T) {
	tests := []struct {
		in      string
		want    runner.ExecMode
		wantErr bool
	}{
		{"auto", runner.ExecAuto, false},
		{"direct", runner.ExecDirect, false},
		{"SH", runner.ExecSh, false},
		{"bash", runner.ExecBash, false},
		{"zsh", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := runner.ParseExecMode(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("ParseExecMode(%q) = %q, %v, want %q, error %v",
					tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				return
			}
			want := `invalid --exec-via "` + tt.in +
				`": unknown exec mode; accepted: auto, direct, sh, bash`
			if err.Error() != want {
				t.Errorf("ParseExecMode(%q) error = %q, want %q", tt.in, err, want)
			}
		})
	}
}
