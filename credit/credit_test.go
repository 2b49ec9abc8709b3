package credit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// flat is a 0.6% schedule, so fees are easy to check by hand.
var flat = fee.Flat("test", 6000)

// store opens a credit store on each engine and runs f on it.
func store(t *testing.T, f func(t *testing.T, d *db.DB)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			f(t, dbtest.Open(t, engine, "credit", clock))
		})
	}
}

func open(t *testing.T, d *db.DB, consumerID string, limit fenfu.Fen) {
	t.Helper()
	if err := d.Update(context.Background(), func(tx *db.Tx) error {
		return credit.Open(context.Background(), tx, consumerID, limit, "B")
	}); err != nil {
		t.Fatal(err)
	}
}

func payment(attempt, consumerID string, amount fenfu.Fen) credit.Payment {
	return credit.Payment{AttemptID: attempt, OrderID: "O-" + attempt, MchID: "m1", ConsumerID: consumerID, Amount: amount, Schedule: flat}
}

func capture(d *db.DB, p credit.Payment) (fee.Quote, error) {
	var q fee.Quote
	err := d.Update(context.Background(), func(tx *db.Tx) error {
		var err error
		q, err = credit.Capture(context.Background(), tx, p)
		return err
	})
	return q, err
}

func refund(d *db.DB, r credit.Refund) error {
	return d.Update(context.Background(), func(tx *db.Tx) error {
		_, _, err := credit.ApplyRefund(context.Background(), tx, r)
		return err
	})
}

// line checks a consumer's line, the ledger's receivable behind it, and
// the whole credit store's proof.
func line(t *testing.T, d *db.DB, consumerID string, used, available fenfu.Fen) {
	t.Helper()
	ctx := context.Background()
	l, err := credit.Get(ctx, d, consumerID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Used != used || l.Available != available {
		t.Errorf("line used %d available %d, want %d and %d", l.Used, l.Available, used, available)
	}
	if got, err := ledger.Balance(ctx, d, credit.Account(consumerID)); err != nil || got != used {
		t.Errorf("receivable = %d (%v), want %d", got, err, used)
	}
	if err := credit.Verify(ctx, d); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestOpen(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000)
		open(t, d, "c1", 5000) // opening again changes nothing
		l, err := credit.Get(ctx, d, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if l.Limit != 1000 || l.Used != 0 || l.Available != 1000 || l.Rating != "B" {
			t.Errorf("line = %+v", l)
		}
		if _, err := credit.Get(ctx, d, "nobody"); !errors.Is(err, credit.ErrNoLine) {
			t.Errorf("Get of no line = %v, want ErrNoLine", err)
		}
		for _, tc := range []struct {
			name   string
			limit  fenfu.Fen
			rating string
		}{{"negative limit", -1, "A"}, {"unknown rating", 100, "E"}} {
			err := d.Update(ctx, func(tx *db.Tx) error { return credit.Open(ctx, tx, "c2", tc.limit, tc.rating) })
			if got, want := fenfu.ErrorCode(err), fenfu.ParamError; got != want {
				t.Errorf("%s: code %s, want %s", tc.name, got, want)
			}
		}
	})
}

func TestCapture(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		open(t, d, "c1", 1000)
		q, err := capture(d, payment("a1", "c1", 300))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := q.Fee, fenfu.Fen(2); got != want { // 0.6% of 3.00 yuan, rounded
			t.Errorf("fee = %d, want %d", got, want)
		}
		line(t, d, "c1", 300, 700)
		// The merchant is owed the amount less the fee, the platform the fee.
		ctx := context.Background()
		if got, err := ledger.Balance(ctx, d, ledger.AccountOf(ledger.MerchantPending, "m1")); err != nil || got != 298 {
			t.Errorf("merchant pending = %d (%v), want 298", got, err)
		}
		if got, err := ledger.Balance(ctx, d, credit.FeeAccount); err != nil || got != 2 {
			t.Errorf("platform fee = %d (%v), want 2", got, err)
		}
		// The whole line can be drawn, to the fen.
		if _, err := capture(d, payment("a2", "c1", 700)); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 1000, 0)
	})
}

func TestCaptureShortLine(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		open(t, d, "c1", 1000)
		if _, err := capture(d, payment("a1", "c1", 600)); err != nil {
			t.Fatal(err)
		}
		_, err := capture(d, payment("a2", "c1", 401))
		if got, want := fenfu.ErrorCode(err), fenfu.NotEnough; got != want {
			t.Fatalf("capture past the line: code %s (%v), want %s", got, err, want)
		}
		// Nothing of the refused capture stays: not the line, not the
		// books, not the attempt, which may be tried again once the line
		// has room.
		line(t, d, "c1", 600, 400)
		if _, err := capture(d, payment("a2", "c1", 400)); err != nil {
			t.Fatalf("the refused attempt could not capture later: %v", err)
		}
		line(t, d, "c1", 1000, 0)
		_, err = capture(d, payment("a3", "nobody", 1))
		if got, want := fenfu.ErrorCode(err), fenfu.NotEnough; got != want {
			t.Errorf("capture without a line: code %s, want %s", got, want)
		}
	})
}

