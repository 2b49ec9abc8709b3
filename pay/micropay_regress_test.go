package pay_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/risk"
)

// TestMicropayConfirmWhilePaying: the consumer taps "confirm" twice (or the
// page is reloaded and resubmitted) while the first confirmation's credit
// capture is in flight. The second answer must say the payment is being
// made (USERPAYING), not ORDER_CLOSED with "Ask the cashier to scan a new
// payment code": the first confirmation then succeeds, and a consumer who
// followed that advice pays twice.
func TestMicropayConfirmWhilePaying(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 500000, 0)
			w, err := e.pay.Micropay(ctx, e.codeOrder("cp-confirm-1", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
			wantCode(t, err, fenfu.UserPaying)
			var second error
			pay.SetBeforeCapture(e.pay, func(string) error {
				pay.SetBeforeCapture(e.pay, nil)
				_, second = e.pay.Confirm(ctx, w.ID, c, pay.Client{})
				return nil
			})
			paid, err := e.pay.Confirm(ctx, w.ID, c, pay.Client{})
			if err != nil || paid.TradeState() != pay.Success {
				t.Fatalf("first confirmation = %+v, %v", paid, err)
			}
			if code := fenfu.ErrorCode(second); code != fenfu.UserPaying {
				t.Fatalf("confirmation while the first is being captured = %s (%v), remedy %q; want USERPAYING",
					code, second, fenfu.AsError(second).Remedy)
			}
		})
	}
}

// TestMicropayReverseRacesRefund: a till reverses a paid code payment
// while the merchant's back office refunds part of it. Whatever the
// order, the reverse must either complete (the rest refunded, REVOKED) or
// ask to be called again (recall); it must never fail for good with the
// order left neither reversed nor refunded in full.
func TestMicropayReverseRacesRefund(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 0, 10_000_000)
			bad := 0
			for i := range 40 {
				o, err := e.pay.Micropay(ctx, e.codeOrder(fmt.Sprintf("cp-rr-%d", i), 1000, e.code(t, c, paycode.Balance)))
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var rv pay.Reversal
				var rerr error
				wg.Add(2)
				go func() {
					defer wg.Done()
					rv, rerr = e.pay.Reverse(ctx, e.m.MchID, o.ID, "")
				}()
				go func() {
					defer wg.Done()
					_, _ = e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, TransactionID: o.ID, OutRefundNo: fmt.Sprintf("cp-part-%d", i),
						Refund: 300, Total: 1000})
				}()
				wg.Wait()
				if rerr != nil && !rv.Recall {
					bad++
					cur, _ := e.pay.Get(ctx, o.ID)
					t.Errorf("round %d: reverse failed for good: %s %q (recall %v); order %s refunded %d, trade_state %s",
						i, fenfu.ErrorCode(rerr), fenfu.AsError(rerr).Message, rv.Recall, cur.State, cur.Refunded, cur.TradeState())
				}
				if bad > 2 {
					break
				}
			}
			e.verify(t)
		})
	}
}

// TestMicropayVerifyRearmedCode: a paid code payment's code row edited
// back to unused (order_id cleared) lets the one code pay a second order;
// fenfu verify reports the order whose code no longer names it, before
// and after the second payment, and a code row naming an order that does
// not name it back. A row forgotten a day after expiry is no problem.
func TestMicropayVerifyRearmedCode(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			wantProblem := func(e *env, what string) {
				t.Helper()
				_, err := e.pay.Verify(ctx)
				var prob *ledger.Problem
				if !errors.As(err, &prob) || prob.What != what {
					t.Fatalf("verify = %v, want %q", err, what)
				}
			}
			e := newEnv(t, engine)
			c := e.consumer(t, 0, 100000)
			code := e.code(t, c, paycode.Balance)
			if _, err := e.pay.Micropay(ctx, e.codeOrder("cp-verify-1", 1000, code)); err != nil {
				t.Fatal(err)
			}
			e.verify(t)
			if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE payment_codes SET order_id = '', used_at = 0`); err != nil {
				t.Fatal(err)
			}
			wantProblem(e, "code payment whose payment code no longer names it")
			// Nor does the re-armed code pay a second order: no two orders
			// may name one code.
			if o, err := e.pay.Micropay(ctx, e.codeOrder("cp-verify-2", 1000, code)); err == nil {
				t.Fatalf("the re-armed code paid a second order: %+v", o)
			}
			if bal, err := ledger.Balance(ctx, e.pay.Core, consumer.BalanceAccount(c)); err != nil || bal != 100000-1000 {
				t.Fatalf("balance after the re-armed code was refused: %d, %v", bal, err)
			}
			wantProblem(e, "code payment whose payment code no longer names it")

			// A code row naming an order that does not name it back.
			e = newEnv(t, engine)
			c = e.consumer(t, 0, 100000)
			o, err := e.pay.Micropay(ctx, e.codeOrder("cp-verify-3", 1000, e.code(t, c, paycode.Balance)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE orders SET code_hash = '' WHERE id = $1`, o.ID); err != nil {
				t.Fatal(err)
			}
			wantProblem(e, "payment code names an order that does not name it")

			// Once the code's row is forgotten, the order names no kept code.
			e = newEnv(t, engine)
			c = e.consumer(t, 0, 100000)
			if _, err := e.pay.Micropay(ctx, e.codeOrder("cp-verify-4", 1000, e.code(t, c, paycode.Balance))); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(paycode.DefaultTTL + 25*time.Hour)
			if n, err := (&paycode.Service{Core: e.pay.Core, Clock: e.clock}).Sweep(ctx); err != nil || n != 1 {
				t.Fatalf("sweep = %d, %v", n, err)
			}
			e.verify(t)
		})
	}
}

