package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packbench/packbench/pkg/plan"
)

func TestParseInstances(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"auto", nil},
		{" AUTO ", nil},
		{"4", []int{4}},
		{"3,4,5", []int{3, 4, 5}},
		{"7, 3 ,3,1", []int{1, 3, 7}},
		{"3-8", []int{3, 4, 5, 6, 7, 8}},
		{"5-5", []int{5}},
		{" 2 - 4 ", []int{2, 3, 4}},
		{"2:1:10", []int{2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"2:3:10", []int{2, 5, 8}},
		{"1:100:1", []int{1}},
		{"1-256", seq(1, 256)},
		{"1:4:1021", stepSeq(1, 4, 1021)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := plan.ParseInstances(tt.in)
			if err != nil {
				t.Fatalf("ParseInstances(%q) error = %v, want nil", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseInstances(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseInstancesErrors(t *testing.T) {
	tests := []struct {
		in     string
		reason string // a part of the message that says why
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"0", "counts must be >= 1"},
		{"-1", "counts must be >= 1"},
		{"3-", "end is missing"},
		{"-3-8", "counts must be >= 1"},
		{"8-3", "end 3 is below start 8"},
		{"3-5-7", "exactly one start and one end"},
		{"a,b", `"a" is not an integer`},
		{"3,,4", "count is missing"},
		{"3,4,", "count is missing"},
		{"2:0:8", "step must be >= 1"},
		{"2:-1:8", "step must be >= 1"},
		{"2:1", "start:step:end"},
		{"2:1:8:9", "start:step:end"},
		{"0:1:4", "start 0"},
		{"8:1:2", "end 2 is below start 8"},
		{"1-257", "257 counts, more than 256"},
		{"1:1:1000", "1000 counts, more than 256"},
		{"1025", "must be <= 1024"},
		{"99999999999999999999", "out of range"},
		{"auto,3", "not an integer"},
		// a typo is named before another part's bound
		{"0-x", `end "x" is not an integer`},
		{"0,x", `count "x" is not an integer`},
		{"0:1:y", `end "y" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := plan.ParseInstances(tt.in)
			if err == nil {
				t.Fatalf("ParseInstances(%q) = %v, nil; want an error", tt.in, got)
			}
			var perr *plan.Error
			if !errors.As(err, &perr) {
				t.Fatalf("ParseInstances(%q) error %T, want *plan.Error", tt.in, err)
			}
			if perr.Flag != "--instances" || perr.Value != tt.in {
				t.Errorf("ParseInstances(%q) error flag, value = %q, %q; want --instances, %q",
					tt.in, perr.Flag, perr.Value, tt.in)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.reason) ||
				!strings.Contains(msg, "accepted: auto, a list like 3,4,5") {
				t.Errorf("ParseInstances(%q) error = %q, want it to contain %q and the accepted forms",
					tt.in, msg, tt.reason)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := plan.ParseInstances("2:0:8")
	want := `invalid --instances "2:0:8": step must be >= 1; ` +
		`accepted: auto, a list like 3,4,5, a range like 3-8 or 2:1:10`
	if err == nil || err.Error() != want {
		t.Errorf("ParseInstances(\"2:0:8\") error = %v, want %s", err, want)
	}
}

func FuzzParseInstances(f *testing.F) {
	for _, s := range []string{
		"auto", "3,4,5", "3-8", "2:1:10", "0", "3-", "2:0:8", "a,b", "", "8-3", "-1",
		"1-300", "1:1:256", " 4 ", "1,1,1", "+3", "2::", ":-:", "1-1024",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		counts, err := plan.ParseInstances(s)
		if err != nil {
			var perr *plan.Error
			if !errors.As(err, &perr) || perr.Flag != "--instances" {
				t.Fatalf("ParseInstances(%q) error = %v (%T), want *plan.Error for --instances",
					s, err, err)
			}
			return
		}

		if counts == nil {
			if !strings.EqualFold(strings.TrimSpace(s), "auto") {
				t.Fatalf("ParseInstances(%q) = nil, nil; want counts (not auto)", s)
			}
			return
		}
		if len(counts) < 1 || len(counts) > plan.MaxCounts {
			t.Fatalf("ParseInstances(%q) gave %d counts, want 1..%d", s, len(counts), plan.MaxCounts)
		}
		for i, m := range counts {
			if m < 1 || m > plan.MaxInstances {
				t.Fatalf("ParseInstances(%q)[%d] = %d, want 1..%d", s, i, m, plan.MaxInstances)
			}
			if i > 0 && m <= counts[i-1] {
				t.Fatalf("ParseInstances(%q) = %v, want strictly ascending", s, counts)
			}
		}
	})
}

// seq returns lo..hi inclusive.
func seq(lo, hi int) []int {
	return stepSeq(lo, 1, hi)
}

// stepSeq returns lo, lo+step, ... up to hi.
func stepSeq(lo, step, hi int) []int {
	var out []int
	for v := lo; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}
