package login

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
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

// TestTakeForgetsAbandonedAttemptUnderTraffic: an attempt never settled is
// forgotten PendingLease after it started even while other attempts keep
// starting and settling every second, as on an address many consumers log
// in from. With a limit of 2, the abandoned attempt and one in flight fill
// the count until the lease passes; from then on two fit at once.
func TestTakeForgetsAbandonedAttemptUnderTraffic(t *testing.T) {
	defer func(w time.Duration) { takeWait = w }(takeWait)
	takeWait = time.Millisecond
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			c := &Counter{DB: dbtest.Open(t, engine, "core", clock), Clock: clock}
			const subject, limit, window = "source:x", 2, time.Hour
			if tr, err := c.Take(ctx, subject, limit, window); err != nil || tr.Locked {
				t.Fatalf("the attempt to abandon: %+v, %v", tr, err)
			}
			abandoned := clock.Now()
			for clock.Now().Sub(abandoned) <= PendingLease+5*time.Second {
				clock.Advance(time.Second)
				first, err := c.Take(ctx, subject, limit, window)
				if err != nil || first.Locked {
					t.Fatalf("%s after the abandoned attempt: a try: %+v, %v", clock.Now().Sub(abandoned), first, err)
				}
				second, err := c.Take(ctx, subject, limit, window)
				if live := clock.Now().Sub(abandoned) < PendingLease; live {
					if fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
						t.Fatalf("%s after the abandoned attempt, within its lease: a second try at once: %+v, %v; want FREQUENCY_LIMITED", clock.Now().Sub(abandoned), second, err)
					}
				} else if err != nil || second.Locked {
					t.Fatalf("%s after the abandoned attempt, past its lease: a second try at once: %+v, %v", clock.Now().Sub(abandoned), second, err)
				} else if err := c.Settle(ctx, &second, false, false); err != nil {
					t.Fatal(err)
				}
				if err := c.Settle(ctx, &first, false, false); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestTakeLimitAcrossNodes: two nodes (two Counters, each with its own
// handle on one store) share a count. Attempts started at once on both
// never pass the limit together; the others are refused as too many at
// once. Wrong logins settled on either node lock the subject on both.
func TestTakeLimitAcrossNodes(t *testing.T) {
	defer func(w time.Duration) { takeWait = w }(takeWait)
	takeWait = time.Millisecond
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			dsn := dbtest.DSN(t, engine, "core")
			nodes := []*Counter{openNode(t, dsn, clock, "a:8080"), openNode(t, dsn, clock, "b:8080")}
			const subject, limit, window = "source:y", 4, time.Hour

			var mu sync.Mutex
			var taken []Try
			var onNode []*Counter
			busy := 0
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Add(1)
				go func(c *Counter) {
					defer wg.Done()
					tr, err := c.Take(ctx, subject, limit, window)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && !tr.Locked:
						taken, onNode = append(taken, tr), append(onNode, c)
					case fenfu.ErrorCode(err) == fenfu.FrequencyLimited && !tr.Locked:
						busy++
					default:
						t.Errorf("a try at once: %+v, %v", tr, err)
					}
				}(nodes[i%2])
			}
			wg.Wait()
			if len(taken) != limit || busy != 12-limit {
				t.Fatalf("12 tries at once on two nodes with a limit of %d: %d taken, %d too many at once", limit, len(taken), busy)
			}
			// One was wrong: with it and three in flight the count is full
			// again, on either node.
			if err := onNode[0].Settle(ctx, &taken[0], true, false); err != nil || taken[0].Failures != 1 {
				t.Fatalf("the wrong login: failures %d, %v", taken[0].Failures, err)
			}
			for i := 1; i < limit; i++ {
				if err := onNode[i].Settle(ctx, &taken[i], false, false); err != nil {
					t.Fatal(err)
				}
			}
			var again []Try
			for i := range limit - 1 {
				tr, err := nodes[i%2].Take(ctx, subject, limit, window)
				if err != nil || tr.Locked {
					t.Fatalf("try %d after they settled: %+v, %v", i+1, tr, err)
				}
				again = append(again, tr)
			}
			if tr, err := nodes[1].Take(ctx, subject, limit, window); fenfu.ErrorCode(err) != fenfu.FrequencyLimited || tr.Locked {
				t.Fatalf("a try with one wrong login and three in flight: %+v, %v", tr, err)
			}
			for i := range again {
				if err := nodes[(i+1)%2].Settle(ctx, &again[i], true, false); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range nodes {
				tr, err := c.Take(ctx, subject, limit, window)
				if err != nil || !tr.Locked || !tr.Until.Equal(clock.Now().Add(window)) {
					t.Fatalf("a try after %d wrong logins on two nodes: %+v, %v; want locked until %s", limit, tr, err, clock.Now().Add(window))
				}
			}
		})
	}
}

