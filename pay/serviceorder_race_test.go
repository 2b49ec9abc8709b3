package pay_test

// Service orders (pre-authorization) under interleavings of
// confirmations, completions and cancels that a gate in a clock makes
// deterministic; refunds of a capture; and what fenfu verify proves.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
)

// gateClock is the service's clock, which stops the next n callers of Now
// whose own function ends with in (e.g. "(*Service).payCredit") until
// the test lets each go: arrived receives when one stops, and a send on
// release lets one go.
type gateClock struct {
	fenfu.Clock
	mu      sync.Mutex
	in      string
	n       int
	arrived chan struct{}
	release chan struct{}
}

func gate(e *env) *gateClock {
	g := &gateClock{Clock: e.clock, arrived: make(chan struct{}, 8), release: make(chan struct{})}
	e.pay.Clock = g
	return g
}

func (g *gateClock) arm(in string, n int) {
	g.mu.Lock()
	g.in, g.n = in, n
	g.mu.Unlock()
}

func (g *gateClock) Now() time.Time {
	pc, _, _, _ := runtime.Caller(1)
	name := runtime.FuncForPC(pc).Name()
	g.mu.Lock()
	stop := g.n > 0 && strings.HasSuffix(name, g.in)
	if stop {
		g.n--
	}
	g.mu.Unlock()
	if stop {
		g.arrived <- struct{}{}
		<-g.release
	}
	return g.Clock.Now()
}

func (g *gateClock) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated call never arrived")
	}
}

func TestServiceOrderInterleavings(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("confirm twice by the consumer keeps the freeze", func(t *testing.T) { testServiceConfirmTwice(t, engine) })
			t.Run("completes with two totals capture the order's total", func(t *testing.T) { testServiceCompleteTotals(t, engine) })
			t.Run("refunds of a capture", func(t *testing.T) { testServiceRefundCapture(t, engine) })
			t.Run("verify finds a confirmed order whose hold was released", func(t *testing.T) { testServiceVerifyReleased(t, engine) })
			t.Run("verify finds a completed-for-nothing order whose hold is frozen", func(t *testing.T) { testServiceVerifyFreeFrozen(t, engine) })
			t.Run("limit lowered under the freeze", func(t *testing.T) { testServiceLimitUnderFreeze(t, engine) })
		})
	}
}

// testServiceConfirmTwice: the consumer's confirmation is sent twice (a
// double tap, a second tab); the later one read the order CREATED before
// the first moved it to DOING. Its freeze is a no-op and its move to DOING
// changes nothing: it must not release the hold, which is the first
// confirmation's, else the order is DOING with nothing frozen and the
// merchant's completion of the delivered service cannot be captured.
func testServiceConfirmTwice(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	g := gate(e)
	c := e.consumer(t, 100000, 0)
	so := e.serviceOrder(t, "twice-1", 50000)

	g.arm("(*Service).ConfirmServiceOrder", 1) // after it read the order CREATED
	late := make(chan error, 1)
	go func() {
		_, err := e.pay.ConfirmServiceOrder(ctx, so.Package, c, pay.Client{}, 0)
		late <- err
	}()
	g.wait(t)
	e.confirm(t, so, c, 0) // the first confirmation, to the end
	g.release <- struct{}{}
	lateErr := <-late

	cur, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, "twice-1")
	h, err := credit.GetHold(ctx, e.pay.Credit, so.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := e.line(t, c)
	if cur.State != pay.ServiceDoing || h.State != credit.HoldFrozen || l.Frozen != 50000 {
		t.Errorf("after two confirmations (the later answered %v): service order %s, hold %s, line frozen %d; want DOING, FROZEN, 50000",
			lateErr, cur.State, h.State, l.Frozen)
	}
	if _, err := e.pay.Verify(ctx); err == nil && h.State != credit.HoldFrozen {
		t.Errorf("verify passes a DOING service order whose hold is %s", h.State)
	}
	done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "twice-1", 30000, "")
	if err != nil || done.State != pay.ServiceDone {
		t.Fatalf("the merchant's completion of the confirmed order = %s, %v", done.State, err)
	}
}

