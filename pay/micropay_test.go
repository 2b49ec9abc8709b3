package pay_test

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
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/risk"
)

func TestMicropay(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("pays at once", func(t *testing.T) { testMicropayNow(t, engine) })
			t.Run("waits for the consumer", func(t *testing.T) { testMicropayConfirm(t, engine) })
			t.Run("failure after the code is spent", func(t *testing.T) { testMicropayFails(t, engine) })
			t.Run("reverse", func(t *testing.T) { testReverse(t, engine) })
			t.Run("one code, two tills", func(t *testing.T) { testMicropayRace(t, engine) })
			t.Run("installments at the counter", func(t *testing.T) { testMicropayInstallments(t, engine) })
			t.Run("crash between stores", func(t *testing.T) { testMicropayCrash(t, engine) })
			t.Run("risk asks for confirmation", func(t *testing.T) { testMicropayRiskConfirm(t, engine) })
		})
	}
}

func (e *env) code(t *testing.T, consumerID, channel string) string {
	t.Helper()
	c, err := (&paycode.Service{Core: e.pay.Core, Clock: e.clock}).Issue(context.Background(), consumerID, channel)
	if err != nil {
		t.Fatal(err)
	}
	return c.Code
}

func (e *env) codeOrder(no string, total fenfu.Fen, code string) pay.CodeOrder {
	return pay.CodeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Milk tea", OutTradeNo: no, Total: total, AuthCode: code,
		Scene: pay.Scene{DeviceID: "till-01"}}
}

