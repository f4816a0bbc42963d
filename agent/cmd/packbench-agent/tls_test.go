package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/certs"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// fleet is a CA in dir with an agent certificate for 127.0.0.1 and a
// coordinator certificate.
type fleet struct {
	dir                 string
	caCert, caKey       string
	agentCert, agentKey string
	coordCert, coordKey string
}

func newFleet(t *testing.T) fleet {
	t.Helper()
	f := fleet{dir: t.TempDir()}
	var err error
	if f.caCert, f.caKey, err = certs.CreateCA(certs.CAOptions{Dir: f.dir}); err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	f.agentCert, f.agentKey, err = certs.CreateCert(certs.CertOptions{Dir: f.dir,
		Role: certs.RoleAgent, Name: "a1", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatalf("CreateCert(agent): %v", err)
	}
	f.coordCert, f.coordKey, err = certs.CreateCert(certs.CertOptions{Dir: f.dir,
		Role: certs.RoleCoordinator, Name: "c1"})
	if err != nil {
		t.Fatalf("CreateCert(coordinator): %v", err)
	}
	return f
}

// expiredCoordinator signs, with the fleet's CA key, a coordinator
// certificate that expired yesterday, and writes it and its key to dir.
func (f fleet) expiredCoordinator(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	caCert := readPEM(t, f.caCert, "CERTIFICATE")
	ca, err := x509.ParseCertificate(caCert)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(readPEM(t, f.caKey, "PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "old"},
		NotBefore:    now.AddDate(0, 0, -30), NotAfter: now.AddDate(0, 0, -1),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{{Scheme: "spiffe", Host: "packbench", Path: "/coordinator/old"}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatalf("sign expired certificate: %v", err)
	}
	if role, ok := certs.RoleOf(mustParse(t, der)); !ok || role != certs.RoleCoordinator {
		t.Fatalf("expired certificate role = %q, %t, want a coordinator one", role, ok)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(t.TempDir(), "old.crt"), filepath.Join(t.TempDir(), "old.key")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", keyDER)
	return certPath, keyPath
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readPEM(t *testing.T, path, typ string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != typ {
		t.Fatalf("%s: want a PEM %s block", path, typ)
	}
	return block.Bytes
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startAgent runs packbench-agent with args and returns the port it
// listens on; the agent is stopped when the test ends.
func startAgent(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(agentBin, append([]string{"--state-dir", t.TempDir(),
		"--allow", model, "--name", "tls-test"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, _ := listenAddress(t, bufio.NewScanner(stderr))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("agent address %q: %v", addr, err)
	}
	return port
}

// hostFacts calls GetHostFacts over TLS with cfg, on 127.0.0.1:port.
func hostFacts(t *testing.T, port string, cfg *tls.Config) (*packbenchv1.GetHostFactsResponse,
	error) {
	t.Helper()
	conn, err := grpc.NewClient("127.0.0.1:"+port,
		grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return packbenchv1.NewAgentServiceClient(conn).GetHostFacts(ctx,
		&packbenchv1.GetHostFactsRequest{})
}

// readAlert completes a TLS 1.3 handshake as the client of cfg, whose own
// certificate the server checks afterwards, and returns the error of the
// first read: the server's alert when it refuses.
func readAlert(t *testing.T, port string, cfg *tls.Config) error {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("read from the agent succeeded, want a refusal")
	}
	return err
}

// clientTLS trusts the CA of caFile and presents certFile, if any, without
// checking our own certificate the way certs.ClientConfig would.
func clientTLS(t *testing.T, caFile, certFile, keyFile string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bytes.TrimSpace(mustRead(t, caFile))) {
		t.Fatalf("%s: no CA certificate", caFile)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "127.0.0.1"}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestMTLS starts the agent with TLS on all interfaces and checks which
// clients it answers, dialling 127.0.0.1 only.
func TestMTLS(t *testing.T) {
	f, other := newFleet(t), newFleet(t)
	port := startAgent(t, "--listen", "0.0.0.0:0", "--tls-cert", f.agentCert,
		"--tls-key", f.agentKey, "--tls-ca", f.caCert)

	good, err := certs.ClientConfig(f.coordCert, f.coordKey, f.caCert, "")
	if err != nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	resp, err := hostFacts(t, port, good)
	if err != nil || resp.GetAgentName() != "tls-test" {
		t.Fatalf("GetHostFacts(coordinator of the CA) = %v, %v, want agent tls-test", resp, err)
	}

	expCert, expKey := f.expiredCoordinator(t)
	tests := []struct {
		name  string
		cfg   *tls.Config
		alert string
	}{
		{"no client certificate", clientTLS(t, f.caCert, "", ""), "certificate required"},
		{"coordinator of another CA", clientTLS(t, f.caCert, other.coordCert, other.coordKey),
			"unknown certificate authority"},
		{"expired coordinator", clientTLS(t, f.caCert, expCert, expKey),
			"expired certificate"},
		{"agent certificate as client", clientTLS(t, f.caCert, f.agentCert, f.agentKey),
			"bad certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hostFacts(t, port, tt.cfg)
			if got := status.Code(err); got != codes.Unavailable {
				t.Errorf("GetHostFacts(%s) code = %v (%v), want Unavailable", tt.name, got, err)
			}
			// the refusal is the agent's TLS alert, not a dead port
			if err := readAlert(t, port, tt.cfg); !strings.Contains(err.Error(), tt.alert) {
				t.Errorf("read after handshake(%s) = %v, want the alert %q", tt.name, err,
					tt.alert)
			}
		})
	}

	// a plaintext client gets nothing either
	conn, err := grpc.NewClient("127.0.0.1:"+port,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = packbenchv1.NewAgentServiceClient(conn).GetHostFacts(ctx,
		&packbenchv1.GetHostFactsRequest{})
	if got := status.Code(err); got != codes.Unavailable {
		t.Errorf("GetHostFacts(plaintext) code = %v (%v), want Unavailable", got, err)
	}
}

// TestTLSSettingsExit2 checks the TLS settings the agent refuses at start.
func TestTLSSettingsExit2(t *testing.T) {
	f := newFleet(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"any address without TLS", []string{"--listen", "0.0.0.0:0"}, "--tls-cert"},
		{"no key", []string{"--tls-cert", f.agentCert, "--tls-ca", f.caCert},
			"--tls-key (tls_key) is missing"},
		{"no ca", []string{"--tls-cert", f.agentCert, "--tls-key", f.agentKey},
			"--tls-ca (tls_ca) is missing"},
		{"no cert", []string{"--tls-key", f.agentKey, "--tls-ca", f.caCert},
			"--tls-cert (tls_cert) is missing"},
		{"coordinator certificate as the agent's", []string{"--tls-cert", f.coordCert,
			"--tls-key", f.coordKey, "--tls-ca", f.caCert}, "not a packbench agent certificate"},
		{"insecure with TLS", []string{"--insecure", "--tls-cert", f.agentCert,
			"--tls-key", f.agentKey, "--tls-ca", f.caCert}, "--insecure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--listen", "127.0.0.1:0", "--state-dir", t.TempDir(),
				"--allow", model}, tt.args...)
			var stdout, stderr bytes.Buffer
			if got := run(args, &stdout, &stderr); got != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr: %s", tt.args, got, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(),
					tt.want)
			}
		})
	}
}

// TestConfigLimitsAndTLS reads the TLS files, the limits and the extra-arg
// policy from a config file.
func TestConfigLimitsAndTLS(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "agent.json")
	data := `{"tls_cert": "/c.crt", "tls_key": "/c.key", "tls_ca": "/ca.crt",
		"allowed_extra_args": ["--lora"],
		"limits": {"max_instances": 8, "max_prompt_bytes": 100, "max_recv_msg_bytes": 65536,
			"max_concurrent_streams": 4, "rpc_timeout_seconds": 5,
			"max_timeout_seconds": 60}}`
	if err := os.WriteFile(cfgFile, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--config", cfgFile, "--tls-ca", "/other-ca.crt"},
		&bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if cfg.TLSCert != "/c.crt" || cfg.TLSKey != "/c.key" || cfg.TLSCA != "/other-ca.crt" {
		t.Errorf("tls files = %q %q %q, want /c.crt /c.key /other-ca.crt", cfg.TLSCert,
			cfg.TLSKey, cfg.TLSCA)
	}
	ac := cfg.agentConfig()
	if ac.Limits.MaxInstances != 8 || ac.Limits.MaxPrompt != 100 ||
		ac.Limits.MaxTimeout != time.Minute || ac.Limits.MaxThreads != 0 {
		t.Errorf("agent limits = %+v, want 8 instances, 100 prompt bytes, 1m timeout, "+
			"threads left to the default", ac.Limits)
	}
	if len(ac.Args.Allowed) != 1 || ac.Args.Allowed[0] != "--lora" || ac.Args.AllowAll {
		t.Errorf("arg policy = %+v, want --lora allowed only", ac.Args)
	}
	tr := cfg.transport()
	if tr.MaxRecvMsgBytes != 65536 || tr.MaxConcurrentStreams != 4 ||
		tr.RPCTimeout != 5*time.Second || tr.PreflightTimeout != 0 {
		t.Errorf("transport = %+v, want 64 KiB messages, 4 streams, 5s calls", tr)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"limits": {"max_threads": -1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := run([]string{"--config", bad}, &bytes.Buffer{}, &stderr); got != 2 ||
		!strings.Contains(stderr.String(), "limits.max_threads -1") {
		t.Errorf("run(max_threads -1) = %d, stderr %q, want 2 naming limits.max_threads", got,
			stderr.String())
	}
}
