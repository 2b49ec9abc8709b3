package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// node is a second fenfu node: its own handles on the same stores, its
// own risk engine and payment service.
type node struct {
	pay    *pay.Service
	engine *risk.Engine
}

// openPair opens a store twice, as two nodes would.
func openPair(t *testing.T, engine db.Engine, store string, clock fenfu.Clock) (*db.DB, *db.DB) {
	t.Helper()
	dsn := dbtest.DSN(t, engine, store)
	var out [2]*db.DB
	for i := range out {
		d, err := db.Open(context.Background(), store, dsn, clock, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		out[i] = d
	}
	return out[0], out[1]
}

// newRiskEnv is env with risk control on its default rules, and a second
// node on the same stores whose engine watches for new rule sets.
func newRiskEnv(t *testing.T, engine db.Engine) (*env, *node) {
	t.Helper()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 26, 10, 0, 0, 0, fenfu.Shanghai))
	coreA, coreB := openPair(t, engine, "core", clock)
	creditA, creditB := openPair(t, engine, "credit", clock)
	ea := &risk.Engine{DB: creditA, Clock: clock}
	if err := ea.Seed(context.Background(), risk.DefaultDefaults().Rules()); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, coreA, creditA, clock, ea)
	b := &node{engine: &risk.Engine{DB: creditB, Clock: clock}}
	b.pay = &pay.Service{Core: coreB, Credit: creditB, Merchants: merchant.New(coreB, &fenfu.RandomIDs{}, clock), Tokens: e.pay.Tokens,
		IDs: &fenfu.RandomIDs{}, Clock: clock, Log: e.log, Risk: &pay.Risk{Engine: b.engine}}
	if _, err := b.engine.Current(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.engine.Watch(ctx, 20*time.Millisecond, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e, b
}

func (e *env) payOrder(t *testing.T, p *pay.Service, m merchant.Sandbox, no, consumerID string, total fenfu.Fen) (pay.Order, error) {
	t.Helper()
	o, err := e.pay.CreateNative(context.Background(), pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Risk test",
		OutTradeNo: no, NotifyURL: "https://shop.example/notify", Total: total})
	if err != nil {
		t.Fatal(err)
	}
	paid, err := p.Pay(context.Background(), o.Token, consumerID, pay.ChannelCredit)
	if err != nil {
		return o, err
	}
	return paid, nil
}