func (e *env) orders(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pay.Core.R.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testMicropayNow(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 10000, 0)
	code := e.code(t, c, paycode.Credit)
	r := e.codeOrder("till-1-0001", 2500, code)
	o, err := e.pay.Micropay(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if o.TradeType != pay.Micropay || o.TradeState() != pay.Success || o.Channel != pay.ChannelCredit || o.ConsumerID != c {
		t.Fatalf("paid code payment = %+v", o)
	}
	got, _ := e.consumers.Get(ctx, c)
	if got.Credit.Used != 2500 {
		t.Fatalf("credit used = %d, want 2500", got.Credit.Used)
	}
	// The till resends the same request: the same paid order, paid once.
	again, err := e.pay.Micropay(ctx, r)
	if err != nil || again.ID != o.ID || again.TradeState() != pay.Success {
		t.Fatalf("resent = %+v, %v", again, err)
	}
	r2 := r
	r2.Total = 2600
	_, err = e.pay.Micropay(ctx, r2)
	wantCode(t, err, fenfu.OutTradeNoUsed)
	// The spent code under a new out_trade_no: refused, no order left.
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-1-0002", 100, code))
	wantCode(t, err, fenfu.AuthCodeInvalid)
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-1-0003", 100, "100000000000000000"))
	wantCode(t, err, fenfu.AuthCodeInvalid)
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-1-0004", 100, "99"))
	wantCode(t, err, fenfu.AuthCodeError)
	// An expired code.
	old := e.code(t, c, paycode.Credit)
	e.clock.Advance(paycode.DefaultTTL + time.Second)
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-1-0005", 100, old))
	wantCode(t, err, fenfu.AuthCodeExpire)
	if n := e.orders(t); n != 1 {
		t.Fatalf("orders = %d, want 1", n)
	}
	// A balance code pays from balance, in the same path.
	b := e.consumer(t, 0, 5000)
	o, err = e.pay.Micropay(ctx, e.codeOrder("till-1-0006", 1200, e.code(t, b, paycode.Balance)))
	if err != nil || o.Channel != pay.ChannelBalance || o.TradeState() != pay.Success {
		t.Fatalf("balance code payment = %+v, %v", o, err)
	}
	if got, _ := e.consumers.Get(ctx, b); got.Balance != 3800 {
		t.Fatalf("balance = %d, want 3800", got.Balance)
	}
	e.verify(t)
}

func testMicropayConfirm(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 500000, 0)
	other := e.consumer(t, 500000, 0)
	o, err := e.pay.Micropay(ctx, e.codeOrder("till-2-0001", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.UserPaying)
	if !o.AwaitingConfirmation() || o.TradeState() != pay.UserPaying || o.State != pay.NotPay || o.ConsumerID != c {
		t.Fatalf("waiting order = %+v", o)
	}
	if q, _ := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, "till-2-0001"); q.TradeState() != pay.UserPaying {
		t.Fatalf("query while waiting = %s", q.TradeState())
	}
	// No money moved yet.
	if got, _ := e.consumers.Get(ctx, c); got.Credit.Used != 0 {
		t.Fatalf("credit used while waiting = %d", got.Credit.Used)
	}
	// Another consumer cannot see or confirm it.
	_, err = e.pay.Confirm(ctx, o.ID, other, pay.Client{})
	wantCode(t, err, fenfu.OrderNotExist)
	paid, err := e.pay.Confirm(ctx, o.ID, c, pay.Client{})
	if err != nil || paid.TradeState() != pay.Success {
		t.Fatalf("confirm = %+v, %v", paid, err)
	}
	_, err = e.pay.Confirm(ctx, o.ID, c, pay.Client{})
	wantCode(t, err, fenfu.OrderPaid)
	if q, _ := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, "till-2-0001"); q.TradeState() != pay.Success {
		t.Fatalf("query after confirmation = %s", q.TradeState())
	}

	// Not confirmed in time: the order reads PAYERROR and cannot be paid.
	o2, err := e.pay.Micropay(ctx, e.codeOrder("till-2-0002", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.UserPaying)
	e.clock.Advance(pay.DefaultConfirmWithin)
	if q, _ := e.pay.QueryByID(ctx, e.m.MchID, o2.ID); q.State != pay.PayError || q.TradeState() != pay.PayError || q.AwaitingConfirmation() {
		t.Fatalf("order not confirmed in time = %s (%s)", q.State, q.TradeState())
	}
	_, err = e.pay.Confirm(ctx, o2.ID, c, pay.Client{})
	wantCode(t, err, fenfu.OrderClosed)
	// Unread, an order past its window is moved by recovery.
	o3, err := e.pay.Micropay(ctx, e.codeOrder("till-2-0003", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.UserPaying)
	if r, err := e.pay.Recover(ctx); err != nil || r.Lapsed != 0 {
		t.Fatalf("recover within the window = %+v, %v", r, err)
	}
	e.clock.Advance(pay.DefaultConfirmWithin)
	if r, err := e.pay.Recover(ctx); err != nil || r.Lapsed != 1 {
		t.Fatalf("recover past the window = %+v, %v", r, err)
	}
	if q, _ := e.pay.Get(ctx, o3.ID); q.State != pay.PayError {
		t.Fatalf("order past its window after recovery = %s", q.State)
	}
	// The till resending it is told it failed.
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-2-0002", pay.DefaultNoPINLimit+1, "100000000000000001"))
	wantCode(t, err, fenfu.OutTradeNoUsed)
	if got, _ := e.consumers.Get(ctx, c); got.Credit.Used != pay.DefaultNoPINLimit+1 {
		t.Fatalf("credit used = %d", got.Credit.Used)
	}
	e.verify(t)
}

func testMicropayFails(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 1000, 500)
	code := e.code(t, c, paycode.Balance)
	o, err := e.pay.Micropay(ctx, e.codeOrder("till-3-0001", 800, code))
	wantCode(t, err, fenfu.NotEnough)
	if fenfu.AsError(err).Remedy == "" || o.State != pay.PayError {
		t.Fatalf("short balance: order %s, error %+v", o.State, fenfu.AsError(err))
	}
	if q, _ := e.pay.Get(ctx, o.ID); q.State != pay.PayError || q.TradeState() != pay.PayError {
		t.Fatalf("stored order = %s", q.State)
	}
	// The code is spent: the till needs a new one.
	_, err = e.pay.Micropay(ctx, e.codeOrder("till-3-0002", 100, code))
	wantCode(t, err, fenfu.AuthCodeInvalid)
	// The credit line is short too, and a consumer may be confirming.
	o, err = e.pay.Micropay(ctx, e.codeOrder("till-3-0003", 2000, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.NotEnough)
	if q, _ := e.pay.Get(ctx, o.ID); q.State != pay.PayError {
		t.Fatalf("short line: order %s", q.State)
	}
	// A limit_pay that rules out the code's channel refuses before the
	// code is spent.
	code = e.code(t, c, paycode.Credit)
	r := e.codeOrder("till-3-0004", 100, code)
	r.LimitPay = []string{"no_credit"}
	_, err = e.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.RuleLimit)
	if _, err := e.pay.Micropay(ctx, e.codeOrder("till-3-0005", 100, code)); err != nil {
		t.Fatalf("the code refused for limit_pay still pays: %v", err)
	}
	e.verify(t)
}

