package keyring

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/scheme"
)

// Slots of a platform key during rotation.
const (
	Current  = "current"
	Next     = "next"     // published, used for clients that ask for it
	Previous = "previous" // replaced, still used for clients that ask for it
)

// step changes the store's platform keys in one transaction and raises
// their version, which every node polls (Watch); then this node reloads.
func (k *Keyring) step(ctx context.Context, n scheme.Name, fn func(tx *db.Tx, has map[string]bool) error) error {
	err := k.store.Update(ctx, func(tx *db.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT slot FROM platform_keys WHERE scheme = $1`, string(n))
		if err != nil {
			return storeError(err)
		}
		has := map[string]bool{}
		for rows.Next() {
			var slot string
			if err := rows.Scan(&slot); err != nil {
				rows.Close()
				return storeError(err)
			}
			has[slot] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return storeError(err)
		}
		if err := fn(tx, has); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE platform_keyring SET version = version + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return err
	}
	_, err = k.Refresh(ctx)
	return err
}

// Rotate creates the next platform key of a scheme. From then on
// /v3/certificates lists it and a client that names it in Wechatpay-Serial
// gets responses signed with it, while everyone else still gets the
// current key: merchants move over at their own pace. Every node serves
// it within its poll interval.
func (k *Keyring) Rotate(ctx context.Context, n scheme.Name) (PlatformKey, error) {
	s, err := generate(k.Sealer, n, Next)
	if err != nil {
		return PlatformKey{}, err
	}
	err = k.step(ctx, n, func(tx *db.Tx, has map[string]bool) error {
		if has[Next] {
			return fenfu.Errorf(fenfu.InvalidRequest, "a next %s platform key already exists; promote it first", n.Algorithm())
		}
		return insertKey(ctx, tx, s)
	})
	if err != nil {
		return PlatformKey{}, err
	}
	return k.ForSerial(n, s.keyID), nil
}

// Promote makes the next key current. The key it replaces becomes the
// previous key, still used for clients that name it, until RetirePrevious.
func (k *Keyring) Promote(ctx context.Context, n scheme.Name) error {
	return k.step(ctx, n, func(tx *db.Tx, has map[string]bool) error {
		if !has[Next] {
			return fenfu.Errorf(fenfu.InvalidRequest, "there is no next %s platform key; rotate first", n.Algorithm())
		}
		if has[Previous] {
			return fenfu.Errorf(fenfu.InvalidRequest, "a previous %s platform key is still kept; retire it first", n.Algorithm())
		}
		for _, mv := range [][2]string{{Current, Previous}, {Next, Current}} {
			if _, err := tx.ExecContext(ctx, `UPDATE platform_keys SET slot = $1 WHERE scheme = $2 AND slot = $3`, mv[1], string(n), mv[0]); err != nil {
				return storeError(err)
			}
		}
		return nil
	})
}

// RetirePrevious deletes the previous key of a scheme, ending the overlap.
func (k *Keyring) RetirePrevious(ctx context.Context, n scheme.Name) error {
	return k.step(ctx, n, func(tx *db.Tx, has map[string]bool) error {
		if !has[Previous] {
			return fenfu.Errorf(fenfu.InvalidRequest, "there is no previous %s platform key", n.Algorithm())
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM platform_keys WHERE scheme = $1 AND slot = $2`, string(n), Previous)
		return err
	})
}
