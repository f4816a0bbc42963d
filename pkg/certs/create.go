package certs

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrOption marks an error in the options given to CreateCA or CreateCert;
// the message names the option and what it accepts.
var ErrOption = errors.New("invalid option")

// Defaults and bounds of the Days options.
const (
	DefaultCADays   = 1825
	DefaultCertDays = 365
	maxDays         = 36500
)

// clockSkew backdates NotBefore so that a host whose clock runs a little
// behind still accepts a certificate made a moment ago.
const clockSkew = time.Minute

// CAOptions says how CreateCA makes a fleet's certificate authority.
type CAOptions struct {
	// Dir receives the files; "" means the current directory. It is created
	// with mode 0700 when missing.
	Dir string
	// CommonName of the CA; "" means "packbench CA".
	CommonName string
	// Days the CA is valid for; 0 means DefaultCADays.
	Days int
	// KeyType is one of KeyTypes; "" means DefaultKeyType.
	KeyType string
	// Force replaces existing files instead of refusing.
	Force bool
}

// CertOptions says how CreateCert makes a leaf certificate.
type CertOptions struct {
	// Dir receives the files; "" means the current directory. It is created
	// with mode 0700 when missing.
	Dir string
	// CACert and CAKey are the signing CA's files; "" means the CAFiles of Dir.
	CACert, CAKey string
	// Role of the leaf: RoleAgent or RoleCoordinator.
	Role Role
	// Name identifies the holder in its SPIFFE ID and file names.
	Name string
	// Hosts are the DNS names and IP addresses the leaf is valid for. An
	// agent needs at least one: the coordinator checks the host it dialled.
	Hosts []string
	// Days the leaf is valid for; 0 means DefaultCertDays. It may not
	// outlive the CA.
	Days int
	// KeyType is one of KeyTypes; "" means DefaultKeyType.
	KeyType string
	// Force replaces existing files instead of refusing.
	Force bool
}

// CreateCA makes a self-signed CA and writes its certificate (mode 0644) and
// key (mode 0600) to the CAFiles of opts.Dir. It refuses to replace either
// file unless opts.Force; the error then wraps fs.ErrExist.
func CreateCA(opts CAOptions) (certPath, keyPath string, err error) {
	return createCA(opts, time.Now())
}

// createCA is CreateCA at a given time.
func createCA(opts CAOptions, now time.Time) (certPath, keyPath string, err error) {
	days, err := checkDays(opts.Days, DefaultCADays)
	if err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}
	if err := checkKeyType(opts.KeyType); err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}
	cn := opts.CommonName
	if cn == "" {
		cn = "packbench CA"
	}

	dir := dirOr(opts.Dir)
	certPath, keyPath = CAFiles(dir)
	if !opts.Force {
		if err := refuseExisting(keyPath, certPath); err != nil {
			return "", "", fmt.Errorf("create ca: %w", err)
		}
	}

	key, err := generateKey(opts.KeyType)
	if err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}
	skid, err := keyID(key.Public())
	if err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}

	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"packbench"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", fmt.Errorf("create ca: sign: %w", err)
	}

	if err := writeKeyAndCert(dir, certPath, der, keyPath, key, opts.Force); err != nil {
		return "", "", fmt.Errorf("create ca: %w", err)
	}
	return certPath, keyPath, nil
}

// CreateCert makes a leaf of opts.Role signed by the CA and writes its
// certificate (mode 0644) and key (mode 0600) to the CertFiles of opts.Dir.
// It refuses to replace either file unless opts.Force; the error then wraps
// fs.ErrExist.
func CreateCert(opts CertOptions) (certPath, keyPath string, err error) {
	return createCert(opts, time.Now(), nil)
}

// createCert is CreateCert at a given time; tweak, when not nil, edits the
// template after every check and before signing, so tests can make the
// certificates the public options refuse.
func createCert(opts CertOptions, now time.Time, tweak func(*x509.Certificate)) (
	certPath, keyPath string, err error,
) {
	tmpl, err := leafTemplate(opts, now)
	if err != nil {
		return "", "", fmt.Errorf("create cert: %w", err)
	}

	dir := dirOr(opts.Dir)
	certPath, keyPath = CertFiles(dir, opts.Role, opts.Name)
	if !opts.Force {
		if err := refuseExisting(keyPath, certPath); err != nil {
			return "", "", fmt.Errorf("create cert: %w", err)
		}
	}

	ca, caKey, err := loadCA(dir, opts.CACert, opts.CAKey, now)
	if err != nil {
		return "", "", fmt.Errorf("create cert: %w", err)
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		days, _ := checkDays(opts.Days, DefaultCertDays)
		return "", "", fmt.Errorf("create cert: --days %d: the certificate would outlive the CA, "+
			"which expires %s: %w", days, ca.NotAfter.UTC().Format(time.DateOnly), ErrOption)
	}

	key, err := generateKey(opts.KeyType)
	if err != nil {
		return "", "", fmt.Errorf("create cert: %w", err)
	}
	if tmpl.SubjectKeyId, err = keyID(key.Public()); err != nil {
		return "", "", fmt.Errorf("create cert: %w", err)
	}
	if tweak != nil {
		tweak(tmpl)
	}

	// the CA's SubjectKeyId becomes the leaf's AuthorityKeyId
	der, err := x509.CreateCertificate(nil, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return "", "", fmt.Errorf("create cert: sign: %w", err)
	}
	if err := writeKeyAndCert(dir, certPath, der, keyPath, key, opts.Force); err != nil {
		return "", "", fmt.Errorf("create cert: %w", err)
	}
	return certPath, keyPath, nil
}