func testReverse(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 500000, 10000)
	// A waiting order reversed: REVOKED, and the consumer can no longer pay it.
	w, err := e.pay.Micropay(ctx, e.codeOrder("till-4-0001", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.UserPaying)
	wantCode(t, e.pay.Close(ctx, e.m.MchID, "till-4-0001"), fenfu.TradeError)
	rv, err := e.pay.Reverse(ctx, e.m.MchID, "", "till-4-0001")
	if err != nil || rv.Recall || rv.Order.State != pay.Revoked || rv.Order.TradeState() != pay.Revoked {
		t.Fatalf("reverse of a waiting order = %+v, %v", rv, err)
	}
	_, err = e.pay.Confirm(ctx, w.ID, c, pay.Client{})
	wantCode(t, err, fenfu.OrderClosed)
	if rv, err := e.pay.Reverse(ctx, e.m.MchID, w.ID, ""); err != nil || rv.Order.State != pay.Revoked {
		t.Fatalf("reverse again = %+v, %v", rv, err)
	}
	// A paid credit order reversed: refunded in full, REVOKED.
	p, err := e.pay.Micropay(ctx, e.codeOrder("till-4-0002", 3000, e.code(t, c, paycode.Credit)))
	if err != nil {
		t.Fatal(err)
	}
	rv, err = e.pay.Reverse(ctx, e.m.MchID, "", "till-4-0002")
	if err != nil || rv.Recall || rv.Order.TradeState() != pay.Revoked || rv.Order.Refunded != 3000 || rv.Order.State != pay.Refund {
		t.Fatalf("reverse of a paid order = %+v, %v", rv, err)
	}
	if got, _ := e.consumers.Get(ctx, c); got.Credit.Used != 0 {
		t.Fatalf("credit used after reverse = %d", got.Credit.Used)
	}
	if rf, err := e.pay.QueryRefund(ctx, e.m.MchID, pay.ReverseRefundNo(p.ID)); err != nil || rf.Amount != 3000 || rf.Status != pay.RefundSuccess {
		t.Fatalf("the reverse's refund = %+v, %v", rf, err)
	}
	if rv, err := e.pay.Reverse(ctx, e.m.MchID, "", "till-4-0002"); err != nil || rv.Order.Refunded != 3000 {
		t.Fatalf("reverse again = %+v, %v", rv, err)
	}
	// A partly refunded balance order: the rest is refunded.
	b, err := e.pay.Micropay(ctx, e.codeOrder("till-4-0003", 4000, e.code(t, c, paycode.Balance)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: b.OutTradeNo, OutRefundNo: "part-1", Refund: 1000, Total: 4000}); err != nil {
		t.Fatal(err)
	}
	if rv, err := e.pay.Reverse(ctx, e.m.MchID, b.ID, ""); err != nil || rv.Order.Refunded != 4000 || rv.Order.TradeState() != pay.Revoked {
		t.Fatalf("reverse of a partly refunded order = %+v, %v", rv, err)
	}
	if got, _ := e.consumers.Get(ctx, c); got.Balance != 10000 {
		t.Fatalf("balance after reverse = %d, want 10000", got.Balance)
	}
	// Only code payments are reversed, and only within the window.
	n := e.order(t, "native-0001", 100)
	_, err = e.pay.Reverse(ctx, e.m.MchID, n.ID, "")
	wantCode(t, err, fenfu.TradeError)
	if _, err := e.pay.Micropay(ctx, e.codeOrder("till-4-0004", 100, e.code(t, c, paycode.Credit))); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(pay.DefaultReverseWindow + time.Minute)
	_, err = e.pay.Reverse(ctx, e.m.MchID, "", "till-4-0004")
	wantCode(t, err, fenfu.ReverseExpire)
	_, err = e.pay.Reverse(ctx, e.m.MchID, "", "till-4-none")
	wantCode(t, err, fenfu.OrderNotExist)
	e.verify(t)
	// A revoked order is final: retention takes it when its time comes.
	old, err := e.pay.ExpiredTrades(ctx, e.clock.Now(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range old {
		found = found || (x.ID == w.ID && x.State == pay.Revoked)
	}
	if !found {
		t.Fatalf("retention does not take the revoked order: %+v", old)
	}
}

func testMicropayRace(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	for round := range 5 {
		c := e.consumer(t, 100000, 100000)
		ch := paycode.Credit
		if round%2 == 1 {
			ch = paycode.Balance
		}
		code := e.code(t, c, ch)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		outs := make([]pay.Order, 2)
		nos := []string{fmt.Sprintf("race-%d-till-a", round), fmt.Sprintf("race-%d-till-b", round)}
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = e.pay.Micropay(ctx, e.codeOrder(nos[i], 1500, code))
			}()
		}
		wg.Wait()
		won := 0
		for i := range 2 {
			switch {
			case errs[i] == nil:
				won++
				if outs[i].TradeState() != pay.Success {
					t.Fatalf("winner = %+v", outs[i])
				}
			default:
				wantCode(t, errs[i], fenfu.AuthCodeInvalid)
				if _, err := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, nos[i]); fenfu.ErrorCode(err) != fenfu.OrderNotExist {
					t.Fatalf("the refused till's order: %v", err)
				}
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d payments of one code: %v", round, won, errs)
		}
		if n := e.orders(t); n != round+1 {
			t.Fatalf("round %d: %d orders, want %d", round, n, round+1)
		}
		got, _ := e.consumers.Get(ctx, c)
		if got.Credit.Used+100000-got.Balance != 1500 {
			t.Fatalf("round %d: consumer paid %d + %d", round, got.Credit.Used, 100000-got.Balance)
		}
	}
	e.verify(t)
}

