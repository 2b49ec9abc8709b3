package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/ratelimit"
)

// TestRateLimitManyMerchants: a node that sees more merchants than it
// keeps limiters for drops only the idle ones; a merchant spending its
// budget keeps what it has spent.
func TestRateLimitManyMerchants(t *testing.T) {
	l := &ratelimit.Limiter{Rate: 1, Burst: 3}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	for i := range ratelimit.SweepAbove {
		if !l.Allow(fmt.Sprintf("idle-%d", i), t0) {
			t.Fatalf("merchant %d refused its first request", i)
		}
	}
	// Three seconds on, the idle merchants' buckets are full again, and the
	// busy one spends all of its own.
	now := t0.Add(3 * time.Second)
	for range 3 {
		if !l.Allow("busy", now) {
			t.Fatal("busy merchant refused within its burst")
		}
	}
	if l.Allow("busy", now) {
		t.Fatal("busy merchant allowed past its burst")
	}
	// More new merchants than the node keeps limiters for arrive at once.
	for i := range ratelimit.SweepAbove + 1 {
		l.Allow(fmt.Sprintf("new-%d", i), now)
	}
	if l.Allow("busy", now) {
		t.Fatal("busy merchant's spent budget came back when new merchants arrived")
	}
	if !l.Allow("busy", now.Add(time.Second)) {
		t.Fatal("busy merchant's token did not come back after 1/rate")
	}
	if got := l.Held(); got > ratelimit.SweepAbove+2 {
		t.Errorf("limiters held = %d; the idle merchants' were not dropped", got)
	}
	// The new merchants are still within their window: none is dropped,
	// however many there are.
	if got := l.Held(); got < ratelimit.SweepAbove+2 {
		t.Errorf("limiters held = %d, want the %d merchants active now", got, ratelimit.SweepAbove+2)
	}
}

// TestRateLimiterBounded: a limiter with Max holds at most Max keys
// however many arrive, and refuses nothing it should not.
func TestRateLimiterBounded(t *testing.T) {
	l := &ratelimit.Limiter{Rate: 1, Burst: 2, Max: 100}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	for i := range 1000 {
		if !l.Allow(fmt.Sprintf("203.0.113.%d/%d", i%256, i), now) {
			t.Fatalf("key %d refused its first request", i)
		}
		if got := l.Held(); got > 100 {
			t.Fatalf("limiter holds %d keys, more than its Max 100", got)
		}
	}
	if l.Exhausted("never-seen", now) {
		t.Fatal("a key never seen is exhausted")
	}
	l.Allow("k", now)
	l.Allow("k", now)
	if !l.Exhausted("k", now) || l.Allow("k", now) {
		t.Fatal("a key that spent its burst is not exhausted")
	}
	ok, giveBack := l.Take("k2", now)
	if !ok {
		t.Fatal("Take refused a fresh key")
	}
	giveBack()
	for i := range 2 {
		if !l.Allow("k2", now) {
			t.Fatalf("request %d of k2's burst refused after a token was given back", i)
		}
	}
}

// TestRateLimiterClockStepBack: a key that spent its budget while the
// clock was ahead is not locked out, once the clock is stepped back, for
// as long as the step: it gets its tokens back at its rate from the time
// the clock is back at. (fenfu chaos found it: a server clock 6 minutes
// ahead refused every request as badly timed, and after the clock was put
// right the address stayed FREQUENCY_LIMITED for those 6 minutes.)
func TestRateLimiterClockStepBack(t *testing.T) {
	for _, step := range []time.Duration{6 * time.Minute, 24 * time.Hour} {
		l := &ratelimit.Limiter{Rate: 10, Burst: 20}
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
		ahead := now.Add(step)
		for range 20 {
			l.Allow("k", ahead)
		}
		if !l.Exhausted("k", ahead) {
			t.Fatal("a key that spent its burst is not exhausted")
		}
		// The clock is put right (at that moment, no time has passed for
		// the key); a second later it has 10 tokens.
		l.Exhausted("k", now)
		later := now.Add(time.Second)
		if l.Exhausted("k", later) {
			t.Fatalf("step %s: a second after the clock was stepped back the key is still exhausted", step)
		}
		for i := range 10 {
			if !l.Allow("k", later) {
				t.Fatalf("step %s: request %d of the second after the step back refused", step, i)
			}
		}
		if l.Allow("k", later) {
			t.Fatalf("step %s: the step back gave the key more than a second's tokens", step)
		}
		// The merchant limiter, which only takes: its bucket refills too.
		m := &ratelimit.Limiter{Rate: 10, Burst: 20}
		for range 20 {
			m.Allow("mch", ahead)
		}
		m.Allow("mch", now) // refused, at the step back
		if !m.Allow("mch", later) {
			t.Fatalf("step %s: a merchant that spent its burst while the clock was ahead is refused a second after it was put right", step)
		}
	}
}

// TestWait: a key that spent its burst waits 1/Rate for its next token,
// less as time passes, and a key with a token (or never seen) waits for
// nothing; asking takes no token.
func TestWait(t *testing.T) {
	l := &ratelimit.Limiter{Rate: 1.0 / 20, Burst: 3}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	if w := l.Wait("k", now); w != 0 {
		t.Errorf("a key never seen waits %s", w)
	}
	for i := range 3 {
		if w := l.Wait("k", now); w != 0 {
			t.Errorf("before request %d of the burst the key waits %s", i, w)
		}
		if !l.Allow("k", now) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if w := l.Wait("k", now); w != 20*time.Second {
		t.Errorf("after its burst the key waits %s, want 20s", w)
	}
	if w := l.Wait("k", now.Add(15*time.Second)); w != 5*time.Second {
		t.Errorf("15 s on the key waits %s, want 5s", w)
	}
	if l.Allow("k", now.Add(19*time.Second)) || !l.Allow("k", now.Add(20*time.Second)) {
		t.Error("the key's next token did not come when Wait said")
	}
}
