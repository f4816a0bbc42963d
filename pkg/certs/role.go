package certs

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
)

// Role is what a leaf certificate allows its holder to be in the fleet.
type Role string

// The roles a leaf certificate can carry.
const (
	// RoleAgent serves the agent's gRPC API; its certificate is ServerAuth only.
	RoleAgent Role = "agent"
	// RoleCoordinator dials agents; its certificate is ClientAuth only.
	RoleCoordinator Role = "coordinator"
)

// trustDomain is the authority of every SPIFFE ID this package issues.
const trustDomain = "packbench"

// maxNameLen bounds a certificate name; it also ends up in a file name.
const maxNameLen = 64

// spiffeID returns the URI SAN that marks a leaf of role with name.
func spiffeID(role Role, name string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain, Path: "/" + string(role) + "/" + name}
}

// RoleOf reports the role cert carries, and false when it carries none or an
// ambiguous one. See IdentityOf for the rules.
func RoleOf(cert *x509.Certificate) (Role, bool) {
	role, _, ok := IdentityOf(cert)
	return role, ok
}

// IdentityOf reports the role and name of a packbench leaf certificate. It
// accepts cert only when it is not a CA, carries exactly one
// spiffe://packbench/ URI SAN of the form /ROLE/NAME with a known role and a
// valid name, and its extended key usage matches that role alone: ServerAuth
// without ClientAuth for an agent, ClientAuth without ServerAuth for a
// coordinator. It does not check the signature or the validity period.
func IdentityOf(cert *x509.Certificate) (role Role, name string, ok bool) {
	if cert == nil || cert.IsCA {
		return "", "", false
	}

	// every packbench URI counts, so a second one makes the identity ambiguous
	found := 0
	for _, u := range cert.URIs {
		if !strings.EqualFold(u.Scheme, "spiffe") || !strings.EqualFold(u.Host, trustDomain) {
			continue
		}
		found++
		role, name, ok = parseIDPath(u)
	}
	if found != 1 || !ok {
		return "", "", false
	}

	if !usageFits(cert, role) {
		return "", "", false
	}
	return role, name, true
}

// parseIDPath splits the path of a packbench SPIFFE ID into role and name.
func parseIDPath(u *url.URL) (Role, string, bool) {
	if u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(u.Path, "/")
	if !ok {
		return "", "", false
	}
	r, name, ok := strings.Cut(rest, "/")
	if !ok || checkName(name) != nil {
		return "", "", false
	}
	switch role := Role(r); role {
	case RoleAgent, RoleCoordinator:
		return role, name, true
	}
	return "", "", false
}

// usageFits reports whether the extended key usages of cert allow role and
// nothing else.
func usageFits(cert *x509.Certificate, role Role) bool {
	if len(cert.UnknownExtKeyUsage) > 0 {
		return false
	}
	var server, client bool
	for _, u := range cert.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			server = true
		case x509.ExtKeyUsageClientAuth:
			client = true
		default:
			// Any, code signing and the like would blur the role
			return false
		}
	}
	switch role {
	case RoleAgent:
		return server && !client
	case RoleCoordinator:
		return client && !server
	}
	return false
}

// checkRole validates a role given as an option.
func checkRole(role Role) error {
	switch role {
	case RoleAgent, RoleCoordinator:
		return nil
	}
	return fmt.Errorf("role %q: want %q or %q: %w", role, RoleAgent, RoleCoordinator, ErrOption)
}

// checkName validates a certificate name: 1 to 64 characters of lowercase
// letters, digits, '.', '_' and '-', starting with a letter or digit.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("--name is required: %w", ErrOption)
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("--name %q: longer than %d characters: %w", name, maxNameLen, ErrOption)
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("--name %q: want lowercase letters, digits, '.', '_' or '-', "+
			"starting with a letter or digit: %w", name, ErrOption)
	}
	return nil
}
