package display_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
)

// TestFunnelCountsAPaidOrderOnceWhenShownBeforeAndAfterLogin: a consumer
// opens a ¥20 order before logging in, logs in and pays it. Both views
// are decided by the amount rule; the funnel says an order counts once
// per reason however often it was shown, so the reason converted one
// order, not two.
func TestFunnelCountsAPaidOrderOnceWhenShownBeforeAndAfterLogin(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			e.clock.Set(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			c := e.consumer(t, "C", 500_00)
			// The day's first payment is made, so the next view is decided
			// by the amount, as the logged-out one is.
			if _, err := e.pay.Pay(ctx, e.order(t, 100).Token, c.ID, pay.ChannelBalance); err != nil {
				t.Fatal(err)
			}
			o := e.order(t, 2000)
			if got := e.credit(t, o, nil); got.Reason.Code != display.AmountAtLeastMin {
				t.Fatalf("logged out: %+v", got)
			}
			if got := e.credit(t, o, c); got.Reason.Code != display.AmountAtLeastMin {
				t.Fatalf("logged in: %+v", got)
			}
			if _, err := e.pay.Pay(ctx, o.Token, c.ID, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			steps, err := e.pay.Funnel(ctx, e.m.MchID, e.clock.Now().Add(-time.Hour), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(steps, func(s pay.FunnelStep) bool { return s.Reason == string(display.AmountAtLeastMin) })
			if i < 0 {
				t.Fatalf("no %s in the funnel %+v", display.AmountAtLeastMin, steps)
			}
			if s := steps[i]; s.Exposures != 2 || s.Paid != 1 || s.PaidOnCredit != 1 {
				t.Fatalf("one order shown twice and paid on credit counted as %d exposures, %d paid, %d on credit: %+v",
					s.Exposures, s.Paid, s.PaidOnCredit, steps)
			}
		})
	}
}

// TestReversedCodePaymentLeavesTheDaysFirstPaymentToCome: a code payment
// the merchant reversed (撤销) is voided, refunded in full and answers
// REVOKED; the consumer has not transacted today, so the next order is
// still the day's first and shows credit below ¥10.
func TestReversedCodePaymentLeavesTheDaysFirstPaymentToCome(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			e.clock.Set(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			c := e.consumer(t, "C", 500_00)
			code, err := (&paycode.Service{Core: e.pay.Core, Clock: e.clock}).Issue(ctx, c.ID, paycode.Balance)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.Micropay(ctx, pay.CodeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Milk tea",
				OutTradeNo: "till-reversed", Total: 300, AuthCode: code.Code, Scene: pay.Scene{DeviceID: "till-01"}}); err != nil {
				t.Fatal(err)
			}
			rv, err := e.pay.Reverse(ctx, e.m.MchID, "", "till-reversed")
			if err != nil || rv.Order.TradeState() != pay.Revoked {
				t.Fatalf("reverse: %+v %v", rv, err)
			}
			if got := e.credit(t, e.order(t, 500), c); !got.Shown || got.Reason.Code != display.FirstOfDay {
				t.Fatalf("¥5 after the day's only payment was reversed: %+v", got)
			}
		})
	}
}

// TestMarketExposureTokenKeepsTheConsumerFromTheMerchant: the token goes
// to the merchant's page, so it must not carry fenfu's own consumer id, an
// identifier the same for every merchant (openids differ per appid so
// that merchants cannot link a consumer among themselves).
func TestMarketExposureTokenKeepsTheConsumerFromTheMerchant(t *testing.T) {
	tokens := display.NewTokens([]byte("token test secret, 32 bytes!!!!!"))
	const consumerID = "C20261207ABCDEF0123456789"
	tok := tokens.Sign(display.Token{OrderID: "4200000001", ConsumerID: consumerID, ExposureID: "EX1",
		Expires: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)})
	if got, ok := tokens.Open(tok, time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)); !ok || got.ConsumerID != consumerID {
		t.Fatalf("open: %+v %v", got, ok)
	}
	// The token is base64url, as the merchant's page carries it; neither
	// it nor what it decodes to shows the id.
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("the token is not base64url: %v", err)
	}
	if strings.Contains(tok, consumerID) || strings.Contains(string(raw), consumerID) {
		t.Fatalf("the merchant reads the consumer id in the token: %q", raw)
	}
}

// TestCashierViewsCountOncePerOrderViewerAndReason: a link previewer or a
// reload fetches an order's cashier with no one logged in, again and
// again, and a logged-in consumer reloads it too; the funnel counts those
// views once per order, viewer and reason.
func TestCashierViewsCountOncePerOrderViewerAndReason(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			e.clock.Set(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			c := e.consumer(t, "C", 500_00)
			o, other := e.order(t, 2000), e.order(t, 2000)
			var ids []string
			for range 3 {
				if got := e.credit(t, o, nil); got.Reason.Code != display.AmountAtLeastMin {
					t.Fatalf("logged out: %+v", got)
				}
				x, err := e.dis.Expose(ctx, display.Ask{Order: &o, Merchant: e.m, Surface: pay.SurfaceCashier})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, x.Exposure.ID)
				e.clock.Advance(time.Minute)
			}
			if ids[0] != ids[1] || ids[1] != ids[2] {
				t.Fatalf("anonymous views of one order name exposures %v", ids)
			}
			e.credit(t, other, nil)
			var seen []string
			for range 2 {
				x, err := e.dis.Expose(ctx, display.Ask{Order: &o, Merchant: e.m, Consumer: c, Surface: pay.SurfaceCashier})
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, x.Exposure.ID)
			}
			if seen[0] != seen[1] || seen[0] == ids[0] {
				t.Fatalf("the consumer's views of one order name exposures %v (anonymous: %s)", seen, ids[0])
			}
			steps, err := e.pay.Funnel(ctx, e.m.MchID, e.clock.Now().Add(-time.Hour), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			// One anonymous view of each order, one of the consumer (who
			// viewed twice): the day's first payment is to come, so first of
			// day decides it.
			want := map[string]int{string(display.AmountAtLeastMin): 2, string(display.FirstOfDay): 1}
			for _, s := range steps {
				if s.Exposures != want[s.Reason] {
					t.Errorf("%s: %d exposures, want %d (%+v)", s.Reason, s.Exposures, want[s.Reason], steps)
				}
			}
			if len(steps) != len(want) {
				t.Errorf("funnel %+v, want reasons %v", steps, want)
			}
		})
	}
}