func testMicropayInstallments(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 500000, 0)
	r := e.codeOrder("till-5-0001", 60000, e.code(t, c, paycode.Credit))
	r.Installments = 6
	o, err := e.pay.Micropay(ctx, r)
	if err != nil || o.Installments != 6 {
		t.Fatalf("installments at the counter = %+v, %v", o, err)
	}
	plan, ok, err := credit.PlanOf(ctx, e.pay.Credit, o.AttemptID)
	if err != nil || !ok || plan.Installments != 6 || len(plan.Schedule) != 6 || plan.FeePayer != credit.ConsumerPays || plan.Fee == 0 {
		t.Fatalf("plan = %+v, %v, %v", plan, ok, err)
	}
	if q, _ := e.pay.Get(ctx, o.ID); q.Installments != 6 {
		t.Fatalf("stored installments = %d", q.Installments)
	}
	// A count not allowed is refused before the code is spent.
	code := e.code(t, c, paycode.Credit)
	r = e.codeOrder("till-5-0002", 1000, code)
	r.Installments = 5
	_, err = e.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.ParamError)
	// Installments asked of a balance code are refused too.
	b := e.consumer(t, 0, 100000)
	r = e.codeOrder("till-5-0003", 1000, e.code(t, b, paycode.Balance))
	r.Installments = 3
	_, err = e.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.ParamError)
	// Waiting for the consumer keeps the count the till sent.
	r = e.codeOrder("till-5-0004", pay.DefaultNoPINLimit+100, code)
	r.Installments = 3
	w, err := e.pay.Micropay(ctx, r)
	wantCode(t, err, fenfu.UserPaying)
	paid, err := e.pay.Confirm(ctx, w.ID, c, pay.Client{})
	if err != nil || paid.Installments != 3 {
		t.Fatalf("confirmed in installments = %+v, %v", paid, err)
	}
	e.verify(t)
}

