package cli_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTLSCommandsWriteAFleetCA(t *testing.T) {
	dir := t.TempDir()
	steps := [][]string{
		{"tls", "ca", "create", "--dir", dir},
		{"tls", "cert", "create", "--agent", "--name", "a1", "--host", "127.0.0.1", "--dir", dir},
		{"tls", "cert", "create", "--coordinator", "--name", "me", "--dir", dir},
	}
	for _, args := range steps {
		if code, _, stderr := runPackbench(t, args...); code != 0 {
			t.Fatalf("packbench %v exit = %d, want 0\n%s", args, code, stderr)
		}
	}

	for _, f := range []struct {
		name string
		mode os.FileMode
	}{
		{"packbench-ca.pem", 0o644}, {"packbench-ca-key.pem", 0o600},
		{"packbench-agent-a1.pem", 0o644}, {"packbench-agent-a1-key.pem", 0o600},
		{"packbench-coordinator-me.pem", 0o644}, {"packbench-coordinator-me-key.pem", 0o600},
	} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil || st.Mode().Perm() != f.mode {
			t.Errorf("%s: %v, mode %v; want mode %v", f.name, err, st.Mode().Perm(), f.mode)
		}
	}

	data, _ := os.ReadFile(filepath.Join(dir, "packbench-agent-a1.pem"))
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("agent certificate IPs = %v, want [127.0.0.1]", cert.IPAddresses)
	}
}

func TestTLSCommandsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runPackbench(t, "tls", "ca", "create", "--dir", dir); code != 0 {
		t.Fatalf("ca create: exit %d\n%s", code, stderr)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ca exists", []string{"tls", "ca", "create", "--dir", dir}, "--force"},
		{"no role", []string{"tls", "cert", "create", "--name", "x", "--dir", dir}, "--agent"},
		{"agent without host", []string{"tls", "cert", "create", "--agent", "--name", "x",
			"--dir", dir}, "--host"},
		{"bad days", []string{"tls", "cert", "create", "--coordinator", "--name", "x",
			"--days", "40000", "--dir", dir}, "--days"},
		{"bad key type", []string{"tls", "ca", "create", "--key-type", "dsa",
			"--dir", t.TempDir()}, "--key-type"},
		{"sweep with half the TLS flags", []string{"sweep", "--agents", "127.0.0.1:1",
			"--binary", "/bin/true", "--model", "/bin/true", "--tls-cert", "x"}, "--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runPackbench(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s", code, stderr, tt.want)
			}
		})
	}
}
