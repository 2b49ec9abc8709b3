package wxpay

import (
	"context"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Nonces decides whether a request nonce is fresh within the replay
// window. NonceCache keeps them in memory, for one node; StoreNonces keeps
// them in the core store, shared by every node on it.
type Nonces interface {
	Use(ctx context.Context, mchid, nonce string, now time.Time) (bool, error)
}

// memoryNonces adapts a NonceCache to Nonces.
type memoryNonces struct{ c *NonceCache }

// MemoryNonces returns a per-node nonce set.
func MemoryNonces() Nonces { return memoryNonces{NewNonceCache()} }

func (m memoryNonces) Use(_ context.Context, mchid, nonce string, now time.Time) (bool, error) {
	return m.c.Use(mchid, nonce, now), nil
}

// StoreNonces keeps nonces in the store's request_nonces table, so a
// request replayed to another node is refused too.
type StoreNonces struct {
	DB *db.DB

	mu        sync.Mutex
	lastSweep time.Time
}

// Use records a nonce, reporting false if it was seen within the window.
func (s *StoreNonces) Use(ctx context.Context, mchid, nonce string, now time.Time) (bool, error) {
	res, err := s.DB.Exec(ctx, `INSERT INTO request_nonces (mchid, nonce, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (mchid, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE request_nonces.expires_at <= $4`, mchid, nonce, db.Micros(now.Add(2*MaxClockSkew)), db.Micros(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	s.sweep(ctx, now)
	return n == 1, nil
}

// sweep deletes expired nonces about once a minute.
func (s *StoreNonces) sweep(ctx context.Context, now time.Time) {
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

// RateLimiter is a token bucket per merchant: Rate requests per second on
// average, bursts up to Burst. Each node limits on its own.
type RateLimiter struct {
	Rate  float64
	Burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Allow takes a token for the merchant, reporting false when it has none.
func (l *RateLimiter) Allow(mchid string, now time.Time) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[mchid]
	if !ok {
		if len(l.buckets) > 100000 {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: l.Burst, last: now}
		l.buckets[mchid] = b
	}
	b.tokens = min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func rateLimited(mchid string) error {
	e := fenfu.Errorf(fenfu.FrequencyLimited, "merchant %s is over its request rate", mchid)
	return e
}