func testMicropayCrash(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 10000, 0)
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	_, err := e.pay.Micropay(ctx, e.codeOrder("till-6-0001", 2500, e.code(t, c, paycode.Credit)))
	if !errors.Is(err, errCrash) {
		t.Fatalf("micropay = %v, want the injected crash", err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	o, _ := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, "till-6-0001")
	if o.State != pay.Paying || o.TradeState() != pay.UserPaying {
		t.Fatalf("after the crash the order is %s (%s)", o.State, o.TradeState())
	}
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Completed != 1 {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	if o, _ = e.pay.Get(ctx, o.ID); o.State != pay.Success || o.TradeType != pay.Micropay {
		t.Fatalf("recovered order = %+v", o)
	}
	// A claim never captured is released back to waiting for its consumer.
	w, err := e.pay.Micropay(ctx, e.codeOrder("till-6-0002", pay.DefaultNoPINLimit+1, e.code(t, c, paycode.Credit)))
	wantCode(t, err, fenfu.UserPaying)
	if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE orders SET state = 'PAYING', attempt_id = 'pa_stale', updated_at = $1 WHERE id = $2`,
		db.Micros(e.clock.Now()), w.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(pay.DefaultRecoverAfter - time.Second)
	if r, err := e.pay.Recover(ctx); err != nil {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	e.clock.Advance(2 * time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Released != 1 {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	if cur, _ := e.pay.Get(ctx, w.ID); !cur.AwaitingConfirmation() || cur.Channel != pay.ChannelCredit {
		t.Fatalf("released code payment = %+v", cur)
	}

	// A reverse interrupted between the stores: recovery finishes its
	// refund; the till, told to call again, marks it reversed.
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	rv, err := e.pay.Reverse(ctx, e.m.MchID, o.ID, "")
	if !errors.Is(err, errCrash) && !rv.Recall {
		t.Fatalf("reverse = %+v, %v; want the injected crash", rv, err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Refunds != 1 {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	if rv, err = e.pay.Reverse(ctx, e.m.MchID, o.ID, ""); err != nil || rv.Order.TradeState() != pay.Revoked {
		t.Fatalf("reverse after recovery = %+v, %v", rv, err)
	}
	if got, _ := e.consumers.Get(ctx, c); got.Credit.Used != 0 {
		t.Fatalf("credit used = %d", got.Credit.Used)
	}
	e.verify(t)
}

func testMicropayRiskConfirm(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	if _, err := e.engine.AddRule(ctx, "staff:test", "large first payments", risk.Rule{Name: "confirm-large",
		Channels: []string{risk.Credit, risk.Balance}, Expr: "amount > 5000", Decision: risk.Confirm,
		Reason: "a payment above ¥50", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c := e.consumer(t, 100000, 100000)
	for _, ch := range []string{paycode.Credit, paycode.Balance} {
		o, err := e.env.pay.Micropay(ctx, e.codeOrder("till-7-"+ch, 6000, e.code(t, c, ch)))
		wantCode(t, err, fenfu.UserPaying)
		if !o.AwaitingConfirmation() {
			t.Fatalf("%s: order = %+v", ch, o)
		}
		paid, err := e.env.pay.Confirm(ctx, o.ID, c, pay.Client{})
		if err != nil || paid.TradeState() != pay.Success {
			t.Fatalf("%s: confirm = %+v, %v", ch, paid, err)
		}
	}
	// Under the amount, the rule does not match: paid at once.
	if _, err := e.env.pay.Micropay(ctx, e.codeOrder("till-7-small", 4000, e.code(t, c, paycode.Credit))); err != nil {
		t.Fatal(err)
	}
	// On the cashier the consumer is in front of fenfu's page: as ALLOW.
	if _, err := e.pay(t, e.m, c, 6000, pay.ChannelCredit); err != nil {
		t.Fatalf("cashier payment with a CONFIRM rule: %v", err)
	}
	e.verify(t)
}

// BenchmarkCodePayment: a till's code payment on SQLite, the consumer's
// code issued first (as the consumer's page does), then created, redeemed
// and paid.
func BenchmarkCodePayment(b *testing.B) {
	for _, ch := range []string{paycode.Credit, paycode.Balance} {
		b.Run(ch, func(b *testing.B) {
			ctx := context.Background()
			ps, m, consumerID := benchService(b, false)
			codes := &paycode.Service{Core: ps.Core, Clock: ps.Clock}
			i := 0
			for b.Loop() {
				i++
				code, err := codes.Issue(ctx, consumerID, ch)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ps.Micropay(ctx, pay.CodeOrder{MchID: m.MchID, AppID: m.AppID, Description: "bench",
					OutTradeNo: fmt.Sprintf("bench-%08d", i), Total: 100, AuthCode: code.Code}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