// testServiceCompleteTotals: a completion is retried with another total
// while the first is between reading its PAYSCORE order and claiming it.
// The retry rewrites the order's total (and the service order's); the
// first must then not capture the total it read: what the credit store
// captures is what the core store's order and service order say.
func testServiceCompleteTotals(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	g := gate(e)
	c, so := e.confirmed(t, "totals-1", 50000)

	g.arm("(*Service).payCredit", 2) // each before its claim
	first, second := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "totals-1", 30000, "")
		first <- err
	}()
	g.wait(t)
	go func() {
		_, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "totals-1", 10000, "")
		second <- err
	}()
	g.wait(t)
	g.release <- struct{}{} // one of them claims and captures
	errA := <-first
	if errA != nil {
		// The gate released the second first: let the other through.
		g.release <- struct{}{}
		errA = <-second
	} else {
		g.release <- struct{}{}
		<-second
	}
	if errA != nil {
		t.Fatalf("neither completion succeeded: %v", errA)
	}
	cur, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, "totals-1")
	o, err := e.pay.Get(ctx, cur.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	l := e.line(t, c)
	if l.Used != o.Total || l.Used != cur.TotalAmount {
		t.Errorf("the consumer's line was drawn %d; the PAYSCORE order says %d and the service order %d (its id %s)",
			l.Used, o.Total, cur.TotalAmount, so.ID)
	}
	if _, err := e.pay.Verify(ctx); err != nil {
		t.Logf("verify: %v", err)
	} else if l.Used != o.Total {
		t.Error("verify passes a capture of another amount than its order")
	}
}

// testServiceRefundCapture: a captured service order is refunded in part
// and then in full, like any credit payment; the line gets the capture
// back, the released remainder stays released, and the books prove it.
func testServiceRefundCapture(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 100000, 0)
	so := e.serviceOrder(t, "refund-so", 60000)
	e.confirm(t, so, c, 3)
	done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "refund-so", 45000, "")
	if err != nil {
		t.Fatal(err)
	}
	e.wantLine(t, c, 45000, 0, 55000)
	r1 := pay.RefundRequest{MchID: e.m.MchID, TransactionID: done.PaymentID, OutRefundNo: "so-rf-1", Refund: 15000, Total: 45000}
	if _, err := e.pay.Refund(ctx, r1); err != nil {
		t.Fatal(err)
	}
	e.wantLine(t, c, 30000, 0, 70000)
	r2 := pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: pay.PayScoreOutTradeNo(so.ID), OutRefundNo: "so-rf-2", Refund: 30000, Total: 45000}
	if _, err := e.pay.Refund(ctx, r2); err != nil {
		t.Fatal(err)
	}
	e.wantLine(t, c, 0, 0, 100000)
	cur, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, "refund-so")
	if cur.State != pay.ServiceDone {
		t.Fatalf("refunded service order is %s", cur.State)
	}
	e.verify(t)
}

