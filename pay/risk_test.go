package pay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
)

// riskEnv is env with the risk engine on its default rules, and a second
// merchant.
type riskEnv struct {
	*env
	engine *risk.Engine
	other  merchant.Sandbox
	n      int
}

func newRiskEnv(t *testing.T, engine db.Engine) *riskEnv {
	t.Helper()
	e := newEnv(t, engine)
	re := &riskEnv{env: e, engine: &risk.Engine{DB: e.pay.Credit, Clock: e.clock, Metrics: metrics.New()}}
	risk.MetricsHelp(re.engine.Metrics)
	if err := re.engine.Seed(context.Background(), risk.DefaultDefaults().Rules()); err != nil {
		t.Fatal(err)
	}
	e.pay.Risk = &pay.Risk{Engine: re.engine}
	other, err := e.pay.Merchants.CreateSandbox(context.Background(), "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	re.other = other
	return re
}

// pay creates an order of total at merchant m and pays it.
func (e *riskEnv) pay(t *testing.T, m merchant.Sandbox, consumerID string, total fenfu.Fen, ch pay.Channel) (pay.Order, error) {
	t.Helper()
	e.n++
	r := e.native(fmt.Sprintf("risk-order-%d", e.n), total)
	r.MchID, r.AppID = m.MchID, m.AppID
	o, err := e.env.pay.CreateNative(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	paid, err := e.env.pay.Pay(context.Background(), o.Token, consumerID, ch)
	if err != nil {
		return o, err
	}
	return paid, nil
}

func wantRejected(t *testing.T, e *riskEnv, o pay.Order, err error, message string) {
	t.Helper()
	wantCode(t, err, fenfu.RuleLimit)
	if !strings.Contains(fenfu.AsError(err).Message, message) {
		t.Fatalf("rejection says %q, want it to mention %q", fenfu.AsError(err).Message, message)
	}
	// The merchant sees the order unpaid, as WeChat Pay shows it.
	cur, gerr := e.env.pay.Get(context.Background(), o.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if cur.TradeState() != pay.NotPay || cur.TradeStateDesc() != "未支付" {
		t.Fatalf("rejected order is %s (%s), want NOTPAY", cur.TradeState(), cur.TradeStateDesc())
	}
}

func TestRisk(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("daily credit limit", func(t *testing.T) { testDailyLimit(t, engine) })
			t.Run("night large credit", func(t *testing.T) { testNight(t, engine) })
			t.Run("same instrument run holds", func(t *testing.T) { testRun(t, engine) })
			t.Run("concurrent payments under the daily limit", func(t *testing.T) { testConcurrentDaily(t, engine) })
			t.Run("shadow and balance rules", func(t *testing.T) { testShadowAndBalance(t, engine) })
			t.Run("recovery keeps the decision", func(t *testing.T) { testRiskRecovery(t, engine) })
			t.Run("merchant features cached a minute", func(t *testing.T) { testMerchantFacts(t, engine) })
		})
	}
}

func testDailyLimit(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	c := e.consumer(t, 200_000_00, 1_000_00)
	for _, amount := range []fenfu.Fen{30_000_00, 19_999_99, 1} { // ¥50,000.00 in all: passes
		if _, err := e.pay(t, e.m, c, amount, pay.ChannelCredit); err != nil {
			t.Fatalf("credit payment of %s toward ¥50,000.00: %v", fenfu.Yuan(amount), err)
		}
	}
	o, err := e.pay(t, e.m, c, 1, pay.ChannelCredit) // ¥50,000.01
	wantRejected(t, e, o, err, "limited to ¥50000.00 a day")
	// The order stays payable by another channel.
	if _, err := e.env.pay.Pay(ctx, o.Token, c, pay.ChannelBalance); err != nil {
		t.Fatalf("balance payment of the rejected order: %v", err)
	}
	// The next Asia/Shanghai day starts over.
	e.clock.Set(time.Date(2026, 11, 28, 0, 0, 0, 0, fenfu.Shanghai))
	if _, err := e.pay(t, e.m, c, 1_000_00, pay.ChannelCredit); err != nil {
		t.Fatalf("first payment of the next day: %v", err)
	}
	got, _ := e.consumers.Get(ctx, c)
	if got.Credit.Used != 51_000_00 {
		t.Fatalf("credit used = %s, want 51000.00: the rejected attempt must not draw", fenfu.Yuan(got.Credit.Used))
	}
	e.verify(t)
}

