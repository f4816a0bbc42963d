package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// ErrWrongRole marks a peer, or a certificate of our own, whose certificate
// does not carry the role its place in the connection needs.
var ErrWrongRole = errors.New("wrong certificate role")

// ServerConfig returns the agent's TLS configuration: TLS 1.3 at least, the
// agent certificate of certFile and keyFile, and a required client
// certificate that chains to the CA of caFile and carries RoleCoordinator.
// It fails when the agent's own certificate is not a valid agent certificate
// of that CA, so a mixed-up file is caught at start rather than at dial.
func ServerConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, fmt.Errorf("server tls config: %w", err)
	}
	pair, err := loadPair(certFile, keyFile, pool, RoleAgent)
	if err != nil {
		return nil, fmt.Errorf("server tls config: %w", err)
	}

	// TODO(certs): serve through GetCertificate and reload the files when they
	// change, so that a renewed agent certificate takes effect without a restart.
	// TODO(certs): there is no revocation list; a leaked coordinator key is
	// trusted until it expires or the fleet moves to a new CA.

	// VerifyConnection runs after the chain check and on resumed sessions too
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{pair},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        pool,
		VerifyConnection: requireRole(RoleCoordinator),
	}, nil
}

// ClientConfig returns the coordinator's TLS configuration: TLS 1.3 at
// least, the coordinator certificate of certFile and keyFile, and an agent
// certificate that must chain to the CA of caFile, carry RoleAgent and be
// valid for serverName, the host dialled (a DNS name or an IP address; a
// port is dropped). With serverName "" the dialler fills it in from the
// address, as crypto/tls and grpc's credentials.NewTLS do.
func ClientConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, fmt.Errorf("client tls config: %w", err)
	}
	pair, err := loadPair(certFile, keyFile, pool, RoleCoordinator)
	if err != nil {
		return nil, fmt.Errorf("client tls config: %w", err)
	}

	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{pair},
		RootCAs:          pool,
		ServerName:       hostOnly(serverName),
		VerifyConnection: requireRole(RoleAgent),
	}, nil
}

// requireRole returns a VerifyConnection hook that refuses a peer whose
// leaf certificate does not carry role.
func requireRole(role Role) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("verify peer: no certificate, want role %s: %w", role, ErrWrongRole)
		}
		got, ok := RoleOf(cs.PeerCertificates[0])
		if !ok {
			return fmt.Errorf("verify peer: certificate carries no packbench role, want %s: %w",
				role, ErrWrongRole)
		}
		if got != role {
			return fmt.Errorf("verify peer: certificate carries role %s, want %s: %w",
				got, role, ErrWrongRole)
		}
		return nil
	}
}

// loadPool reads the CA certificates of caFile.
func loadPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("read ca: %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// loadPair reads our own certificate and key and checks that the
// certificate carries role and chains to pool now.
func loadPair(certFile, keyFile string, pool *x509.CertPool, role Role) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("load key pair: %w", err)
		}
	}

	got, ok := RoleOf(leaf)
	if !ok || got != role {
		return tls.Certificate{}, fmt.Errorf("load key pair: %s is not a packbench %s "+
			"certificate: %w", certFile, role, ErrWrongRole)
	}
	usage := x509.ExtKeyUsageServerAuth
	if role == RoleCoordinator {
		usage = x509.ExtKeyUsageClientAuth
	}
	opts := x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: time.Now(),
		KeyUsages:   []x509.ExtKeyUsage{usage},
	}
	if _, err := leaf.Verify(opts); err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair: verify %s: %w", certFile, err)
	}
	return pair, nil
}

// hostOnly strips a port and IPv6 brackets from a dialled address.
func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}
