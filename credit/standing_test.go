package credit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// StandingOf reads in one statement what HistoryOf and OverdueOf read in
// three: the day's and month's totals, the run at a merchant, and what is
// overdue.
func TestStandingIsHistoryAndOverdue(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		pay := func(attempt, mchid string, amount fenfu.Fen) {
			t.Helper()
			p := payment(attempt, "c1", amount)
			p.MchID = mchid
			if _, err := capture(d, p); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
		}
		check := func(mchid string, wantRun int) credit.Overdue {
			t.Helper()
			now, since := clock.Now(), clock.Now().Add(-24*time.Hour)
			h, err := credit.HistoryOf(ctx, d, "c1", mchid, now, since)
			if err != nil {
				t.Fatal(err)
			}
			o, err := credit.OverdueOf(ctx, d, "c1", now)
			if err != nil {
				t.Fatal(err)
			}
			sh, so, err := credit.StandingOf(ctx, d, "c1", mchid, now, since)
			if err != nil {
				t.Fatal(err)
			}
			if sh != h || so != o || h.Run != wantRun {
				t.Fatalf("standing %+v %+v, want %+v %+v (run %d)", sh, so, h, o, wantRun)
			}
			return so
		}
		check("m1", 0)
		pay("a1", "m1", 1000_00)
		toDay(clock, "2026-12-13") // a1's installment is overdue since the 11th
		markOverdue(t, d, "2026-12-13")
		if o := check("m1", 0); o.Amount == 0 || o.Days != 3 {
			t.Fatalf("overdue %+v, want a1's installment, 3 days", o)
		}
		if _, err := repay(d, "r1", "c1", 1001_50, credit.PayoffWaived); err != nil {
			t.Fatal(err)
		}
		pay("a2", "m2", 5_00)
		pay("a3", "m1", 7_00)
		pay("a4", "m1", 9_00)
		check("m1", 2)
		check("m2", 0)
		if h, _, _ := credit.StandingOf(ctx, d, "c1", "m1", clock.Now(), clock.Now().Add(-time.Hour)); h.CountToday != 3 || h.Today != 21_00 {
			t.Fatalf("today %+v, want the three payments of the 13th", h)
		}
	})
}

// On PostgreSQL a capture costs two round trips: the merchant's volume,
// then the payment, draw and volume in one statement with the posting
// right after it; the plan with its installments, one statement, goes
// with the transaction's next statement or its commit.
func TestCaptureRoundTrips(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		if d.Engine != db.Postgres {
			return
		}
		ctx := context.Background()
		open(t, d, "c1", 10_000_00)
		for i := range 3 { // the first prepares the statements on its connection
			var trips int64
			err := d.Update(ctx, func(tx *db.Tx) error {
				tctx, tally := db.WithTally(ctx, false)
				_, err := credit.Capture(tctx, tx, payment(fmt.Sprint("a", i), "c1", 10_00))
				trips = tally.Total()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 && trips != 2 {
				t.Errorf("capture %d: %d round trips, want 2", i, trips)
			}
		}
		// Again: the first capture's fee, nothing drawn twice.
		if _, err := capture(d, payment("a1", "c1", 10_00)); err != nil {
			t.Fatal(err)
		}
		// More than the line has left: NOT_ENOUGH, nothing kept.
		if _, err := capture(d, payment("big", "c1", 10_000_00)); fenfu.ErrorCode(err) != fenfu.NotEnough {
			t.Fatalf("capture past the limit: %v, want NOT_ENOUGH", err)
		}
		l, err := credit.Get(ctx, d, "c1")
		if err != nil || l.Used != 30_00 {
			t.Fatalf("line %+v %v, want 30.00 used", l, err)
		}
		verify(t, d)
	})
}

// TestHistoryReadsNoTableRow: a payment's history reads (the day's and
// month's totals, the latest run) are answered from the index of captured
// payments alone, on SQLite as a covering index, so a consumer with a
// month of payments costs no lookup of each payment's row.
func TestHistoryReadsNoTableRow(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		if d.Engine != db.SQLite {
			return
		}
		// Many consumers, as a store has, so that the planner, knowing
		// the table after ANALYZE, finds a consumer's rows few.
		for c := range 40 {
			open(t, d, fmt.Sprint("c", c), 10_000_00)
		}
		for i := range 400 {
			p := payment(fmt.Sprint("a", i), fmt.Sprint("c", i%40), 1_00)
			p.MchID = fmt.Sprint("m", i%3)
			if _, err := capture(d, p); err != nil {
				t.Fatal(err)
			}
		}
		now := d.Clock.Now()
		args := [][]any{{db.Micros(now), "c1", db.Micros(now.Add(-time.Hour))}, {"c1", db.Micros(now.Add(-time.Hour))}}
		for i, q := range credit.HistorySQL {
			if p := dbtest.Plan(t, d, q, args[i]...); !strings.Contains(p, "COVERING INDEX credit_payments_captured") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s\nis planned as\n%s\nnot read from the covering index of captured payments, in its order", q, p)
			}
		}
	})
}

// On PostgreSQL a credit payment's transaction, as pay runs it, costs
// three round trips, in full or in installments whoever pays their fee:
// BEGIN, the line's lock and the reads after it (Ahead); the capture with
// its postings; the plan with the COMMIT. And it does what it did.
func TestPaymentRoundTrips(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 10_000_00)
		paid := 0
		pay := func(p credit.Payment) (int64, error) {
			tctx, tally := db.WithTally(ctx, false)
			err := d.Update(tctx, func(tx *db.Tx) error {
				runSince := tx.Now.Add(-10 * time.Minute)
				credit.Ahead(tx, p, runSince)
				if _, ok, err := credit.Lock(tctx, tx, p.ConsumerID); err != nil || !ok {
					return fmt.Errorf("lock: %v %v", ok, err)
				}
				h, _, err := credit.StandingOf(tctx, tx, p.ConsumerID, p.MchID, tx.Now, runSince)
				if err != nil {
					return err
				}
				if h.CountToday != paid {
					t.Errorf("standing %+v before payment %s, want %d today", h, p.AttemptID, paid)
				}
				_, err = credit.Capture(tctx, tx, p)
				return err
			})
			return tally.Total(), err
		}
		// Each shape twice: the first prepares its statements on the
		// connection.
		inFull := credit.Terms{}
		merchantPays := credit.Terms{Installments: 3, FeePayer: credit.MerchantPays, Rate: credit.DefaultRates()[3]}
		consumerPays := credit.Terms{Installments: 6, FeePayer: credit.ConsumerPays, Rate: credit.DefaultRates()[6]}
		for i, terms := range []credit.Terms{inFull, inFull, merchantPays, merchantPays, consumerPays, consumerPays} {
			p := payment(fmt.Sprint("p", i), "c1", 100_00)
			p.Terms = terms
			trips, err := pay(p)
			if err != nil {
				t.Fatal(err)
			}
			paid++
			if d.Engine == db.Postgres && i%2 == 1 && trips != 3 {
				t.Errorf("payment %d (%+v): %d round trips, want 3", i, terms, trips)
			}
		}
		// Past the limit: NOT_ENOUGH, and nothing kept, the postings sent
		// with the capture neither.
		if _, err := pay(payment("big", "c1", 10_000_00)); fenfu.ErrorCode(err) != fenfu.NotEnough {
			t.Fatalf("payment past the limit: %v, want NOT_ENOUGH", err)
		}
		if l, err := credit.Get(ctx, d, "c1"); err != nil || l.Used != 600_00 {
			t.Fatalf("line %+v %v, want 600.00 used", l, err)
		}
		verify(t, d)
	})
}
