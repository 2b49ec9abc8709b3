package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/retention"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// TestRetentionOverSixYears writes six years of history through the
// services on a fake clock, with records one day before and one day after
// the boundary of each period, two disputed orders (one kept, one whose
// dispute's period has passed), an order with a settlement exception and
// legal holds on a merchant, a consumer and an order. The dry run lists
// exactly the expected records, by id, and writes nothing; the real run
// anonymises, forgets and purges them, honours the holds, leaves the books
// provable, and a second run does nothing more. The expired consumer's
// sealed phone, blind index and PIN hash are then gone from the store's
// bytes (SQLite).
func TestRetentionOverSixYears(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testRetentionOverSixYears(t, engine) })
	}
}

// history is the generated six years.
type history struct {
	t     *testing.T
	a     *app
	clock *fenfu.FakeClock
	seq   int
}

// at moves the clock to a day and time (Asia/Shanghai).
func (h *history) at(date, clock string) {
	h.t.Helper()
	v, err := time.ParseInLocation(time.DateTime, date+" "+clock, fenfu.Shanghai)
	if err != nil {
		h.t.Fatal(err)
	}
	h.clock.Set(v)
}

// paid creates an order of a merchant on date and has the consumer pay
// it, then settles the day on the next.
func (h *history) paid(mchid, appid, date, consumerID string, channel pay.Channel) pay.Order {
	h.t.Helper()
	ctx := h.t.Context()
	h.at(date, "10:00:00")
	h.seq++
	o, err := h.a.pay.CreateNative(ctx, pay.NativeOrder{MchID: mchid, AppID: appid, Description: "Armchair for Li Lei", Attach: "room 1203",
		OutTradeNo: "R" + strings.ReplaceAll(date, "-", "") + string(rune('A'+h.seq)), NotifyURL: "https://shop.example/n", Total: 100_00,
		TimeExpire: h.clock.Now().Add(time.Hour), Scene: pay.Scene{PayerClientIP: "203.0.113.9", DeviceID: "POS-7"}})
	if err != nil {
		h.t.Fatal(err)
	}
	if o, err = h.a.cashier.Pay(ctx, o.Token, consumerID, channel, pay.Client{}); err != nil || o.State != pay.Success {
		h.t.Fatalf("pay %s: %v %s", o.ID, err, o.State)
	}
	h.settle(date)
	return o
}

// settle runs the day's settlement the next morning.
func (h *history) settle(date string) {
	h.t.Helper()
	d, _ := time.ParseInLocation(time.DateOnly, date, fenfu.Shanghai)
	h.at(d.AddDate(0, 0, 1).Format(time.DateOnly), "04:00:00")
	if _, err := h.a.settle.Run(h.t.Context(), date); err != nil {
		h.t.Fatalf("settle %s: %v", date, err)
	}
}

