package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/packbench/packbench/pkg/certs"
)

// fleet is a CA with one agent and one coordinator certificate in dir.
type fleet struct {
	dir                 string
	caCert, caKey       string
	agentCert, agentKey string
	coordCert, coordKey string
}

// newFleet makes a CA in a fresh directory, an agent "a1" valid for
// localhost and 127.0.0.1, and a coordinator "c1".
func newFleet(t *testing.T) fleet {
	t.Helper()
	f := fleet{dir: t.TempDir()}
	var err error
	f.caCert, f.caKey, err = certs.CreateCA(certs.CAOptions{Dir: f.dir})
	if err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	f.agentCert, f.agentKey = f.leaf(t, certs.RoleAgent, "a1", "localhost", "127.0.0.1")
	f.coordCert, f.coordKey = f.leaf(t, certs.RoleCoordinator, "c1")
	return f
}

// leaf makes a certificate of role and name signed by the fleet's CA.
func (f fleet) leaf(t *testing.T, role certs.Role, name string, hosts ...string) (string, string) {
	t.Helper()
	certPath, keyPath, err := certs.CreateCert(certs.CertOptions{
		Dir: f.dir, Role: role, Name: name, Hosts: hosts,
	})
	if err != nil {
		t.Fatalf("CreateCert(%s %s): %v", role, name, err)
	}
	return certPath, keyPath
}

// pair loads a certificate and key as a tls.Certificate.
func pair(t *testing.T, certPath, keyPath string) tls.Certificate {
	t.Helper()
	p, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatalf("LoadX509KeyPair(%s): %v", certPath, err)
	}
	return p
}

// parseCert reads the single certificate of a PEM file.
func parseCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("%s: want one PEM CERTIFICATE block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

// mode returns the permission bits of path.
func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
