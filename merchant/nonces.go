package merchant

import (
	"context"
	"sync"
	"time"

	"github.com/fenfu/fenfu/db"
)

// SharedNonces keeps the nonces of merchants' signed requests in the core
// store (request_nonces), so that on PostgreSQL a request replayed to
// another node is refused too. Window is how long a nonce is remembered.
type SharedNonces struct {
	DB     *db.DB
	Window time.Duration

	mu        sync.Mutex
	lastSweep time.Time
}

// Use records a nonce, reporting false if it was seen within the window.
func (s *SharedNonces) Use(ctx context.Context, mchid, nonce string, now time.Time) (bool, error) {
	res, err := s.DB.Exec(ctx, `INSERT INTO request_nonces (mchid, nonce, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (mchid, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE request_nonces.expires_at <= $4`, mchid, nonce, db.Micros(now.Add(s.Window)), db.Micros(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	s.sweep(ctx, now)
	return n == 1, nil
}

// sweep deletes expired nonces about once a minute.
func (s *SharedNonces) sweep(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastSweep) > time.Minute
	if due {
		s.lastSweep = now
	}
	s.mu.Unlock()
	if due {
		_, _ = s.DB.Exec(ctx, `DELETE FROM request_nonces WHERE expires_at <= $1`, db.Micros(now))
	}
}

// Guard holds a signed request's checks, verified with a key from
// Service.CachedKey, for the request's first statement on the core store
// to carry (db.Guard), in its round trip: the nonce is fresh (Use records
// it, the same way) and the merchant's version is still version, the one
// the key was cached at, so the key is not retired. If either fails,
// nothing the request did on the store stands, the nonce is not recorded
// and Hold reports false: the caller checks again the long way (Use, and
// the merchant's key read afresh) and runs the request again. On SQLite,
// which has no round trips to save, Guard returns ctx and nil.
func (s *SharedNonces) Guard(ctx context.Context, mchid, nonce string, now time.Time, version int64) (context.Context, *Guard) {
	if s.DB.Engine != db.Postgres {
		return ctx, nil
	}
	s.sweep(ctx, now)
	// Either check failing divides by zero, which fails the statement
	// and the implicit transaction it shares with the one after it.
	ctx, g := s.DB.Guard(ctx, `WITH used AS (
		INSERT INTO request_nonces (mchid, nonce, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (mchid, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE request_nonces.expires_at <= $4 RETURNING 1)
		SELECT 1 / ((SELECT COUNT(*) FROM used) * (SELECT COUNT(*) FROM merchants WHERE mchid = $1 AND version = $5))`,
		mchid, nonce, db.Micros(now.Add(s.Window)), db.Micros(now), version)
	return ctx, &Guard{g}
}

// Guard is a signed request's checks, sent with its first statement on
// the core store.
type Guard struct{ g *db.Guard }

// Hold reports whether the request's checks held; if the request ran no
// statement on the core store it sends them now. An error means their
// outcome is unknown.
func (g *Guard) Hold(ctx context.Context) (bool, error) { return g.g.Hold(ctx) }
