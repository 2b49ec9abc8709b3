// Package keyring holds the platform's own keys and secrets: the RSA and SM2
// platform keys that sign responses and notifications, with their public
// key IDs and certificates and their rotation, the secret that signs QR
// tokens and cashier sessions, and the blind-index key. They live in the
// core store, sealed under the master key (package seal), so a node needs
// only the master key to serve: the first start on a store imports the
// key files of the data directory when it has them, else makes new keys,
// and every node sharing the store picks up a rotation step within its
// poll interval (Watch). The package also finds the master key in the
// source the settings name (MasterSource) and re-wraps every sealed
// value under a new master (Reseal).
package keyring

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
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
	// PublicKeyPath is the PEM file of the public key merchants verify
	// with, which each node writes into its data directory from the store.
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

// Keyring is the platform's keys. The platform keys are read at use time
// through Platform, All and ForSerial, from a snapshot that Refresh swaps
// whole when a rotation step changes the store, so a request signs with
// one consistent set.
type Keyring struct {
	// Secret signs QR tokens and cashier sessions (32 bytes).
	Secret []byte
	// Sealer seals and opens secrets at rest under the node's master keys,
	// with the store's blind-index key.
	Sealer *seal.Sealer

	store *db.DB
	dir   string
	set   atomic.Pointer[keySet]
	mu    sync.Mutex // one Refresh at a time
}

// keySet is the platform keys of one version of the store.
type keySet struct {
	version int64
	keys    map[scheme.Name][]PlatformKey // current first, then next and previous
}

// Schemes are the schemes the platform has keys of.
var Schemes = []scheme.Name{scheme.RSA, scheme.SM2}

// of returns a scheme's keys, current first; RSA's for a request that
// named no scheme.
func (k *Keyring) of(n scheme.Name) []PlatformKey {
	if n != scheme.SM2 {
		n = scheme.RSA
	}
	return k.set.Load().keys[n]
}

// Platform returns the current platform key of a scheme.
func (k *Keyring) Platform(n scheme.Name) PlatformKey { return k.of(n)[0] }

// All returns a scheme's platform keys: current, then next and previous.
func (k *Keyring) All(n scheme.Name) []PlatformKey { return slices.Clone(k.of(n)) }

// ForSerial returns the key of a scheme that a client asked for by public
// key ID or certificate serial (its Wechatpay-Serial request header), or
// the current key.
func (k *Keyring) ForSerial(n scheme.Name, accept string) PlatformKey {
	keys := k.of(n)
	if accept != "" {
		for _, pk := range keys {
			if pk.ID == accept || pk.Certificate.SerialNo == accept {
				return pk
			}
		}
	}
	return keys[0]
}

// Version is the version of the store's platform keys this node signs
// with.
func (k *Keyring) Version() int64 { return k.set.Load().version }

// Names of the platform's secrets in platform_secrets.
const (
	secretName = "secret"
	indexName  = "blind_index_key"
)

func keyContext(keyID string) string    { return "platform_keys.private_key:" + keyID }
func secretContext(name string) string  { return "platform_secrets.value:" + name }
func storeError(err error) *fenfu.Error { return fenfu.Internal("keyring", err) }

