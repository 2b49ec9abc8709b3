package merchant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/scheme"
)

// Key is a registered public key.
type Key struct {
	SerialNo  string    `json:"serial_no"`
	Algorithm string    `json:"algorithm"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// AddKey registers a merchant's RSA-2048 or SM2 public key (PEM) and
// returns its serial number. A merchant may have several active keys at
// once, so a new key can be rolled out before the old one is retired.
// Registering a key twice returns the same serial.
func (s *Service) AddKey(ctx context.Context, mchid string, publicKeyPEM []byte) (string, error) {
	if _, err := s.Get(ctx, mchid); err != nil {
		return "", err
	}
	pub, err := scheme.ParsePublicKeyPEM(publicKeyPEM)
	if err != nil {
		return "", fenfu.FieldError("public_key", "the public key must be an RSA or SM2 PUBLIC KEY in PEM: %v", err)
	}
	sch, _ := scheme.Of(pub)
	der, err := scheme.MarshalPublicKey(pub)
	if err != nil {
		return "", fenfu.Internal("merchant.AddKey", err)
	}
	serial := SerialOf(der)
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM merchant_keys WHERE mchid = $1 AND serial_no = $2`, mchid, serial).Scan(&state)
		switch {
		case err == nil && state == KeyActive:
			return nil
		case err == nil:
			return fenfu.Errorf(fenfu.InvalidRequest, "key %s was retired and cannot be registered again; make a new key", serial)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := addKey(ctx, tx, mchid, serial, sch.Algorithm(), der); err != nil {
			return err
		}
		return bump(ctx, tx, mchid)
	})
	if err != nil {
		return "", fenfu.Op("merchant.AddKey", err)
	}
	s.forget(mchid)
	return serial, nil
}

// RetireKey stops a key from verifying requests, at once on every node.
// The last active key cannot be retired; register its replacement first.
func (s *Service) RetireKey(ctx context.Context, mchid, serial string) error {
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		var active int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM merchant_keys WHERE mchid = $1 AND state = $2`, mchid, KeyActive).
			Scan(&active); err != nil {
			return err
		}
		q, args, err := keys.SQL(db.Move[string]{From: []string{KeyActive}, To: KeyRetired, Where: "mchid = $1 AND serial_no = $2",
			Args: []any{mchid, serial}})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fenfu.Errorf(fenfu.ResourceNotExists, "merchant %s has no active key %s", mchid, serial)
		}
		if active <= 1 {
			return fenfu.Errorf(fenfu.InvalidRequest, "key %s is the merchant's only active key; register its replacement first", serial)
		}
		return bump(ctx, tx, mchid)
	})
	if err != nil {
		return fenfu.Op("merchant.RetireKey", err)
	}
	s.forget(mchid)
	return nil
}

// Keys lists a merchant's keys, newest first.
func (s *Service) Keys(ctx context.Context, mchid string) ([]Key, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT serial_no, algorithm, state, created_at FROM merchant_keys WHERE mchid = $1
		ORDER BY created_at DESC, serial_no`, mchid)
	if err != nil {
		return nil, fenfu.Internal("merchant.Keys", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (k Key, err error) {
		var at int64
		err = r.Scan(&k.SerialNo, &k.Algorithm, &k.State, &at)
		k.CreatedAt = db.Time(at)
		return k, err
	})
	if err != nil {
		return nil, fenfu.Internal("merchant.Keys", err)
	}
	return out, nil
}

// RotateAPIv3Key gives a merchant a new API v3 key and returns it; the old
// key stops decrypting notifications and certificates at once, on every
// node (they read the key with Fresh). Coordinate the switch with the
// merchant.
func (s *Service) RotateAPIv3Key(ctx context.Context, mchid string) (string, error) {
	key := s.IDs.Nonce(32)
	if err := s.setSecret(ctx, mchid, "apiv3_key", key); err != nil {
		return "", err
	}
	return key, nil
}

// setSecret seals one of a merchant's API keys into its column (apiv3_key
// or apiv2_key) and drops this node's cached copy.
func (s *Service) setSecret(ctx context.Context, mchid, column, key string) error {
	sealed, err := s.seal(key, column, mchid)
	if err != nil {
		return fenfu.Internal("merchant.setSecret", err)
	}
	return s.update(ctx, mchid, column+` = $1`, sealed)
}

// update sets columns of a merchant's row (set's parameters from $1, the
// merchant last) and raises its version, fails with MCH_NOT_EXISTS for an
// unknown merchant, and drops this node's cached copy.
func (s *Service) update(ctx context.Context, mchid, set string, args ...any) error {
	res, err := s.DB.Exec(ctx, fmt.Sprintf(`UPDATE merchants SET %s, version = version + 1 WHERE mchid = $%d`, set, len(args)+1),
		append(args, mchid)...)
	if err != nil {
		return fenfu.Internal("merchant.update", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", mchid)
	}
	s.forget(mchid)
	return nil
}

// bump raises a merchant's version in the caller's transaction, for a
// change to its keys, which live in another table.
func bump(ctx context.Context, tx *db.Tx, mchid string) error {
	_, err := tx.ExecContext(ctx, `UPDATE merchants SET version = version + 1 WHERE mchid = $1`, mchid)
	return err
}

// forget drops what this node caches about a merchant.
func (s *Service) forget(mchid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.merchants, mchid)
	for k := range s.cache {
		if len(k) > len(mchid) && k[:len(mchid)+1] == mchid+"|" {
			delete(s.cache, k)
		}
	}
}