func testNight(t *testing.T, engine db.Engine) {
	e := newRiskEnv(t, engine)
	const above = 5_000_01
	steps := []struct {
		at     time.Time
		amount fenfu.Fen
		reject bool
	}{
		{time.Date(2026, 11, 27, 22, 59, 59, 0, fenfu.Shanghai), above, false},
		{time.Date(2026, 11, 27, 23, 0, 0, 0, fenfu.Shanghai), 5_000_00, false},
		{time.Date(2026, 11, 27, 23, 0, 0, 0, fenfu.Shanghai), above, true},
		{time.Date(2026, 11, 28, 1, 59, 59, 0, fenfu.Shanghai), above, true},
		{time.Date(2026, 11, 28, 2, 0, 0, 0, fenfu.Shanghai), above, false},
	}
	for i, s := range steps {
		e.clock.Set(s.at)
		c := e.consumer(t, 100_000_00, 0) // a fresh consumer: no day total, no run
		o, err := e.pay(t, e.m, c, s.amount, pay.ChannelCredit)
		if s.reject {
			wantRejected(t, e, o, err, "not accepted between 23:00 and 02:00")
		} else if err != nil {
			t.Fatalf("step %d, %s ¥%s: %v", i, s.at.Format(time.TimeOnly), fenfu.Yuan(s.amount), err)
		}
	}
	e.verify(t)
}

func testRun(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	c := e.consumer(t, 100_000_00, 0)
	step := func() { e.clock.Advance(time.Minute) }
	// Another merchant in between resets the run: A, B, A, A.
	for i, m := range []merchant.Sandbox{e.m, e.other, e.m, e.m} {
		o, err := e.pay(t, m, c, 100_00, pay.ChannelCredit)
		if err != nil {
			t.Fatal(err)
		}
		if !o.HoldUntil.IsZero() {
			t.Fatalf("payment %d is held, but no run of 3 at one merchant happened", i)
		}
		step()
	}
	// The third in a row at A holds: it succeeds, settlement waits 48 h.
	o, err := e.pay(t, e.m, c, 100_00, pay.ChannelCredit)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.env.pay.Get(ctx, o.ID)
	if got.State != pay.Success || !got.HoldUntil.Equal(got.PaidAt.Add(48*time.Hour)) || got.HoldReason != "risk: same-instrument-run" {
		t.Fatalf("third payment in a row: state %s, held until %v (paid %v) for %q; want held 48 h", got.State, got.HoldUntil, got.PaidAt, got.HoldReason)
	}
	q, _, err := e.engine.Queue(ctx, risk.QueueFilter{State: risk.Open})
	if err != nil || len(q) != 1 || q[0].OrderID != o.ID || q[0].Decision != risk.Hold || q[0].Features.Run != 3 {
		t.Fatalf("risk queue = %+v, %v; want the held payment with run 3", q, err)
	}
	var m strings.Builder
	e.engine.Metrics.Write(&m)
	for _, want := range []string{`fenfu_risk_rule_matches_total{decision="HOLD",mode="act",rule="same-instrument-run"} 1`,
		`fenfu_risk_payments_total{decision="HOLD"} 1`, `fenfu_risk_payments_total{decision="ALLOW"} 4`, "fenfu_risk_evaluation_seconds_count 5", `fenfu_risk_evaluation_seconds_bucket{le="1e-06"}`} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, m.String())
		}
	}
	// Beyond the window, a run starts over.
	e.clock.Advance(11 * time.Minute)
	if o, err := e.pay(t, e.m, c, 100_00, pay.ChannelCredit); err != nil || !o.HoldUntil.IsZero() {
		t.Fatalf("payment after the window: held until %v, %v; want not held", o.HoldUntil, err)
	}
	e.verify(t)
}

