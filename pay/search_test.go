package pay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
)

// TestOrders: a merchant's order list pages newest first by keyset and
// reads each order once; it filters by out_trade_no, transaction_id,
// dates, trade state and channel; and it never shows another merchant's
// orders.
func TestOrders(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 100_000, 100_000)
			var made []string
			for i := range 7 {
				o := e.order(t, fmt.Sprintf("LIST-%d", i), 100)
				made = append(made, o.OutTradeNo)
				switch i {
				case 1, 4:
					if _, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelCredit); err != nil {
						t.Fatal(err)
					}
				case 2:
					if _, err := e.pay.Pay(ctx, o.Token, c, pay.ChannelBalance); err != nil {
						t.Fatal(err)
					}
				case 3:
					if err := e.pay.Close(ctx, e.m.MchID, o.OutTradeNo); err != nil {
						t.Fatal(err)
					}
				}
				e.clock.Advance(time.Minute)
				if i == 3 {
					e.clock.Advance(24 * time.Hour) // the last three the next day
				}
			}
			if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "LIST-4", OutRefundNo: "LIST-4-R", Refund: 50, Total: 100}); err != nil {
				t.Fatal(err)
			}
			other, err := e.pay.Merchants.CreateSandbox(ctx, "Other", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: other.MchID, AppID: other.AppID, Description: "x", OutTradeNo: "LIST-0",
				NotifyURL: "https://shop.example/n", Total: 100}); err != nil {
				t.Fatal(err)
			}
			nos := func(f pay.OrderFilter, limit int) []string {
				t.Helper()
				f.MchID = e.m.MchID
				var out []string
				p := fenfu.Keyset{Limit: limit}
				for range 10 {
					page, next, err := e.pay.Orders(ctx, f, p)
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range page {
						if o.MchID != e.m.MchID {
							t.Fatalf("another merchant's order %+v", o)
						}
						out = append(out, o.OutTradeNo)
					}
					if next != "" && len(page) != limit || p.After != "" && len(page) == 0 {
						t.Fatalf("a page of %d after %v: next %q", len(page), out, next) // a next page only after a full one, never empty
					}
					if next == "" {
						return out
					}
					p.After = next
				}
				return out
			}
			want := slices.Clone(made)
			slices.Reverse(want)
			if got := nos(pay.OrderFilter{}, 2); !slices.Equal(got, want) {
				t.Errorf("paged by 2: %v, want %v", got, want)
			}
			day2 := e.clock.Now().Truncate(24 * time.Hour)
			for name, c := range map[string]struct {
				f     pay.OrderFilter
				limit int
				want  []string
			}{
				"out_trade_no": {pay.OrderFilter{OutTradeNo: "LIST-2"}, 0, []string{"LIST-2"}},
				"success":      {pay.OrderFilter{State: pay.Success}, 0, []string{"LIST-2", "LIST-1"}},
				"refund":       {pay.OrderFilter{State: pay.Refund}, 0, []string{"LIST-4"}},
				"closed":       {pay.OrderFilter{State: pay.Closed}, 0, []string{"LIST-3"}},
				"notpay":       {pay.OrderFilter{State: pay.NotPay}, 0, []string{"LIST-6", "LIST-5", "LIST-0"}},
				"credit":       {pay.OrderFilter{Channel: pay.ChannelCredit}, 0, []string{"LIST-4", "LIST-1"}},
				"to":           {pay.OrderFilter{To: day2.Add(-8 * time.Hour)}, 0, []string{"LIST-3", "LIST-2", "LIST-1", "LIST-0"}},
				"from":         {pay.OrderFilter{From: day2.Add(-8 * time.Hour)}, 1, []string{"LIST-6", "LIST-5", "LIST-4"}},
			} {
				if got := nos(c.f, c.limit); !slices.Equal(got, c.want) {
					t.Errorf("%s: %v, want %v", name, got, c.want)
				}
			}
			o2, _ := e.pay.QueryByOutTradeNo(ctx, e.m.MchID, "LIST-2")
			if got := nos(pay.OrderFilter{TransactionID: o2.ID}, 0); !slices.Equal(got, []string{"LIST-2"}) {
				t.Errorf("by transaction_id: %v", got)
			}
			if _, _, err := e.pay.Orders(ctx, pay.OrderFilter{MchID: e.m.MchID, State: "PAID"}, fenfu.Keyset{}); err == nil {
				t.Error("an unknown state was accepted")
			}
			// Orders made at the same instant (the other merchant's first one
			// too) page by their id, each once.
			for i := range 4 {
				if _, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: other.MchID, AppID: other.AppID, Description: "x", OutTradeNo: fmt.Sprintf("TIE-00%d", i),
					NotifyURL: "https://shop.example/n", Total: 100}); err != nil {
					t.Fatal(err)
				}
			}
			var ties []pay.Order
			for p := (fenfu.Keyset{Limit: 2}); ; {
				page, next, err := e.pay.Orders(ctx, pay.OrderFilter{MchID: other.MchID}, p)
				if err != nil {
					t.Fatal(err)
				}
				ties = append(ties, page...)
				if next == "" || len(ties) > 5 {
					break
				}
				p.After = next
			}
			if len(ties) != 5 {
				t.Fatalf("paged %d of the other merchant's 5 orders: %+v", len(ties), ties)
			}
			for i := 1; i < 5; i++ {
				if !ties[i].CreatedAt.Equal(ties[0].CreatedAt) || ties[i].ID >= ties[i-1].ID {
					t.Errorf("order %d of the same instant: %s at %s after %s", i, ties[i].ID, ties[i].CreatedAt, ties[i-1].ID)
				}
			}
			for _, bad := range []string{"x", fenfu.Cursor("soon", "4200"), fenfu.Cursor("1")} {
				if _, _, err := e.pay.Orders(ctx, pay.OrderFilter{MchID: e.m.MchID}, fenfu.Keyset{After: bad}); fenfu.ErrorCode(err) != fenfu.ParamError {
					t.Errorf("cursor %q: %v", bad, err)
				}
			}
		})
	}
}

// TestTradeStateText: every trade state a list filters by has a name in
// both languages, the Chinese the protocol's trade_state_desc, and no
// two the same.
func TestTradeStateText(t *testing.T) {
	seen := map[string]pay.State{}
	for _, s := range pay.TradeStates {
		w := s.Text()
		if w.ZH == "" || w.EN == "" || w.EN == string(s) {
			t.Errorf("%s is named %q / %q", s, w.ZH, w.EN)
		}
		if other, ok := seen[w.ZH]; ok {
			t.Errorf("%s and %s are both %q", s, other, w.ZH)
		}
		seen[w.ZH] = s
	}
	if got := pay.Success.Text().ZH; got != "支付成功" {
		t.Errorf("SUCCESS is %q, want the protocol's 支付成功", got)
	}
}
