// Package certs makes the certificates of a packbench fleet and the TLS
// configurations that use them for mutual TLS between the coordinator and
// its agents.
//
// One private CA signs two kinds of leaf: an agent certificate, which may
// only serve (ExtKeyUsage ServerAuth) and names the hosts the coordinator
// dials, and a coordinator certificate, which may only connect (ClientAuth).
// Each leaf also carries exactly one URI SAN, spiffe://packbench/ROLE/NAME,
// and RoleOf accepts a certificate only when the URI and the key usage agree,
// so a certificate of one role is refused where the other is expected.
//
// CreateCA and CreateCert write PEM files the way `packbench tls ca create`
// and `packbench tls cert create` present them: keys 0600, certificates 0644,
// atomically, and never over an existing file unless told to. ServerConfig
// (for the agent) and ClientConfig (for the coordinator) load those files
// into TLS 1.3 configurations that check the peer's chain and role.
package certs
