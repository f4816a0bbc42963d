package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/pkg/certs"
)

// ioLimit bounds every read and write of a test connection, so a broken
// handshake fails the test instead of hanging it; no assertion depends on it.
const ioLimit = 20 * time.Second

// tlsServer accepts TLS connections on 127.0.0.1 with cfg. For each one it
// sends the handshake's outcome on errs (buffered; the test reads one per
// dial) and, when the handshake succeeded, writes "ok" and closes.
func tlsServer(t *testing.T, cfg *tls.Config) (addr string, errs <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan error, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			_ = conn.SetDeadline(time.Now().Add(ioLimit))
			tc := tls.Server(conn, cfg)
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Write([]byte("ok"))
			}
			out <- err
			tc.Close()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), out
}

// dialOK dials addr with cfg and reads the server's "ok"; it returns the
// first error and, on success, the connection state.
func dialOK(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: ioLimit}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioLimit))

	// with TLS 1.3 the server judges our certificate after our handshake
	// ends, so its refusal arrives on the first read
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return tls.ConnectionState{}, err
	}
	if string(buf) != "ok" {
		return tls.ConnectionState{}, errors.New("unexpected reply " + string(buf))
	}
	return conn.ConnectionState(), nil
}

func serverConfig(t *testing.T, f fleet) *tls.Config {
	t.Helper()
	cfg, err := certs.ServerConfig(f.agentCert, f.agentKey, f.caCert)
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	return cfg
}

func clientConfig(t *testing.T, f fleet, serverName string) *tls.Config {
	t.Helper()
	cfg, err := certs.ClientConfig(f.coordCert, f.coordKey, f.caCert, serverName)
	if err != nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	return cfg
}

func TestHandshakeOK(t *testing.T) {
	f := newFleet(t)
	addr, errs := tlsServer(t, serverConfig(t, f))

	for _, name := range []string{"localhost", "127.0.0.1", addr, ""} {
		t.Run("server_name="+name, func(t *testing.T) {
			cs, err := dialOK(addr, clientConfig(t, f, name))
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if srvErr := <-errs; srvErr != nil {
				t.Fatalf("server handshake: %v", srvErr)
			}
			if cs.Version != tls.VersionTLS13 {
				t.Errorf("Version = %x, want TLS 1.3 (%x)", cs.Version, tls.VersionTLS13)
			}
			role, peer, ok := certs.IdentityOf(cs.PeerCertificates[0])
			if role != certs.RoleAgent || peer != "a1" || !ok {
				t.Errorf("IdentityOf(peer) = %q, %q, %v, want agent, a1, true", role, peer, ok)
			}
		})
	}
}

// TestServerRefuses dials the agent's configuration with client
// certificates it must refuse; the server's error is checked where crypto/tls
// gives it a type, and the client must fail either way.
func TestServerRefuses(t *testing.T) {
	f := newFleet(t)
	addr, errs := tlsServer(t, serverConfig(t, f))

	other := newFleet(t)
	coord := func(name string, tweak func(*x509.Certificate)) []tls.Certificate {
		return []tls.Certificate{tweaked(t, f, certs.RoleCoordinator, name, tweak)}
	}
	pairs := func(certFile, keyFile string) []tls.Certificate {
		return []tls.Certificate{pair(t, certFile, keyFile)}
	}

	tests := []struct {
		name  string
		certs []tls.Certificate
		tls12 bool
		check func(error) bool // nil: any error will do
	}{
		{name: "no client certificate"},
		{name: "other ca", certs: pairs(other.coordCert, other.coordKey),
			check: isErr[x509.UnknownAuthorityError]},
		{name: "expired", certs: coord("old", expire), check: isInvalid(x509.Expired)},
		{name: "not yet valid", certs: coord("future", postdate), check: isInvalid(x509.Expired)},
		{name: "agent cert as coordinator", certs: pairs(f.agentCert, f.agentKey),
			check: isInvalid(x509.IncompatibleUsage)},
		{name: "client usage without role", certs: coord("norole", dropIDs), check: isWrongRole},
		{name: "client usage with agent id", certs: coord("fake", setID("/agent/fake")),
			check: isWrongRole},
		{name: "tls 1.2", certs: pairs(f.coordCert, f.coordKey), tls12: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t, f, "localhost")
			cfg.Certificates = tt.certs
			if tt.tls12 {
				cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			}
			if _, err := dialOK(addr, cfg); err == nil {
				t.Errorf("dial = nil, want an error")
			}
			srvErr := <-errs
			if srvErr == nil {
				t.Fatalf("server handshake = nil, want an error")
			}
			if tt.check != nil && !tt.check(srvErr) {
				t.Errorf("server handshake = %v (%T), want the other kind", srvErr, srvErr)
			}
		})
	}

	// the server still serves a good coordinator after all those refusals
	if _, err := dialOK(addr, clientConfig(t, f, "localhost")); err != nil {
		t.Errorf("dial after refusals: %v", err)
	}
	if srvErr := <-errs; srvErr != nil {
		t.Errorf("server handshake after refusals: %v", srvErr)
	}
}