// Open returns the keyring of a core store, filling the store on its first
// start: with the key files of dir if it has them (an upgrade keeps its
// key IDs and certificates), else with new keys. Two nodes starting at
// once fill it once: each inserts only if the store is still empty, and
// reads what won. sealer holds the node's master keys; the keyring's
// Sealer is it with the store's blind-index key. dir also receives the
// public key files (PublicKeyPath) and keeps the admin token.
func Open(ctx context.Context, store *db.DB, dir string, sealer *seal.Sealer) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k := &Keyring{store: store, dir: dir}
	if err := k.fill(ctx, sealer); err != nil {
		return nil, err
	}
	secret, err := k.secret(ctx, sealer, secretName)
	if err != nil {
		return nil, err
	}
	index, err := k.secret(ctx, sealer, indexName)
	if err != nil {
		return nil, err
	}
	if k.Sealer, err = sealer.WithIndexKey(index); err != nil {
		return nil, err
	}
	k.Secret = secret
	if _, err := k.Refresh(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// secret opens one of the platform's secrets.
func (k *Keyring) secret(ctx context.Context, sealer *seal.Sealer, name string) ([]byte, error) {
	var v string
	if err := k.store.QueryRowContext(ctx, `SELECT value FROM platform_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, storeError(fmt.Errorf("the %s: %w", name, err))
	}
	pt, err := sealer.Open(v, secretContext(name))
	if err != nil {
		return nil, wrongMaster(sealer, v, err)
	}
	return hex.DecodeString(pt)
}

// wrongMaster explains a platform secret that does not open: most likely
// the node's master key is not the one the store was sealed under.
func wrongMaster(sealer *seal.Sealer, sealed string, err error) error {
	id, _ := seal.MasterOf(sealed)
	if id == "" {
		id = "unnamed (an envelope of before master key IDs)"
	}
	e := fenfu.Errorf(fenfu.SystemError, "keyring: the store's platform keys are sealed under master key %s and do not open with this node's (%s): %v",
		id, sealer.Current(), err)
	e.Remedy = "Give this node the master key the store was made with (--master-key-file, FENFU_MASTER_KEY or --master-key-command), " +
		"and during a master rotation the old one as --previous-master-key-file or FENFU_PREVIOUS_MASTER_KEY."
	return e
}

// stored is a platform key as a row holds it.
type stored struct {
	scheme      scheme.Name
	slot, keyID string
	privateKey  string // sealed PEM
	certificate []byte
}

// newStored makes a platform key's row: the key sealed under the current
// master, and a certificate of it if it has none.
func newStored(sealer *seal.Sealer, n scheme.Name, slot string, key crypto.Signer, cert []byte) (stored, error) {
	pubDER, err := scheme.MarshalPublicKey(scheme.Public(key))
	if err != nil {
		return stored{}, err
	}
	if cert == nil {
		if cert, err = selfSigned(key); err != nil {
			return stored{}, err
		}
	}
	p, err := scheme.PrivateKeyPEM(key)
	if err != nil {
		return stored{}, err
	}
	id := KeyID(pubDER)
	sealed, err := sealer.Seal(string(p), keyContext(id))
	if err != nil {
		return stored{}, err
	}
	return stored{scheme: n, slot: slot, keyID: id, privateKey: sealed, certificate: cert}, nil
}

// generate makes a new platform key of a scheme for a slot.
func generate(sealer *seal.Sealer, n scheme.Name, slot string) (stored, error) {
	key, err := scheme.Generate(n)
	if err != nil {
		return stored{}, err
	}
	return newStored(sealer, n, slot, key, nil)
}

func insertKey(ctx context.Context, tx *db.Tx, s stored) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO platform_keys (scheme, slot, key_id, private_key, certificate, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, string(s.scheme), s.slot, s.keyID, s.privateKey, string(s.certificate), db.Micros(tx.Now))
	return err
}

// fill fills an empty store with the platform's keys and secrets, from
// the key files of the data directory where it has them.
func (k *Keyring) fill(ctx context.Context, sealer *seal.Sealer) error {
	var n int
	if err := k.store.QueryRowContext(ctx, `SELECT COUNT(*) FROM platform_keyring`).Scan(&n); err != nil {
		return storeError(err)
	}
	if n > 0 {
		return nil
	}
	// Everything slow (reading files, generating keys) is done before the
	// transaction, which Update may run more than once.
	imported, secret, err := readFiles(k.dir, sealer)
	if err != nil {
		return err
	}
	var rows []stored
	for _, n := range Schemes {
		has := false
		for _, s := range imported {
			has = has || (s.scheme == n && s.slot == Current)
		}
		if !has {
			s, err := generate(sealer, n, Current)
			if err != nil {
				return err
			}
			rows = append(rows, s)
		}
	}
	rows = append(rows, imported...)
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
	}
	secrets := map[string]string{}
	for name, v := range map[string][]byte{secretName: secret, indexName: sealer.DerivedIndexKey()} {
		if secrets[name], err = sealer.Seal(hex.EncodeToString(v), secretContext(name)); err != nil {
			return err
		}
	}
	return k.store.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO platform_keyring (id, version, created_at) VALUES (1, 1, $1) ON CONFLICT DO NOTHING`,
			db.Micros(tx.Now))
		if err != nil {
			return storeError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another node filled the store first: its keys win
		}
		for _, s := range rows {
			if err := insertKey(ctx, tx, s); err != nil {
				return storeError(err)
			}
		}
		for name, v := range secrets {
			if _, err := tx.ExecContext(ctx, `INSERT INTO platform_secrets (name, value) VALUES ($1, $2)`, name, v); err != nil {
				return storeError(err)
			}
		}
		return nil
	})
}