// TestMicropayResentRequestRace: a till that times out resends the very
// same request (same out_trade_no, same code) while the first is still
// being handled. The resend must be answered with the order the first
// made, as a resend after it is; AUTH_CODE_INVALID tells the cashier to
// ask the consumer for a new code, though the first request pays.
func TestMicropayResentRequestRace(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			bad := 0
			for round := range 10 {
				c := e.consumer(t, 100000, 100000)
				r := e.codeOrder(fmt.Sprintf("cp-resend-%d", round), 1500, e.code(t, c, paycode.Balance))
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[i] = e.pay.Micropay(ctx, r)
					}()
				}
				wg.Wait()
				for _, err := range errs {
					if fenfu.ErrorCode(err) == fenfu.AuthCodeInvalid {
						bad++
						q, _ := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, r.OutTradeNo)
						t.Errorf("round %d: the resent request = %v, while its order is %s", round, err, q.TradeState())
					}
				}
				if bad > 2 {
					break
				}
			}
		})
	}
}

// TestMicropayReverseAgainAfterWindow: README — "Reversing again changes
// nothing". A till that retries a reverse it already completed, once the
// window has passed, is told REVERSE_EXPIRE, as if the order had never
// been reversed.
func TestMicropayReverseAgainAfterWindow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.Engines()[0])
	c := e.consumer(t, 500000, 0)
	if _, err := e.pay.Micropay(ctx, e.codeOrder("cp-again-1", 1000, e.code(t, c, paycode.Credit))); err != nil {
		t.Fatal(err)
	}
	if rv, err := e.pay.Reverse(ctx, e.m.MchID, "", "cp-again-1"); err != nil || rv.Order.TradeState() != pay.Revoked {
		t.Fatalf("reverse = %+v, %v", rv, err)
	}
	e.clock.Advance(pay.DefaultReverseWindow + time.Minute)
	if rv, err := e.pay.Reverse(ctx, e.m.MchID, "", "cp-again-1"); err != nil {
		t.Fatalf("reverse of a reversed order after the window = %v (trade_state %s)", err, rv.Order.TradeState())
	}
}

// TestMicropayTimeExpireTooSoon: a time_expire less than a minute ahead,
// WeChat Pay's least, leaves the consumer no time to confirm: it is
// refused before the code is spent, and one a minute ahead is taken.
func TestMicropayTimeExpireTooSoon(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.Engines()[0])
	c := e.consumer(t, 500000, 0)
	code := e.code(t, c, paycode.Credit)
	r := e.codeOrder("cp-expire-1", pay.DefaultNoPINLimit+1, code)
	r.TimeExpire = e.clock.Now().Add(30 * time.Second)
	_, err := e.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.ParamError)
	if f := fenfu.AsError(err).Field; f != "time_expire" {
		t.Fatalf("refused field %q", f)
	}
	r.TimeExpire = e.clock.Now().Add(pay.MinTimeExpire)
	w, err := e.pay.Micropay(ctx, r) // the code was not spent by the refusal
	wantCode(t, err, fenfu.UserPaying)
	if !w.ExpiresAt.Equal(r.TimeExpire) {
		t.Fatalf("waiting order expires at %v, want %v", w.ExpiresAt, r.TimeExpire)
	}
}

// TestMicropayCounterIPReachesRisk: the till's address a code payment
// carries is the order's scene address, kept with the order, and the
// address the risk engine's IP rules see.
func TestMicropayCounterIPReachesRisk(t *testing.T) {
	ctx := context.Background()
	e := newRiskEnv(t, dbtest.Engines()[0])
	if _, err := e.engine.AddRule(ctx, "staff:test", "a till on a blocked network", risk.Rule{Name: "blocked-till",
		Channels: []string{risk.Balance}, Expr: `ip == "198.51.100.8"`, Decision: risk.Reject, Reason: "blocked",
		Message: "This till cannot take payments.", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c := e.env.consumer(t, 0, 100000)
	r := e.env.codeOrder("cp-ip-1", 1000, e.env.code(t, c, paycode.Balance))
	r.Scene = pay.Scene{DeviceID: "till-9", PayerClientIP: "198.51.100.8"}
	o, err := e.env.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.RuleLimit)
	if got, _ := e.env.pay.Get(ctx, o.ID); got.Scene.PayerClientIP != "198.51.100.8" || got.State != pay.PayError {
		t.Fatalf("refused order = %+v", got)
	}
	r = e.env.codeOrder("cp-ip-2", 1000, e.env.code(t, c, paycode.Balance))
	r.Scene = pay.Scene{DeviceID: "till-9", PayerClientIP: "198.51.100.9"}
	if _, err := e.env.pay.Micropay(ctx, r); err != nil {
		t.Fatalf("a till elsewhere: %v", err)
	}
}
