package runner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/packbench/packbench/pkg/runner"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"--ubatch 1024", []string{"--ubatch", "1024"}},
		{"  -ngl   0\t--mlock\n-b 8 ", []string{"-ngl", "0", "--mlock", "-b", "8"}},
		{`--reverse-prompt 'User: '`, []string{"--reverse-prompt", "User: "}},
		{`-p "say \"hi\" and \\ \$HOME"`, []string{"-p", `say "hi" and \ $HOME`}},
		{`"keep \n as is"`, []string{`keep \n as is`}},
		{`'no \escape "here"'`, []string{`no \escape "here"`}},
		{`a\ b c`, []string{"a b", "c"}},
		{`pre'fix'"ed" x`, []string{"prefixed", "x"}},
		{`'' ""`, []string{"", ""}},
		{"one\\\ntwo", []string{"onetwo"}},
		{`--json '{"a": 1}'`, []string{"--json", `{"a": 1}`}},
		{"héllo wörld", []string{"héllo", "wörld"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := runner.SplitArgs(tt.in)
			if err != nil {
				t.Fatalf("SplitArgs(%q) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SplitArgs(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSplitArgsErrors(t *testing.T) {
	tests := []struct {
		in     string
		reason string
	}{
		{`-p 'open`, "unterminated ' quote"},
		{`-p "open`, `unterminated " quote`},
		{`-p "ends in \"`, `unterminated " quote`},
		{`trailing \`, "trailing backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := runner.SplitArgs(tt.in)
			var fe *runner.FlagError
			if !errors.As(err, &fe) {
				t.Fatalf("SplitArgs(%q) = %q, %v, want a *FlagError", tt.in, got, err)
			}
			if fe.Flag != "--extra-args" || fe.Value != tt.in || fe.Reason != tt.reason {
				t.Errorf("SplitArgs(%q) error = %+v, want --extra-args, the value and %q",
					tt.in, fe, tt.reason)
			}
			if !strings.Contains(err.Error(), "--extra-args") {
				t.Errorf("SplitArgs(%q) error %q does not name --extra-args", tt.in, err)
			}
		})
	}
}
