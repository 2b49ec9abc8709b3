package wxpay

import (
	"context"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"golang.org/x/time/rate"
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

// RateLimiter is a token bucket per merchant (golang.org/x/time/rate):
// Rate requests per second on average, bursts up to Burst. Each node
// limits on its own.
//
// It keeps a limiter for every merchant it has seen recently. Once it holds
// more than sweepAbove of them, it drops the limiters whose bucket has
// filled up again: a full bucket is what a merchant new to the node would
// get, so dropping one changes no merchant's budget, and a merchant that is
// spending its budget is never reset. It sweeps again only when the count
// has doubled, so a sweep costs each request O(1) on average.
type RateLimiter struct {
	Rate  float64
	Burst float64

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	sweepAt  int // sweep when this many limiters are held
}

// sweepAbove is how many merchants' limiters a RateLimiter holds before it
// looks for idle ones to drop.
const sweepAbove = 100_000

// Allow takes a token for the merchant, reporting false when it has none.
func (l *RateLimiter) Allow(mchid string, now time.Time) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[mchid]
	if !ok {
		if l.limiters == nil {
			l.limiters = map[string]*rate.Limiter{}
		}
		if len(l.limiters) >= max(l.sweepAt, sweepAbove) {
			l.sweep(now)
		}
		lim = rate.NewLimiter(rate.Limit(l.Rate), int(l.Burst))
		l.limiters[mchid] = lim
	}
	return lim.AllowN(now, 1)
}

// sweep drops the limiters that are full at now.
func (l *RateLimiter) sweep(now time.Time) {
	for id, lim := range l.limiters {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.limiters, id)
		}
	}
	l.sweepAt = 2 * len(l.limiters)
}

func rateLimited(mchid string) error {
	e := fenfu.Errorf(fenfu.FrequencyLimited, "merchant %s is over its request rate", mchid)
	return e
}