// leafTemplate checks opts and builds the unsigned leaf, without its key id.
func leafTemplate(opts CertOptions, now time.Time) (*x509.Certificate, error) {
	if err := checkRole(opts.Role); err != nil {
		return nil, err
	}
	if err := checkName(opts.Name); err != nil {
		return nil, err
	}
	days, err := checkDays(opts.Days, DefaultCertDays)
	if err != nil {
		return nil, err
	}
	if err := checkKeyType(opts.KeyType); err != nil {
		return nil, err
	}
	dns, ips, err := splitHosts(opts.Hosts)
	if err != nil {
		return nil, err
	}
	if opts.Role == RoleAgent && len(dns)+len(ips) == 0 {
		return nil, fmt.Errorf("--host is required for an agent: want the DNS names or IP "+
			"addresses the coordinator dials: %w", ErrOption)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}

	usage := x509.ExtKeyUsageServerAuth
	if opts.Role == RoleCoordinator {
		usage = x509.ExtKeyUsageClientAuth
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         opts.Name,
			Organization:       []string{"packbench"},
			OrganizationalUnit: []string{string(opts.Role)},
		},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
		URIs:                  []*url.URL{spiffeID(opts.Role, opts.Name)},
	}, nil
}

// checkDays returns days, or def when days is 0, and refuses the rest.
func checkDays(days, def int) (int, error) {
	if days == 0 {
		return def, nil
	}
	if days < 0 || days > maxDays {
		return 0, fmt.Errorf("--days %d: want 1 to %d: %w", days, maxDays, ErrOption)
	}
	return days, nil
}

// dirOr returns dir, or the current directory when it is empty.
func dirOr(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// splitHosts sorts hosts into DNS names and IP addresses, lowercasing and
// dropping duplicates. Wildcards, ports and URLs are refused.
func splitHosts(hosts []string) ([]string, []net.IP, error) {
	var dns []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(name) {
			return nil, nil, fmt.Errorf("--host %q: want a DNS name (such as agent1.example.net) "+
				"or an IP address, without port or wildcard: %w", h, ErrOption)
		}
		if !seen[name] {
			seen[name] = true
			dns = append(dns, name)
		}
	}
	return dns, ips, nil
}

// validDNSName reports whether name is a lowercase host name of letter,
// digit and hyphen labels, at most 253 characters.
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loadCA reads the signing CA, by default from the CAFiles of dir, and
// checks that it can sign now and that the key belongs to it.
func loadCA(dir, certPath, keyPath string, now time.Time) (
	*x509.Certificate, crypto.Signer, error,
) {
	defCert, defKey := CAFiles(dir)
	if certPath == "" {
		certPath = defCert
	}
	if keyPath == "" {
		keyPath = defKey
	}

	ca, err := readCert(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--ca %s: %w", certPath, err)
	}
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("--ca %s: not a CA certificate: %w", certPath, ErrOption)
	}
	if now.Before(ca.NotBefore) || now.After(ca.NotAfter) {
		return nil, nil, fmt.Errorf("--ca %s: valid only from %s to %s: %w", certPath,
			ca.NotBefore.UTC().Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339),
			ErrOption)
	}

	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--ca-key %s: %w", keyPath, err)
	}
	if !samePublicKey(key, ca.PublicKey) {
		return nil, nil, fmt.Errorf("--ca-key %s: not the key of %s: %w",
			keyPath, certPath, ErrOption)
	}
	return ca, key, nil
}

// writeKeyAndCert creates dir when missing and writes the PEM files.
func writeKeyAndCert(dir, certPath string, der []byte, keyPath string, key crypto.Signer,
	replace bool,
) error {
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("create dir: %w", err)
		}
		// MkdirAll's mode passes through the umask; set it exactly
		if err := os.Chmod(dir, dirMode); err != nil {
			return fmt.Errorf("create dir: %w", err)
		}
	}
	return writePair(certPath, encodeCert(der), keyPath, keyPEM, replace)
}
