package settle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// TestListPageAndFeeStatement: a merchant's settlements page newest first
// by keyset, each read once and none of another merchant's; the month's
// fee statement adds up what its settlements charged and returned.
func TestListPageAndFeeStatement(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 11, 28, 0, 0, 0, 0, fenfu.Shanghai)
			w := newWorld(t, engine, start.Add(10*time.Hour), 2)
			for d := range 4 {
				w.clock.Set(start.AddDate(0, 0, d).Add(10 * time.Hour))
				for i, m := range w.merchants {
					for j, ch := range []pay.Channel{pay.ChannelCredit, pay.ChannelBalance} {
						o, err := w.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x",
							OutTradeNo: fmt.Sprintf("FS-%d-%d-%d", d, i, j), NotifyURL: "https://shop.example/n", Total: 100_00})
						if err != nil {
							t.Fatal(err)
						}
						if _, err := w.pay.Pay(ctx, o.Token, w.consumers[0], ch); err != nil {
							t.Fatal(err)
						}
						if d == 1 && j == 0 {
							if _, err := w.pay.Refund(ctx, pay.RefundRequest{MchID: m.MchID, OutTradeNo: o.OutTradeNo,
								OutRefundNo: o.OutTradeNo + "-R", Refund: 50_00, Total: 100_00}); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
				w.clock.Set(start.AddDate(0, 0, d+1).Add(3 * time.Hour))
				if _, err := w.settle.Run(ctx, start.AddDate(0, 0, d).Format(time.DateOnly)); err != nil {
					t.Fatal(err)
				}
			}
			m := w.merchants[0].MchID
			all, err := w.settle.List(ctx, settle.Filter{MchID: m})
			if err != nil || len(all) != 8 {
				t.Fatalf("%d settlements (%v), want 8", len(all), err)
			}
			var paged []settle.Settlement
			p := fenfu.Keyset{Limit: 3}
			for range 10 {
				page, next, err := w.settle.ListPage(ctx, settle.Filter{MchID: m}, p)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
				if next == "" {
					break
				}
				p.After = next
			}
			if len(paged) != 8 || paged[0].Date != "2026-12-01" || paged[7].Date != "2026-11-28" {
				t.Fatalf("paged newest first: %d, %+v", len(paged), paged)
			}
			seen := map[string]bool{}
			for _, x := range paged {
				if seen[x.ID] || x.MchID != m {
					t.Errorf("settlement %s read twice or of another merchant", x.ID)
				}
				seen[x.ID] = true
			}
			nov, err := w.settle.FeeStatement(ctx, m, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			var fees, back fenfu.Fen
			payments := 0
			for _, x := range all {
				if x.Date < "2026-12-01" {
					fees, back, payments = fees+x.PaymentFees+x.PlanFees, back+x.RefundFees+x.RefundPlanFees, payments+x.Payments
				}
			}
			if len(nov.Days) != 6 || nov.Total.Payments != payments || nov.Total.Fees+nov.Total.InstallmentFees != fees ||
				nov.Total.RefundedFees != back || back == 0 || nov.Total.Net != fees-back {
				t.Errorf("November's statement: %+v; want fees %d, returned %d over %d payments", nov, fees, back, payments)
			}
			if dec, err := w.settle.FeeStatement(ctx, m, "2026-12"); err != nil || len(dec.Days) != 2 {
				t.Errorf("December's statement: %+v, %v", dec, err)
			}
			if _, err := w.settle.FeeStatement(ctx, m, "2026-13"); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("a bad month: %v", err)
			}
		})
	}
}
