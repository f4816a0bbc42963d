package certs_test

import (
	"crypto/x509"
	"encoding/asn1"
	"net/url"
	"testing"

	"github.com/packbench/packbench/pkg/certs"
)

func TestRoleOf(t *testing.T) {
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	codeSign := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageCodeSigning}
	anyUsage := []x509.ExtKeyUsage{x509.ExtKeyUsageAny}

	// leaf builds an unsigned certificate: RoleOf reads fields only
	leaf := func(usage []x509.ExtKeyUsage, ids ...string) *x509.Certificate {
		c := &x509.Certificate{ExtKeyUsage: usage}
		for _, id := range ids {
			u, err := url.Parse(id)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = append(c.URIs, u)
		}
		return c
	}
	const (
		agentA1 = "spiffe://packbench/agent/a1"
		coordC1 = "spiffe://packbench/coordinator/c1"
	)
	unknown := leaf(server, agentA1)
	unknown.UnknownExtKeyUsage = []asn1.ObjectIdentifier{{1, 2, 3}}
	ca := leaf(server, agentA1)
	ca.IsCA = true

	tests := []struct {
		name     string
		cert     *x509.Certificate
		wantRole certs.Role
		wantName string
		wantOK   bool
	}{
		{"agent", leaf(server, agentA1), certs.RoleAgent, "a1", true},
		{"coordinator", leaf(client, coordC1), certs.RoleCoordinator, "c1", true},
		{"dotted name", leaf(client, "spiffe://packbench/coordinator/c-1.x"),
			certs.RoleCoordinator, "c-1.x", true},
		{"beside another uri", leaf(server, "https://example.net/", agentA1),
			certs.RoleAgent, "a1", true},
		{"nil", nil, "", "", false},
		{"no uri", leaf(server), "", "", false},
		{"agent id, client usage", leaf(client, agentA1), "", "", false},
		{"coordinator id, server usage", leaf(server, coordC1), "", "", false},
		{"agent, both usages", leaf(both, agentA1), "", "", false},
		{"coordinator, both usages", leaf(both, coordC1), "", "", false},
		{"any usage", leaf(anyUsage, agentA1), "", "", false},
		{"extra usage", leaf(codeSign, agentA1), "", "", false},
		{"unknown usage", unknown, "", "", false},
		{"no usage", leaf(nil, agentA1), "", "", false},
		{"two roles", leaf(server, agentA1, coordC1), "", "", false},
		{"two agent ids", leaf(server, agentA1, "spiffe://packbench/agent/a2"), "", "", false},
		{"other trust domain", leaf(server, "spiffe://example.org/agent/a1"), "", "", false},
		{"unknown role", leaf(server, "spiffe://packbench/admin/a1"), "", "", false},
		{"no name", leaf(server, "spiffe://packbench/agent/"), "", "", false},
		{"nested name", leaf(server, "spiffe://packbench/agent/a1/x"), "", "", false},
		{"bad name", leaf(server, "spiffe://packbench/agent/A1"), "", "", false},
		{"query", leaf(server, agentA1+"?role=coordinator"), "", "", false},
		{"port", leaf(server, "spiffe://packbench:1/agent/a1"), "", "", false},
		{"ca", ca, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role, ok := certs.RoleOf(tt.cert)
			if role != tt.wantRole || ok != tt.wantOK {
				t.Errorf("RoleOf = %q, %v, want %q, %v", role, ok, tt.wantRole, tt.wantOK)
			}
			role, name, ok := certs.IdentityOf(tt.cert)
			if role != tt.wantRole || name != tt.wantName || ok != tt.wantOK {
				t.Errorf("IdentityOf = %q, %q, %v, want %q, %q, %v",
					role, name, ok, tt.wantRole, tt.wantName, tt.wantOK)
			}
		})
	}
}
