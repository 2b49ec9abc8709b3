// Package keyring holds the platform's own keys and secrets: the RSA and SM2
// platform keys that sign responses and notifications, with their public
// key IDs and certificates and their rotation, the secret that signs QR
// tokens and cashier sessions, and the master key that seals secrets at
// rest (the platform private keys among them). They are
// created on first start in the data directory with mode 0600 and read by
// every command, so a CLI and a running server share them.
package keyring

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

// PlatformKey is one of the platform's signing keys.
type PlatformKey struct {
	Scheme scheme.Name
	Slot   string // current, next or previous
	Key    crypto.Signer
	// ID is the public key ID sent in Wechatpay-Serial (PUB_KEY_ID_…).
	ID string
	// PublicKeyPath is the PEM file of the public key merchants verify with.
	PublicKeyPath string
	// Certificate is a self-signed X.509 certificate of the key, for
	// merchants whose SDK verifies with platform certificates
	// (GET /v3/certificates) rather than the public key.
	Certificate Certificate
}

// Certificate is a platform certificate as /v3/certificates serves it.
type Certificate struct {
	PEM                 []byte
	SerialNo            string // upper-case hex, as Wechatpay-Serial carries it
	NotBefore, NotAfter time.Time
}

// Keyring is the platform's keys.
type Keyring struct {
	// RSA signs responses and notifications for RSA merchants.
	RSA PlatformKey
	// SM2 signs them for merchants that use the national-crypto scheme.
	SM2 PlatformKey
	// Secret signs QR tokens and cashier sessions (32 bytes).
	Secret []byte
	// Master is the SM4 master key that wraps the data keys of secrets
	// stored in the database (16 bytes). Every node sharing a store needs
	// the same master.key file.
	Master []byte

	// AdminToken authenticates the staff API (/admin/…), as a bearer token.
	AdminToken string

	others map[scheme.Name][]PlatformKey // next and previous keys during a rotation
}

// Platform returns the platform key of a scheme.
func (k *Keyring) Platform(n scheme.Name) PlatformKey {
	if n == scheme.SM2 {
		return k.SM2
	}
	return k.RSA
}

// Load reads the keyring from dir, creating any missing key. Creation is
// race-free across processes: each file is written to a temporary name and
// linked into place only if absent.
func Load(dir string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k := &Keyring{others: map[scheme.Name][]PlatformKey{}}
	master, err := loadOrCreate(filepath.Join(dir, "master.key"), func() ([]byte, error) {
		b := make([]byte, 16)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return nil, err
	}
	if k.Master, err = hex.DecodeString(strings.TrimSpace(string(master))); err != nil || len(k.Master) != 16 {
		return nil, errors.New("keyring: master.key is damaged")
	}
	sealer, err := seal.New(k.Master)
	if err != nil {
		return nil, err
	}
	for _, n := range []scheme.Name{scheme.RSA, scheme.SM2} {
		priv, pub, _ := files(n, Current)
		pk, err := loadPlatform(dir, sealer, n, priv, pub)
		if err != nil {
			return nil, err
		}
		pk.Slot = Current
		if n == scheme.RSA {
			k.RSA = pk
		} else {
			k.SM2 = pk
		}
		if k.others[n], err = loadSlots(dir, sealer, n); err != nil {
			return nil, err
		}
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
	k.Secret = sec
	tok, err := loadOrCreate(filepath.Join(dir, "admin_token"), func() ([]byte, error) {
		b := make([]byte, 24)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return nil, err
	}
	k.AdminToken = strings.TrimSpace(string(tok))
	return k, nil
}

// loadPlatform loads (or creates) a platform key. The private key file
// holds the PEM sealed under the master key; a file written before keys
// were sealed, plain PEM, still loads.
func loadPlatform(dir string, sealer *seal.Sealer, n scheme.Name, privName, pubName string) (PlatformKey, error) {
	stored, err := loadOrCreate(filepath.Join(dir, privName), func() ([]byte, error) {
		k, err := scheme.Generate(n)
		if err != nil {
			return nil, err
		}
		p, err := scheme.PrivateKeyPEM(k)
		if err != nil {
			return nil, err
		}
		sealed, err := sealer.Seal(string(p), "platform key")
		return []byte(sealed), err
	})
	if err != nil {
		return PlatformKey{}, err
	}
	keyPEM := stored
	if s := strings.TrimSpace(string(stored)); seal.Sealed(s) {
		p, err := sealer.Open(s, "platform key")
		if err != nil {
			return PlatformKey{}, fmt.Errorf("keyring: %s does not open with this master.key: %w", privName, err)
		}
		keyPEM = []byte(p)
	}
	key, err := scheme.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return PlatformKey{}, fmt.Errorf("keyring: %s: %w", privName, err)
	}
	if got, _ := scheme.Of(key); got != n {
		return PlatformKey{}, fmt.Errorf("keyring: %s holds a %s key, want %s", privName, got, n)
	}
	pubDER, err := scheme.MarshalPublicKey(scheme.Public(key))
	if err != nil {
		return PlatformKey{}, err
	}
	pubPath := filepath.Join(dir, pubName)
	if _, err := loadOrCreate(pubPath, func() ([]byte, error) {
		return scheme.PublicKeyPEM(scheme.Public(key))
	}); err != nil {
		return PlatformKey{}, err
	}
	certPath := filepath.Join(dir, strings.Replace(pubName, "public_key", "certificate", 1))
	certPEM, err := loadOrCreate(certPath, func() ([]byte, error) { return selfSigned(key) })
	if err != nil {
		return PlatformKey{}, err
	}
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return PlatformKey{}, fmt.Errorf("keyring: %s: %w", filepath.Base(certPath), err)
	}
	return PlatformKey{Scheme: n, Key: key, ID: KeyID(pubDER), PublicKeyPath: pubPath, Certificate: cert}, nil
}

// KeyID returns the public key ID for a DER-encoded public key:
// PUB_KEY_ID_ followed by 32 upper-case hex digits of its SHA-256.
func KeyID(pubDER []byte) string {
	sum := sha256.Sum256(pubDER)
	return "PUB_KEY_ID_" + strings.ToUpper(hex.EncodeToString(sum[:16]))
}

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
