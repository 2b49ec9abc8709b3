package display_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
)

type env struct {
	clock *fenfu.FakeClock
	pay   *pay.Service
	cons  *consumer.Service
	ms    *merchant.Service
	m     merchant.Merchant
	dis   *display.Service
	risk  *risk.Engine
	repay *repay.Service
	n     int
}

func newEnv(t *testing.T, engine db.Engine) *env {
	t.Helper()
	ctx := context.Background()
	// 2026-12-06 23:59:59 in Shanghai: a second before the day changes.
	clock := fenfu.NewFakeClock(time.Date(2026, 12, 6, 23, 59, 59, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	sb, err := ms.CreateSandbox(ctx, "Tea House", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ms.Get(ctx, sb.MchID)
	if err != nil {
		t.Fatal(err)
	}
	re := &risk.Engine{DB: cr, Clock: clock}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("display test secret, 32 bytes!!!")), IDs: ids,
		Clock: clock, Risk: &pay.Risk{Engine: re}}
	rp := &repay.Service{Core: core, Credit: cr, IDs: ids, Clock: clock}
	e := &env{clock: clock, pay: ps, cons: consumer.New(core, cr, ids, clock), ms: ms, m: m, risk: re, repay: rp,
		dis: display.New(ps, rp, clock)}
	if err := e.dis.Rules.Seed(ctx, display.Defaults()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) consumer(t *testing.T, rating string, limit fenfu.Fen) *consumer.Consumer {
	t.Helper()
	ctx := context.Background()
	c, _, err := e.cons.Create(ctx, consumer.NewConsumer{CreditLimit: limit, Rating: rating, Balance: 100_00})
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.cons.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &x
}

func (e *env) order(t *testing.T, total fenfu.Fen, limitPay ...string) pay.Order {
	t.Helper()
	e.n++
	o, err := e.pay.CreateNative(context.Background(), pay.NativeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Oolong",
		OutTradeNo: fmt.Sprintf("display-%d", e.n), NotifyURL: "https://tea.example/n", Total: total, LimitPay: limitPay})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) credit(t *testing.T, o pay.Order, c *consumer.Consumer) display.Channel {
	t.Helper()
	x, err := e.dis.Expose(context.Background(), display.Ask{Order: &o, Merchant: e.m, Consumer: c, Surface: pay.SurfaceCashier})
	if err != nil {
		t.Fatal(err)
	}
	if x.Exposure.ID == "" || x.Exposure.Reason != string(x.Credit().Reason.Code) || x.Exposure.OrderID != o.ID {
		t.Fatalf("exposure %+v of decision %+v", x.Exposure, x.Credit())
	}
	return x.Credit()
}

// TestDecideFromTheStores: the facts the decision reads from the stores,
// on both engines: the first payment of the Shanghai day at its
// boundary, a frozen line, limit_pay, the control cohort, a risk rule
// rejecting, an unknown consumer.
func TestDecideFromTheStores(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, "C", 500_00)
			// Paid at 23:59:59 the day before: the first payment of the
			// new day is still to come at 00:00:00.
			if _, err := e.pay.Pay(ctx, e.order(t, 100).Token, c.ID, pay.ChannelBalance); err != nil {
				t.Fatal(err)
			}
			if got := e.credit(t, e.order(t, 500), c); got.Shown || got.Reason.Code != display.AmountBelowMin {
				t.Fatalf("¥5 after paying today (23:59:59): %+v", got)
			}
			e.clock.Set(time.Date(2026, 12, 7, 0, 0, 0, 0, fenfu.Shanghai))
			if got := e.credit(t, e.order(t, 500), c); !got.Shown || got.Reason.Code != display.FirstOfDay || got.First {
				t.Fatalf("¥5, first of the day at 00:00:00, rating C: %+v", got)
			}
			// Paid at exactly 00:00:00: that was the day's first.
			if _, err := e.pay.Pay(ctx, e.order(t, 100).Token, c.ID, pay.ChannelBalance); err != nil {
				t.Fatal(err)
			}
			if got := e.credit(t, e.order(t, 500), c); got.Shown || got.Reason.Code != display.AmountBelowMin {
				t.Fatalf("¥5 after a payment at 00:00:00: %+v", got)
			}
			if got := e.credit(t, e.order(t, 999), c); got.Shown {
				t.Fatalf("¥9.99: %+v", got)
			}
			if got := e.credit(t, e.order(t, 1000), c); !got.Shown || got.First || got.Rank.Code != display.RatingNotFirst {
				t.Fatalf("¥10.00, rating C: %+v", got)
			}
			b := e.consumer(t, "B", 500_00)
			if got := e.credit(t, e.order(t, 1000), b); !got.Shown || !got.First || got.Reason.Code != display.FirstOfDay {
				t.Fatalf("¥10.00, rating B, first of day: %+v", got)
			}
			if got := e.credit(t, e.order(t, 600_00), b); !got.Shown || got.Usable || got.Blocked.Code != display.LineShort {
				t.Fatalf("¥600 on a ¥500 line: %+v", got)
			}
			if got := e.credit(t, e.order(t, 1000, "no_credit"), b); got.Shown || got.Reason.Code != display.LimitPayNoCredit {
				t.Fatalf("limit_pay no_credit: %+v", got)
			}
			frozen := true
			if _, err := e.repay.ChangeLine(ctx, b.ID, "staff:t", repay.LineRequest{Frozen: &frozen, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			fb, _ := e.cons.Get(ctx, b.ID)
			// The refusal a payment would answer comes with the decision,
			// so the cashier does not read the line's overdue amounts again.
			if got := e.credit(t, e.order(t, 1000), &fb); !got.Shown || got.Usable || got.Blocked.Code != display.LineFrozen ||
				fenfu.ErrorCode(got.Paused) != fenfu.RuleLimit {
				t.Fatalf("frozen line: %+v", got)
			}
			// A risk rule that would reject the payment hides credit, and
			// the probe records no decision (the two recorded are the
			// balance payments').
			if _, err := e.risk.AddRule(ctx, "staff:t", "test", risk.Rule{Name: "big", Channels: []string{risk.Credit},
				Expr: "amount >= 300000", Decision: risk.Reject, Reason: "x", Message: "too large", Enabled: true}); err != nil {
				t.Fatal(err)
			}
			a := e.consumer(t, "A", 5000_00)
			if got := e.credit(t, e.order(t, 3000_00), a); got.Shown || got.Reason.Code != display.Risk {
				t.Fatalf("risk rule rejecting: %+v", got)
			}
			if got := e.credit(t, e.order(t, 2999_99), a); !got.Shown || !got.First {
				t.Fatalf("below the risk rule: %+v", got)
			}
			if v, err := e.risk.Overview(ctx, time.Time{}); err != nil || v.Decisions[risk.Allow]+v.Decisions[risk.Reject] != 2 {
				t.Fatalf("the probe recorded risk decisions: %+v %v", v.Decisions, err)
			}
			if got := e.credit(t, e.order(t, 1000), nil); !got.Shown || got.First || got.Rank.Code != display.NoConsumer {
				t.Fatalf("unknown consumer: %+v", got)
			}
			if err := e.ms.SetRollout(ctx, e.m.MchID, 0); err != nil {
				t.Fatal(err)
			}
			e.m, _ = e.ms.Get(ctx, e.m.MchID)
			if got := e.credit(t, e.order(t, 1000), a); got.Shown || got.Reason.Code != display.CohortControl {
				t.Fatalf("control cohort: %+v", got)
			}
		})
	}
}