// testServiceVerifyReleased: a DOING service order whose hold the credit
// store released (what a second confirmation once left, or a row edited)
// is a merchant that believes the consumer's credit frozen when it is
// not; verify says so.
func testServiceVerifyReleased(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	_, so := e.confirmed(t, "rel-1", 50000)
	if err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.Release(ctx, tx, so.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Verify(ctx); err == nil {
		t.Fatal("verify passes a DOING service order whose hold is RELEASED")
	}
}

// testServiceVerifyFreeFrozen: a service order completed for nothing (or
// cancelled, or expired) that keeps its consumer's credit frozen past the
// hold's release time; verify says so, as it does of a
// completed-for-an-amount order whose hold is not captured. Before the
// release time it is an end between its two commits, which verify allows.
func testServiceVerifyFreeFrozen(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	_, so := e.confirmed(t, "free-1", 50000)
	if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE service_orders SET state = 'DONE', total_amount = 0 WHERE id = $1`, so.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Verify(ctx); err != nil {
		t.Errorf("verify fails an order ended between its two commits, before its hold's release time: %v", err)
	}
	h, err := credit.GetHold(ctx, e.pay.Credit, so.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(h.ReleaseAfter)
	if _, err := e.pay.Verify(ctx); err == nil {
		t.Error("verify passes a service order DONE for nothing whose hold is FROZEN")
	}
	if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE service_orders SET state = 'REVOKED' WHERE id = $1`, so.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Verify(ctx); err == nil {
		t.Error("verify passes a REVOKED service order whose hold is FROZEN")
	}
}

// testServiceLimitUnderFreeze: ChangeLine refuses an active line a limit
// below what is used and frozen; were it taken, the capture would leave
// an active line with more used than its limit.
func testServiceLimitUnderFreeze(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c, _ := e.confirmed(t, "limit-1", 50000)
	lim := fenfu.Fen(10000)
	err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.ChangeLine(ctx, tx, credit.LineChange{ID: "lim-1", ConsumerID: c, Actor: "risk", Reason: "lower", Limit: &lim})
		return err
	})
	if fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("lowering an active line's limit under what is frozen = %v; want INVALID_REQUEST", err)
	}
	lim = 50000 // all of it frozen
	if err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.ChangeLine(ctx, tx, credit.LineChange{ID: "lim-2", ConsumerID: c, Actor: "risk", Reason: "lower", Limit: &lim})
		return err
	}); err != nil {
		t.Fatalf("lowering the limit to what is frozen: %v", err)
	}
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "limit-1", 50000, ""); err != nil {
		t.Fatal(err)
	}
	l := e.line(t, c)
	if l.State == credit.LineActive && l.Used > l.Limit {
		t.Errorf("active line with %d used over its %d limit (ChangeLine refuses that state)", l.Used, l.Limit)
	}
}

func TestServiceOrderData(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("out_trade_no taken by the merchant", func(t *testing.T) { testServiceOutTradeNoTaken(t, engine) })
			t.Run("retention of unpaid service orders", func(t *testing.T) { testServiceRetention(t, engine) })
		})
	}
}

// testServiceOutTradeNoTaken: a merchant that charged the excess over the
// risk fund (as the complete answer's remedy says) by a Native order keyed
// by the service order's order_id must still be able to complete the
// service order: its PAYSCORE order's out_trade_no is one no merchant can
// take.
func testServiceOutTradeNoTaken(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c, so := e.confirmed(t, "taken-1", 50000)
	e.order(t, so.ID, 2000)
	done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "taken-1", 30000, "")
	if err != nil || done.State != pay.ServiceDone {
		t.Fatalf("complete of a confirmed order whose order_id is an out_trade_no of the merchant = %s, %v", done.State, err)
	}
	e.wantLine(t, c, 30000, 0, 70000)
}

