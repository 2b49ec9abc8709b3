package login

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestTakeBusy: when the attempts in flight, not wrong logins, fill a
// count, Take waits, and past its wait refuses the attempt as one too
// many at once, FREQUENCY_LIMITED without a lock; once they settle it
// takes again.
func TestTakeBusy(t *testing.T) {
	defer func(w time.Duration) { takeWait = w }(takeWait)
	takeWait = 50 * time.Millisecond
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			c := &Counter{DB: dbtest.Open(t, engine, "core", clock), Clock: clock}
			first, err := c.Take(ctx, "phone:x", 1, time.Minute)
			if err != nil || first.Locked {
				t.Fatalf("first try: %+v, %v", first, err)
			}
			second, err := c.Take(ctx, "phone:x", 1, time.Minute)
			if fenfu.ErrorCode(err) != fenfu.FrequencyLimited || !strings.Contains(err.Error(), "at once") || second.Locked {
				t.Fatalf("a try while the count is full of attempts in flight: %+v, %v", second, err)
			}
			if err := c.Settle(ctx, &first, false, true); err != nil {
				t.Fatal(err)
			}
			if third, err := c.Take(ctx, "phone:x", 1, time.Minute); err != nil || third.Locked {
				t.Fatalf("a try after the first settled: %+v, %v", third, err)
			}
		})
	}
}

// TestTakeForgetsAbandonedAttempts: an attempt taken and never settled,
// as when its node is killed while checking the PIN, fills the count only
// until PendingLease passes with no attempt started; then tries are taken
// again, and the wrong logins of the window still count.
func TestTakeForgetsAbandonedAttempts(t *testing.T) {
	defer func(w time.Duration) { takeWait = w }(takeWait)
	takeWait = 50 * time.Millisecond
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			c := &Counter{DB: dbtest.Open(t, engine, "core", clock), Clock: clock}
			wrong, err := c.Take(ctx, "source:x", 3, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Settle(ctx, &wrong, true, false); err != nil {
				t.Fatal(err)
			}
			// Two attempts whose node dies before it settles them.
			for range 2 {
				if tr, err := c.Take(ctx, "source:x", 3, time.Hour); err != nil || tr.Locked {
					t.Fatalf("an attempt: %+v, %v", tr, err)
				}
			}
			clock.Advance(PendingLease - time.Second)
			if _, err := c.Take(ctx, "source:x", 3, time.Hour); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
				t.Fatalf("a try within the lease of the abandoned attempts: %v", err)
			}
			clock.Advance(time.Second)
			next, err := c.Take(ctx, "source:x", 3, time.Hour)
			if err != nil || next.Locked {
				t.Fatalf("a try once the abandoned attempts' lease passed: %+v, %v", next, err)
			}
			// The wrong login still counts: with this try and one more in
			// flight the count is full again.
			if tr, err := c.Take(ctx, "source:x", 3, time.Hour); err != nil || tr.Locked {
				t.Fatalf("a second try: %+v, %v", tr, err)
			}
			if _, err := c.Take(ctx, "source:x", 3, time.Hour); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
				t.Fatalf("a try with one wrong login and two in flight: %v", err)
			}
		})
	}
}
