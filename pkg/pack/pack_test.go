package pack_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packbench/packbench/pkg/pack"
)

func TestInstanceResultJSONKeys(t *testing.T) {
	b, err := json.Marshal(pack.InstanceResult{})
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("json.Unmarshal() error = %v", err)
	}

	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{
		"cancelled", "dropped_bytes", "ended", "exec_mode", "exit_code", "index",
		"peak_pss_bytes", "peak_rss_bytes", "pid", "signal", "start_error", "started",
		"stderr_bytes", "stdout_bytes", "timed_out",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("json keys mismatch (-want +got):\n%s", diff)
	}
}
