package pay_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// TestHourly: orders paid through the payment path count by the hour they
// were created and their channel; a refunded one is still paid; one the
// merchant closed, one that expired unpaid and one still open count as
// what they are, and only the ended ones are in the success rate; an
// order outside the period is not counted. On each engine.
func TestHourly(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testHourly(t, engine) })
	}
}

func testHourly(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	e := newEnv(t, engine) // 2026-11-27 10:00 Asia/Shanghai
	start := e.clock.Now()
	rich := e.consumer(t, 1_000_000, 1_000_000)
	poor := e.consumer(t, 50, 0)
	payWith := func(o pay.Order, consumer string, ch pay.Channel) {
		t.Helper()
		if _, err := e.pay.Pay(ctx, o.Token, consumer, ch); err != nil {
			t.Fatal(err)
		}
	}
	// 10:00–11:00: two credit payments (one refunded in part), one from
	// balance, one closed by the merchant, one a short credit line failed
	// to pay and that stays open until 15:00.
	a := e.order(t, "HOUR-A", 1000)
	payWith(a, rich, pay.ChannelCredit)
	e.clock.Advance(5 * time.Minute)
	payWith(e.order(t, "HOUR-B", 2000), rich, pay.ChannelCredit)
	payWith(e.order(t, "HOUR-C", 300), rich, pay.ChannelBalance)
	e.order(t, "HOUR-D", 400)
	if err := e.pay.Close(ctx, e.m.MchID, "HOUR-D"); err != nil {
		t.Fatal(err)
	}
	open := e.native("HOUR-E", 500)
	open.TimeExpire = start.Add(5 * time.Hour)
	o, err := e.pay.CreateNative(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay.Pay(ctx, o.Token, poor, pay.ChannelCredit); fenfu.ErrorCode(err) != fenfu.NotEnough {
		t.Fatalf("a payment beyond the line: %v", err)
	}
	if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, OutTradeNo: "HOUR-A", OutRefundNo: "REFUND-A", Refund: 100, Total: 1000}); err != nil {
		t.Fatal(err)
	}
	// 11:00–12:00: one paid from balance, one left to expire (2 hours).
	e.clock.Advance(time.Hour)
	payWith(e.order(t, "HOUR-F", 700), rich, pay.ChannelBalance)
	e.order(t, "HOUR-G", 800)
	// 13:00: after the period.
	e.clock.Advance(2 * time.Hour)
	payWith(e.order(t, "HOUR-H", 900), rich, pay.ChannelBalance)
	e.clock.Advance(90 * time.Minute) // 14:35: H-G has expired, H-E has not

	hours, err := e.pay.Hourly(ctx, start.Add(20*time.Minute), start.Add(2*time.Hour+30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 3 || !hours[0].Hour.Equal(start) || !hours[2].Hour.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("hours %+v: want 10:00, 11:00 and 12:00", hours)
	}
	h := hours[0]
	if h.Created != 5 || h.Paid["credit"] != 2 || h.Paid["ordinary"] != 1 || h.PaidAmount["credit"] != 3000 || h.PaidAmount["ordinary"] != 300 ||
		h.Unpaid[pay.EndedClosed] != 1 || h.Open != 1 || len(h.Unpaid) != 1 || h.SuccessRate == nil || *h.SuccessRate != 0.75 {
		t.Errorf("10:00: %+v", h)
	}
	h = hours[1]
	if h.Created != 2 || h.Paid["ordinary"] != 1 || h.Unpaid[pay.EndedExpired] != 1 || h.Open != 0 || h.SuccessRate == nil || *h.SuccessRate != 0.5 {
		t.Errorf("11:00: %+v", h)
	}
	if h := hours[2]; h.Created != 0 || h.SuccessRate != nil {
		t.Errorf("12:00: %+v", h)
	}

	if _, err := e.pay.Hourly(ctx, start, start.Add(pay.MaxHourlySpan+time.Hour)); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("a period beyond MaxHourlySpan: %v", err)
	}
	if _, err := e.pay.Hourly(ctx, start, start); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("an empty period: %v", err)
	}
}