// testServiceRetention: a service order cancelled, expired or completed
// for nothing has no PAYSCORE order to be anonymised through; retention
// anonymises its attach, notify_url and cancel reason by its own age.
func testServiceRetention(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 100000, 0)
	end := e.clock.Now().Add(48 * time.Hour).In(fenfu.Shanghai).Format(pay.ServiceTimeLayout)
	so, err := e.pay.CreateServiceOrder(ctx, pay.NewServiceOrder{MchID: e.m.MchID, AppID: e.m.AppID, OutOrderNo: "keep-1",
		ServiceID: "500001", ServiceIntroduction: "Hotel stay", RiskFund: pay.RiskFund{Name: "DEPOSIT", Amount: 50000},
		StartTime: "OnAccept", EndTime: end, Attach: "room 1204, guest passport E1234", NotifyURL: "https://hotel.example/notify"})
	if err != nil {
		t.Fatal(err)
	}
	e.confirm(t, so, c, 0)
	if _, err := e.pay.CancelServiceOrder(ctx, e.m.MchID, "keep-1", "guest ill"); err != nil {
		t.Fatal(err)
	}
	if exp, err := e.pay.ExpiredServiceOrders(ctx, e.clock.Now(), "", 1000); err != nil || len(exp) != 0 {
		t.Fatalf("service orders expired as they end: %+v, %v", exp, err)
	}
	e.clock.Advance(10 * 365 * 24 * time.Hour)
	exp, err := e.pay.ExpiredServiceOrders(ctx, e.clock.Now(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 1 || exp[0].ID != so.ID || exp[0].OutTradeNo != "keep-1" || exp[0].ConsumerID != c {
		t.Fatalf("expired service orders %+v; want keep-1 of %s", exp, c)
	}
	if err := e.pay.Core.Update(ctx, func(tx *db.Tx) error {
		n, err := pay.AnonymiseServiceOrders(ctx, tx, []string{so.ID})
		if err == nil && n != 1 {
			t.Errorf("anonymised %d service orders", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if again, err := e.pay.ExpiredServiceOrders(ctx, e.clock.Now(), "", 1000); err != nil || len(again) != 0 {
		t.Errorf("anonymised service orders listed again: %+v, %v", again, err)
	}
	e.verify(t)
	cur, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, "keep-1")
	if cur.Attach != "" || cur.CancelReason != "" || cur.NotifyURL != "" {
		t.Errorf("ten years on, retention left the REVOKED service order's attach %q, cancel reason %q, notify_url %q",
			cur.Attach, cur.CancelReason, cur.NotifyURL)
	}
}

// newGatedCoreEnv is newEnv with the core store's clock gated, so a test
// can stop a core transaction after it began and before its first
// statement.
func newGatedCoreEnv(t *testing.T, engine db.Engine) (*env, *gateClock) {
	t.Helper()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	g := &gateClock{Clock: clock, arrived: make(chan struct{}, 8), release: make(chan struct{})}
	return newEnvOn(t, engine, clock, g), g
}

// TestServiceCancelDuringConfirm: a cancel of a CREATED order finds no
// hold to release; a confirmation then freezes the credit and moves the
// order to DOING before the cancel's core transaction moves it. The
// cancel must not revoke the confirmed order with its freeze kept (until
// the order's end and the grace period, up to 91 days): it releases the
// new hold, or answers the new state. PostgreSQL only: SQLite's single
// writer runs the cancel's core transaction and the confirmation's one
// after the other.
func TestServiceCancelDuringConfirm(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			if engine != db.Postgres {
				t.Skip("the window is the cancel's core transaction, which SQLite's writer serialises")
			}
			ctx := context.Background()
			e, g := newGatedCoreEnv(t, engine)
			c := e.consumer(t, 100000, 0)
			so := e.serviceOrder(t, "cxl-1", 50000)
			g.arm("(*DB).update", 1) // the cancel's core transaction, after its release found no hold
			cancelled := make(chan error, 1)
			go func() {
				_, err := e.pay.CancelServiceOrder(ctx, e.m.MchID, "cxl-1", "guest left")
				cancelled <- err
			}()
			g.wait(t)
			confirmed, cerr := e.pay.ConfirmServiceOrder(ctx, so.Package, c, pay.Client{}, 0)
			g.release <- struct{}{}
			xerr := <-cancelled
			cur, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, "cxl-1")
			l := e.line(t, c)
			switch {
			case cur.State == pay.ServiceRevoked && l.Frozen == 0 && xerr == nil:
			case cur.State == pay.ServiceDoing && l.Frozen == 50000 && xerr != nil:
			default:
				t.Errorf("confirmation answered %s, %v; cancel answered %v; the order is %s with %d of the consumer's line frozen",
					confirmed.State, cerr, xerr, cur.State, l.Frozen)
			}
			e.verify(t)
		})
	}
}

// TestServiceTimeRange: a time_range whose start is after its end, or
// long past, is refused, as WeChat refuses both.
func TestServiceTimeRange(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	base := pay.NewServiceOrder{MchID: "1900000001", AppID: "wx1", OutOrderNo: "tr-1", ServiceID: "500001",
		ServiceIntroduction: "Hotel stay", RiskFund: pay.RiskFund{Name: "DEPOSIT", Amount: 100}, NotifyURL: "https://h.example/n"}
	for _, c := range []struct{ start, end, why string }{
		{"20261201100000", "20261128100000", "start after end"},
		{"20000101000000", "20261128100000", "start 26 years ago"},
	} {
		r := base
		r.StartTime, r.EndTime = c.start, c.end
		if _, err := pay.ValidateServiceOrder(r, now); err == nil {
			t.Errorf("time_range %s..%s (%s) accepted", c.start, c.end, c.why)
		}
	}
	for _, start := range []string{"OnAccept", "20261127000000", "20261127120000"} {
		r := base
		r.StartTime, r.EndTime = start, "20261128100000"
		if _, err := pay.ValidateServiceOrder(r, now); err != nil {
			t.Errorf("time_range %s..%s refused: %v", r.StartTime, r.EndTime, err)
		}
	}
}

