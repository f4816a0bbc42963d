package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
)

// Key types accepted by the KeyType options.
const (
	KeyECDSAP256 = "ecdsa-p256"
	KeyECDSAP384 = "ecdsa-p384"
	KeyEd25519   = "ed25519"
	KeyRSA2048   = "rsa-2048"
	KeyRSA4096   = "rsa-4096"
)

// DefaultKeyType is the key type used when KeyType is empty.
const DefaultKeyType = KeyECDSAP256

// KeyTypes returns the accepted key types, the default first.
func KeyTypes() []string {
	return []string{KeyECDSAP256, KeyECDSAP384, KeyEd25519, KeyRSA2048, KeyRSA4096}
}

// generateKey makes a new private key of keyType ("" means the default).
func generateKey(keyType string) (crypto.Signer, error) {
	switch strings.ToLower(keyType) {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyEd25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("--key-type %q: want one of %s: %w",
		keyType, strings.Join(KeyTypes(), ", "), ErrOption)
}

// checkKeyType validates keyType without the cost of making a key.
func checkKeyType(keyType string) error {
	for _, k := range KeyTypes() {
		if strings.EqualFold(keyType, k) {
			return nil
		}
	}
	if keyType == "" {
		return nil
	}
	return fmt.Errorf("--key-type %q: want one of %s: %w",
		keyType, strings.Join(KeyTypes(), ", "), ErrOption)
}

// serialNumber returns a random positive 128-bit serial number.
func serialNumber() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for range 8 {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		// zero is not a valid serial; any other value is
		if n.Sign() > 0 {
			return n, nil
		}
	}
	return nil, fmt.Errorf("serial number: no nonzero value drawn")
}

// keyID derives a subject key identifier from pub: the first 160 bits of
// the SHA-256 of its subjectPublicKey bits (RFC 7093, method 1).
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// samePublicKey reports whether key is the private half of pub.
func samePublicKey(key crypto.Signer, pub crypto.PublicKey) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}
