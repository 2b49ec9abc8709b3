package pay_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
)

type env struct {
	pay       *pay.Service
	consumers *consumer.Service
	clock     *fenfu.FakeClock
	m         merchant.Sandbox
}

func newEnv(t *testing.T, engine db.Engine) *env {
	t.Helper()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	return newEnvOn(t, engine, clock, clock)
}

// newEnvOn is newEnv on clock, with the core store's transactions on
// coreClock.
func newEnvOn(t *testing.T, engine db.Engine, clock *fenfu.FakeClock, coreClock fenfu.Clock) *env {
	t.Helper()
	core := dbtest.Open(t, engine, "core", coreClock)
	cr := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(context.Background(), "Test shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		pay: &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("test secret test secret test sec")),
			IDs: ids, Clock: clock},
		consumers: consumer.New(core, cr, ids, clock),
		clock:     clock,
		m:         m,
	}
}

func (e *env) order(t *testing.T, no string, total fenfu.Fen) pay.Order {
	t.Helper()
	o, err := e.pay.CreateNative(context.Background(), e.native(no, total))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) native(no string, total fenfu.Fen) pay.NativeOrder {
	return pay.NativeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Coffee", OutTradeNo: no,
		NotifyURL: "https://shop.example/notify", Total: total}
}

func (e *env) consumer(t *testing.T, limit, balance fenfu.Fen) string {
	t.Helper()
	c, _, err := e.consumers.Create(context.Background(), consumer.NewConsumer{CreditLimit: limit, Rating: "B", Balance: balance})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (e *env) verify(t *testing.T) pay.Proof {
	t.Helper()
	p, err := e.pay.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return p
}

func wantCode(t *testing.T, err error, code fenfu.Code) {
	t.Helper()
	if got := fenfu.ErrorCode(err); got != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestPay(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("credit and balance", func(t *testing.T) { testCreditAndBalance(t, engine) })
			t.Run("idempotent create", func(t *testing.T) { testIdempotentCreate(t, engine) })
			t.Run("double pay", func(t *testing.T) { testDoublePay(t, engine) })
			t.Run("refunds", func(t *testing.T) { testRefunds(t, engine) })
			t.Run("crash between stores", func(t *testing.T) { testCrash(t, engine) })
			t.Run("randomized", func(t *testing.T) { testRandomized(t, engine) })
		})
	}
}