// TestClosePayScoreOrder: after a capture that recovery voided, the
// PAYSCORE order waits NOTPAY; the ordinary close route must not close it,
// else the service order is DOING with its credit frozen and no
// completion can capture it any more.
func TestClosePayScoreOrder(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c, so := e.confirmed(t, "close-1", 50000)
			pay.SetBeforeCapture(e.pay, func(string) error { return errCrash })
			if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "close-1", 30000, ""); err == nil {
				t.Fatal("no crash")
			}
			pay.SetBeforeCapture(e.pay, nil)
			e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
			if _, err := e.pay.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			err := e.pay.Close(ctx, e.m.MchID, pay.PayScoreOutTradeNo(so.ID))
			var fe *fenfu.Error
			if !errors.As(err, &fe) || fe.Code != fenfu.TradeError || !strings.Contains(fe.Remedy, "/v3/payscore/serviceorder/close-1/cancel") {
				t.Errorf("close of the PAYSCORE order = %#v; want TRADE_ERROR naming the service order's cancel", err)
			}
			done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "close-1", 30000, "")
			if err != nil || done.State != pay.ServiceDone {
				t.Fatalf("completion after the PAYSCORE order was closed by the ordinary route = %s, %v (line %+v)", done.State, err, e.line(t, c))
			}
		})
	}
}

// TestServiceCompleteFreeDuringCapture: a completion for nothing released
// the hold and, before its core transaction moved the order, a completion
// for an amount made the PAYSCORE order (its capture then fails on the
// released hold). The completion for nothing must not answer success with
// the order still DOING and nothing frozen. PostgreSQL only, as
// TestServiceCancelDuringConfirm.
func TestServiceCompleteFreeDuringCapture(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			if engine != db.Postgres {
				t.Skip("the window is a core transaction, which SQLite's writer serialises")
			}
			ctx := context.Background()
			e, g := newGatedCoreEnv(t, engine)
			c := e.consumer(t, 100000, 0)
			e.confirm(t, e.serviceOrder(t, "free-2", 50000), c, 0)
			g.arm("(*DB).update", 1) // the free completion's core transaction, after its release
			free := make(chan error, 1)
			var got pay.ServiceOrder
			go func() {
				var err error
				got, err = e.pay.CompleteServiceOrder(ctx, e.m.MchID, "free-2", 0, "")
				free <- err
			}()
			g.wait(t)
			_, aerr := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "free-2", 30000, "")
			g.release <- struct{}{}
			ferr := <-free
			if ferr == nil && got.State != pay.ServiceDone {
				t.Errorf("the completion for nothing answered success with the order %s (the other completion: %v); line %+v",
					got.State, aerr, e.line(t, c))
			}
		})
	}
}

// TestServiceCaptureAvailable: the risk features of a capture count the
// hold being captured as available, not frozen: a rule that keeps payments
// within what is available (amount > available) must not hold the capture
// of a pre-authorization of the whole line, which is within the credit
// the consumer froze for it.
func TestServiceCaptureAvailable(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newRiskEnv(t, engine)
			c := e.consumer(t, 50000, 0)
			if _, err := e.engine.AddRule(ctx, "staff:test", "test", risk.Rule{Name: "over-available", Channels: []string{risk.Credit},
				Expr: "amount > available", Decision: risk.Reject, Reason: "test", Message: "over", Enabled: true}); err != nil {
				t.Fatal(err)
			}
			so := e.serviceOrder(t, "avail-1", 50000)
			e.confirm(t, so, c, 0)
			done, err := e.env.pay.CompleteServiceOrder(ctx, e.m.MchID, "avail-1", 30000, "")
			if err != nil {
				t.Fatal(err)
			}
			o, _ := e.env.pay.Get(ctx, done.PaymentID)
			if !o.HoldUntil.IsZero() {
				t.Errorf("a capture of 30000 out of its 50000 hold is held by %q: available was computed with the hold frozen", o.HoldReason)
			}
		})
	}
}
