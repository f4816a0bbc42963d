package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File modes of what CreateCA and CreateCert write.
const (
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
	dirMode  fs.FileMode = 0o700
)

// CAFiles returns the paths CreateCA writes in dir: packbench-ca.pem and
// packbench-ca-key.pem.
func CAFiles(dir string) (certPath, keyPath string) {
	return filepath.Join(dir, "packbench-ca.pem"), filepath.Join(dir, "packbench-ca-key.pem")
}

// CertFiles returns the paths CreateCert writes in dir for a leaf of role
// and name, such as packbench-agent-NAME.pem and packbench-agent-NAME-key.pem.
func CertFiles(dir string, role Role, name string) (certPath, keyPath string) {
	base := "packbench-" + string(role) + "-" + name
	return filepath.Join(dir, base+".pem"), filepath.Join(dir, base+"-key.pem")
}

// refuseExisting fails with fs.ErrExist when any of paths exists.
func refuseExisting(paths ...string) error {
	for _, p := range paths {
		_, err := os.Lstat(p)
		if err == nil {
			return fmt.Errorf("%s already exists; pass --force to replace it: %w", p, fs.ErrExist)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", p, err)
		}
	}
	return nil
}

// writePair writes a key and its certificate, the key first so that a
// certificate never lies without its key. Unless replace, neither may exist
// yet, and a key written here is removed again when the certificate fails.
func writePair(certPath string, certPEM []byte, keyPath string, keyPEM []byte, replace bool) error {
	if !replace {
		if err := refuseExisting(keyPath, certPath); err != nil {
			return err
		}
	}
	if err := writeAtomic(keyPath, keyPEM, keyMode, replace); err != nil {
		return err
	}
	if err := writeAtomic(certPath, certPEM, certMode, replace); err != nil {
		if !replace {
			os.Remove(keyPath)
		}
		return err
	}
	return nil
}

// writeAtomic writes data with mode to a temporary file beside path, syncs
// it and moves it into place. With replace it renames over path; without,
// it links, which fails with fs.ErrExist rather than clobber a file that
// appeared meanwhile.
func writeAtomic(path string, data []byte, mode fs.FileMode, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link the name is extra; after a rename, gone

	// the temporary file is 0600 from birth, so a key is never readable by others
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}

	if err := place(tmp, path, replace); err != nil {
		return err
	}

	// the new entry is durable only once the directory is synced
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// place moves tmp to path, over an existing file only when replace.
func place(tmp, path string, replace bool) error {
	if replace {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename %s: %w", path, err)
		}
		return nil
	}

	err := os.Link(tmp, path)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; pass --force to replace it: %w", path, fs.ErrExist)
	}

	// a file system without hard links: check, then rename
	if err := refuseExisting(path); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// encodeCert returns der as a PEM CERTIFICATE block.
func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// encodeKey returns key as a PEM PKCS #8 PRIVATE KEY block.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// readCert reads the first certificate of the PEM file at path.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
	return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
}

// readKey reads the first private key of the PEM file at path, in PKCS #8,
// SEC 1 (EC PRIVATE KEY) or PKCS #1 (RSA PRIVATE KEY) form.
func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		var key any
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: key of type %T cannot sign", path, key)
		}
		return signer, nil
	}
	return nil, fmt.Errorf("%s: no PEM private key block", path)
}