// TestRuleVersions: changes make versions with who and why, a node picks
// up another node's change on Refresh, and a bad change is refused.
func TestRuleVersions(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			if err := e.dis.Rules.Seed(ctx, display.Defaults()); err != nil {
				t.Fatal(err)
			}
			other := &display.Store{DB: e.pay.Core}
			if set, err := other.Current(ctx); err != nil || set.Version != 1 || set.Rules != display.Defaults() {
				t.Fatalf("seeded: %+v %v", set, err)
			}
			set, err := e.dis.Rules.Change(ctx, "staff:risk", "smaller tickets", func(r *display.Rules) error { r.MinAmount = 500; return nil })
			if err != nil || set.Version != 2 || set.MinAmount != 500 {
				t.Fatalf("change: %+v %v", set, err)
			}
			if cur, _ := other.Current(ctx); cur.Version != 1 {
				t.Fatalf("the other node changed before refreshing: %+v", cur)
			}
			if ok, err := other.Refresh(ctx); !ok || err != nil {
				t.Fatalf("refresh: %v %v", ok, err)
			}
			if cur, _ := other.Current(ctx); cur.Version != 2 || cur.MinAmount != 500 || cur.Actor != "staff:risk" {
				t.Fatalf("after refresh: %+v", cur)
			}
			if _, err := e.dis.Rules.Change(ctx, "staff:risk", "bad", func(r *display.Rules) error { r.FirstRating = "Z"; return nil }); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("bad rating: %v", err)
			}
			if _, err := e.dis.Rules.Change(ctx, "staff:risk", " ", func(r *display.Rules) error { return nil }); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("no reason: %v", err)
			}
			if v, err := e.dis.Rules.Versions(ctx); err != nil || len(v) != 2 || v[0].Version != 2 || v[1].Reason != "the default rules" {
				t.Fatalf("versions: %+v %v", v, err)
			}
		})
	}
}