// openNode is a node's Counter, on its own handle on the store of dsn,
// closed when the test ends.
func openNode(t *testing.T, dsn string, clock fenfu.Clock, name string) *Counter {
	t.Helper()
	d, err := db.Open(t.Context(), "core", dsn, clock, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &Counter{DB: d, Clock: clock, Node: name}
}

// TestStartForgetsItsNodesAttempts: a node started again under its name
// forgets at once the attempts in flight its previous process left, long
// before their lease ends, while another node's stay counted; the count
// of wrong logins is not touched.
func TestStartForgetsItsNodesAttempts(t *testing.T) {
	defer func(w time.Duration) { takeWait = w }(takeWait)
	takeWait = time.Millisecond
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			dsn := dbtest.DSN(t, engine, "core")
			a, b := openNode(t, dsn, clock, "a:8080"), openNode(t, dsn, clock, "b:8080")
			const subject, limit, window = "source:z", 6, time.Hour
			wrong, err := b.Take(ctx, subject, limit, window)
			if err != nil || wrong.Locked {
				t.Fatalf("the wrong login: %+v, %v", wrong, err)
			}
			if err := b.Settle(ctx, &wrong, true, false); err != nil {
				t.Fatal(err)
			}
			// a is killed with three attempts in flight; b has two.
			for i, c := range []*Counter{a, a, a, b, b} {
				if tr, err := c.Take(ctx, subject, limit, window); err != nil || tr.Locked {
					t.Fatalf("attempt %d: %+v, %v", i+1, tr, err)
				}
			}
			if tr, err := b.Take(ctx, subject, limit, window); fenfu.ErrorCode(err) != fenfu.FrequencyLimited || tr.Locked {
				t.Fatalf("a try with one wrong login and five in flight: %+v, %v; want FREQUENCY_LIMITED", tr, err)
			}
			clock.Advance(time.Second)
			restarted := openNode(t, dsn, clock, "a:8080")
			if n, err := restarted.Start(ctx); err != nil || n != 3 {
				t.Fatalf("a started again: forgot %d, %v; want the 3 attempts of its previous process", n, err)
			}
			// The wrong login and b's two attempts still count: three
			// fit, on either node, and a fourth does not.
			for i, c := range []*Counter{restarted, b, restarted} {
				if tr, err := c.Take(ctx, subject, limit, window); err != nil || tr.Locked {
					t.Fatalf("try %d after a started again: %+v, %v", i+1, tr, err)
				}
			}
			if tr, err := restarted.Take(ctx, subject, limit, window); fenfu.ErrorCode(err) != fenfu.FrequencyLimited || tr.Locked {
				t.Fatalf("a try with one wrong login, b's two attempts and three new ones in flight: %+v, %v; want FREQUENCY_LIMITED", tr, err)
			}
			// b started again forgets its own three, not the two a took since.
			if n, err := openNode(t, dsn, clock, "b:8080").Start(ctx); err != nil || n != 3 {
				t.Fatalf("b started again: forgot %d, %v; want its 3 attempts", n, err)
			}
			var left int
			if err := a.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_in_flight WHERE subject = $1 AND node = 'a:8080'`, subject).Scan(&left); err != nil || left != 2 {
				t.Fatalf("a's attempts in flight after b started again: %d, %v; want 2", left, err)
			}
		})
	}
}

// TestInFlightRows: an attempt's row is gone once it is settled, however
// it went; an abandoned one stays until the sweep after its lease;
// Forget deletes a subject's rows with its count.
func TestInFlightRows(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			c := &Counter{DB: dbtest.Open(t, engine, "core", clock), Clock: clock}
			rows := func(subject string) int {
				t.Helper()
				var n int
				if err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_in_flight WHERE subject = $1`, subject).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, how := range []struct {
				name         string
				wrong, clear bool
			}{{"right", false, false}, {"right, clearing", false, true}, {"wrong", true, false}} {
				tr, err := c.Take(ctx, "phone:a", 5, time.Hour)
				if err != nil || tr.Locked {
					t.Fatal(tr, err)
				}
				if n := rows("phone:a"); n != 1 {
					t.Fatalf("%s: %d rows in flight before it settled, want 1", how.name, n)
				}
				if err := c.Settle(ctx, &tr, how.wrong, how.clear); err != nil {
					t.Fatal(err)
				}
				if n := rows("phone:a"); n != 0 {
					t.Errorf("%s: %d rows in flight once it settled, want 0", how.name, n)
				}
			}
			if _, err := c.Take(ctx, "phone:b", 5, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Take(ctx, "phone:c", 5, time.Hour); err != nil {
				t.Fatal(err)
			}
			if due, err := c.Sweep(ctx, clock.Now().Add(PendingLease-time.Second)); err != nil || !due || rows("phone:b") != 1 {
				t.Fatalf("a sweep within the lease: due %v, %v; %d rows of the abandoned attempt, want 1", due, err, rows("phone:b"))
			}
			if err := c.DB.Update(ctx, func(tx *db.Tx) error { return Forget(ctx, tx, []string{"phone:c"}) }); err != nil {
				t.Fatal(err)
			}
			if n := rows("phone:c"); n != 0 {
				t.Errorf("%d rows in flight of a forgotten subject, want 0", n)
			}
			clock.Advance(2 * time.Minute)
			if due, err := c.Sweep(ctx, clock.Now()); err != nil || !due || rows("phone:b") != 0 {
				t.Fatalf("a sweep past the lease: due %v, %v; %d rows of the abandoned attempt, want 0", due, err, rows("phone:b"))
			}
		})
	}
}

// TestCountOnItsOwnClock: a Counter counts on its own clock, not the
// store's, as staff logins do on the system's clock in a sandbox whose
// clock was moved a day ahead: wrong logins still lock the name.
func TestCountOnItsOwnClock(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			wall := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
			moved := fenfu.NewFakeClock(wall.Now().Add(24 * time.Hour))
			c := &Counter{DB: dbtest.Open(t, engine, "core", moved), Clock: wall}
			for range 2 {
				tr, err := c.Take(ctx, "staff:a", 2, 15*time.Minute)
				if err != nil || tr.Locked {
					t.Fatalf("a try: %+v, %v", tr, err)
				}
				if err := c.Settle(ctx, &tr, true, false); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := c.Take(ctx, "staff:a", 2, 15*time.Minute)
			if err != nil || !tr.Locked || !tr.Until.Equal(wall.Now().Add(15*time.Minute)) {
				t.Fatalf("a try after 2 wrong logins: %+v, %v; want locked until %s", tr, err, wall.Now().Add(15*time.Minute))
			}
		})
	}
}
