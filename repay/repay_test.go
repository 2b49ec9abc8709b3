package repay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/repay"
)

type world struct {
	s        *repay.Service
	clock    *fenfu.FakeClock
	consumer string
}

// setup opens both stores on each engine with a consumer who owes 300.00
// on a 3-installment plan and holds 500.00 of balance.
func setup(t *testing.T, f func(t *testing.T, w world)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			cr := dbtest.Open(t, engine, "credit", clock)
			ids := &fenfu.RandomIDs{}
			c, _, err := consumer.New(core, cr, ids, clock).Create(ctx, consumer.NewConsumer{CreditLimit: 1000_00, Rating: "A", Balance: 500_00})
			if err != nil {
				t.Fatal(err)
			}
			if err := cr.Update(ctx, func(tx *db.Tx) error {
				_, err := credit.Capture(ctx, tx, credit.Payment{AttemptID: "a1", OrderID: "o1", MchID: "m1", ConsumerID: c.ID, Amount: 300_00,
					Terms: credit.Terms{Installments: 3, FeePayer: credit.MerchantPays, Rate: 23_000}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			s := &repay.Service{Core: core, Credit: cr, IDs: ids, Clock: clock, RecoverAfter: time.Minute}
			f(t, world{s: s, clock: clock, consumer: c.ID})
		})
	}
}

// check proves both stores and the consumer's balance and line.
func (w world) check(t *testing.T, balance, used fenfu.Fen) {
	t.Helper()
	ctx := context.Background()
	c, err := consumer.New(w.s.Core, w.s.Credit, &fenfu.RandomIDs{}, w.clock).Get(ctx, w.consumer)
	if err != nil {
		t.Fatal(err)
	}
	if c.Balance != balance || c.Credit.Used != used {
		t.Errorf("balance %d used %d, want %d and %d", c.Balance, c.Credit.Used, balance, used)
	}
	if err := w.s.Verify(ctx); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := credit.Verify(ctx, w.s.Credit); err != nil {
		t.Errorf("credit verify: %v", err)
	}
}

func TestFromBalance(t *testing.T) {
	setup(t, func(t *testing.T, w world) {
		ctx := context.Background()
		r, err := w.s.FromBalance(ctx, w.consumer, "k1", 150_00)
		if err != nil {
			t.Fatal(err)
		}
		if r.Principal != 150_00 || r.State != credit.RepaymentApplied {
			t.Errorf("repaid %+v", r)
		}
		w.check(t, 350_00, 150_00)
		// The same key is the same repayment.
		if again, err := w.s.FromBalance(ctx, w.consumer, "k1", 150_00); err != nil || again.ID != r.ID {
			t.Errorf("again: %+v, %v", again, err)
		}
		w.check(t, 350_00, 150_00)
		// More than is owed is refused and the balance kept.
		if _, err := w.s.FromBalance(ctx, w.consumer, "k2", 200_00); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("repaying more than owed: %v", err)
		}
		w.check(t, 350_00, 150_00)
		// More than the balance is refused.
		if err := w.s.Credit.Update(ctx, func(tx *db.Tx) error {
			_, err := credit.Capture(ctx, tx, credit.Payment{AttemptID: "a2", OrderID: "o2", MchID: "m1", ConsumerID: w.consumer, Amount: 600_00})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.FromBalance(ctx, w.consumer, "k3", 400_00); fenfu.ErrorCode(err) != fenfu.NotEnough {
			t.Errorf("repaying more than the balance: %v", err)
		}
		w.check(t, 350_00, 750_00)
		// An intent that no longer agrees with the credit store is found.
		if _, err := w.s.Core.Exec(ctx, `UPDATE balance_transfers SET amount = amount + 1 WHERE idem_key = 'k1'`); err != nil {
			t.Fatal(err)
		}
		if err := w.s.Verify(ctx); err == nil {
			t.Error("verify passed with an intent that differs from its postings and the credit store")
		}
	})
}

var errCrash = errors.New("crash")

// A crash between the stores loses no money and moves none twice: one
// after the credit store committed is completed by recovery, one before
// it is cancelled and the balance given back, and the repayment can never
// be applied after that.
func TestCrashBetweenTheStores(t *testing.T) {
	setup(t, func(t *testing.T, w world) {
		ctx := context.Background()
		w.s.SetHooksForTest(nil, func(string) error { return errCrash })
		if _, err := w.s.FromBalance(ctx, w.consumer, "after", 100_00); !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		w.check(t, 400_00, 200_00) // debited in core, applied in credit, intent pending
		var lost string
		w.s.SetHooksForTest(func(id string) error { lost = id; return errCrash }, nil)
		if _, err := w.s.FromBalance(ctx, w.consumer, "before", 50_00); !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		w.check(t, 350_00, 200_00)
		w.s.SetHooksForTest(nil, nil)
		if r, err := w.s.Recover(ctx); err != nil || r.Applied+r.Cancelled != 0 {
			t.Fatalf("recover too early: %+v, %v", r, err)
		}
		w.clock.Advance(2 * time.Minute)
		r, err := w.s.Recover(ctx)
		if err != nil || r.Applied != 1 || r.Cancelled != 1 {
			t.Fatalf("recover: %+v, %v", r, err)
		}
		w.check(t, 400_00, 200_00)
		// The fenced repayment can never be applied.
		err = w.s.Credit.Update(ctx, func(tx *db.Tx) error {
			_, err := credit.Repay(ctx, tx, credit.Repayment{ID: lost, ConsumerID: w.consumer, Source: credit.SourceBalance, Key: lost,
				Amount: 50_00, Payoff: credit.PayoffWaived})
			return err
		})
		if !errors.Is(err, credit.ErrRepaymentVoided) {
			t.Errorf("applying a cancelled repayment: %v", err)
		}
		w.check(t, 400_00, 200_00)
		// Asking again answers the first outcome.
		if r, err := w.s.FromBalance(ctx, w.consumer, "after", 100_00); err != nil || r.Principal != 100_00 {
			t.Errorf("after recovery: %+v, %v", r, err)
		}
		if _, err := w.s.FromBalance(ctx, w.consumer, "before", 50_00); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("a cancelled key again: %v", err)
		}
		w.check(t, 400_00, 200_00)
	})
}