func testCreditAndBalance(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 10000, 5000)
	o := e.order(t, "order-credit-1", 8000)
	paid, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit)
	if err != nil {
		t.Fatal(err)
	}
	if paid.TradeState() != pay.Success || paid.Channel != pay.ChannelCredit || paid.PaidAt.IsZero() {
		t.Fatalf("paid order = %+v", paid)
	}
	got, _ := e.consumers.Get(ctx, c)
	if got.Credit.Used != 8000 || got.Credit.Available != 2000 {
		t.Fatalf("credit line after payment = %+v", got.Credit)
	}
	// The line is now short for another 8000.
	o2 := e.order(t, "order-credit-2", 8000)
	_, err = e.pay.Pay(ctx, o2.Token, c, pay.ChannelCredit)
	wantCode(t, err, fenfu.NotEnough)
	if cur, _ := e.pay.Get(ctx, o2.ID); cur.State != pay.NotPay {
		t.Fatalf("order after NOT_ENOUGH is %s, want NOTPAY", cur.State)
	}
	// Balance is short too, then enough for a smaller order.
	_, err = e.pay.Pay(ctx, o2.Token, c, pay.ChannelBalance)
	wantCode(t, err, fenfu.NotEnough)
	o3 := e.order(t, "order-balance-1", 4500)
	if _, err := e.pay.Pay(ctx, o3.Token, c, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	got, _ = e.consumers.Get(ctx, c)
	if got.Balance != 500 {
		t.Fatalf("balance = %d, want 500", got.Balance)
	}
	// From balance the ordinary schedule applies: ¥45 at 0.38 % is 17 fen.
	pending, err := ledger.Balance(ctx, e.pay.Core, ledger.AccountOf(ledger.MerchantPending, e.m.MchID))
	if err != nil || pending != 4500-17 {
		t.Fatalf("core merchant pending = %d, %v; want 4483", pending, err)
	}
	if earned, _ := ledger.Balance(ctx, e.pay.Core, pay.OrdinaryFeeAccount); earned != 17 {
		t.Fatalf("ordinary fee income = %d, want 17", earned)
	}
	// On credit the merchant is owed the amount less the fee (¥80 at
	// 0.70 %: 56 fen), which the platform earns.
	pending, err = ledger.Balance(ctx, e.pay.Credit, ledger.AccountOf(ledger.MerchantPending, e.m.MchID))
	if err != nil || pending != 8000-56 {
		t.Fatalf("credit merchant pending = %d, %v; want 7944", pending, err)
	}
	if earned, _ := ledger.Balance(ctx, e.pay.Credit, credit.FeeAccount); earned != 56 {
		t.Fatalf("platform fee income = %d, want 56", earned)
	}
	// Paying a paid order, closing a paid order.
	_, err = e.pay.Pay(ctx, o.Token, c, pay.ChannelBalance)
	wantCode(t, err, fenfu.OrderPaid)
	wantCode(t, e.pay.Close(ctx, e.m.MchID, o.OutTradeNo), fenfu.OrderPaid)
	// Close an unpaid order; it can no longer be paid; closing again is fine.
	if err := e.pay.Close(ctx, e.m.MchID, o2.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	if err := e.pay.Close(ctx, e.m.MchID, o2.OutTradeNo); err != nil {
		t.Fatalf("second close: %v", err)
	}
	_, err = e.pay.Pay(ctx, o2.Token, c, pay.ChannelCredit)
	wantCode(t, err, fenfu.OrderClosed)
	// limit_pay no_credit refuses credit.
	r := e.native("order-nocredit", 100)
	r.LimitPay = []string{"no_credit"}
	o4, err := e.pay.CreateNative(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.pay.Pay(ctx, o4.Token, c, pay.ChannelCredit)
	wantCode(t, err, fenfu.RuleLimit)
	// Expired code.
	o5 := e.order(t, "order-expire", 100)
	e.clock.Advance(pay.CodeURLTTL + time.Second)
	_, err = e.pay.Pay(ctx, o5.Token, c, pay.ChannelBalance)
	wantCode(t, err, fenfu.OrderClosed)
	e.verify(t)
}

func testIdempotentCreate(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	var wg sync.WaitGroup
	ids := make([]string, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := e.pay.CreateNative(ctx, e.native("same-order-no", 999))
			ids[i], errs[i] = o.ID, err
		}()
	}
	wg.Wait()
	for i := range 50 {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("create %d returned order %s, create 0 returned %s", i, ids[i], ids[0])
		}
	}
	var n int
	if err := e.pay.Core.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("orders = %d (%v), want 1", n, err)
	}
	_, err := e.pay.CreateNative(ctx, e.native("same-order-no", 1000))
	wantCode(t, err, fenfu.OutTradeNoUsed)
	bad := e.native("x", 1)
	_, err = e.pay.CreateNative(ctx, bad)
	wantCode(t, err, fenfu.ParamError)
	bad = e.native("good-order-no", 1)
	bad.AppID = "wx0000000000000000"
	_, err = e.pay.CreateNative(ctx, bad)
	wantCode(t, err, fenfu.ParamError)
}

