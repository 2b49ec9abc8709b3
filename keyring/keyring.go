// Package keyring holds the platform's own keys and secrets: the RSA
// platform key that signs responses and notifications, with its public key
// ID, and the secret that signs QR tokens and cashier sessions. They are
// created on first start in the data directory with mode 0600 and read by
// every command, so a CLI and a running server share them.
package keyring

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Keyring is the platform's keys.
type Keyring struct {
	// PlatformKey signs responses and notifications.
	PlatformKey *rsa.PrivateKey
	// PlatformKeyID is the public key ID sent in Wechatpay-Serial
	// (PUB_KEY_ID_…).
	PlatformKeyID string
	// PublicKeyPath is the PEM file of the platform public key that
	// merchants verify with.
	PublicKeyPath string
	// Secret signs QR tokens and cashier sessions (32 bytes).
	Secret []byte
}

// Load reads the keyring from dir, creating any missing key. Creation is
// race-free across processes: each file is written to a temporary name and
// linked into place only if absent.
func Load(dir string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	keyPEM, err := loadOrCreate(filepath.Join(dir, "platform_private_key.pem"), func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("keyring: platform_private_key.pem is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keyring: platform key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("keyring: platform key is not RSA")
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, err
	}
	pubPath := filepath.Join(dir, "platform_public_key.pem")
	if _, err := loadOrCreate(pubPath, func() ([]byte, error) {
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
	}); err != nil {
		return nil, err
	}
	secret, err := loadOrCreate(filepath.Join(dir, "secret"), func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return nil, err
	}
	sec, err := hex.DecodeString(strings.TrimSpace(string(secret)))
	if err != nil || len(sec) < 32 {
		return nil, errors.New("keyring: secret file is damaged")
	}
	return &Keyring{PlatformKey: rk, PlatformKeyID: KeyID(pubDER), PublicKeyPath: pubPath, Secret: sec}, nil
}

// KeyID returns the public key ID for a DER-encoded public key:
// PUB_KEY_ID_ followed by 32 upper-case hex digits of its SHA-256.
func KeyID(pubDER []byte) string {
	sum := sha256.Sum256(pubDER)
	return "PUB_KEY_ID_" + strings.ToUpper(hex.EncodeToString(sum[:16]))
}

// Signer returns the platform key as a crypto.Signer.
func (k *Keyring) Signer() crypto.Signer { return k.PlatformKey }

func loadOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && !strings.HasSuffix(path, "public_key.pem") {
			return nil, fmt.Errorf("keyring: %s is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	data, err := create()
	if err != nil {
		return nil, fmt.Errorf("keyring: create %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process won the race
		}
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return data, nil
}
