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
