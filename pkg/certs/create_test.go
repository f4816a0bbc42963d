package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/packbench/packbench/pkg/certs"
)

func TestCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "tls")
	certPath, keyPath, err := certs.CreateCA(certs.CAOptions{Dir: dir})
	if err != nil {
		t.Fatalf("CreateCA: %v", err)
	}

	if got, want := filepath.Base(certPath), "packbench-ca.pem"; got != want {
		t.Errorf("CreateCA cert = %s, want %s", got, want)
	}
	if got, want := filepath.Base(keyPath), "packbench-ca-key.pem"; got != want {
		t.Errorf("CreateCA key = %s, want %s", got, want)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {keyPath, 0o600}, {certPath, 0o644}} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("mode(%s) = %o, want %o", c.path, got, c.want)
		}
	}

	ca := parseCert(t, certPath)
	if !ca.IsCA || !ca.BasicConstraintsValid || !ca.MaxPathLenZero || ca.MaxPathLen != 0 {
		t.Errorf("CA constraints = IsCA %v, valid %v, MaxPathLenZero %v, MaxPathLen %d, "+
			"want true, true, true, 0", ca.IsCA, ca.BasicConstraintsValid, ca.MaxPathLenZero,
			ca.MaxPathLen)
	}
	if got, want := ca.KeyUsage, x509.KeyUsageCertSign|x509.KeyUsageCRLSign; got != want {
		t.Errorf("CA KeyUsage = %v, want %v", got, want)
	}
	if got, want := ca.Subject.CommonName, "packbench CA"; got != want {
		t.Errorf("CA CommonName = %q, want %q", got, want)
	}
	if len(ca.SubjectKeyId) == 0 || !bytes.Equal(ca.AuthorityKeyId, ca.SubjectKeyId) {
		t.Errorf("CA key ids = subject %x, authority %x, want equal and set",
			ca.SubjectKeyId, ca.AuthorityKeyId)
	}
	if n := ca.SerialNumber; n.Sign() <= 0 || n.BitLen() > 128 {
		t.Errorf("CA serial = %v, want positive and at most 128 bits", n)
	}
	if got, want := ca.NotAfter.Sub(ca.NotBefore).Round(time.Hour), 1825*24*time.Hour; got != want {
		t.Errorf("CA validity = %v, want %v", got, want)
	}
	if _, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CA key = %T, want *ecdsa.PublicKey", ca.PublicKey)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA self-signature: %v", err)
	}
}

func TestCreateCAKeepsExistingDirMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	opts := certs.CAOptions{Dir: dir, CommonName: "lab CA", Days: 30}
	if _, _, err := certs.CreateCA(opts); err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	if got, want := mode(t, dir), os.FileMode(0o750); got != want {
		t.Errorf("mode(dir) = %o, want %o", got, want)
	}
	ca := parseCert(t, filepath.Join(dir, "packbench-ca.pem"))
	if got, want := ca.Subject.CommonName, "lab CA"; got != want {
		t.Errorf("CA CommonName = %q, want %q", got, want)
	}
	if got, want := ca.NotAfter.Sub(ca.NotBefore).Round(time.Hour), 30*24*time.Hour; got != want {
		t.Errorf("CA validity = %v, want %v", got, want)
	}
}

