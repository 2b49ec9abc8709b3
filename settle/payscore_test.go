package settle_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// TestPayScoreSettles: a captured service order (trade_type
// PAYSCORE) settles, is billed and is proved like the Native credit
// payment of the same amount beside it, and so does its refund.
func TestPayScoreSettles(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			day := time.Date(2026, 11, 20, 0, 0, 0, 0, fenfu.Shanghai)
			w := newWorld(t, engine, day.Add(10*time.Hour), 1)
			m := w.merchants[0]
			c := w.consumers[0]
			o, err := w.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x",
				OutTradeNo: "NAT-0001", NotifyURL: "https://shop.example/n", Total: 30000})
			if err != nil {
				t.Fatal(err)
			}
			if o, err = w.pay.Pay(ctx, o.Token, c, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			end := w.clock.Now().Add(48 * time.Hour).In(fenfu.Shanghai).Format(pay.ServiceTimeLayout)
			so, err := w.pay.CreateServiceOrder(ctx, pay.NewServiceOrder{MchID: m.MchID, AppID: m.AppID, OutOrderNo: "SO-1",
				ServiceID: "500001", ServiceIntroduction: "Hotel stay", RiskFund: pay.RiskFund{Name: "DEPOSIT", Amount: 50000},
				StartTime: "OnAccept", EndTime: end, NotifyURL: "https://hotel.example/notify"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.pay.ConfirmServiceOrder(ctx, so.Package, c, pay.Client{}, 0); err != nil {
				t.Fatal(err)
			}
			done, err := w.pay.CompleteServiceOrder(ctx, m.MchID, "SO-1", 30000, "")
			if err != nil {
				t.Fatal(err)
			}
			po, err := w.pay.Get(ctx, done.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			if po.Fee.Fee != o.Fee.Fee || po.PaidAt.IsZero() {
				t.Fatalf("PAYSCORE fee %d, Native fee %d", po.Fee.Fee, o.Fee.Fee)
			}
			w.clock.Set(day.Add(27 * time.Hour))
			r, err := w.settle.RunChannel(ctx, "2026-11-20", pay.ChannelCredit)
			if err != nil {
				t.Fatal(err)
			}
			if r.Payments != 2 || r.Net != 2*(30000-o.Fee.Fee) {
				t.Fatalf("settled %+v; want 2 payments, net %d", r, 2*(30000-o.Fee.Fee))
			}
			if _, err := w.pay.Refund(ctx, pay.RefundRequest{MchID: m.MchID, TransactionID: po.ID, OutRefundNo: "SO-RF-1",
				Refund: 10000, Total: 30000}); err != nil {
				t.Fatal(err)
			}
			w.clock.Set(day.Add(51 * time.Hour))
			if r, err = w.settle.RunChannel(ctx, "2026-11-21", pay.ChannelCredit); err != nil || r.Refunds != 1 {
				t.Fatalf("next day: %+v %v", r, err)
			}
			if _, err := w.settle.Verify(ctx); err != nil {
				t.Fatalf("settle verify: %v", err)
			}
			if _, err := w.pay.Verify(ctx); err != nil {
				t.Fatalf("pay verify: %v", err)
			}
			w.clock.Set(day.Add(75 * time.Hour))
			bills := &bill.Service{Core: w.core, Clock: w.clock,
				OpenID: func(a, c string) string { return c }, BankType: func(ch string) string { return ch }}
			f, err := bills.Get(ctx, bill.Request{MchID: m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All}, false)
			if err != nil {
				t.Fatal(err)
			}
			text := string(f.Data)
			if !strings.Contains(text, po.ID) || !strings.Contains(text, o.ID) {
				t.Fatalf("trade bill lacks a payment:\n%s", text)
			}
		})
	}
}