// TestRiskRules: a rule added through the staff API acts on a second
// node without a restart; a bad expression is refused naming the
// problem; a shadow rule records without acting; disabling a rule stops
// it.
func TestRiskRules(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e, b := newRiskEnv(t, engine)
			m, err := e.merchants.CreateSandbox(ctx, "Shop", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := e.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 100_000_00, Rating: "B"})
			if err != nil {
				t.Fatal(err)
			}
			out := e.ok(t, "GET", "/admin/risk/rules", "")
			if out["version"] != float64(1) || len(out["rules"].([]any)) != 3 {
				t.Fatalf("rules = %v, want version 1 with the 3 default rules", out)
			}
			// A bad expression is refused with the problem named.
			_, bad := e.do(t, "POST", "/admin/risk/rules", `{"name": "broken", "channels": ["credit"], "expr": "amount >", "decision": "reject",
				"reason": "x", "message": "y", "change_reason": "try"}`)
			if bad["code"] != "PARAM_ERROR" || !strings.Contains(str(bad["message"]), "does not compile") {
				t.Fatalf("bad expression answer = %v", bad)
			}
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/risk/rules", `{"name": "nochange", "channels": ["credit"],
				"expr": "amount > 1", "decision": "alert", "reason": "x"}`) // no change_reason
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/risk/rules", `{"name": "typo", "channels": ["credit"],
				"expr": "amout > 1", "decision": "alert", "reason": "x", "change_reason": "y"}`)
			// Add a rule on node A.
			out = e.ok(t, "POST", "/admin/risk/rules", `{"name": "over-1000", "channels": ["credit"], "expr": "amount > 100000",
				"decision": "reject", "reason": "large payment", "message": "Credit payments above ¥1000 are paused.", "change_reason": "incident 7"}`)
			if out["version"] != float64(2) || out["actor"] != "staff:lin" {
				t.Fatalf("add answer = %v, want version 2 by staff:lin", out)
			}
			// Node B runs it within its poll, without a restart.
			deadline := time.Now().Add(30 * time.Second)
			for {
				set, _ := b.engine.Current(ctx)
				if set.Version == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("node B never loaded rule-set version 2")
				}
				time.Sleep(10 * time.Millisecond)
			}
			_, err = e.payOrder(t, b.pay, m, "risk-b-1", c.ID, 1000_01)
			if fenfu.ErrorCode(err) != fenfu.RuleLimit || !strings.Contains(fenfu.AsError(err).Message, "above ¥1000 are paused") {
				t.Fatalf("payment on node B = %v, want RULE_LIMIT with the rule's message", err)
			}
			// In shadow mode the rule records what it would do, and does not act.
			e.ok(t, "POST", "/admin/risk/rules/over-1000/shadow", `{"change_reason": "watch it first"}`)
			if _, err := b.engine.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			o, err := e.payOrder(t, b.pay, m, "risk-b-2", c.ID, 1000_01)
			if err != nil {
				t.Fatalf("payment under a shadow rule: %v", err)
			}
			// Disabled, it records nothing.
			out = e.ok(t, "POST", "/admin/risk/rules/over-1000/disable", `{"change_reason": "incident over"}`)
			if out["version"] != float64(4) {
				t.Fatalf("disable answer = %v, want version 4", out)
			}
			e.fails(t, fenfu.ResourceNotExists, http.StatusNotFound, "POST", "/admin/risk/rules/none/enable", `{"change_reason": "x"}`)
			if _, err := e.payOrder(t, e.pay, m, "risk-a-3", c.ID, 1000_01); err != nil {
				t.Fatal(err)
			}
			out = e.ok(t, "GET", "/admin/risk/versions", "")
			if n := len(out["versions"].([]any)); n != 4 {
				t.Fatalf("versions = %v, want 4", out)
			}
			// The backtest of version 2 over the day finds the two
			// payments it would have rejected (the rejected one was).
			from := time.Date(2026, 11, 26, 0, 0, 0, 0, fenfu.Shanghai).Format(time.RFC3339)
			to := time.Date(2026, 11, 27, 0, 0, 0, 0, fenfu.Shanghai).Format(time.RFC3339)
			out = e.ok(t, "POST", "/admin/risk/backtest", fmt.Sprintf(`{"version": 2, "from": %q, "to": %q}`, from, to))
			if out["payments"] != float64(3) || out["moves"].(map[string]any)["ALLOW→REJECT"] != float64(2) {
				t.Fatalf("backtest = %v, want 3 payments, 2 ALLOW→REJECT", out)
			}
			found := false
			for _, ch := range out["changed"].([]any) {
				found = found || ch.(map[string]any)["order_id"] == o.ID
			}
			if !found {
				t.Fatalf("backtest's changes %v miss the shadowed payment %s", out["changed"], o.ID)
			}
			out = e.ok(t, "GET", "/admin/risk/overview", "")
			if _, ok := out["level_1_admission_screening"]; !ok || out["level_2_transaction_monitoring"].(map[string]any)["rule_set_version"] != float64(4) {
				t.Fatalf("overview = %v", out)
			}
			if _, err := e.pay.Verify(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRiskQueue: the third payment in a row is held out of the day's
// settlement; staff release it and the next batch settles it; another
// held payment is refunded from the queue through the refund path; an
// action needs a reason and is recorded with who and why.
func TestRiskQueue(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e, _ := newRiskEnv(t, engine)
			m, err := e.merchants.CreateSandbox(ctx, "Shop", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			var held []pay.Order
			for i := range 2 {
				c, _, err := e.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 100_000_00, Rating: "B"})
				if err != nil {
					t.Fatal(err)
				}
				for j := range 3 {
					o, err := e.payOrder(t, e.pay, m, fmt.Sprintf("run-%d-%d", i, j), c.ID, 100_00)
					if err != nil {
						t.Fatal(err)
					}
					if j == 2 {
						held = append(held, o)
					}
					e.clock.Advance(time.Minute)
				}
			}
			out := e.ok(t, "GET", "/admin/risk/queue", "")
			items := out["items"].([]any)
			if len(items) != 2 {
				t.Fatalf("queue = %v, want the 2 holds", out)
			}
			first := items[0].(map[string]any)
			if first["order_id"] != held[0].ID || first["decision"] != "HOLD" || first["features"].(map[string]any)["run"] != float64(3) ||
				first["matched"].([]any)[0].(map[string]any)["rule"] != "same-instrument-run" {
				t.Fatalf("queue item = %v", first)
			}
			// The day's settlement leaves the held payments out.
			e.clock.Set(time.Date(2026, 11, 27, 4, 0, 0, 0, fenfu.Shanghai))
			s := &settle.Service{Core: e.core, Credit: e.credit, Clock: e.clock, Owner: "risk-test", Log: e.log}
			if _, err := s.Run(ctx, "2026-11-26"); err != nil {
				t.Fatal(err)
			}
			for _, o := range held {
				if got, _ := e.pay.Get(ctx, o.ID); got.SettlementID != "" || got.HoldUntil.IsZero() {
					t.Fatalf("held order %s settled in T+1 (%s)", o.ID, got.SettlementID)
				}
			}
			settled := e.ok(t, "GET", "/admin/settlements?mchid="+m.MchID, "")["data"].([]any)
			if len(settled) != 1 || settled[0].(map[string]any)["payments"] != float64(4) {
				t.Fatalf("settlements = %v, want one of the 4 payments not held", settled)
			}
			// Actions need a reason; release the first, refund the second.
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/risk/queue/"+held[0].ID+"/release", `{}`)
			// A hold that is no longer only the risk decision's is not the
			// queue's to lift.
			e.ok(t, "POST", "/admin/orders/"+held[0].ID+"/hold", `{"hours": 72, "reason": "dispute"}`)
			e.fails(t, fenfu.InvalidRequest, http.StatusBadRequest, "POST", "/admin/risk/queue/"+held[0].ID+"/release", `{"reason": "known customer"}`)
			if got, _ := e.pay.Get(ctx, held[0].ID); !strings.HasPrefix(got.HoldReason, "dispute") {
				t.Fatalf("the staff hold became %q", got.HoldReason)
			}
			e.ok(t, "POST", "/admin/orders/"+held[0].ID+"/release", `{}`)
			out = e.ok(t, "POST", "/admin/risk/queue/"+held[0].ID+"/release", `{"reason": "known customer"}`)
			it := out["item"].(map[string]any)
			if it["state"] != "RELEASED" || it["actions"].([]any)[0].(map[string]any)["actor"] != "staff:lin" {
				t.Fatalf("release answer = %v", out)
			}
			e.fails(t, fenfu.InvalidRequest, http.StatusBadRequest, "POST", "/admin/risk/queue/"+held[0].ID+"/release", `{"reason": "again"}`)
			out = e.ok(t, "POST", "/admin/risk/queue/"+held[1].ID+"/refund", `{"reason": "stolen phone"}`)
			if out["item"].(map[string]any)["state"] != "REFUNDED" || out["refund"] == nil {
				t.Fatalf("refund answer = %v", out)
			}
			if got, _ := e.pay.Get(ctx, held[1].ID); got.TradeState() != pay.Refund || got.Refunded != got.Total {
				t.Fatalf("refunded order is %s, refunded %d", got.TradeState(), got.Refunded)
			}
			// The released payment settles in the next batch.
			e.clock.Set(time.Date(2026, 11, 28, 4, 0, 0, 0, fenfu.Shanghai))
			if _, err := s.Run(ctx, "2026-11-27"); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.pay.Get(ctx, held[0].ID); got.SettlementID == "" {
				t.Fatal("the released order was not settled by the next batch")
			}
			// fenfu verify's proof: the books, and every settlement.
			if _, err := e.pay.Verify(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