// Refresh reloads the platform keys if the store's version moved since
// this node read them, and reports whether it did. The new set replaces
// the old one whole: a request in flight keeps the set it started with.
func (k *Keyring) Refresh(ctx context.Context) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var version int64
	if err := k.store.QueryRowContext(ctx, `SELECT version FROM platform_keyring WHERE id = 1`).Scan(&version); err != nil {
		return false, storeError(err)
	}
	if cur := k.set.Load(); cur != nil && cur.version == version {
		return false, nil
	}
	all, err := db.All(ctx, k.store, func(r db.Scanner) (s stored, err error) {
		var sch, cert string
		err = r.Scan(&sch, &s.slot, &s.keyID, &s.privateKey, &cert)
		s.scheme, s.certificate = scheme.Name(sch), []byte(cert)
		return s, err
	}, `SELECT scheme, slot, key_id, private_key, certificate FROM platform_keys`)
	if err != nil {
		return false, storeError(err)
	}
	set := &keySet{version: version, keys: map[scheme.Name][]PlatformKey{}}
	for _, slot := range []string{Current, Next, Previous} {
		for _, s := range all {
			if s.slot != slot {
				continue
			}
			pk, err := k.parse(s)
			if err != nil {
				return false, err
			}
			set.keys[s.scheme] = append(set.keys[s.scheme], pk)
		}
	}
	for _, n := range Schemes {
		if len(set.keys[n]) == 0 || set.keys[n][0].Slot != Current {
			return false, fenfu.Errorf(fenfu.SystemError, "keyring: the store has no current %s platform key", n.Algorithm())
		}
	}
	if err := writePublic(k.dir, set); err != nil {
		return false, err
	}
	k.set.Store(set)
	return true, nil
}

// parse opens a stored platform key.
func (k *Keyring) parse(s stored) (PlatformKey, error) {
	pemText, err := k.Sealer.Open(s.privateKey, keyContext(s.keyID))
	if err != nil {
		return PlatformKey{}, wrongMaster(k.Sealer, s.privateKey, err)
	}
	key, err := scheme.ParsePrivateKeyPEM([]byte(pemText))
	if err != nil {
		return PlatformKey{}, fmt.Errorf("keyring: platform key %s: %w", s.keyID, err)
	}
	if got, _ := scheme.Of(key); got != s.scheme {
		return PlatformKey{}, fmt.Errorf("keyring: platform key %s is a %s key, stored as %s", s.keyID, got, s.scheme)
	}
	cert, err := parseCertificate(s.certificate)
	if err != nil {
		return PlatformKey{}, fmt.Errorf("keyring: the certificate of platform key %s: %w", s.keyID, err)
	}
	_, pub, _ := files(s.scheme, s.slot)
	return PlatformKey{Scheme: s.scheme, Slot: s.slot, Key: key, ID: s.keyID, PublicKeyPath: filepath.Join(k.dir, pub), Certificate: cert}, nil
}

// Watch refreshes the keyring every interval until ctx ends, so a
// rotation step made on any node reaches this one without a restart.
func (k *Keyring) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := k.Refresh(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("platform keys not refreshed", "error", err)
			}
			continue
		}
		if changed {
			log.Info("platform keys changed", "version", k.Version(), "rsa", k.Platform(scheme.RSA).ID, "sm2", k.Platform(scheme.SM2).ID)
		}
	}
}

// KeyID returns the public key ID for a DER-encoded public key:
// PUB_KEY_ID_ followed by 32 upper-case hex digits of its SHA-256.
func KeyID(pubDER []byte) string {
	sum := sha256.Sum256(pubDER)
	return "PUB_KEY_ID_" + strings.ToUpper(hex.EncodeToString(sum[:16]))
}
