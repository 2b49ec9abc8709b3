package bill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/pay"
)

// TestTradeDayStreamsTheBillsOfOneRead: the three ALL bills TradeDay
// writes in one pass over a busy day (both channels, refunds, payments and
// refunds of the same instant, trades of the days around it) are byte for
// byte the bills each request renders on its own.
func TestTradeDayStreamsTheBillsOfOneRead(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := openDay(t, engine)
			day := time.Date(2026, 11, 20, 0, 0, 0, 0, fenfu.Shanghai)
			var orders []pay.Paid
			for i := range 400 {
				// Every third payment shares its instant with the one
				// before; the first and last few fall on the days around.
				at := day.Add(time.Duration(i-i%3/2) * 3 * time.Minute)
				if i < 3 {
					at = day.Add(-time.Duration(i+1) * time.Minute)
				}
				o := pay.Paid{ID: fmt.Sprintf("4200202611200000%012d", i), MchID: d.m.MchID, OutTradeNo: fmt.Sprintf("T-%04d", i),
					Total: fenfu.Fen(100 + i*37), Channel: pay.ChannelCredit, PaidAt: at}
				sched := fee.CreditPay
				if i%4 == 1 {
					o.Channel, sched = pay.ChannelBalance, fee.Ordinary
				}
				o.Fee = sched.Price(o.Total, 0, 0)
				if i%5 == 0 {
					// A refund at the instant of a later payment, or of its
					// own, or a little after.
					lag := []time.Duration{6 * time.Minute, 0, 31 * time.Second}[i%3]
					o.RefundID, o.Refund, o.RefundedAt = fmt.Sprintf("5030202611200000%013d", i), o.Total/2, at.Add(lag)
					o.RefundFee = fee.RefundFee(o.Fee.Fee, o.Total, 0, o.Refund)
				}
				orders = append(orders, o)
			}
			for lo := 0; lo < len(orders); lo += 40 {
				batch := orders[lo:min(lo+40, len(orders))]
				if err := d.bills.Core.Update(ctx, func(tx *db.Tx) error { return pay.LoadPaid(ctx, tx, batch) }); err != nil {
					t.Fatal(err)
				}
			}
			d.clock.Set(day.Add(50 * time.Hour))
			if n, err := d.bills.TradeDay(ctx, d.m.MchID, "2026-11-20"); err != nil || n != 3 {
				t.Fatalf("TradeDay stored %d: %v", n, err)
			}
			for _, ch := range []string{"", string(pay.ChannelCredit), string(pay.ChannelBalance)} {
				r := bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All, Channel: ch}
				want, err := d.bills.Render(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.bills.Get(ctx, r, false)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Data) != want {
					t.Errorf("channel %q: the stored bill differs from the one rendered alone:\n%s", ch, firstDiff(string(got.Data), want))
				}
				if rows := strings.Count(want, "\r\n") - 3; rows < 100 {
					t.Errorf("channel %q: %d rows", ch, rows)
				}
			}
		})
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\r\n"), strings.Split(b, "\r\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}