// TestClientRefuses serves the coordinator's configuration server
// certificates it must refuse.
func TestClientRefuses(t *testing.T) {
	f := newFleet(t)
	other := newFleet(t)
	farCert, farKey := f.leaf(t, certs.RoleAgent, "far", "agent-two.example", "10.9.8.7")
	// names so that the host check passes and the usage check is what refuses
	coordCert, coordKey := f.leaf(t, certs.RoleCoordinator, "named", "localhost")
	agent := func(name string, tweak func(*x509.Certificate)) tls.Certificate {
		return tweaked(t, f, certs.RoleAgent, name, tweak)
	}

	tests := []struct {
		name       string
		cert       tls.Certificate
		serverName string
		check      func(error) bool
	}{
		{"coordinator cert as agent", pair(t, coordCert, coordKey), "localhost",
			isInvalid(x509.IncompatibleUsage)},
		{"other ca", pair(t, other.agentCert, other.agentKey), "localhost",
			isErr[x509.UnknownAuthorityError]},
		{"ip san mismatch", pair(t, farCert, farKey), "127.0.0.1", isErr[x509.HostnameError]},
		{"dns san mismatch", pair(t, farCert, farKey), "localhost", isErr[x509.HostnameError]},
		{"valid name, wrong agent", pair(t, f.agentCert, f.agentKey), "agent-two.example",
			isErr[x509.HostnameError]},
		{"expired", agent("old", expire), "localhost", isInvalid(x509.Expired)},
		{"server usage without role", agent("norole", dropIDs), "localhost", isWrongRole},
		{"server usage with coordinator id", agent("fake", setID("/coordinator/fake")),
			"localhost", isWrongRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// a server configured by hand, as a misconfigured or hostile agent would be
			addr, errs := tlsServer(t, &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{tt.cert},
			})
			_, err := dialOK(addr, clientConfig(t, f, tt.serverName))
			if err == nil {
				t.Fatalf("dial = nil, want an error")
			}
			if !tt.check(err) {
				t.Errorf("dial = %v (%T), want the other kind", err, err)
			}
			if srvErr := <-errs; srvErr == nil {
				t.Errorf("server handshake = nil, want the client's alert")
			}
		})
	}

	// the far agent is accepted under a name it holds
	addr, errs := tlsServer(t, &tls.Config{
		Certificates: []tls.Certificate{pair(t, farCert, farKey)},
	})
	for _, name := range []string{"agent-two.example", "10.9.8.7"} {
		if _, err := dialOK(addr, clientConfig(t, f, name)); err != nil {
			t.Errorf("dial as %s: %v", name, err)
		}
		<-errs
	}
}

func TestConfigRefusesOwnCert(t *testing.T) {
	f := newFleet(t)
	other := newFleet(t)

	tests := []struct {
		name string
		load func() error
		want error // nil: any error will do
	}{
		{"server with coordinator cert", func() error {
			_, err := certs.ServerConfig(f.coordCert, f.coordKey, f.caCert)
			return err
		}, certs.ErrWrongRole},
		{"client with agent cert", func() error {
			_, err := certs.ClientConfig(f.agentCert, f.agentKey, f.caCert, "localhost")
			return err
		}, certs.ErrWrongRole},
		{"server with other ca", func() error {
			_, err := certs.ServerConfig(f.agentCert, f.agentKey, other.caCert)
			return err
		}, nil},
		{"client with mismatched key", func() error {
			_, err := certs.ClientConfig(f.coordCert, other.coordKey, f.caCert, "localhost")
			return err
		}, nil},
		{"server with key as ca", func() error {
			_, err := certs.ServerConfig(f.agentCert, f.agentKey, f.caKey)
			return err
		}, nil},
		{"client with missing ca", func() error {
			_, err := certs.ClientConfig(f.coordCert, f.coordKey, f.dir+"/nope.pem", "localhost")
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			if err == nil {
				t.Fatalf("load = nil, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("load = %v, want %v", err, tt.want)
			}
		})
	}
}

// tweaked makes a leaf of role signed by the fleet's CA, edited by tweak,
// and loads it.
func tweaked(t *testing.T, f fleet, role certs.Role, name string,
	tweak func(*x509.Certificate),
) tls.Certificate {
	t.Helper()
	certPath, keyPath, err := certs.CreateCertTweaked(certs.CertOptions{
		Dir: f.dir, Role: role, Name: name, Hosts: []string{"localhost", "127.0.0.1"},
	}, time.Now(), tweak)
	if err != nil {
		t.Fatalf("CreateCertTweaked(%s): %v", name, err)
	}
	return pair(t, certPath, keyPath)
}

// expire moves a certificate's validity into the past.
func expire(c *x509.Certificate) {
	c.NotBefore = time.Now().AddDate(0, 0, -20)
	c.NotAfter = time.Now().AddDate(0, 0, -10)
}

// postdate makes a certificate valid only from ten days on.
func postdate(c *x509.Certificate) { c.NotBefore = time.Now().AddDate(0, 0, 10) }

// dropIDs removes a certificate's SPIFFE ID, keeping its key usage.
func dropIDs(c *x509.Certificate) { c.URIs = nil }

// setID replaces the path of a certificate's SPIFFE ID, keeping its key usage.
func setID(path string) func(*x509.Certificate) {
	return func(c *x509.Certificate) { c.URIs[0].Path = path }
}

func isErr[E error](err error) bool {
	var target E
	return errors.As(err, &target)
}

func isInvalid(reason x509.InvalidReason) func(error) bool {
	return func(err error) bool {
		var e x509.CertificateInvalidError
		return errors.As(err, &e) && e.Reason == reason
	}
}

func isWrongRole(err error) bool { return errors.Is(err, certs.ErrWrongRole) }

func TestClientConfigServerName(t *testing.T) {
	f := newFleet(t)
	tests := []struct{ in, want string }{
		{"agent1.lab", "agent1.lab"},
		{"agent1.lab:7070", "agent1.lab"},
		{"10.0.0.7:7070", "10.0.0.7"},
		{"[fd00::7]:7070", "fd00::7"},
		{"[fd00::7]", "fd00::7"},
		{"fd00::7", "fd00::7"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := clientConfig(t, f, tt.in).ServerName; got != tt.want {
			t.Errorf("ClientConfig(%q).ServerName = %q, want %q", tt.in, got, tt.want)
		}
	}
}