func TestCreateCASerialsDiffer(t *testing.T) {
	a, _, err := certs.CreateCA(certs.CAOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := certs.CreateCA(certs.CAOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if sa, sb := parseCert(t, a).SerialNumber, parseCert(t, b).SerialNumber; sa.Cmp(sb) == 0 {
		t.Errorf("two CAs share serial %v, want random serials", sa)
	}
}

func TestCreateCert(t *testing.T) {
	f := newFleet(t)
	ca := parseCert(t, f.caCert)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	tests := []struct {
		role      certs.Role
		name      string
		hosts     []string
		wantFile  string
		wantUsage x509.ExtKeyUsage
		wantURI   string
		wantDNS   []string
		wantIPs   []string
	}{
		{
			role: certs.RoleAgent, name: "gpu-01",
			hosts:    []string{"Gpu-01.Lab.", "10.0.0.7", "gpu-01.lab", "::1"},
			wantFile: "packbench-agent-gpu-01", wantUsage: x509.ExtKeyUsageServerAuth,
			wantURI: "spiffe://packbench/agent/gpu-01",
			wantDNS: []string{"gpu-01.lab"}, wantIPs: []string{"10.0.0.7", "::1"},
		},
		{
			role: certs.RoleCoordinator, name: "laptop", wantFile: "packbench-coordinator-laptop",
			wantUsage: x509.ExtKeyUsageClientAuth, wantURI: "spiffe://packbench/coordinator/laptop",
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			certPath, keyPath, err := certs.CreateCert(certs.CertOptions{
				Dir: f.dir, Role: tt.role, Name: tt.name, Hosts: tt.hosts,
			})
			if err != nil {
				t.Fatalf("CreateCert: %v", err)
			}
			if got, want := filepath.Base(certPath), tt.wantFile+".pem"; got != want {
				t.Errorf("CreateCert cert = %s, want %s", got, want)
			}
			if got, want := filepath.Base(keyPath), tt.wantFile+"-key.pem"; got != want {
				t.Errorf("CreateCert key = %s, want %s", got, want)
			}
			if got := mode(t, keyPath); got != 0o600 {
				t.Errorf("mode(key) = %o, want 600", got)
			}
			if got := mode(t, certPath); got != 0o644 {
				t.Errorf("mode(cert) = %o, want 644", got)
			}

			leaf := parseCert(t, certPath)
			checkLeaf(t, leaf, ca)
			if diff := cmp.Diff([]x509.ExtKeyUsage{tt.wantUsage}, leaf.ExtKeyUsage); diff != "" {
				t.Errorf("ExtKeyUsage (-want +got):\n%s", diff)
			}
			var uris []string
			for _, u := range leaf.URIs {
				uris = append(uris, u.String())
			}
			if diff := cmp.Diff([]string{tt.wantURI}, uris); diff != "" {
				t.Errorf("URIs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDNS, leaf.DNSNames); diff != "" {
				t.Errorf("DNSNames (-want +got):\n%s", diff)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tt.wantIPs, ips); diff != "" {
				t.Errorf("IPAddresses (-want +got):\n%s", diff)
			}
			validity := leaf.NotAfter.Sub(leaf.NotBefore).Round(time.Hour)
			if got, want := validity, 365*24*time.Hour; got != want {
				t.Errorf("validity = %v, want %v", got, want)
			}
			_, err = leaf.Verify(x509.VerifyOptions{
				Roots: roots, KeyUsages: []x509.ExtKeyUsage{tt.wantUsage},
			})
			if err != nil {
				t.Errorf("Verify: %v", err)
			}
			if role, ok := certs.RoleOf(leaf); role != tt.role || !ok {
				t.Errorf("RoleOf = %q, %v, want %q, true", role, ok, tt.role)
			}
		})
	}
}

// checkLeaf checks what every leaf shares: key ids, serial, constraints.
func checkLeaf(t *testing.T, leaf, ca *x509.Certificate) {
	t.Helper()
	if len(leaf.SubjectKeyId) == 0 || bytes.Equal(leaf.SubjectKeyId, ca.SubjectKeyId) {
		t.Errorf("leaf SubjectKeyId = %x, want set and unlike the CA's", leaf.SubjectKeyId)
	}
	if !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
		t.Errorf("leaf AuthorityKeyId = %x, want %x", leaf.AuthorityKeyId, ca.SubjectKeyId)
	}
	if n := leaf.SerialNumber; n.Sign() <= 0 || n.BitLen() > 128 {
		t.Errorf("leaf serial = %v, want positive and at most 128 bits", n)
	}
	if leaf.IsCA || !leaf.BasicConstraintsValid {
		t.Errorf("leaf IsCA, constraints valid = %v, %v, want false, true",
			leaf.IsCA, leaf.BasicConstraintsValid)
	}
	if got, want := leaf.KeyUsage, x509.KeyUsageDigitalSignature; got != want {
		t.Errorf("leaf KeyUsage = %v, want %v", got, want)
	}
}

func TestKeyTypes(t *testing.T) {
	tests := []struct {
		keyType string
		check   func(pub any) bool
	}{
		{"", isCurve(elliptic.P256())},
		{"ecdsa-p256", isCurve(elliptic.P256())},
		{"ECDSA-P384", isCurve(elliptic.P384())},
		{"ed25519", func(pub any) bool { _, ok := pub.(ed25519.PublicKey); return ok }},
		{"rsa-2048", isRSA(2048)},
		{"rsa-4096", isRSA(4096)},
	}
	for _, tt := range tests {
		t.Run("type="+tt.keyType, func(t *testing.T) {
			dir := t.TempDir()
			caPath, _, err := certs.CreateCA(certs.CAOptions{Dir: dir, KeyType: tt.keyType})
			if err != nil {
				t.Fatalf("CreateCA: %v", err)
			}
			leafPath, keyPath, err := certs.CreateCert(certs.CertOptions{
				Dir: dir, Role: certs.RoleAgent, Name: "a", Hosts: []string{"127.0.0.1"},
				KeyType: tt.keyType,
			})
			if err != nil {
				t.Fatalf("CreateCert: %v", err)
			}
			ca, leaf := parseCert(t, caPath), parseCert(t, leafPath)
			if !tt.check(ca.PublicKey) {
				t.Errorf("CA key = %T, want %s", ca.PublicKey, tt.keyType)
			}
			if !tt.check(leaf.PublicKey) {
				t.Errorf("leaf key = %T, want %s", leaf.PublicKey, tt.keyType)
			}
			if err := leaf.CheckSignatureFrom(ca); err != nil {
				t.Errorf("leaf signature: %v", err)
			}
			checkLeaf(t, leaf, ca)
			data, _ := os.ReadFile(keyPath)
			if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("key file starts %q, want a PKCS #8 PRIVATE KEY block",
					data[:min(len(data), 30)])
			}
		})
	}
}

