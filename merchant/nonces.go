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
