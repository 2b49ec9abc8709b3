package pay_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
)

func TestServiceOrders(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("complete captures", func(t *testing.T) { testServiceComplete(t, engine) })
			t.Run("cancel and expiry release", func(t *testing.T) { testServiceRelease(t, engine) })
			t.Run("crash between stores", func(t *testing.T) { testServiceCrash(t, engine) })
			t.Run("concurrent completes", func(t *testing.T) { testServiceConcurrent(t, engine) })
		})
	}
}

func (e *env) serviceOrder(t *testing.T, no string, amount fenfu.Fen) pay.ServiceOrder {
	t.Helper()
	end := e.clock.Now().Add(48 * time.Hour).In(fenfu.Shanghai).Format(pay.ServiceTimeLayout)
	so, err := e.pay.CreateServiceOrder(context.Background(), pay.NewServiceOrder{MchID: e.m.MchID, AppID: e.m.AppID, OutOrderNo: no,
		ServiceID: "500001", ServiceIntroduction: "Hotel stay", RiskFund: pay.RiskFund{Name: "DEPOSIT", Amount: amount},
		StartTime: "OnAccept", EndTime: end, NotifyURL: "https://hotel.example/notify"})
	if err != nil {
		t.Fatal(err)
	}
	if so.State != pay.ServiceCreated || so.Package == "" {
		t.Fatalf("created %+v", so)
	}
	return so
}

func (e *env) confirm(t *testing.T, so pay.ServiceOrder, consumerID string, n int) pay.ServiceOrder {
	t.Helper()
	so, err := e.pay.ConfirmServiceOrder(context.Background(), so.Package, consumerID, pay.Client{}, n)
	if err != nil {
		t.Fatal(err)
	}
	if so.State != pay.ServiceDoing {
		t.Fatalf("confirmed order is %s", so.State)
	}
	return so
}

// confirmed is a consumer with a ¥1,000 line who confirmed a service
// order of amount, paid in full.
func (e *env) confirmed(t *testing.T, no string, amount fenfu.Fen) (string, pay.ServiceOrder) {
	t.Helper()
	c := e.consumer(t, 100000, 0)
	return c, e.confirm(t, e.serviceOrder(t, no, amount), c, 0)
}

