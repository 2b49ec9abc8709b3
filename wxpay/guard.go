package wxpay

import (
	"context"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
)

// Nonces decides whether a request nonce is fresh within the replay
// window (2 × MaxClockSkew). MemoryNonces keeps them for one node;
// merchant.SharedNonces keeps them in the core store, for every node on it.
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
