package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sweep reaches a TLS agent with the fleet's coordinator certificate, and
// is refused with a certificate from another CA.
func TestSweepOverMutualTLS(t *testing.T) {
	fleet, other := t.TempDir(), t.TempDir()
	for _, args := range [][]string{
		{"tls", "ca", "create", "--dir", fleet},
		{"tls", "cert", "create", "--agent", "--name", "a1", "--host", "127.0.0.1", "--dir", fleet},
		{"tls", "cert", "create", "--coordinator", "--name", "me", "--dir", fleet},
		{"tls", "ca", "create", "--dir", other},
		{"tls", "cert", "create", "--coordinator", "--name", "me", "--dir", other},
	} {
		if code, _, stderr := runPackbench(t, args...); code != 0 {
			t.Fatalf("packbench %v: exit %d\n%s", args, code, stderr)
		}
	}
	eng, model := engine(t), sharedModel(t)
	a := startAgentWith(t, "a1", "127.0.0.1:0", t.TempDir(), []string{eng, model}, []string{
		"--tls-cert", filepath.Join(fleet, "packbench-agent-a1.pem"),
		"--tls-key", filepath.Join(fleet, "packbench-agent-a1-key.pem"),
		"--tls-ca", filepath.Join(fleet, "packbench-ca.pem")})

	out := filepath.Join(t.TempDir(), "out")
	sweep := func(dir string) (int, string, string) {
		return runPackbench(t, "sweep", "--agents", a.addr, "--binary", eng, "--model", model,
			"--instances", "1", "--threads-min", "1", "--reserve-cores", "0", "--dry-run",
			"--outdir", out,
			"--tls-cert", filepath.Join(dir, "packbench-coordinator-me.pem"),
			"--tls-key", filepath.Join(dir, "packbench-coordinator-me-key.pem"),
			"--tls-ca", filepath.Join(fleet, "packbench-ca.pem"))
	}
	code, stdout, stderr := sweep(fleet)
	if code != 0 || !strings.Contains(stdout, "plan") {
		t.Fatalf("sweep over mTLS: exit %d, want 0 and a plan\nstdout:\n%s\nstderr:\n%s",
			code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run made its --outdir %s: %v, want it left alone", out, err)
	}
	if code, _, stderr := sweep(other); code == 0 {
		t.Errorf("sweep with another CA's certificate: exit 0, want a refusal\n%s", stderr)
	}
}