func (e *env) line(t *testing.T, consumerID string) credit.Line {
	t.Helper()
	l, err := credit.Get(context.Background(), e.pay.Credit, consumerID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) balance(t *testing.T, a ledger.Account) fenfu.Fen {
	t.Helper()
	b, err := ledger.Balance(context.Background(), e.pay.Credit, a)
	if errors.Is(err, sql.ErrNoRows) {
		return 0 // never opened: the consumer never froze anything
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantLine checks a line's used, frozen and available, and that the
// receivable and held accounts say the same.
func (e *env) wantLine(t *testing.T, consumerID string, used, frozen, available fenfu.Fen) {
	t.Helper()
	l := e.line(t, consumerID)
	if l.Used != used || l.Frozen != frozen || l.Available != available {
		t.Fatalf("line used %d frozen %d available %d, want %d %d %d", l.Used, l.Frozen, l.Available, used, frozen, available)
	}
	if got := e.balance(t, credit.Account(consumerID)); got != used {
		t.Fatalf("receivable %d, want %d", got, used)
	}
	if got := e.balance(t, credit.HeldAccount(consumerID)); got != frozen {
		t.Fatalf("held account %d, want %d", got, frozen)
	}
}

func testServiceComplete(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c := e.consumer(t, 100000, 0)
	so := e.serviceOrder(t, "stay-1", 50000)
	// The package confirms nothing at the order cashier, nor an order's
	// token a service order.
	if _, err := e.pay.OrderForToken(ctx, so.Package); err == nil {
		t.Fatal("a package paid as an order's token")
	}
	o := e.order(t, "coffee-1", 100)
	if _, err := e.pay.ConfirmServiceOrder(ctx, o.Token, c, pay.Client{}, 0); err == nil {
		t.Fatal("an order's token confirmed a service order")
	}
	// Completing before the consumer confirmed is refused.
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-1", 100, ""); fenfu.ErrorCode(err) != fenfu.InvalidOrderState {
		t.Fatalf("complete of a CREATED order: %v", err)
	}
	so = e.confirm(t, so, c, 0)
	e.wantLine(t, c, 0, 50000, 50000)
	// The frozen amount is not spendable by other payments.
	big := e.order(t, "spend-60k", 60000)
	if _, err := e.pay.Pay(ctx, big.Token, c, pay.ChannelCredit); fenfu.ErrorCode(err) != fenfu.NotEnough {
		t.Fatalf("payment into the frozen amount: %v", err)
	}
	// Above the frozen amount is refused and changes nothing.
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-1", 50001, ""); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Fatalf("complete above the risk fund: %v", err)
	}
	e.wantLine(t, c, 0, 50000, 50000)
	// A line frozen by staff since the confirmation does not stop the
	// capture: the consumer committed the amount.
	frozen := true
	if err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.ChangeLine(ctx, tx, credit.LineChange{ID: "chg-1", ConsumerID: c, Actor: "risk", Reason: "review", Frozen: &frozen})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-1", 32000, `[{"name":"room","amount":32000}]`)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != pay.ServiceDone || done.StateDescription() != "USER_PAID" || done.TotalAmount != 32000 || done.PaymentID == "" {
		t.Fatalf("completed %+v", done)
	}
	po, err := e.pay.Get(ctx, done.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if po.State != pay.Success || po.TradeType != pay.TradePayScore || po.Total != 32000 || po.Channel != pay.ChannelCredit || po.ConsumerID != c {
		t.Fatalf("payment %+v", po)
	}
	if po.Fee.Fee <= 0 {
		t.Fatalf("payment fee %d, want one charged", po.Fee.Fee)
	}
	// Frozen line: nothing available; 32000 used, the 18000 rest released.
	e.wantLine(t, c, 32000, 0, 0)
	frozen = false
	if err := e.pay.Credit.Update(ctx, func(tx *db.Tx) error {
		_, err := credit.ChangeLine(ctx, tx, credit.LineChange{ID: "chg-2", ConsumerID: c, Actor: "risk", Reason: "ok", Frozen: &frozen})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.wantLine(t, c, 32000, 0, 68000)
	if got := e.balance(t, ledger.AccountOf(ledger.MerchantPending, e.m.MchID)); got != 32000-po.Fee.Fee {
		t.Fatalf("merchant pending %d, want %d", got, 32000-po.Fee.Fee)
	}
	// Completing again with the same total is the same answer; modify
	// semantics: a paid order is not completed twice.
	if again, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-1", 32000, ""); err != nil || again.PaymentID != done.PaymentID {
		t.Fatalf("complete again = %+v, %v", again, err)
	}
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-1", 1000, ""); fenfu.ErrorCode(err) != fenfu.InvalidOrderState {
		t.Fatalf("complete of a DONE order with another total: %v", err)
	}
	if _, err := e.pay.CancelServiceOrder(ctx, e.m.MchID, "stay-1", "guest left"); fenfu.ErrorCode(err) != fenfu.InvalidOrderState {
		t.Fatalf("cancel of a DONE order: %v", err)
	}
	wantEvents(t, e, so.ID+"-USER_CONFIRM", so.ID+"-USER_PAID")
	if has(t, e, done.PaymentID) {
		t.Fatal("the PAYSCORE order was notified as a transaction too")
	}

	// Installments chosen at confirmation give the capture its plan.
	so2 := e.serviceOrder(t, "stay-2", 30000)
	e.confirm(t, so2, c, 3)
	done2, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "stay-2", 30000, "")
	if err != nil {
		t.Fatal(err)
	}
	po2, _ := e.pay.Get(ctx, done2.PaymentID)
	if po2.Installments != 3 {
		t.Fatalf("payment installments %d, want 3", po2.Installments)
	}
	plans := 0
	if err := credit.ScanCaptured(ctx, e.pay.Credit, func(p credit.CapturedPayment) error {
		if p.OrderID == po2.ID {
			plans = p.Installments
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if plans != 3 {
		t.Fatalf("credit plan of %d installments, want 3", plans)
	}
	e.wantLine(t, c, 62000, 0, 38000)
	e.verify(t)

	// The proof sets the service orders against the holds: a confirmed
	// order whose credit store never froze anything is found.
	ghost := e.serviceOrder(t, "stay-ghost", 100)
	if _, err := e.pay.Core.W.ExecContext(ctx, `UPDATE service_orders SET state = 'DOING', consumer_id = $1 WHERE id = $2`, c, ghost.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Verify(ctx); err == nil || !strings.Contains(err.Error(), "without its hold") {
		t.Fatalf("verify of a confirmed order without its hold = %v", err)
	}
}

func wantEvents(t *testing.T, e *env, refs ...string) {
	t.Helper()
	for _, r := range refs {
		if !has(t, e, r) {
			t.Fatalf("no notification %s", r)
		}
	}
}

func has(t *testing.T, e *env, ref string) bool {
	t.Helper()
	var n int
	if err := e.pay.Core.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notify_outbox WHERE ref = $1`, ref).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func testServiceRelease(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c, _ := e.confirmed(t, "cancel-1", 50000)
	e.wantLine(t, c, 0, 50000, 50000)
	got, err := e.pay.CancelServiceOrder(ctx, e.m.MchID, "cancel-1", "guest cancelled")
	if err != nil || got.State != pay.ServiceRevoked {
		t.Fatalf("cancel = %+v, %v", got, err)
	}
	e.wantLine(t, c, 0, 0, 100000)
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "cancel-1", 100, ""); fenfu.ErrorCode(err) != fenfu.InvalidOrderState {
		t.Fatalf("complete of a REVOKED order: %v", err)
	}

	// Expiry: a confirmed order not completed by its end and the grace
	// period is released; a CREATED one expires with nothing to release.
	exp := e.serviceOrder(t, "expire-1", 40000)
	e.confirm(t, exp, c, 0)
	e.serviceOrder(t, "expire-2", 10000)
	e.clock.Advance(48 * time.Hour)
	if n, err := e.pay.ExpireServiceOrders(ctx); err != nil || n != 0 {
		t.Fatalf("expire before the grace = %d, %v", n, err)
	}
	e.wantLine(t, c, 0, 40000, 60000)
	e.clock.Advance(pay.DefaultServiceGrace)
	if n, err := e.pay.ExpireServiceOrders(ctx); err != nil || n != 2 {
		t.Fatalf("expire = %d, %v; want 2", n, err)
	}
	for _, no := range []string{"expire-1", "expire-2"} {
		if so, _ := e.pay.ServiceOrderOf(ctx, e.m.MchID, no); so.State != pay.ServiceExpired {
			t.Fatalf("%s is %s, want EXPIRED", no, so.State)
		}
	}
	e.wantLine(t, c, 0, 0, 100000)
	e.verify(t)
}

func testServiceCrash(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c, so := e.confirmed(t, "crash-1", 50000)
	pay.SetAfterCreditCommit(e.pay, func(string) error { return errCrash })
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "crash-1", 32000, ""); !errors.Is(err, errCrash) {
		t.Fatalf("complete = %v, want the injected crash", err)
	}
	pay.SetAfterCreditCommit(e.pay, nil)
	// The credit store captured; the core store has not heard of it.
	so, _ = e.pay.ServiceOrderOf(ctx, e.m.MchID, "crash-1")
	if so.State != pay.ServiceDoing {
		t.Fatalf("after the crash the service order is %s", so.State)
	}
	e.wantLine(t, c, 32000, 0, 68000)
	// Neither a cancel nor the expiry job undoes a captured hold.
	if _, err := e.pay.CancelServiceOrder(ctx, e.m.MchID, "crash-1", "no"); fenfu.ErrorCode(err) != fenfu.UserPaying {
		t.Fatalf("cancel during capture: %v", err)
	}
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	r, err := e.pay.Recover(ctx)
	if err != nil || r.Completed != 1 {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	so, _ = e.pay.ServiceOrderOf(ctx, e.m.MchID, "crash-1")
	if so.State != pay.ServiceDone {
		t.Fatalf("after recovery the service order is %s", so.State)
	}
	if r, err := e.pay.Recover(ctx); err != nil || r.Completed+r.Released != 0 {
		t.Fatalf("second recover = %+v, %v", r, err)
	}
	if again, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "crash-1", 32000, ""); err != nil || again.State != pay.ServiceDone {
		t.Fatalf("complete after recovery = %+v, %v", again, err)
	}
	e.wantLine(t, c, 32000, 0, 68000) // exactly once
	wantEvents(t, e, so.ID+"-USER_PAID")

	// A capture that never reached the credit store is voided by
	// recovery: the hold stays frozen, the service order DOING, and the
	// completion can be retried.
	so2 := e.serviceOrder(t, "crash-2", 20000)
	e.confirm(t, so2, c, 0)
	// Claim the payment as a completion would, then die before the
	// credit store.
	pay.SetBeforeCapture(e.pay, func(string) error { return errCrash })
	if _, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "crash-2", 15000, ""); !errors.Is(err, errCrash) {
		t.Fatalf("complete = %v, want the injected crash", err)
	}
	pay.SetBeforeCapture(e.pay, nil)
	e.clock.Advance(pay.DefaultRecoverAfter + time.Second)
	if r, err := e.pay.Recover(ctx); err != nil || r.Released != 1 {
		t.Fatalf("recover = %+v, %v; want 1 released", r, err)
	}
	so2, _ = e.pay.ServiceOrderOf(ctx, e.m.MchID, "crash-2")
	if so2.State != pay.ServiceDoing {
		t.Fatalf("after a voided capture the service order is %s", so2.State)
	}
	e.wantLine(t, c, 32000, 20000, 48000)
	done, err := e.pay.CompleteServiceOrder(ctx, e.m.MchID, "crash-2", 15000, "")
	if err != nil || done.State != pay.ServiceDone {
		t.Fatalf("retried complete = %+v, %v", done, err)
	}
	e.wantLine(t, c, 47000, 0, 53000)
	e.verify(t)
}

func testServiceConcurrent(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine)
	c, so := e.confirmed(t, "race-1", 50000)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.pay.CompleteServiceOrder(ctx, e.m.MchID, "race-1", 32000, "")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fenfu.ErrorCode(err) != fenfu.UserPaying:
			t.Fatalf("complete: %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("neither complete succeeded")
	}
	so, _ = e.pay.ServiceOrderOf(ctx, e.m.MchID, "race-1")
	if so.State != pay.ServiceDone {
		t.Fatalf("service order %s", so.State)
	}
	e.wantLine(t, c, 32000, 0, 68000)
	captured := 0
	if err := credit.ScanCaptured(ctx, e.pay.Credit, func(p credit.CapturedPayment) error {
		captured++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if captured != 1 {
		t.Fatalf("%d captures, want 1", captured)
	}
	e.verify(t)
}

// FuzzServiceOrderRequest: whatever a create request says, validating it
// never panics and fails only with PARAM_ERROR; an accepted one ends in
// the future within 90 days, at the end_time it gave, and freezes a
// positive amount.
func FuzzServiceOrderRequest(f *testing.F) {
	f.Add("stay-1", "500001", "Hotel stay", "DEPOSIT", int64(50000), "OnAccept", "20261129100000", "https://h.example/n")
	f.Add("x", "1", "房间", "ESTIMATE_ORDER_COST", int64(1), "20261127100000", "20261127100001", "http://h/n")
	f.Add("", "", "", "", int64(-1), "", "", "")
	f.Add("a|b*c@d", "svc_1", "0123456789012345678901", "ADVANCE", int64(100_000_000_01), "2026-11-27", "20270301000000", "ftp://x")
	f.Add("late-1", "500001", "Hotel stay", "DEPOSIT", int64(50000), "20261201100000", "20261128100000", "https://h.example/n")
	f.Add("old-1", "500001", "Hotel stay", "DEPOSIT", int64(50000), "20261126235959", "20261128100000", "https://h.example/n")
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	f.Fuzz(func(t *testing.T, no, service, intro, fund string, amount int64, start, end, notifyURL string) {
		r := pay.NewServiceOrder{MchID: "1900000001", AppID: "wx1", OutOrderNo: no, ServiceID: service, ServiceIntroduction: intro,
			RiskFund: pay.RiskFund{Name: fund, Amount: fenfu.Fen(amount)}, StartTime: start, EndTime: end, NotifyURL: notifyURL}
		at, err := pay.ValidateServiceOrder(r, now)
		if err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("validate: %v, want PARAM_ERROR", err)
			}
			return
		}
		if !at.After(now) || at.After(now.Add(pay.MaxServiceDuration)) || at.In(fenfu.Shanghai).Format(pay.ServiceTimeLayout) != end || amount <= 0 {
			t.Fatalf("accepted end %s (%v) amount %d", end, at, amount)
		}
		if start != "OnAccept" && (start >= end || start < "20261127000000") {
			t.Fatalf("accepted time_range %s..%s on %v", start, end, now)
		}
	})
}

// TestServiceOrderRisk: the risk rules decide a confirmation as a credit
// payment of the risk fund (a rejection freezes nothing), and a capture
// as the payment it is, except that a rule that would reject the capture
// of a confirmed order holds it for review: the service was delivered.
func TestServiceOrderRisk(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newRiskEnv(t, engine)
			c := e.consumer(t, 100000, 0)
			for _, r := range []risk.Rule{
				{Name: "big-deposit", Channels: []string{risk.Credit}, Expr: "amount == 60000", Decision: risk.Reject, Reason: "test",
					Message: "deposits of 600 yuan are refused", Enabled: true},
				{Name: "odd-capture", Channels: []string{risk.Credit}, Expr: "amount == 32100", Decision: risk.Reject, Reason: "test",
					Message: "refused", Enabled: true},
			} {
				if _, err := e.engine.AddRule(ctx, "staff:test", "test", r); err != nil {
					t.Fatal(err)
				}
			}
			big := e.serviceOrder(t, "risk-big", 60000)
			_, err := e.env.pay.ConfirmServiceOrder(ctx, big.Package, c, pay.Client{}, 0)
			wantCode(t, err, fenfu.RuleLimit)
			if !strings.Contains(err.Error(), "deposits of 600 yuan are refused") {
				t.Fatalf("rejection %v", err)
			}
			e.wantLine(t, c, 0, 0, 100000)
			if so, _ := e.env.pay.ServiceOrderOf(ctx, e.m.MchID, "risk-big"); so.State != pay.ServiceCreated {
				t.Fatalf("rejected confirmation left the order %s", so.State)
			}
			so := e.serviceOrder(t, "risk-capture", 50000)
			e.confirm(t, so, c, 0)
			done, err := e.env.pay.CompleteServiceOrder(ctx, e.m.MchID, "risk-capture", 32100, "")
			if err != nil {
				t.Fatalf("a committed capture was refused: %v", err)
			}
			o, _ := e.env.pay.Get(ctx, done.PaymentID)
			if o.State != pay.Success || o.HoldUntil.IsZero() || !strings.Contains(o.HoldReason, "odd-capture") {
				t.Fatalf("capture %s held until %v for %q, want held by odd-capture", o.State, o.HoldUntil, o.HoldReason)
			}
			e.wantLine(t, c, 32100, 0, 67900)
			e.verify(t)
		})
	}
}