func testRetentionOverSixYears(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	clock := fenfu.NewFakeClock(time.Date(2021, 3, 1, 10, 0, 0, 0, fenfu.Shanghai))
	cfg := engineConfig(t, engine)
	a := openTest(t, cfg, clock)
	h := &history{t: t, a: a, clock: clock}
	// Contracts end a day before and a day after the boundary, and a held
	// consumer's long ago.
	end := func(c consumer.Consumer, date string) {
		h.at(date, "09:00:00")
		if _, err := a.repay.ChangeLine(ctx, c.ID, "staff:li.wei", repay.LineRequest{Close: true, Reason: "contract ended"}); err != nil {
			t.Fatal(err)
		}
	}
	shop, err := a.merchants.CreateSandbox(ctx, "Furniture shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	held, err := a.merchants.CreateSandbox(ctx, "Shop under investigation", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	person := func() consumer.Consumer {
		c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 10_000_00, Rating: "A", Balance: 10_000_00})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, carol, dave, erin, frank := person(), person(), person(), person(), person()
	buy := func(date string, c consumer.Consumer) pay.Order {
		return h.paid(shop.MchID, shop.AppID, date, c.ID, pay.ChannelBalance)
	}

	// As of 2027-03-15 the trades' and authorizations' boundary is
	// 2022-03-15, the disputes' 2025-03-15, the risk records' 2024-03-15.
	h.at("2021-04-01", "09:00:00")
	closed, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: shop.MchID, AppID: shop.AppID, Description: "Never paid", OutTradeNo: "CLOSED-1",
		NotifyURL: "https://shop.example/n", Total: 5_00})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.pay.Close(ctx, shop.MchID, "CLOSED-1"); err != nil {
		t.Fatal(err)
	}
	// Service orders cancelled before anyone confirmed them: one long
	// ago, one after the boundary.
	cancelled := func(no, date string) pay.ServiceOrder {
		h.at(date, "09:30:00")
		end := h.clock.Now().Add(48 * time.Hour).In(fenfu.Shanghai).Format(pay.ServiceTimeLayout)
		if _, err := a.pay.CreateServiceOrder(ctx, pay.NewServiceOrder{MchID: shop.MchID, AppID: shop.AppID, OutOrderNo: no, ServiceID: "500001",
			ServiceIntroduction: "Armchair rental", RiskFund: pay.RiskFund{Name: "DEPOSIT", Amount: 500_00}, StartTime: "OnAccept", EndTime: end,
			Attach: "for Li Lei, room 1203", NotifyURL: "https://shop.example/so"}); err != nil {
			t.Fatal(err)
		}
		so, err := a.pay.CancelServiceOrder(ctx, shop.MchID, no, "Li Lei changed his mind")
		if err != nil || so.State != pay.ServiceRevoked {
			t.Fatalf("cancel %s: %s %v", no, so.State, err)
		}
		return so
	}
	serviceGone := cancelled("SO-GONE", "2021-04-02")
	complaintKept := buy("2021-05-01", alice)
	complaintGone := buy("2021-05-02", alice)
	refunded := buy("2021-06-01", alice)
	h.at("2021-06-02", "11:00:00")
	if _, err := a.pay.Refund(ctx, pay.RefundRequest{MchID: shop.MchID, TransactionID: refunded.ID, OutRefundNo: "RF-1", Reason: "Li Lei changed his mind",
		Refund: 30_00, Total: 100_00}); err != nil {
		t.Fatal(err)
	}
	h.settle("2021-06-02")
	excepted := buy("2021-07-01", alice)
	heldOrder := buy("2021-08-01", alice)
	heldMerchant := h.paid(held.MchID, held.AppID, "2021-09-01", alice.ID, pay.ChannelBalance)
	heldConsumer := buy("2021-10-01", carol)
	onCredit := h.paid(shop.MchID, shop.AppID, "2021-11-01", frank.ID, pay.ChannelCredit)
	end(carol, "2021-11-05")
	// dave paid the shop, which keeps the openid it was told as the payer.
	daveBought := buy("2021-12-01", dave)
	end(dave, "2022-03-14")
	tradeBefore := buy("2022-03-14", alice)
	end(erin, "2022-03-16")
	tradeAfter := buy("2022-03-16", alice)
	serviceKept := cancelled("SO-KEPT", "2022-03-17")
	// The merchant fetched the bills of the two days, which carry the
	// orders' descriptions.
	for _, date := range []string{"2022-03-14", "2022-03-16"} {
		if text, err := a.bills.Text(ctx, bill.Request{MchID: shop.MchID, Date: date, Kind: bill.Trade, Type: "ALL"}); err != nil ||
			!strings.Contains(text, "Armchair for Li Lei") {
			t.Fatalf("bill of %s: %v\n%s", date, err, text)
		}
	}
	riskBefore := buy("2024-03-14", alice)
	riskAfter := buy("2024-03-16", alice)

	// Disputes: complaints the merchant completed a day before and a day
	// after the disputes' boundary, and a settlement exception resolved since.
	h.at("2025-03-01", "10:00:00")
	var complaints []complaint.Complaint
	for _, o := range []pay.Order{complaintGone, complaintKept} {
		c, err := a.complaints.File(ctx, complaint.NewComplaint{ConsumerID: o.ConsumerID, TransactionID: o.ID, ProblemType: complaint.ProblemOthers,
			Detail: "the armchair was broken, call Li Lei at 13800138000"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.complaints.Respond(ctx, c.MchID, c.ID, complaint.Response{Content: "we replace it"}); err != nil {
			t.Fatal(err)
		}
		complaints = append(complaints, c)
	}
	// Support tickets resolved or closed a day before and a day after the
	// disputes' boundary, one of a held merchant, and one still open.
	var tickets []ticket.Ticket
	for _, mchid := range []string{shop.MchID, shop.MchID, held.MchID, shop.MchID} {
		h.at("2025-03-01", "11:00:00")
		tk, err := a.tickets.Open(ctx, ticket.Merchant(mchid), ticket.New{Type: ticket.General, Description: "call Li Lei at 13800138000",
			ContactName: "Li Lei", ContactPhone: "13800138000"})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	h.at("2025-03-14", "09:00:00")
	if _, err := a.tickets.Resolve(ctx, ticket.Staff("li.wei"), tickets[0].ID, "answered"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.tickets.Close(ctx, ticket.Staff("li.wei"), tickets[2].ID, "answered"); err != nil {
		t.Fatal(err)
	}
	for i, closedOn := range []string{"2025-03-14", "2025-03-16"} {
		h.at(closedOn, "10:00:00")
		if err := a.complaints.Complete(ctx, complaints[i].MchID, complaints[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	// (the one closed since the boundary)
	h.at("2025-03-16", "11:00:00")
	if _, err := a.tickets.Close(ctx, ticket.Staff("li.wei"), tickets[1].ID, "answered"); err != nil {
		t.Fatal(err)
	}
	h.at("2025-06-01", "10:00:00")
	x, err := a.settle.FileException(ctx, a.ids, shop.MchID, settle.NewException{OutTradeNo: excepted.OutTradeNo, Description: "short by 1 yuan"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.settle.ResolveException(ctx, x.ID, settle.ExceptionResolved, "paid"); err != nil {
		t.Fatal(err)
	}

	// Notification and sandbox logs around the boundary (no worker runs
	// here, so they are written as the worker and the recorder write them).
	for _, l := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error) VALUES ($1, 1, $2, 'TRANSACTION.SUCCESS', 'https://shop.example/n', $3, 200, 1, '')`,
			[]any{"ev-before", shop.MchID, day(t, "2022-03-14")}},
		{`INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error) VALUES ($1, 1, $2, 'TRANSACTION.SUCCESS', 'https://shop.example/n', $3, 200, 1, '')`,
			[]any{"ev-after", shop.MchID, day(t, "2022-03-16")}},
		{`INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error) VALUES ($1, 1, $2, 'TRANSACTION.SUCCESS', 'https://shop.example/n', $3, 200, 1, '')`,
			[]any{"ev-held", held.MchID, day(t, "2021-09-01")}},
		{`INSERT INTO sandbox_calls (id, mchid, at, method, route, status, code, note) VALUES ($1, $2, $3, 'POST', '/v3/pay/transactions/native', 200, '', '')`,
			[]any{"sc-before", shop.MchID, day(t, "2022-03-14")}},
		{`INSERT INTO sandbox_calls (id, mchid, at, method, route, status, code, note) VALUES ($1, $2, $3, 'POST', '/v3/pay/transactions/native', 200, '', '')`,
			[]any{"sc-after", shop.MchID, day(t, "2022-03-16")}},
		// The instal exposure API's answers name a consumer and no order.
		{`INSERT INTO exposures (id, surface, mchid, consumer_id, reason, at) VALUES ($1, 'instal_api', $2, 'c-asked', 'NO_AMOUNT', $3)`,
			[]any{"ex-before", shop.MchID, day(t, "2022-03-14")}},
		{`INSERT INTO exposures (id, surface, mchid, consumer_id, reason, at) VALUES ($1, 'instal_api', $2, 'c-asked', 'NO_AMOUNT', $3)`,
			[]any{"ex-after", shop.MchID, day(t, "2022-03-16")}},
	} {
		if _, err := a.core.Exec(ctx, l.q, l.args...); err != nil {
			t.Fatal(err)
		}
	}

	h.at("2027-03-15", "10:00:00")
	for _, n := range []retention.NewHold{{Kind: retention.OnOrder, Subject: heldOrder.ID, Reason: "court order 1"},
		{Kind: retention.OnMerchant, Subject: held.MchID, Reason: "police case 2"}, {Kind: retention.OnConsumer, Subject: carol.ID, Reason: "court order 3"}} {
		if _, err := a.retention.Place(ctx, n, "staff:li.wei"); err != nil {
			t.Fatal(err)
		}
	}
	holds, err := a.retention.Holds(ctx, false)
	if err != nil || len(holds) != 3 {
		t.Fatalf("holds %v %v", holds, err)
	}
	holdOf := map[string]string{}
	for _, x := range holds {
		holdOf[x.Subject] = x.ID
	}
	if _, err := a.pay.Verify(ctx); err != nil {
		t.Fatalf("the history does not prove: %v", err)
	}

	want := []string{
		"orders " + closed.ID + " anonymise",
		"service_orders " + serviceGone.ID + " anonymise",
		"orders " + refunded.ID + " anonymise",
		"orders " + complaintGone.ID + " anonymise",
		"orders " + onCredit.ID + " anonymise",
		"orders " + tradeBefore.ID + " anonymise",
		"orders " + daveBought.ID + " anonymise",
		"orders " + complaintKept.ID + " keep",
		"orders " + excepted.ID + " keep",
		"orders " + heldOrder.ID + " keep " + holdOf[heldOrder.ID],
		"orders " + heldMerchant.ID + " keep " + holdOf[held.MchID],
		"orders " + heldConsumer.ID + " keep " + holdOf[carol.ID],
		"consumers " + dave.ID + " forget",
		"consumers " + carol.ID + " keep " + holdOf[carol.ID],
		"notify_log ev-before purge",
		"notify_log ev-held keep " + holdOf[held.MchID],
		"sandbox_calls sc-before purge",
		"exposures ex-before purge",
		"bills 2022-03-14/" + shop.MchID + " purge",
		"tickets " + tickets[0].ID + " purge",
		"tickets " + tickets[2].ID + " keep " + holdOf[held.MchID],
		"risk_decisions " + heldOrder.AttemptID + " keep " + holdOf[heldOrder.ID],
		"risk_decisions " + heldMerchant.AttemptID + " keep " + holdOf[held.MchID],
		"risk_decisions " + heldConsumer.AttemptID + " keep " + holdOf[carol.ID],
	}
	for _, o := range []pay.Order{complaintKept, complaintGone, refunded, excepted, onCredit, tradeBefore, daveBought, tradeAfter, riskBefore} {
		want = append(want, "risk_decisions "+o.AttemptID+" purge")
	}
	slices.Sort(want)
	listed := func(rep retention.Report) []string {
		var got []string
		for _, it := range rep.Items {
			got = append(got, strings.TrimSpace(it.Table+" "+it.ID+" "+it.Action+" "+it.Hold))
		}
		slices.Sort(got)
		return got
	}
	before := snapshot(t, a)
	dry, err := a.retention.Run(ctx, retention.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(dry); !slices.Equal(got, want) {
		t.Fatalf("the dry run lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, it := range dry.Items {
		switch it.ID {
		case tradeBefore.ID:
			if it.Since != "2022-03-14" || it.Until != "2027-03-14" || !strings.Contains(it.Reason, "5y") {
				t.Errorf("the expired trade's reason %+v", it)
			}
		case complaintKept.ID:
			if !strings.Contains(it.Reason, "kept until 2027-03-16") {
				t.Errorf("the disputed order's reason %+v", it)
			}
		case complaintGone.ID:
			if it.Since != "2025-03-14" || it.Until != "2027-03-14" || !strings.Contains(it.Reason, "dispute") {
				t.Errorf("the dispute's expiry %+v", it)
			}
		case dave.ID:
			if it.Since != "2022-03-14" || it.Until != "2027-03-14" {
				t.Errorf("the authorization's expiry %+v", it)
			}
		}
	}
	if after := snapshot(t, a); after != before {
		t.Fatalf("the dry run wrote:\n%s\nthen\n%s", before, after)
	}
	_, daveRow := consumerRow(t, a, dave.ID)
	payerOpenID := func() string {
		var openid string
		if err := a.core.QueryRowContext(ctx, `SELECT payer_openid FROM orders WHERE id = $1`, daveBought.ID).Scan(&openid); err != nil {
			t.Fatal(err)
		}
		return openid
	}
	if payerOpenID() == "" {
		t.Fatal("dave's order keeps no payer openid to forget")
	}

	// A run stopped after its first batch (the oldest order) keeps its
	// claim: another node is refused the day until the claim expires, and
	// the next run of this node continues where it stopped.
	a.retention.Batch = 1
	stop, cancel := context.WithCancel(ctx)
	if _, err := a.retention.Run(stop, retention.Options{Progress: func(string, int) { cancel() }}); err == nil {
		t.Fatal("the stopped run did not stop")
	}
	other := *a.retention
	other.Owner = "another-node"
	if _, err := other.Run(ctx, retention.Options{}); fenfu.ErrorCode(err) != fenfu.BatchRunning {
		t.Fatalf("another node during the claim: %v", err)
	}
	if got, _ := a.pay.Get(ctx, closed.ID); got.Description != "" {
		t.Fatalf("the first batch did not anonymise the oldest order")
	}
	rep, err := a.retention.Run(ctx, retention.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary := map[string]int{"orders anonymise": 5, "orders keep": 5, "consumers forget": 1, "consumers keep": 1, "risk_decisions purge": 9,
		"risk_decisions keep": 3, "notify_log purge": 1, "notify_log keep": 1, "sandbox_calls purge": 1,
		"bills purge": 1, "exposures purge": 1, "service_orders anonymise": 1, "tickets purge": 1, "tickets keep": 1}
	if len(rep.Summary) != len(wantSummary) {
		t.Errorf("summary %+v", rep.Summary)
	}
	for _, c := range rep.Summary {
		if wantSummary[c.Table+" "+c.Action] != c.N {
			t.Errorf("summary %+v, want %v", rep.Summary, wantSummary)
		}
	}
	for _, o := range []pay.Order{closed, refunded, complaintGone, onCredit, tradeBefore, daveBought} {
		got, err := a.pay.Get(ctx, o.ID)
		if err != nil || got.Description != "" || got.Attach != "" || got.NotifyURL != "" || got.Scene.PayerClientIP != "" || got.Scene.DeviceID != "" {
			t.Errorf("order %s after the run: %+v %v", o.ID, got, err)
		}
		if got.Total != o.Total || got.MchID != o.MchID || got.ConsumerID != o.ConsumerID || got.AttemptID != o.AttemptID || got.Fee != o.Fee {
			t.Errorf("order %s lost what proves it: %+v", o.ID, got)
		}
	}
	if rs, err := a.pay.RefundsOf(ctx, refunded.ID); err != nil || len(rs) != 1 || rs[0].Reason != "" || rs[0].Amount != 30_00 {
		t.Errorf("refund after the run %+v %v", rs, err)
	}
	if got, err := a.pay.ServiceOrder(ctx, serviceGone.ID); err != nil || got.Attach != "" || got.NotifyURL != "" || got.CancelReason != "" ||
		got.State != pay.ServiceRevoked || got.RiskFund.Amount != 500_00 {
		t.Errorf("service order %s after the run: %+v %v", serviceGone.ID, got, err)
	}
	if got, err := a.pay.ServiceOrder(ctx, serviceKept.ID); err != nil || got.Attach != serviceKept.Attach || got.CancelReason != serviceKept.CancelReason {
		t.Errorf("kept service order %s after the run: %+v %v", serviceKept.ID, got, err)
	}
	for _, o := range []pay.Order{complaintKept, excepted, heldOrder, heldMerchant, heldConsumer, tradeAfter, riskAfter} {
		if got, err := a.pay.Get(ctx, o.ID); err != nil || got.Description != "Armchair for Li Lei" || got.Scene.PayerClientIP != "203.0.113.9" {
			t.Errorf("kept order %s after the run: %+v %v", o.ID, got, err)
		}
	}
	if engine == db.SQLite {
		// Whoever holds the store's files finds nothing of dave's
		// authorization: neither the sealed phone, nor its blind index,
		// nor the PIN hash, in the file or its WAL.
		var raw []byte
		for _, f := range []string{"core.db", "core.db-wal"} {
			b, err := os.ReadFile(filepath.Join(cfg.DataDir, f))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			raw = append(raw, b...)
		}
		for _, v := range daveRow {
			if v != "" && bytes.Contains(raw, []byte(v)) {
				t.Errorf("the core store still holds %.24q… of the forgotten consumer", v)
			}
		}
	}
	if forgotten, _ := consumerRow(t, a, dave.ID); !forgotten {
		t.Errorf("dave was not forgotten")
	}
	// The openid the shop kept from dave's order names no one now.
	if got := payerOpenID(); got != "" {
		t.Errorf("dave's order still names the payer's openid %q", got)
	}
	for _, c := range []consumer.Consumer{carol, erin, alice} {
		if forgotten, _ := consumerRow(t, a, c.ID); forgotten {
			t.Errorf("consumer %s was forgotten", c.ID)
		}
	}
	if got, err := a.consumers.Get(ctx, dave.ID); err != nil || got.Phone != "" {
		t.Errorf("dave after the run %+v %v", got, err)
	}
	if _, err := a.consumers.Login(ctx, dave.Phone, "000000", "198.51.100.1"); err == nil {
		t.Errorf("a forgotten consumer logged in")
	}
	for _, n := range []struct {
		q    string
		want int
	}{{`SELECT COUNT(*) FROM notify_log`, 2}, {`SELECT COUNT(*) FROM sandbox_calls`, 1}, {`SELECT COUNT(*) FROM bills WHERE bill_date < '2022-03-15'`, 0},
		{`SELECT COUNT(*) FROM bills WHERE bill_date = '2022-03-16'`, 1}, {`SELECT COUNT(*) FROM exposures v JOIN orders o ON o.id = v.order_id WHERE o.retained_at > 0`, 0},
		{`SELECT COUNT(*) FROM exposures WHERE order_id = ''`, 1}} {
		var got int
		if err := a.core.QueryRowContext(ctx, n.q).Scan(&got); err != nil || got != n.want {
			t.Errorf("%s: %d, want %d (%v)", n.q, got, n.want, err)
		}
	}
	// The ticket past its period is gone with its history; the one of the
	// held merchant, the one closed since, the open one and the
	// settlement exception request remain.
	for _, tk := range tickets {
		_, err := a.tickets.Get(ctx, ticket.Staff("li.wei"), tk.ID)
		if gone := tk.ID == tickets[0].ID; gone != (fenfu.ErrorCode(err) == fenfu.ResourceNotExists) || (!gone && err != nil) {
			t.Errorf("ticket %s after the run: %v", tk.ID, err)
		}
	}
	if _, err := a.tickets.Get(ctx, ticket.Staff("li.wei"), x.ID); err != nil {
		t.Errorf("the settlement exception's ticket after the run: %v", err)
	}
	for _, table := range []string{"ticket_events", "ticket_attachments", "ticket_alerts"} {
		var n int
		if err := a.core.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE ticket_id = $1`, tickets[0].ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s of the purged ticket: %d %v", table, n, err)
		}
	}
	var decisions int
	if err := a.credit.QueryRowContext(ctx, `SELECT COUNT(*) FROM risk_decisions`).Scan(&decisions); err != nil || decisions != 4 {
		t.Errorf("risk decisions left: %d (%v), want the 3 held and the one after the boundary", decisions, err)
	}
	if _, err := a.prove(ctx); err != nil {
		t.Fatalf("fenfu verify after the run: %v", err)
	}

	// A finished run is in the core store's audit log, with what it did.
	runs, err := audit.List(ctx, a.core, audit.Filter{Action: retention.ActionRun})
	if err != nil || len(runs) != 1 || runs[0].Target.ID != "2027-03-15" || !strings.Contains(string(runs[0].Detail), `"action":"forget","count":1,"table":"consumers"`) {
		t.Errorf("the run's audit entries %+v %v", runs, err)
	}
	if ok, err := a.retention.Done(ctx, "2027-03-15"); err != nil || !ok {
		t.Errorf("the day's run is not done: %v", err)
	}
	again, err := a.retention.Run(ctx, retention.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Summary {
		if c.Action != retention.Keep {
			t.Errorf("the second run did %+v", c)
		}
	}
	if runs, err := audit.List(ctx, a.core, audit.Filter{Action: retention.ActionRun}); err != nil || len(runs) != 1 {
		t.Errorf("a run that removed nothing was audited: %+v %v", runs, err)
	}

	// A released hold lets the next run take what it kept.
	if _, err := a.retention.Release(ctx, holdOf[heldOrder.ID], "staff:li.wei"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.retention.Release(ctx, holdOf[heldOrder.ID], "staff:li.wei"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("released twice: %v", err)
	}
	dry, err = a.retention.Run(ctx, retention.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := listed(dry)
	if !slices.Contains(got, "orders "+heldOrder.ID+" anonymise") || !slices.Contains(got, "risk_decisions "+heldOrder.AttemptID+" purge") {
		t.Errorf("after the release the dry run lists %v", got)
	}
	if _, err := a.retention.Run(ctx, retention.Options{AsOf: "2027-03-16"}); err == nil || !strings.Contains(err.Error(), "after today") {
		t.Errorf("a run as of tomorrow: %v", err)
	}

}

// day is the micros of a day's noon (Asia/Shanghai).
func day(t *testing.T, date string) int64 {
	v, err := time.ParseInLocation(time.DateTime, date+" 12:00:00", fenfu.Shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return db.Micros(v)
}

// consumerRow reads whether a consumer is forgotten, and its stored phone,
// blind index and PIN hash.
func consumerRow(t *testing.T, a *app, id string) (bool, []string) {
	t.Helper()
	var phone, pin string
	var index *string
	var forgotten int64
	if err := a.core.QueryRowContext(t.Context(), `SELECT phone, phone_index, pin_hash, forgotten_at FROM consumers WHERE id = $1`, id).
		Scan(&phone, &index, &pin, &forgotten); err != nil {
		t.Fatal(err)
	}
	row := []string{phone, pin}
	if index != nil {
		row = append(row, *index)
	}
	return forgotten > 0, row
}

// snapshot counts and sums what retention changes, so a dry run that
// wrote anything shows.
func snapshot(t *testing.T, a *app) string {
	t.Helper()
	var out []string
	for _, q := range []struct {
		d *db.DB
		q string
	}{
		{a.core, `SELECT COUNT(*) FROM orders WHERE retained_at > 0 OR description = ''`},
		{a.core, `SELECT COUNT(*) FROM service_orders WHERE notify_url = ''`},
		{a.core, `SELECT COUNT(*) FROM consumers WHERE forgotten_at > 0 OR pin_hash = ''`},
		{a.core, `SELECT COUNT(*) FROM notify_log`},
		{a.core, `SELECT COUNT(*) FROM sandbox_calls`},
		{a.core, `SELECT COUNT(*) FROM bills`},
		{a.core, `SELECT COUNT(*) FROM retention_runs`},
		{a.credit, `SELECT COUNT(*) FROM risk_decisions`},
	} {
		var n int
		if err := q.d.QueryRowContext(t.Context(), q.q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s: %d", q.q, n))
	}
	return strings.Join(out, "\n")
}

// TestLegalHoldsAndContractEnd: staff place, list and release legal holds
// through the staff API, with the refusals; and close a consumer's credit
// contract, which only a line with nothing used may be, after which the
// line takes no credit payment.
func TestLegalHoldsAndContractEnd(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testLegalHoldsAndContractEnd(t, engine) })
	}
}

func testLegalHoldsAndContractEnd(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	staff := w.staffAuth()
	var h retention.Hold
	w.staff("POST", "/admin/legal-holds", map[string]any{"kind": "merchant", "subject": w.mchid, "reason": "police case 7"}, &h)
	if h.ID == "" || h.Kind != retention.OnMerchant || h.Subject != w.mchid || h.Actor != "staff:li.wei" || h.CreatedAt.IsZero() {
		t.Fatalf("placed %+v", h)
	}
	for _, bad := range []map[string]any{{"kind": "planet", "subject": "x", "reason": "r"}, {"kind": "order", "subject": "", "reason": "r"},
		{"kind": "order", "subject": "4200", "reason": " "}, {"kind": "order", "subject": "a b", "reason": "r"}} {
		if code, body := w.try(http.DefaultClient, "POST", "/admin/legal-holds", bad, nil, staff...); code != 400 {
			t.Errorf("%v: HTTP %d %s", bad, code, body)
		}
	}
	var list struct {
		Holds []retention.Hold `json:"holds"`
	}
	w.staff("GET", "/admin/legal-holds", nil, &list)
	if len(list.Holds) != 1 || list.Holds[0].ID != h.ID {
		t.Fatalf("holds %+v", list.Holds)
	}
	var released retention.Hold
	w.staff("POST", "/admin/legal-holds/"+h.ID+"/release", nil, &released)
	if released.ReleasedBy != "staff:li.wei" || released.ReleasedAt.IsZero() {
		t.Fatalf("released %+v", released)
	}
	if code, body := w.try(http.DefaultClient, "POST", "/admin/legal-holds/"+h.ID+"/release", nil, nil, staff...); code != 400 || !strings.Contains(body, "released") {
		t.Errorf("released twice: HTTP %d %s", code, body)
	}
	if code, _ := w.try(http.DefaultClient, "POST", "/admin/legal-holds/lh_nothing/release", nil, nil, staff...); code != 404 {
		t.Errorf("an unknown hold: HTTP %d", code)
	}
	if code, _ := w.try(http.DefaultClient, "GET", "/admin/legal-holds", nil, nil); code != 401 {
		t.Errorf("without the staff token: HTTP %d", code)
	}
	w.staff("GET", "/admin/legal-holds", nil, &list)
	if len(list.Holds) != 0 {
		t.Errorf("holds in force after the release %+v", list.Holds)
	}
	w.staff("GET", "/admin/legal-holds?all=true", nil, &list)
	if len(list.Holds) != 1 || list.Holds[0].ReleasedAt.IsZero() {
		t.Errorf("all holds %+v", list.Holds)
	}

	// A contract ends only once nothing of the line is used.
	bob := w.consumer(1000_00, 0)
	w.pay(bob, w.order("CHAIR-0001", 400_00), 1)
	if code, body := w.try(http.DefaultClient, "POST", "/admin/consumers/"+bob.id+"/line", map[string]any{"close": true, "reason": "moved abroad"}, nil,
		staff...); code != 400 || !strings.Contains(body, "still has 400.00 yuan used") {
		t.Fatalf("closed a line in use: HTTP %d %s", code, body)
	}
	ann := w.consumer(1000_00, 0)
	var ch struct {
		After struct {
			State string `json:"state"`
		} `json:"after"`
	}
	w.staff("POST", "/admin/consumers/"+ann.id+"/line", map[string]any{"close": true, "reason": "contract ended"}, &ch)
	if ch.After.State != "CLOSED" {
		t.Fatalf("closed %+v", ch)
	}
	form := map[string]any{"channel": "credit", "installment_number": 1, "phone": ann.phone, "pin": ann.pin}
	if code, body := w.try(ann.client, "POST", "/q/"+w.order("LAMP-0001", 5_00).Token+"/pay", form, nil); code != 403 || !strings.Contains(body, "closed") {
		t.Errorf("credit payment on a closed line: HTTP %d %s", code, body)
	}
	if code, body := w.try(http.DefaultClient, "POST", "/admin/consumers/"+ann.id+"/line", map[string]any{"frozen": false, "reason": "back"}, nil,
		staff...); code != 400 || !strings.Contains(body, "closed") {
		t.Errorf("reopened a closed line: HTTP %d %s", code, body)
	}
}

// The CLI places, lists and releases holds and runs retention as serve
// does, refusing what the staff API refuses.
func TestRetentionCLI(t *testing.T) {
	in := startServer(t, db.SQLite)
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "500000")
	var h retention.Hold
	in.mustCLI(&h, "retention", "hold", "--kind", "consumer", "--subject", cons.ID, "--reason", "court order 9", "--staff", "li.wei")
	if h.Kind != retention.OnConsumer || h.Subject != cons.ID || h.Actor != "staff:li.wei" {
		t.Fatalf("hold %+v", h)
	}
	if _, err := in.cli("retention", "hold", "--kind", "consumer", "--subject", cons.ID, "--staff", "li.wei"); err == nil {
		t.Errorf("a hold without a reason was placed")
	}
	var list struct {
		Holds []retention.Hold `json:"holds"`
	}
	in.mustCLI(&list, "retention", "holds")
	if len(list.Holds) != 1 || list.Holds[0].ID != h.ID {
		t.Fatalf("holds %+v", list.Holds)
	}
	var rep retention.Report
	in.mustCLI(&rep, "retention", "run", "--dry-run", "--json", "--retain-trades", "30d")
	if !rep.DryRun || len(rep.Items) != 0 {
		t.Errorf("dry run of a new store %+v", rep)
	}
	if _, err := in.cli("retention", "run", "--retain-risk", "3 years"); err == nil || !strings.Contains(err.Error(), "period") {
		t.Errorf("a bad period: %v", err)
	}
	out, err := in.cli("retention", "run")
	if err != nil || !strings.Contains(out, "did: nothing") {
		t.Errorf("run: %q %v", out, err)
	}
	in.mustCLI(&h, "retention", "release", "--id", h.ID, "--staff", "li.wei")
	if h.ReleasedBy != "staff:li.wei" {
		t.Errorf("released %+v", h)
	}
	// Both are in the core store's audit log, with the command.
	core, err := db.Open(t.Context(), "core", filepath.Join(in.args[1], "core.db"), fenfu.SystemClock{}, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	entries, err := audit.List(t.Context(), core, audit.Filter{TargetKind: "consumer", TargetID: cons.ID})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, x := range entries {
		if x.Actor == "staff:li.wei" && strings.Contains(string(x.Detail), h.ID) && strings.Contains(string(x.Detail), "fenfu retention") {
			acts = append(acts, x.Action)
		}
	}
	slices.Sort(acts)
	if !slices.Equal(acts, []string{retention.ActionHold, retention.ActionHoldRelease}) {
		t.Errorf("the audit log of the hold: %+v", entries)
	}
}