func testDoublePay(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	for round := range 5 {
		o := e.order(t, fmt.Sprintf("double-%d", round), 700)
		a, b := e.consumer(t, 10000, 10000), e.consumer(t, 10000, 10000)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i, who := range []struct {
			c  string
			ch pay.Channel
		}{{a, pay.ChannelCredit}, {b, pay.ChannelCredit}, {a, pay.ChannelBalance}, {b, pay.ChannelBalance}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.pay.Pay(ctx, o.Token, who.c, who.ch)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch fenfu.ErrorCode(err) {
			case "":
				wins++
			case fenfu.OrderPaid, fenfu.UserPaying:
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d payments won, want exactly 1 (%v)", round, wins, errs)
		}
		ca, _ := e.consumers.Get(ctx, a)
		cb, _ := e.consumers.Get(ctx, b)
		spent := ca.Credit.Used + cb.Credit.Used + (10000 - ca.Balance) + (10000 - cb.Balance)
		if spent != 700 {
			t.Fatalf("round %d: consumers spent %d in all, want 700", round, spent)
		}
	}
	e.verify(t)
}

func testRefunds(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 100000, 100000)
	o := e.order(t, "refund-credit", 10000)
	if _, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit); err != nil {
		t.Fatal(err)
	}
	req := pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: "rf-1", Refund: 3000, Total: 10000}
	r, err := e.pay.Refund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != pay.RefundSuccess || r.Amount != 3000 {
		t.Fatalf("refund = %+v", r)
	}
	// A retry refunds once.
	if r2, err := e.pay.Refund(ctx, req); err != nil || r2.ID != r.ID {
		t.Fatalf("retry = %+v, %v; want the same refund", r2, err)
	}
	got, _ := e.consumers.Get(ctx, c)
	if got.Credit.Used != 7000 {
		t.Fatalf("credit used after refund = %d, want 7000", got.Credit.Used)
	}
	req2 := req
	req2.Refund = 2000
	_, err = e.pay.Refund(ctx, req2)
	wantCode(t, err, fenfu.InvalidRequest) // same out_refund_no, other amount
	req3 := pay.RefundRequest{MchID: e.m.MchID, TransactionID: o.ID, OutRefundNo: "rf-2", Refund: 7001, Total: 10000}
	_, err = e.pay.Refund(ctx, req3)
	wantCode(t, err, fenfu.InvalidRequest) // over the paid amount
	req3.Refund = 7000
	if _, err := e.pay.Refund(ctx, req3); err != nil {
		t.Fatal(err)
	}
	if o, _ = e.pay.Get(ctx, o.ID); o.TradeState() != pay.Refund || o.Refunded != 10000 {
		t.Fatalf("order after full refund: %s refunded %d", o.TradeState(), o.Refunded)
	}
	// Balance refunds, and the 50-refund limit.
	ob := e.order(t, "refund-balance", 100)
	if _, err := e.pay.Pay(ctx, ob.Token, c, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	for i := range 51 {
		_, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: ob.OutTradeNo, OutRefundNo: fmt.Sprintf("b-%d", i), Refund: 1, Total: 100})
		if i < 50 && err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
		if i == 50 {
			wantCode(t, err, fenfu.InvalidRequest)
		}
	}
	got, _ = e.consumers.Get(ctx, c)
	if got.Balance != 100000-100+50 {
		t.Fatalf("balance = %d, want %d", got.Balance, 100000-100+50)
	}
	_, err = e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "no-such-order", OutRefundNo: "x", Refund: 1, Total: 1})
	wantCode(t, err, fenfu.ResourceNotExists)
	unpaid := e.order(t, "unpaid-order", 100)
	_, err = e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: unpaid.OutTradeNo, OutRefundNo: "y", Refund: 1, Total: 100})
	wantCode(t, err, fenfu.InvalidRequest)
	e.verify(t)
}

var errCrash = errors.New("injected crash")