func TestCaptureIsIdempotent(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000)
		q1, err := capture(d, payment("a1", "c1", 300))
		if err != nil {
			t.Fatal(err)
		}
		q2, err := capture(d, payment("a1", "c1", 300))
		if err != nil {
			t.Fatalf("second capture of the attempt: %v", err)
		}
		if q1 != q2 {
			t.Errorf("second capture quoted %+v, first %+v", q2, q1)
		}
		line(t, d, "c1", 300, 700)
		// Voiding a captured attempt reports it captured and changes nothing.
		var state credit.AttemptState
		if err := d.Update(ctx, func(tx *db.Tx) (err error) {
			state, _, err = credit.VoidAttempt(ctx, tx, payment("a1", "c1", 300))
			return err
		}); err != nil || state != credit.Captured {
			t.Fatalf("void of a captured attempt = %s, %v; want %s", state, err, credit.Captured)
		}
		// An attempt voided first can never capture.
		if err := d.Update(ctx, func(tx *db.Tx) (err error) {
			state, _, err = credit.VoidAttempt(ctx, tx, payment("a2", "c1", 300))
			return err
		}); err != nil || state != credit.Void {
			t.Fatalf("void of a fresh attempt = %s, %v; want %s", state, err, credit.Void)
		}
		if _, err := capture(d, payment("a2", "c1", 300)); !errors.Is(err, credit.ErrVoided) {
			t.Fatalf("capture of a voided attempt = %v, want ErrVoided", err)
		}
		line(t, d, "c1", 300, 700)
	})
}

func TestRefundRestoresLine(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000)
		q, err := capture(d, payment("a1", "c1", 500))
		if err != nil {
			t.Fatal(err)
		}
		r1 := credit.Refund{RefundID: "R1", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 200,
			Fee: fee.RefundFee(q.Fee, 500, 0, 200)}
		if err := refund(d, r1); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 300, 700)
		// Applying the same refund again is a no-op.
		if err := refund(d, r1); err != nil {
			t.Fatalf("refund applied twice: %v", err)
		}
		line(t, d, "c1", 300, 700)
		if amount, back, applied, err := credit.RefundAmount(ctx, d, "R1"); err != nil || !applied || amount != 200 || back != r1.Fee {
			t.Errorf("RefundAmount = %d, %d, %v, %v; want 200, %d, applied", amount, back, applied, err, r1.Fee)
		}
		// More than is left to refund is refused, and changes nothing.
		err = refund(d, credit.Refund{RefundID: "R2", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 301})
		if got, want := fenfu.ErrorCode(err), fenfu.NotEnough; got != want {
			t.Fatalf("refund past the payment: code %s (%v), want %s", got, err, want)
		}
		line(t, d, "c1", 300, 700)
		// The rest refunds, and returns the rest of the fee.
		r3 := credit.Refund{RefundID: "R3", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 300,
			Fee: fee.RefundFee(q.Fee, 500, 200, 300)}
		if err := refund(d, r3); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 0, 1000)
		if got, err := ledger.Balance(ctx, d, credit.FeeAccount); err != nil || got != 0 {
			t.Errorf("platform fee after a full refund = %d (%v), want 0", got, err)
		}
		if _, _, applied, _ := credit.RefundAmount(ctx, d, "R2"); applied {
			t.Error("the refused refund is recorded as applied")
		}
	})
}

// TestConcurrentCapturesNeverOverspend: captures racing for one line take
// exactly what it has, whatever the interleaving.
func TestConcurrentCapturesNeverOverspend(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		open(t, d, "c1", 1000)
		const n, amount = 24, 100
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = capture(d, payment(fmt.Sprintf("a%02d", i), "c1", amount))
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch fenfu.ErrorCode(err) {
			case "":
				ok++
			case fenfu.NotEnough:
			default:
				t.Errorf("capture %d: %v", i, err)
			}
		}
		if ok != 1000/amount {
			t.Errorf("%d captures succeeded, want %d", ok, 1000/amount)
		}
		line(t, d, "c1", 1000, 0)
	})
}

// TestHistoryIsNotCompiledAgain: the risk features' history, read in every
// credit payment, runs from the statements prepared the first time, not
// compiled again at each payment (SQLite does that to a statement whose
// plan looked at a bound value).
func TestHistoryIsNotCompiledAgain(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		compiles := dbtest.Compiles(t, d)
		open(t, d, "c1", 1_000_000)
		if _, err := capture(d, payment("A1", "c1", 100)); err != nil {
			t.Fatal(err)
		}
		now := d.Clock.Now()
		history := func() credit.History {
			var h credit.History
			if err := d.Update(context.Background(), func(tx *db.Tx) error {
				var err error
				h, err = credit.HistoryOf(context.Background(), tx, "c1", "m1", now, now.Add(-time.Hour))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return h
		}
		history() // prepared after this transaction
		history() // runs prepared
		if compiles.Load() == 0 {
			t.Fatal("no compilation was seen at all: the watch is not on the writer's connection")
		}
		before := compiles.Load()
		for range 3 {
			if h := history(); h.Today != 100 || h.Month != 100 || h.CountToday != 1 || h.Run != 1 {
				t.Fatalf("history = %+v, want 100 today and this month, 1 payment, a run of 1", h)
			}
		}
		if n := compiles.Load() - before; n != 0 {
			t.Errorf("reading the history three more times compiled statements again (%d tables authorized)", n)
		}
	})
}
