// Package ratelimit keeps a token bucket per key, on one node: the
// merchant API's budgets of authenticated requests per merchant and of
// failed ones per source address, the wrong marks a verifier may try, and
// how often a merchant may have fenfu doctor probe its notify URL.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key (golang.org/x/time/rate): Rate
// requests per second on average, bursts up to Burst. Each node limits on
// its own.
//
// It keeps a limiter for every key it has seen recently. Once it holds
// more than sweepAbove of them (or Max, if that is set and smaller), it
// drops the limiters whose bucket has filled up again: a full bucket is
// what a key new to the node would get, so dropping one changes no key's
// budget, and a key that is spending its budget is never reset. It sweeps
// again only when the count has doubled, so a sweep costs each request
// O(1) on average.
type Limiter struct {
	Rate  float64
	Burst float64
	// Max, if positive, bounds the limiters held: when a sweep leaves Max
	// or more, every limiter is dropped, which gives every key a full
	// bucket again. Set it where the keys are not the platform's own, as
	// source addresses are: otherwise whoever mints keys decides the size.
	Max int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	sweepAt  int // sweep when this many limiters are held
}

// sweepAbove is how many limiters a Limiter holds before it looks for
// idle ones to drop.
const sweepAbove = 100_000

// Allow takes a token for the key, reporting false when it has none.
func (l *Limiter) Allow(key string, now time.Time) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	return at(l.limiter(key, now), now).AllowN(now, 1)
}

// Take takes a token for the key like Allow. When it has one, it also
// returns a function that gives it back, for a request found afterwards
// not to be the key's to count (a replayed nonce).
func (l *Limiter) Take(key string, now time.Time) (ok bool, giveBack func()) {
	if l == nil || l.Rate <= 0 {
		return true, func() {}
	}
	r := at(l.limiter(key, now), now).ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return false, nil
	}
	return true, func() { r.CancelAt(now) }
}

// Exhausted reports, without taking one, whether the key has no token
// left at now.
func (l *Limiter) Exhausted(key string, now time.Time) bool {
	if l == nil || l.Rate <= 0 {
		return false
	}
	l.mu.Lock()
	lim := l.limiters[key]
	l.mu.Unlock()
	return lim != nil && at(lim, now).TokensAt(now) < 1
}

// Wait is how long after now the key has a token again, without taking
// one: 0 when it has one now.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	if l == nil || l.Rate <= 0 {
		return 0
	}
	l.mu.Lock()
	lim := l.limiters[key]
	l.mu.Unlock()
	if lim == nil {
		return 0
	}
	short := 1 - at(lim, now).TokensAt(now)
	if short <= 0 {
		return 0
	}
	return time.Duration(short / l.Rate * float64(time.Second))
}

// at brings a limiter to now. A clock stepped back finds a limiter last
// used at a later time, and x/time/rate counts no time as passing until
// the clock is back there: a key that spent its bucket while the clock
// was ahead would be refused for as long as the step, hours after a bad
// step of hours. Taking no tokens at now moves the limiter's time to now,
// so the step back costs the key the refill of the step and no more; a
// clock going forward is time passing, as before.
func at(lim *rate.Limiter, now time.Time) *rate.Limiter {
	lim.ReserveN(now, 0)
	return lim
}

// limiter returns the key's limiter, making one with a full bucket for a
// key it does not hold.
func (l *Limiter) limiter(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[key]
	if !ok {
		if l.limiters == nil {
			l.limiters = map[string]*rate.Limiter{}
		}
		limit := max(l.sweepAt, sweepAbove)
		if l.Max > 0 {
			limit = min(limit, l.Max)
		}
		if len(l.limiters) >= limit {
			l.sweep(now)
			if l.Max > 0 && len(l.limiters) >= l.Max {
				clear(l.limiters)
			}
		}
		lim = rate.NewLimiter(rate.Limit(l.Rate), int(l.Burst))
		l.limiters[key] = lim
	}
	return lim
}

// sweep drops the limiters that are full at now.
func (l *Limiter) sweep(now time.Time) {
	for id, lim := range l.limiters {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.limiters, id)
		}
	}
	l.sweepAt = 2 * len(l.limiters)
}