func testConcurrentDaily(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	for round := range 3 {
		c := e.consumer(t, 100_000_00, 0)
		orders := make([]pay.Order, 2)
		for i := range orders {
			e.n++
			orders[i] = e.order(t, fmt.Sprintf("concurrent-%d-%d", round, i), 30_000_00)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range orders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.env.pay.Pay(ctx, orders[i].Token, c, pay.ChannelCredit)
			}()
		}
		wg.Wait()
		wins, rejects := 0, 0
		for _, err := range errs {
			switch fenfu.ErrorCode(err) {
			case "":
				wins++
			case fenfu.RuleLimit:
				rejects++
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 || rejects != 1 {
			t.Fatalf("round %d: %d succeeded, %d rejected; want exactly one of each (%v)", round, wins, rejects, errs)
		}
		got, _ := e.consumers.Get(ctx, c)
		if got.Credit.Used != 30_000_00 {
			t.Fatalf("round %d: credit used %s, want 30000.00", round, fenfu.Yuan(got.Credit.Used))
		}
	}
	e.verify(t)
}

func testShadowAndBalance(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	// No default rule names balance, yet a balance payment's decision is
	// recorded: a backtest of a balance rule replays it.
	early, err := e.pay(t, e.m, e.consumer(t, 0, 100_00), 100_00, pay.ChannelBalance)
	if err != nil {
		t.Fatal(err)
	}
	if n := decisionsOf(t, e, early.ID); n != 1 {
		t.Fatalf("a balance payment no rule names recorded %d decisions, want its one", n)
	}
	_, err = e.engine.Change(ctx, "staff:test", "watch large payments", func(rs []risk.Rule) ([]risk.Rule, error) {
		return append(rs,
			risk.Rule{Name: "large-shadow", Channels: []string{risk.Credit, risk.Balance}, Expr: "amount >= 100000", Decision: risk.Reject,
				Reason: "watching", Message: "no", Enabled: true, Shadow: true},
			risk.Rule{Name: "balance-device", Channels: []string{risk.Balance}, Expr: `device == "bad-device"`, Decision: risk.Reject,
				Reason: "known bad device", Message: "This device cannot pay here.", Enabled: true},
			risk.Rule{Name: "balance-hold", Channels: []string{risk.Balance}, Expr: "amount == 77700", Decision: risk.Hold,
				Reason: "odd amount", Enabled: true}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.consumer(t, 100_000_00, 100_000_00)
	// A shadow rule records what it would decide but does not act.
	o, err := e.pay(t, e.m, c, 2_000_00, pay.ChannelCredit)
	if err != nil {
		t.Fatalf("a payment matching only a shadow rule: %v", err)
	}
	d := decisionOf(t, e, o.ID)
	if d.decision != risk.Allow || !strings.Contains(d.matched, `"rule":"large-shadow"`) || !strings.Contains(d.matched, `"shadow":true`) {
		t.Fatalf("decision = %+v; want ALLOW with the shadow match recorded", d)
	}
	// Balance payments are evaluated by the rules that name balance.
	e.n++
	bad := e.order(t, fmt.Sprintf("risk-order-%d", e.n), 100)
	_, err = e.env.pay.PayFrom(ctx, bad.Token, c, pay.ChannelBalance, pay.Client{IP: "203.0.113.9", Device: "bad-device"})
	wantRejected(t, e, bad, err, "This device cannot pay here.")
	if _, err := e.env.pay.PayFrom(ctx, bad.Token, c, pay.ChannelBalance, pay.Client{Device: "good-device"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.env.pay.PayFrom(ctx, bad.Token, c, pay.ChannelBalance, pay.Client{Device: "no spaces"}); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Fatalf("a malformed device id: %v, want PARAM_ERROR", err)
	}
	// The merchant's scene_info: its terminal, and the payer's address
	// when the cashier did not see one.
	if _, err := e.engine.AddRule(ctx, "staff:test", "a cloned terminal", risk.Rule{Name: "cloned-terminal", Channels: []string{risk.Credit},
		Expr: `terminal == "POS-13" && ip == "198.51.100.7"`, Decision: risk.Reject, Reason: "cloned", Message: "This terminal cannot take credit.", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	r := e.native("scene-order-1", 100)
	r.Scene = pay.Scene{DeviceID: "POS-13", PayerClientIP: "198.51.100.7"}
	so, err := e.env.pay.CreateNative(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := e.env.pay.CreateNative(ctx, r); err != nil || again.ID != so.ID {
		t.Fatalf("the same order again: %v", err)
	}
	r.Scene.DeviceID = "POS-14"
	_, err = e.env.pay.CreateNative(ctx, r)
	wantCode(t, err, fenfu.OutTradeNoUsed)
	_, err = e.env.pay.Pay(ctx, so.Token, c, pay.ChannelCredit)
	wantRejected(t, e, so, err, "This terminal cannot take credit.")
	if _, err := e.env.pay.PayFrom(ctx, so.Token, c, pay.ChannelCredit, pay.Client{IP: "203.0.113.1"}); err != nil {
		t.Fatalf("the cashier's address comes first: %v", err)
	}
	held, err := e.pay(t, e.m, c, 777_00, pay.ChannelBalance)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.env.pay.Get(ctx, held.ID); got.HoldUntil.IsZero() || got.HoldReason != "risk: balance-hold" {
		t.Fatalf("balance payment held until %v for %q, want held", got.HoldUntil, got.HoldReason)
	}
	if d := decisionOf(t, e, held.ID); d.decision != risk.Hold {
		t.Fatalf("a balance payment the rules hold recorded %+v, want its HOLD", d)
	}
	e.verify(t)
}

type recorded struct {
	decision risk.Decision
	matched  string
}

func decisionOf(t *testing.T, e *riskEnv, orderID string) recorded {
	t.Helper()
	var r recorded
	// The test reads the risk package's table directly to see what was
	// recorded, not what the engine reports.
	if err := e.env.pay.Credit.QueryRowContext(context.Background(), `SELECT decision, matched FROM risk_decisions WHERE order_id = $1`, orderID).
		Scan(&r.decision, &r.matched); err != nil {
		t.Fatal(err)
	}
	return r
}

func testMerchantFacts(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	if _, err := e.engine.AddRule(ctx, "staff:test", "refund-heavy merchants", risk.Rule{Name: "refund-heavy", Channels: []string{risk.Credit},
		Expr: "refund_rate > 0.3 && merchant_age_days == 0", Decision: risk.Reject, Reason: "refunds", Message: "Refunds are high here.", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	pays := func() (pay.Order, error) {
		return e.pay(t, e.m, e.consumer(t, 100_000_00, 0), 100_00, pay.ChannelCredit)
	}
	var paid []pay.Order
	for range 2 {
		o, err := pays()
		if err != nil {
			t.Fatal(err)
		}
		paid = append(paid, o)
	}
	if _, err := e.env.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: paid[0].OutTradeNo, OutRefundNo: "rf-1",
		Refund: paid[0].Total, Total: paid[0].Total}); err != nil {
		t.Fatal(err)
	}
	// With the next payment a third of the merchant's payments are
	// refunded, but its features are read at most once a minute.
	if _, err := pays(); err != nil {
		t.Fatalf("a payment within the minute the features are kept: %v", err)
	}
	e.clock.Advance(time.Minute)
	o, err := pays()
	wantRejected(t, e, o, err, "Refunds are high here.")
	if d := decisionOf(t, e, o.ID); !strings.Contains(d.matched, `"rule":"refund-heavy"`) {
		t.Fatalf("decision = %+v; want the refund-heavy match", d)
	}
}

// decisionsOf counts the decisions recorded of an order's payments.
func decisionsOf(t *testing.T, e *riskEnv, orderID string) int {
	t.Helper()
	var n int
	if err := e.env.pay.Credit.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM risk_decisions WHERE order_id = $1`, orderID).
		Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testRiskRecovery(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newRiskEnv(t, engine)
	c := e.consumer(t, 100_000_00, 0)
	for range 2 {
		if _, err := e.pay(t, e.m, c, 100_00, pay.ChannelCredit); err != nil {
			t.Fatal(err)
		}
	}
	// The third in a row holds; the process dies after the credit commit.
	crash := errors.New("crash")
	pay.SetAfterCreditCommit(e.env.pay, func(string) error { return crash })
	o, err := e.pay(t, e.m, c, 100_00, pay.ChannelCredit)
	if !errors.Is(err, crash) {
		t.Fatalf("payment = %v, want the simulated crash", err)
	}
	pay.SetAfterCreditCommit(e.env.pay, nil)
	e.clock.Advance(time.Minute)
	r, err := e.env.pay.Recover(ctx)
	if err != nil || r.Completed != 1 {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	got, _ := e.env.pay.Get(ctx, o.ID)
	if got.State != pay.Success || !got.HoldUntil.Equal(got.PaidAt.Add(48*time.Hour)) {
		t.Fatalf("recovered payment: %s held until %v, paid %v; want held 48 h", got.State, got.HoldUntil, got.PaidAt)
	}
	e.verify(t)
}

// TestCreditPaymentRoundTrips: on PostgreSQL a credit payment with risk
// control on, made as the cashier makes it, costs three round trips in
// the core store (the consumer's session with the order read Ahead; the
// order's claim; its completion with the notification and the COMMIT)
// and three in the credit store (the line's lock with the reads after it;
// the decision and the capture with its postings; the plan with the
// COMMIT). The notification is due, the books prove.
func TestCreditPaymentRoundTrips(t *testing.T) {
	if !slices.Contains(dbtest.Engines(), db.Postgres) {
		t.Skip("FENFU_TEST_POSTGRES is not set")
	}
	e := newRiskEnv(t, db.Postgres)
	c := e.consumer(t, 100_000_00, 0)
	session, err := e.consumers.StartSession(context.Background(), c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // the first ones prepare the statements on their connections
		e.n++
		o, err := e.env.pay.CreateNative(context.Background(), e.native(fmt.Sprintf("trips-%d", e.n), 10_00))
		if err != nil {
			t.Fatal(err)
		}
		ctx, tally := db.WithTally(context.Background(), false)
		ctx = e.env.pay.OrderAhead(ctx, o.Token)
		payer, err := e.consumers.Session(ctx, session)
		if err != nil || payer != c {
			t.Fatalf("session: %q %v", payer, err)
		}
		paid, err := e.env.pay.PayIn(ctx, o.Token, payer, pay.ChannelCredit, pay.Client{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if paid.State != pay.Success || paid.Total != 10_00 {
			t.Fatalf("paid %+v", paid)
		}
		if n := tally.Counts(); i >= 3 && (n["core"] != 3 || n["credit"] != 3) {
			t.Errorf("payment %d: %v round trips, want core 3 and credit 3", i, n)
		}
	}
	var due int
	if err := e.env.pay.Core.QueryRowContext(context.Background(), `SELECT count(*) FROM notify_outbox`).Scan(&due); err != nil || due != 6 {
		t.Fatalf("%d notifications due (%v), want 6", due, err)
	}
	e.verify(t)
}