func testCrash(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 10000, 0)
	o := e.order(t, "crash-pay", 2500)
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	if _, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit); !errors.Is(err, errCrash) {
		t.Fatalf("pay = %v, want the injected crash", err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	// The credit store has the money; the order is still being paid.
	if o, _ = e.pay.Get(ctx, o.ID); o.State != pay.Paying || o.TradeState() != pay.NotPay {
		t.Fatalf("after crash order is %s (%s), want PAYING (NOTPAY)", o.State, o.TradeState())
	}
	if p := e.verify(t); p.InFlight != 1 {
		t.Fatalf("in flight = %d, want 1", p.InFlight)
	}
	// Too soon: recovery leaves an in-flight payment alone.
	if r, err := e.pay.Recover(ctx); err != nil || r.Completed+r.Released != 0 {
		t.Fatalf("early recover = %+v, %v", r, err)
	}
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	r, err := e.pay.Recover(ctx)
	if err != nil || r.Completed != 1 {
		t.Fatalf("recover = %+v, %v; want 1 completed", r, err)
	}
	if o, _ = e.pay.Get(ctx, o.ID); o.State != pay.Success {
		t.Fatalf("after recovery order is %s, want SUCCESS", o.State)
	}

	// A claim whose capture never happened is released, and the fence stops
	// the stale attempt from ever capturing.
	o2 := e.order(t, "crash-claim", 1000)
	if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE orders SET state = 'PAYING', channel = 'credit', consumer_id = $1,
		attempt_id = 'pa_stale', updated_at = $2 WHERE id = $3`, c, db.Micros(e.clock.Now()), o2.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Released != 1 {
		t.Fatalf("recover = %+v, %v; want 1 released", r, err)
	}
	if cur, _ := e.pay.Get(ctx, o2.ID); cur.State != pay.NotPay {
		t.Fatalf("released order is %s", cur.State)
	}
	if _, err := e.pay.Pay(ctx, o2.Token, c, pay.ChannelCredit); err != nil {
		t.Fatalf("pay after release: %v", err)
	}

	// A refund interrupted between the stores is finished by recovery.
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	_, err = e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: "crash-rf", Refund: 500, Total: 2500})
	if !errors.Is(err, errCrash) {
		t.Fatalf("refund = %v, want the injected crash", err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Refunds != 1 {
		t.Fatalf("recover = %+v, %v; want 1 refund", r, err)
	}
	if rf, _ := e.pay.QueryRefund(ctx, e.m.MchID, "crash-rf"); rf.Status != pay.RefundSuccess {
		t.Fatalf("refund after recovery is %s", rf.Status)
	}
	if p := e.verify(t); p.InFlight != 0 {
		t.Fatalf("in flight after recovery = %d", p.InFlight)
	}

	// A refund of a purchase the consumer had repaid, interrupted between
	// the stores: recovery, which finds it applied already, reads what it
	// owes back and pays it to the balance.
	c = e.consumer(t, 10000, 0)
	kettle := e.order(t, "crash-repaid", 1000)
	if _, err := e.pay.Pay(ctx, kettle.Token, c, pay.ChannelCredit); err != nil {
		t.Fatal(err)
	}
	if err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.Repay(ctx, tx, credit.Repayment{ID: "RP-crash", ConsumerID: c, Source: "partner:icbc", Key: "crash", Amount: 1000, Payoff: credit.PayoffWaived})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.consumers.Get(ctx, c)
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "crash-repaid", OutRefundNo: "crash-rf2", Refund: 400, Total: 1000}); !errors.Is(err, errCrash) {
		t.Fatalf("refund = %v, want the injected crash", err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Refunds != 1 {
		t.Fatalf("recover = %+v, %v; want 1 refund", r, err)
	}
	if after, _ := e.consumers.Get(ctx, c); after.Balance != before.Balance+400 {
		t.Fatalf("balance after the recovered refund of a repaid purchase: %d, want %d", after.Balance, before.Balance+400)
	}
	e.verify(t)
}

func testRandomized(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	rng := rand.New(rand.NewPCG(1, 2))
	var consumers []string
	for range 8 {
		consumers = append(consumers, e.consumer(t, fenfu.Fen(rng.IntN(200000)), fenfu.Fen(rng.IntN(200000))))
	}
	var paid []pay.Order
	n := 300
	if testing.Short() {
		n = 100
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		total := fenfu.Fen(1 + rng.IntN(30000))
		c := consumers[rng.IntN(len(consumers))]
		ch := pay.ChannelCredit
		if rng.IntN(3) == 0 {
			ch = pay.ChannelBalance
		}
		refundBy := rng.IntN(3)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o, err := e.pay.CreateNative(ctx, e.native(fmt.Sprintf("rand-%05d", i), total))
			if err != nil {
				t.Error(err)
				return
			}
			o, err = e.pay.Pay(ctx, o.Token, c, ch)
			if err != nil {
				if fenfu.ErrorCode(err) != fenfu.NotEnough {
					t.Error(err)
				}
				return
			}
			for k := range refundBy {
				amt := max(o.Total/3, 1)
				_, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: o.OutTradeNo,
					OutRefundNo: fmt.Sprintf("rr-%05d-%d", i, k), Refund: amt, Total: o.Total})
				if err != nil && fenfu.ErrorCode(err) != fenfu.InvalidRequest {
					t.Error(err)
				}
			}
			mu.Lock()
			paid = append(paid, o)
			mu.Unlock()
		}()
	}
	wg.Wait()
	p := e.verify(t)
	if p.Paid != len(paid) || p.Paid == 0 {
		t.Fatalf("proof counts %d paid orders, the run paid %d", p.Paid, len(paid))
	}
	t.Logf("%+v", p)
	// Corrupt one credit posting: verify must name the problem.
	if _, err := e.pay.Credit.W.ExecContext(ctx, `UPDATE ledger_entries SET amount = amount + 1
		WHERE txn_id = (SELECT MIN(txn_id) FROM ledger_entries WHERE txn_id LIKE 'payment:%') AND amount > 0`); err != nil {
		t.Fatal(err)
	}
	var prob *ledger.Problem
	if _, err := e.pay.Verify(ctx); !errors.As(err, &prob) {
		t.Fatalf("verify of corrupted books = %v, want a problem", err)
	}
	t.Logf("corruption found: %v", prob)
}

// BenchmarkCreditPayment is the database work of one credit payment on
// SQLite, without HTTP or signatures: create the order, claim it in core,
// capture the line and post in credit, complete it in core.
func BenchmarkCreditPayment(b *testing.B) {
	benchPayment(b, pay.ChannelCredit, false)
}

// BenchmarkBalancePayment is the same for a balance payment (one core
// transaction after the create).
func BenchmarkBalancePayment(b *testing.B) {
	benchPayment(b, pay.ChannelBalance, false)
}

// BenchmarkCreditPaymentRisk and BenchmarkBalancePaymentRisk are the same
// with the risk engine on its default rules, as fenfu serve runs them.
func BenchmarkCreditPaymentRisk(b *testing.B) {
	benchPayment(b, pay.ChannelCredit, true)
}

func BenchmarkBalancePaymentRisk(b *testing.B) {
	benchPayment(b, pay.ChannelBalance, true)
}

func benchPayment(b *testing.B, channel pay.Channel, withRisk bool) {
	ctx := context.Background()
	ps, m, consumerID := benchService(b, withRisk)
	i := 0
	for b.Loop() {
		i++
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "bench",
			OutTradeNo: fmt.Sprintf("bench-%08d", i), NotifyURL: "https://b.example/n", Total: 100})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ps.Pay(ctx, o.Token, consumerID, channel); err != nil {
			b.Fatal(err)
		}
	}
}

// benchService is a payment service on SQLite stores with the system's
// clock, a merchant and a consumer whose line and balance never run out.
func benchService(b testing.TB, withRisk bool) (*pay.Service, merchant.Sandbox, string) {
	ctx := context.Background()
	clock := fenfu.SystemClock{}
	core := dbtest.Open(b, db.SQLite, "core", clock)
	cr := dbtest.Open(b, db.SQLite, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(ctx, "bench", scheme.RSA)
	if err != nil {
		b.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("bench secret bench secret bench!")), IDs: ids, Clock: clock}
	if withRisk {
		engine := &risk.Engine{DB: cr, Clock: clock}
		if err := engine.Seed(ctx, risk.DefaultDefaults().Rules()); err != nil {
			b.Fatal(err)
		}
		ps.Risk = &pay.Risk{Engine: engine}
	}
	c, _, err := consumer.New(core, cr, ids, clock).Create(ctx, consumer.NewConsumer{CreditLimit: 1 << 50, Rating: "A", Balance: 1 << 50})
	if err != nil {
		b.Fatal(err)
	}
	return ps, m, c.ID
}

// TestPaymentCompilesNothingAgain: once a credit payment (risk on) has run
// a few times, the next ones run every statement as it was prepared, on
// both stores' writers: SQLite compiling a statement again for each
// payment (as it does to a statement whose plan looked at a bound value)
// costs a payment more CPU than most of its statements do.
func TestPaymentCompilesNothingAgain(t *testing.T) {
	ctx := context.Background()
	ps, m, consumerID := benchService(t, true)
	core, cr := dbtest.Compiles(t, ps.Core), dbtest.Compiles(t, ps.Credit)
	payOne := func(i int) {
		t.Helper()
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "compiles",
			OutTradeNo: fmt.Sprintf("compiles-%03d", i), NotifyURL: "https://b.example/n", Total: 100 + fenfu.Fen(i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Pay(ctx, o.Token, consumerID, pay.ChannelCredit); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		payOne(i)
	}
	if core.Load() == 0 || cr.Load() == 0 {
		t.Fatal("no compilation was seen: the watch is not on the writers' connections")
	}
	// A statement first met inside a transaction is prepared once the
	// writer lets its connection go, which may fall in the next window;
	// a statement compiled again at every payment shows in every window.
	var n, k int64
	for w := 1; w <= 3; w++ {
		beforeCore, beforeCredit := core.Load(), cr.Load()
		for i := 3 * w; i < 3*w+3; i++ {
			payOne(i)
		}
		if n, k = core.Load()-beforeCore, cr.Load()-beforeCredit; n == 0 && k == 0 {
			return
		}
	}
	t.Errorf("every three more payments compiled statements again: the last three %d tables authorized on the core store, %d on the credit store", n, k)
}

// TestFeesAcrossTheTierBoundary: a payment that takes a merchant past
// ¥500,000 in the month moves its next payment to the second tier; a
// refund returns its share of the fee; the books prove.
func TestFeesAcrossTheTierBoundary(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 100_000_000_00, 0)
			big := e.order(t, "fee-big", 500_000_01) // ¥500,000.01
			if _, err := e.pay.Pay(ctx, big.Token, c, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			next := e.order(t, "fee-next", 10000) // ¥100
			if _, err := e.pay.Pay(ctx, next.Token, c, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			row := func(order string) (fee, rate int64, tier string) {
				t.Helper()
				if err := e.pay.Credit.R.QueryRow(`SELECT fee, fee_rate, fee_tier FROM credit_payments WHERE order_id = $1 AND state = 'CAPTURED'`,
					order).Scan(&fee, &rate, &tier); err != nil {
					t.Fatal(err)
				}
				return
			}
			if f, r, tier := row(big.ID); tier != "tier1" || r != 7000 || f != 350_000 {
				t.Fatalf("first payment: fee %d rate %d %s, want 350000 at 7000 in tier1", f, r, tier)
			}
			if f, r, tier := row(next.ID); tier != "tier2" || r != 6300 || f != 63 {
				t.Fatalf("next payment: fee %d rate %d %s, want 63 at 6300 in tier2", f, r, tier)
			}
			if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "fee-next", OutRefundNo: "fee-r1", Refund: 5000, Total: 10000}); err != nil {
				t.Fatal(err)
			}
			var back fenfu.Fen
			if err := e.pay.Credit.R.QueryRow(`SELECT fee FROM credit_refunds WHERE order_id = $1`, next.ID).Scan(&back); err != nil || back != 32 {
				t.Fatalf("half refund returned %d fen of fee (%v), want 32 (31.5 rounded half up)", back, err)
			}
			if earned, _ := ledger.Balance(ctx, e.pay.Credit, credit.FeeAccount); earned != 350_000+63-32 {
				t.Fatalf("fee income = %d", earned)
			}
			e.verify(t)
		})
	}
}

func TestVerification(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, db.SQLite)
	c := e.consumer(t, 1_000_000, 1_000_000)
	day0 := e.clock.Now()
	// Day 1: 4 orders, 3 paid (2 credit, 1 balance) after 10, 20 and 30 s.
	for i, ch := range []pay.Channel{pay.ChannelCredit, pay.ChannelCredit, pay.ChannelBalance, ""} {
		o := e.order(t, fmt.Sprintf("verif-a-%d", i), 100)
		if ch != "" {
			e.clock.Advance(time.Duration(10*(i+1)) * time.Second)
			if _, err := e.pay.Pay(ctx, o.Token, c, ch); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(-time.Duration(10*(i+1)) * time.Second)
		}
	}
	// Day 2: 1 order, unpaid.
	e.clock.Advance(24 * time.Hour)
	e.order(t, "verif-b-0", 100)
	got, err := e.pay.Verification(ctx, e.m.MchID, day0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Created != 4 || got[0].Paid != 3 || got[0].PaidBy["credit"] != 2 || got[0].PaidBy["balance"] != 1 ||
		got[0].SuccessRate != 0.75 || got[0].SecondsToPayP50 != 20 || got[1].Created != 1 || got[1].SuccessRate != 0 || got[2].Created != 0 {
		t.Fatalf("verification = %+v", got)
	}
}

// TestMerchantDiscount: a merchant's discount lowers the recorded rate of
// its credit payments, never below the tier's floor, and ends when its
// campaign does.
func TestMerchantDiscount(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 1_000_000, 0)
			payAt := func(no string, amount fenfu.Fen) pay.Order {
				o := e.order(t, no, amount)
				paid, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.pay.Get(ctx, paid.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Fee != paid.Fee {
					t.Fatalf("stored fee %+v, answered %+v", got.Fee, paid.Fee)
				}
				return got
			}
			if o := payAt("DISC-1", 10000); o.Fee.Rate != 7000 || o.Fee.Fee != 70 || o.Fee.Tier != "tier1" {
				t.Errorf("no discount: %+v", o.Fee)
			}
			until := e.clock.Now().Add(time.Hour)
			if err := e.pay.Merchants.SetDiscount(ctx, e.m.MchID, 1500, until); err != nil {
				t.Fatal(err)
			}
			if o := payAt("DISC-2", 10000); o.Fee.Rate != 5500 || o.Fee.Fee != 55 {
				t.Errorf("0.15%% off: %+v", o.Fee)
			}
			if err := e.pay.Merchants.SetDiscount(ctx, e.m.MchID, 4000, until); err != nil {
				t.Fatal(err)
			}
			if o := payAt("DISC-3", 10000); o.Fee.Rate != 5000 || o.Fee.Fee != 50 {
				t.Errorf("0.40%% off stops at the 0.50%% floor: %+v", o.Fee)
			}
			e.clock.Advance(time.Hour)
			if o := payAt("DISC-4", 10000); o.Fee.Rate != 7000 {
				t.Errorf("after the campaign: %+v", o.Fee)
			}
			if err := e.pay.Merchants.SetDiscount(ctx, e.m.MchID, -1, time.Time{}); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("negative discount: %v", err)
			}
			e.verify(t)
		})
	}
}

// TestOrdinaryFeeSetting: ordinary payments are priced by the configured
// flat rate, and their refunds return its share.
func TestOrdinaryFeeSetting(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, db.SQLite)
	e.pay.Fees.Ordinary = fee.Flat("ordinary", 10000) // 1 %
	c := e.consumer(t, 0, 100_000)
	o := e.order(t, "ORD-FEE-1", 12345)
	paid, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelBalance)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Fee.Rate != 10000 || paid.Fee.Fee != 123 {
		t.Fatalf("fee %+v", paid.Fee)
	}
	r, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "ORD-FEE-1", OutRefundNo: "ORD-FEE-R1", Refund: 12345, Total: 12345})
	if err != nil || r.Fee != 123 {
		t.Fatalf("refund %+v %v", r, err)
	}
	e.verify(t)
}

// TestBackfillFees: credit orders and refunds written before orders
// carried their fee get it from the credit store, once.
func TestBackfillFees(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 1_000_000, 0)
			o := e.order(t, "BACKFILL-1", 33333)
			if _, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "BACKFILL-1", OutRefundNo: "BACKFILL-R1",
				Refund: 11111, Total: 33333}); err != nil {
				t.Fatal(err)
			}
			// As a store from before the change left them.
			if _, err := e.pay.Core.Exec(ctx, `UPDATE orders SET fee = 0, fee_rate = 0, fee_tier = ''`); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Core.Exec(ctx, `UPDATE refunds SET fee = 0`); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Core.Exec(ctx, `DELETE FROM backfills`); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Verify(ctx); err == nil {
				t.Fatal("verify passed orders without their fees")
			}
			if n, err := e.pay.Backfill(ctx); err != nil || n != 2 {
				t.Fatalf("backfill changed %d: %v", n, err)
			}
			e.verify(t)
			if n, err := e.pay.Backfill(ctx); err != nil || n != 0 {
				t.Fatalf("second backfill changed %d: %v", n, err)
			}
		})
	}
}

// TestVerifyNamesCorruptBooks corrupts, in each store, one thing the
// proofs merge with the ledger, and checks Verify names it.
func TestVerifyNamesCorruptBooks(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			for _, tc := range []struct {
				name, store, corrupt, what string
			}{
				{"balance payment to another merchant", "core", `UPDATE ledger_entries SET account = 'merchant_pending:other'
					WHERE txn_id LIKE 'payment:%' AND account LIKE 'merchant_pending:%'`, "balance payment without its postings"},
				{"balance refund entry missing", "core", `DELETE FROM ledger_entries
					WHERE txn_id LIKE 'refund:%' AND account LIKE 'platform_fee:%'`, "unbalanced transaction"},
				{"balance refund amount", "core", `UPDATE ledger_entries SET amount = amount - 1
					WHERE txn_id LIKE 'refund:%' AND account LIKE 'merchant_pending:%'`, "unbalanced transaction"},
				{"balance refund moved", "core", `UPDATE ledger_entries SET account = 'platform_fee:other'
					WHERE txn_id LIKE 'refund:%' AND account LIKE 'platform_fee:%'`, "balance refund without its postings"},
				{"payment posting without its order", "core", "", "payment posting without a paid balance order"},
				{"refund posting without its refund", "credit", "", "refund posting without a credit refund"},
				{"credit payment's merchant share as fee", "credit", `UPDATE ledger_entries SET account = 'platform_fee:credit'
					WHERE txn_id LIKE 'payment:%' AND account LIKE 'merchant_pending:%'`, "credit payment without its postings"},
				{"credit refund moved", "credit", `UPDATE ledger_entries SET account = 'merchant_pending:other'
					WHERE txn_id LIKE 'refund:%' AND account LIKE 'merchant_pending:%'`, "credit refund without its postings"},
				{"partly refunded order marked reversed", "core", `UPDATE orders SET reversed_at = 1 WHERE refunded < total`,
					"reversed order not refunded in full"},
				{"credit line used", "credit", `UPDATE credit_lines SET used = used + 1`, "credit line differs from ledger"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					e := newEnv(t, engine)
					c := e.consumer(t, 1_000_000, 1_000_000)
					for i, channel := range []pay.Channel{pay.ChannelBalance, pay.ChannelCredit} {
						no := fmt.Sprintf("CORRUPT-%d", i)
						o := e.order(t, no, 50_000)
						if _, err := e.pay.Pay(ctx, o.Token, c, channel); err != nil {
							t.Fatal(err)
						}
						if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: no, OutRefundNo: no + "-R",
							Refund: 20_000, Total: 50_000}); err != nil {
							t.Fatal(err)
						}
					}
					e.verify(t)
					store := e.pay.Core
					if tc.store == "credit" {
						store = e.pay.Credit
					}
					if tc.corrupt != "" {
						if _, err := store.Exec(ctx, tc.corrupt); err != nil {
							t.Fatal(err)
						}
					} else {
						kind, _, _ := strings.Cut(tc.what, " ")
						if err := store.Update(ctx, func(tx *db.Tx) error {
							return ledger.Post(ctx, tx, ledger.Txn{Kind: kind, Ref: "zz", Entries: []ledger.Entry{
								ledger.Debit(ledger.AccountOf(ledger.MerchantPending, e.m.MchID), 1),
								ledger.Credit(ledger.AccountOf(ledger.PlatformFee, "x"), 1)}})
						}); err != nil {
							t.Fatal(err)
						}
					}
					var prob *ledger.Problem
					if _, err := e.pay.Verify(ctx); !errors.As(err, &prob) || prob.What != tc.what || prob.Store != tc.store {
						t.Fatalf("verify = %v, want %s store: %s", err, tc.store, tc.what)
					}
				})
			}
		})
	}
}

// TestNotificationsFallDueWithSuccess: a payment on either channel, and a
// refund that asked for one on either channel, enqueue their notification
// in the transaction that makes them succeed; a refund without a
// notify_url enqueues none.
func TestNotificationsFallDueWithSuccess(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			events := &notify.Events{DB: e.pay.Core, Clock: e.clock}
			due := func(id string) bool {
				t.Helper()
				st, err := events.Lookup(ctx, e.m.MchID, "EV-"+id)
				if fenfu.ErrorCode(err) == fenfu.ResourceNotExists {
					return false
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.State != notify.Pending {
					t.Fatalf("EV-%s is %s, want PENDING", id, st.State)
				}
				return true
			}
			c := e.consumer(t, 100000, 100000)
			for i, ch := range []pay.Channel{pay.ChannelCredit, pay.ChannelBalance} {
				o := e.order(t, fmt.Sprintf("notify-%d", i), 1000)
				paid, err := e.pay.Pay(ctx, o.Token, c, ch)
				if err != nil {
					t.Fatal(err)
				}
				if !due(paid.ID) {
					t.Errorf("%s payment: no notification enqueued", ch)
				}
				for j, url := range []string{"https://shop.example/refunded", ""} {
					r, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: o.OutTradeNo,
						OutRefundNo: fmt.Sprintf("notify-%d-r%d", i, j), NotifyURL: url, Refund: 100, Total: 1000})
					if err != nil || r.Status != pay.RefundSuccess {
						t.Fatalf("%s refund: %+v, %v", ch, r, err)
					}
					if got := due(r.ID); got != (url != "") {
						t.Errorf("%s refund with notify_url %q: enqueued %v", ch, url, got)
					}
				}
			}
		})
	}
}