func TestCreateCertMixedKeyTypes(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := certs.CreateCA(certs.CAOptions{Dir: dir, KeyType: "ed25519"}); err != nil {
		t.Fatal(err)
	}
	certPath, _, err := certs.CreateCert(certs.CertOptions{
		Dir: dir, Role: certs.RoleCoordinator, Name: "c", KeyType: "ecdsa-p384",
	})
	if err != nil {
		t.Fatalf("CreateCert: %v", err)
	}
	if got := parseCert(t, certPath).SignatureAlgorithm; got != x509.PureEd25519 {
		t.Errorf("SignatureAlgorithm = %v, want %v", got, x509.PureEd25519)
	}
}

func TestForce(t *testing.T) {
	dir := t.TempDir()
	caPath, caKey, err := certs.CreateCA(certs.CAOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	opts := certs.CertOptions{Dir: dir, Role: certs.RoleAgent, Name: "a", Hosts: []string{"a.lab"}}
	leafPath, leafKey, err := certs.CreateCert(opts)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		create func(force bool) error
		files  []string
	}{
		{"ca", func(force bool) error {
			_, _, err := certs.CreateCA(certs.CAOptions{Dir: dir, Force: force})
			return err
		}, []string{caPath, caKey}},
		{"cert", func(force bool) error {
			o := opts
			o.Force = force
			_, _, err := certs.CreateCert(o)
			return err
		}, []string{leafPath, leafKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := readAll(t, tt.files)
			if err := tt.create(false); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("create without Force = %v, want fs.ErrExist", err)
			}
			if !strings.Contains(err2s(tt.create(false)), "--force") {
				t.Errorf("create without Force: error does not name --force")
			}
			if diff := cmp.Diff(before, readAll(t, tt.files)); diff != "" {
				t.Errorf("files changed though refused (-before +after):\n%s", diff)
			}

			if err := tt.create(true); err != nil {
				t.Fatalf("create with Force: %v", err)
			}
			after := readAll(t, tt.files)
			for i, p := range tt.files {
				if bytes.Equal(before[i], after[i]) {
					t.Errorf("%s unchanged after Force, want replaced", filepath.Base(p))
				}
			}
			if got := mode(t, tt.files[1]); got != 0o600 {
				t.Errorf("mode(key) after Force = %o, want 600", got)
			}
			if got := mode(t, tt.files[0]); got != 0o644 {
				t.Errorf("mode(cert) after Force = %o, want 644", got)
			}
			if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestForceRefusesHalfPair(t *testing.T) {
	dir := t.TempDir()
	_, keyPath := certs.CAFiles(dir)
	if err := os.WriteFile(keyPath, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := certs.CreateCA(certs.CAOptions{Dir: dir}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateCA over a lone key = %v, want fs.ErrExist", err)
	}
	certPath, _ := certs.CAFiles(dir)
	if _, err := os.Stat(certPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat(%s) = %v, want not exist", filepath.Base(certPath), err)
	}
	if data, _ := os.ReadFile(keyPath); string(data) != "precious" {
		t.Errorf("lone key = %q, want it untouched", data)
	}
}

func TestOptionErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := certs.CreateCA(certs.CAOptions{Dir: dir, Days: 10}); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, _, err := certs.CreateCA(certs.CAOptions{Dir: other}); err != nil {
		t.Fatal(err)
	}
	_, otherKey := certs.CAFiles(other)

	// ca makes a CA in a fresh directory; agent makes an agent cert from
	// good options edited by edit
	ca := func(o certs.CAOptions) func() error {
		return func() error {
			o.Dir = t.TempDir()
			_, _, err := certs.CreateCA(o)
			return err
		}
	}
	agent := func(edit func(*certs.CertOptions)) func() error {
		return func() error {
			o := certs.CertOptions{
				Dir: dir, Role: certs.RoleAgent, Name: "a", Hosts: []string{"a.lab"}, Days: 5,
			}
			edit(&o)
			_, _, err := certs.CreateCert(o)
			return err
		}
	}
	hosts := func(h ...string) func() error {
		return agent(func(o *certs.CertOptions) { o.Hosts = h })
	}
	name := func(n string) func() error {
		return agent(func(o *certs.CertOptions) { o.Name = n })
	}

	tests := []struct {
		name     string
		create   func() error
		wantFlag string
		wantOpt  bool // wraps ErrOption
	}{
		{"ca negative days", ca(certs.CAOptions{Days: -1}), "--days", true},
		{"ca too many days", ca(certs.CAOptions{Days: 36501}), "--days", true},
		{"ca key type", ca(certs.CAOptions{KeyType: "dsa-1024"}), "--key-type", true},
		{"days", agent(func(o *certs.CertOptions) { o.Days = -3 }), "--days", true},
		{"outlives ca", agent(func(o *certs.CertOptions) { o.Days = 0 }), "--days 365", true},
		{"key type", agent(func(o *certs.CertOptions) { o.KeyType = "rsa-1024" }), "--key-type",
			true},
		{"no name", name(""), "--name", true},
		{"upper name", name("Agent1"), "--name", true},
		{"slash name", name("a/b"), "--name", true},
		{"dot name", name(".a"), "--name", true},
		{"long name", name(strings.Repeat("a", 65)), "--name", true},
		{"no host", hosts(), "--host", true},
		{"wildcard", hosts("a.lab", "*.lab"), "--host", true},
		{"port", hosts("a.lab:7070"), "--host", true},
		{"url", hosts("https://a.lab"), "--host", true},
		{"empty host", hosts(""), "--host", true},
		{"bad label", hosts("a..lab"), "--host", true},
		{"role", agent(func(o *certs.CertOptions) { o.Role = "admin" }), "role", true},
		{"no ca", agent(func(o *certs.CertOptions) { o.CACert = filepath.Join(dir, "no.pem") }),
			"--ca", false},
		{"ca is a key", agent(func(o *certs.CertOptions) { o.CACert = otherKey }), "--ca", false},
		{"wrong ca key", agent(func(o *certs.CertOptions) { o.CAKey = otherKey }), "--ca-key",
			true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.create()
			if err == nil {
				t.Fatalf("create = nil, want an error naming %s", tt.wantFlag)
			}
			if !strings.Contains(err.Error(), tt.wantFlag) {
				t.Errorf("create = %q, want it to name %s", err, tt.wantFlag)
			}
			if got := errors.Is(err, certs.ErrOption); got != tt.wantOpt {
				t.Errorf("errors.Is(%q, ErrOption) = %v, want %v", err, got, tt.wantOpt)
			}
		})
	}

	// nothing is written by a refused request
	matches, _ := filepath.Glob(filepath.Join(dir, "packbench-agent-*"))
	if len(matches) != 0 {
		t.Errorf("files written by refused requests: %v", matches)
	}
}

func TestCreateCertExpiredCA(t *testing.T) {
	dir := t.TempDir()
	past := time.Now().AddDate(0, 0, -30)
	if _, _, err := certs.CreateCAAt(certs.CAOptions{Dir: dir, Days: 10}, past); err != nil {
		t.Fatal(err)
	}
	opts := certs.CertOptions{Dir: dir, Role: certs.RoleCoordinator, Name: "c"}
	_, _, err := certs.CreateCert(opts)
	if !errors.Is(err, certs.ErrOption) || !strings.Contains(err.Error(), "--ca") {
		t.Errorf("CreateCert with an expired CA = %v, want ErrOption naming --ca", err)
	}
}

func TestHostsDedupe(t *testing.T) {
	f := newFleet(t)
	certPath, _ := f.leaf(t, certs.RoleAgent, "dup",
		"127.0.0.1", "127.0.0.1", "LOCALHOST", "localhost")
	leaf := parseCert(t, certPath)
	if diff := cmp.Diff([]string{"localhost"}, leaf.DNSNames); diff != "" {
		t.Errorf("DNSNames (-want +got):\n%s", diff)
	}
	if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("IPAddresses = %v, want [127.0.0.1]", leaf.IPAddresses)
	}
}

func readAll(t *testing.T, paths []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func isCurve(curve elliptic.Curve) func(any) bool {
	return func(pub any) bool {
		k, ok := pub.(*ecdsa.PublicKey)
		return ok && k.Curve == curve
	}
}

func isRSA(bits int) func(any) bool {
	return func(pub any) bool {
		k, ok := pub.(*rsa.PublicKey)
		return ok && k.N.BitLen() == bits
	}
}
