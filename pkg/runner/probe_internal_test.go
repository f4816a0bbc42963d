package runner

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProbeCapsOutput runs a fake whose --help prints 3 MiB: the probe keeps
// the first 1 MiB, reads the rest away and does not fail.
func TestProbeCapsOutput(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "noisy")
	body := "#!/bin/sh\nhead -c 3145728 /dev/zero | tr '\\0' x\n"
	if err := os.WriteFile(bin, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}

	out, err := probe(context.Background(), bin, ExecDirect, 15*time.Second, "--help")
	if err != nil {
		t.Fatalf("probe(noisy) error = %v", err)
	}
	if len(out) != maxProbeOutput {
		t.Errorf("probe(noisy) kept %d bytes, want %d", len(out), maxProbeOutput)
	}
}

func TestCapBuffer(t *testing.T) {
	c := &capBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "hi"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v, want %d, nil", s, n, err, len(s))
		}
	}
	if c.String() != "abcde" || c.dropped != 4 {
		t.Errorf("capBuffer = %q dropped %d, want \"abcde\" dropped 4", c.String(), c.dropped)
	}
}
