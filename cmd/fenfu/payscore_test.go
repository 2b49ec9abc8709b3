package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// TestServiceOrdersEndToEnd walks a pre-authorization through the signed
// v3 API with the official SDK's client (response validator on), the
// cashier's confirm page and the merchant's notify_url (the SDK's notify
// handler), on each engine: a hotel creates a ¥500 service order, the
// consumer confirms it (¥500 frozen, nothing used), the hotel completes
// it with ¥320 (captured with its fee as a PAYSCORE order, ¥180
// released); a completion above the frozen amount is refused; a cancel
// after confirmation and the expiry job release all; installments chosen
// at confirmation give the capture its plan; a partial refund of the
// capture returns to the line; verify proves the books.
func TestServiceOrdersEndToEnd(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testServiceOrdersEndToEnd(t, engine) })
	}
}

// serviceOrderWire is the service order object as a merchant reads it.
type serviceOrderWire struct {
	AppID            string `json:"appid"`
	MchID            string `json:"mchid"`
	OutOrderNo       string `json:"out_order_no"`
	ServiceID        string `json:"service_id"`
	State            string `json:"state"`
	StateDescription string `json:"state_description"`
	TotalAmount      int64  `json:"total_amount"`
	RiskFund         struct {
		Name   string `json:"name"`
		Amount int64  `json:"amount"`
	} `json:"risk_fund"`
	OrderID    string `json:"order_id"`
	Package    string `json:"package"`
	ConfirmURL string `json:"confirm_url"`
	OpenID     string `json:"openid"`
	Collection *struct {
		State      string `json:"state"`
		PaidAmount int64  `json:"paid_amount"`
		Details    []struct {
			Amount        int64  `json:"amount"`
			PaidType      string `json:"paid_type"`
			TransactionID string `json:"transaction_id"`
		} `json:"details"`
	} `json:"collection"`
}

func testServiceOrdersEndToEnd(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	cfg := engineConfig(t, engine)
	cfg.NotifyPrivate = true
	w := startWorld(t, cfg)
	// The SDK signs with the system's time, which the server checks
	// against its clock: the test's fake clock starts there.
	w.clock.Set(time.Now())
	m, err := w.a.provisionSandbox(ctx, "Lakeside Hotel", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	client := sdkClient(t, w.base, m)
	const api = "https://api.mch.weixin.qq.com/v3/payscore/serviceorder"

	// The hotel's notify_url, served by the SDK's notify handler.
	handler := sdkNotifyHandler(t, m)
	var mu sync.Mutex
	events := map[string]serviceOrderWire{} // event type + out_order_no
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var so serviceOrderWire
		req, err := handler.ParseNotifyRequest(r.Context(), r, &so)
		if err != nil {
			t.Errorf("the SDK refused fenfu's notification: %v", err)
			rw.WriteHeader(400)
			return
		}
		mu.Lock()
		events[req.EventType+" "+so.OutOrderNo] = so
		mu.Unlock()
		rw.WriteHeader(204)
	}))
	defer hook.Close()
	waitEvent := func(key string) serviceOrderWire {
		t.Helper()
		for range 500 {
			mu.Lock()
			so, ok := events[key]
			mu.Unlock()
			if ok {
				return so
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no notification %s", key)
		return serviceOrderWire{}
	}

	end := w.clock.Now().Add(48 * time.Hour).In(fenfu.Shanghai).Format(pay.ServiceTimeLayout)
	create := func(no string, amount int64) serviceOrderWire {
		t.Helper()
		res, err := client.Post(ctx, api, map[string]any{"appid": m.AppID, "service_id": "500001", "out_order_no": no,
			"service_introduction": "Lakeside room", "risk_fund": map[string]any{"name": "DEPOSIT", "amount": amount},
			"time_range": map[string]any{"start_time": "OnAccept", "end_time": end}, "notify_url": hook.URL + "/payscore",
			"need_user_confirm": true})
		if err != nil {
			t.Fatalf("create %s: %v", no, err)
		}
		var so serviceOrderWire
		decodeBody(t, res.Response, &so)
		if so.State != "CREATED" || so.Package == "" || !strings.HasPrefix(so.ConfirmURL, w.base+"/cashier/serviceorder?package=") ||
			so.RiskFund.Amount != amount || so.MchID != m.MchID || so.OrderID == "" {
			t.Fatalf("created %+v", so)
		}
		return so
	}
	query := func(no string) serviceOrderWire {
		t.Helper()
		res, err := client.Get(ctx, api+"?out_order_no="+no+"&service_id=500001&appid="+m.AppID)
		if err != nil {
			t.Fatalf("query %s: %v", no, err)
		}
		var so serviceOrderWire
		decodeBody(t, res.Response, &so)
		return so
	}
	complete := func(no string, total int64) (serviceOrderWire, error) {
		t.Helper()
		res, err := client.Post(ctx, api+"/"+no+"/complete", map[string]any{"appid": m.AppID, "service_id": "500001", "total_amount": total,
			"post_payments": []map[string]any{{"name": "Room", "amount": total, "description": "2 nights", "count": 1}}})
		var so serviceOrderWire
		if err == nil {
			decodeBody(t, res.Response, &so)
		}
		return so, err
	}
	p := w.consumer(100000, 0)
	confirm := func(so serviceOrderWire, n int) {
		t.Helper()
		// The confirm page shows the order to anyone with its package;
		// confirming takes the consumer's login.
		var view map[string]any
		w.do(p.client, "GET", strings.TrimPrefix(so.ConfirmURL, w.base), nil, &view)
		if view["merchant"] != "Lakeside Hotel" || view["risk_fund_amount"] != float64(so.RiskFund.Amount) || view["state"] != "CREATED" {
			t.Fatalf("confirm page %v", view)
		}
		page := okPage(t, p, so.ConfirmURL)
		if !strings.Contains(page, "Lakeside room") ||
			!(strings.Contains(page, "Log in to confirm") || strings.Contains(page, `name="installment_number" value="12"`)) {
			t.Fatalf("confirm page:\n%s", page)
		}
		var got map[string]any
		if loggedIn := strings.Contains(page, `name="installment_number"`); loggedIn && n == 0 {
			// Logged in already: the session alone confirms nothing;
			// the PIN does, and a wrong one is refused.
			if !strings.Contains(page, `id="service-pin"`) {
				t.Fatalf("the logged-in confirm page asks for no PIN:\n%s", page)
			}
			for pin, want := range map[string]int{"": 400, "000000": 401} {
				if code, body := w.try(p.client, "POST", "/cashier/serviceorder/confirm", map[string]any{"package": so.Package, "pin": pin}, nil); code != want {
					t.Fatalf("confirming with the session and PIN %q: HTTP %d %s, want %d", pin, code, body, want)
				}
			}
			w.do(p.client, "POST", "/cashier/serviceorder/confirm", map[string]any{"package": so.Package, "pin": p.pin}, &got)
			if got["state"] != "DOING" {
				t.Fatalf("confirmed with the session and the PIN: %v", got)
			}
			return
		}
		w.do(p.client, "POST", "/cashier/serviceorder/confirm", map[string]any{"package": so.Package, "installment_number": n,
			"phone": p.phone, "pin": p.pin}, &got)
		if got["state"] != "DOING" || got["state_description"] != "USER_CONFIRM" {
			t.Fatalf("confirmed %v", got)
		}
	}
	line := func(used, frozen, available fenfu.Fen) {
		t.Helper()
		l, err := credit.Get(ctx, w.a.credit, p.id)
		if err != nil {
			t.Fatal(err)
		}
		if l.Used != used || l.Frozen != frozen || l.Available != available {
			t.Fatalf("line used %d frozen %d available %d, want %d %d %d", l.Used, l.Frozen, l.Available, used, frozen, available)
		}
		for _, b := range []struct {
			a    ledger.Account
			want fenfu.Fen
		}{{credit.Account(p.id), used}, {credit.HeldAccount(p.id), frozen}} {
			if got, err := ledger.Balance(ctx, w.a.credit, b.a); err != nil || got != b.want {
				t.Fatalf("%s = %d, %v; want %d", b.a, got, err, b.want)
			}
		}
	}

	// Create ¥500, confirm: ¥500 frozen, nothing used.
	so := create("stay-500", 50000)
	if _, err := complete("stay-500", 100); err == nil || !strings.Contains(err.Error(), "INVALID_ORDER_STATE") {
		t.Fatalf("complete before confirmation: %v", err)
	}
	confirm(so, 0)
	line(0, 50000, 50000)
	if a := w.account(p); a.Available != 50000 || a.Used != 0 {
		t.Fatalf("account %+v", a)
	}
	if page := okPage(t, p, w.base+"/cashier/credit"); !strings.Contains(page, `id="frozen"`) || !strings.Contains(page, "¥500.00") {
		t.Fatalf("credit page does not show the frozen ¥500:\n%s", page)
	}
	confirmed := waitEvent("PAYSCORE.USER_CONFIRM stay-500")
	if confirmed.State != "DOING" || confirmed.OpenID == "" {
		t.Fatalf("USER_CONFIRM %+v", confirmed)
	}
	if q := query("stay-500"); q.State != "DOING" || q.StateDescription != "USER_CONFIRM" {
		t.Fatalf("query %+v", q)
	}
	// Above the frozen amount: refused, nothing moves.
	if _, err := complete("stay-500", 50001); err == nil || !strings.Contains(err.Error(), "total_amount") {
		t.Fatalf("complete above the risk fund: %v", err)
	}
	line(0, 50000, 50000)
	// Complete ¥320: captured with its fee, ¥180 released.
	done, err := complete("stay-500", 32000)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != "DONE" || done.StateDescription != "USER_PAID" || done.TotalAmount != 32000 {
		t.Fatalf("completed %+v", done)
	}
	line(32000, 0, 68000)
	q := query("stay-500")
	if q.Collection == nil || q.Collection.State != "USER_PAID" || q.Collection.PaidAmount != 32000 || len(q.Collection.Details) != 1 ||
		q.Collection.Details[0].PaidType != "NEWTON" {
		t.Fatalf("query after completion %+v", q)
	}
	o, err := w.a.pay.Get(ctx, q.Collection.Details[0].TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	wantFee := fee320(t, w)
	if o.TradeType != "PAYSCORE" || o.State != pay.Success || o.Total != 32000 || o.Fee.Fee != wantFee || o.ConsumerID != p.id {
		t.Fatalf("payment %+v (fee want %d)", o, wantFee)
	}
	if got, err := ledger.Balance(ctx, w.a.credit, ledger.AccountOf(ledger.MerchantPending, m.MchID)); err != nil || got != 32000-wantFee {
		t.Fatalf("hotel pending %d, %v; want %d", got, err, 32000-wantFee)
	}
	if paid := waitEvent("PAYSCORE.USER_PAID stay-500"); paid.State != "DONE" || paid.Collection == nil || paid.Collection.PaidAmount != 32000 {
		t.Fatalf("USER_PAID %+v", paid)
	}
	// A paid order's amount is not modified: WeChat's rule, refund instead.
	if _, err := client.Post(ctx, api+"/stay-500/modify", map[string]any{"appid": m.AppID, "service_id": "500001", "total_amount": 30000,
		"post_payments": []map[string]any{{"name": "Room", "amount": 30000}}, "reason": "discount"}); err == nil ||
		!strings.Contains(err.Error(), "INVALID_ORDER_STATE") {
		t.Fatalf("modify of a paid order: %v", err)
	}

	// Cancel after confirmation releases all of it.
	so = create("stay-cancel", 20000)
	confirm(so, 0)
	line(32000, 20000, 48000)
	if _, err := client.Post(ctx, api+"/stay-cancel/cancel", map[string]any{"appid": m.AppID, "service_id": "500001", "reason": "guest cancelled"}); err != nil {
		t.Fatal(err)
	}
	if q := query("stay-cancel"); q.State != "REVOKED" {
		t.Fatalf("after cancel %+v", q)
	}
	line(32000, 0, 68000)

	// Installments chosen at confirmation give the capture its plan.
	so = create("stay-3", 30000)
	confirm(so, 3)
	if _, err := complete("stay-3", 30000); err != nil {
		t.Fatal(err)
	}
	line(62000, 0, 38000)
	a := w.account(p)
	plans := 0
	for _, pl := range a.Plans {
		if pl.Installments == 3 && pl.Principal == 30000 {
			plans++
		}
	}
	if plans != 1 {
		t.Fatalf("plans %+v, want one of 3 installments for ¥300", a.Plans)
	}

	// The capture is an ordinary payment: the merchant refunds part of
	// it by its transaction_id, and the line gets it back.
	rf, _, err := (&refunddomestic.RefundsApiService{Client: client}).Create(ctx, refunddomestic.CreateRequest{
		TransactionId: core.String(o.ID), OutRefundNo: core.String("stay-500-minibar"), Reason: core.String("minibar"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(2000), Total: core.Int64(32000), Currency: core.String("CNY")},
	})
	if err != nil || *rf.Status != refunddomestic.STATUS_SUCCESS {
		t.Fatalf("refund of the capture = %+v, %v", rf, err)
	}
	line(60000, 0, 40000)

	// Expiry: past the end and the grace period, the job releases it.
	so = create("stay-expire", 10000)
	confirm(so, 0)
	line(60000, 10000, 30000)
	// Every notification so far is delivered before the clock moves 48
	// hours on: one signed after the move would carry a time the SDK,
	// checking against the system's clock, refuses as expired.
	for i := 0; ; i++ {
		b, err := notify.PendingBacklog(ctx, w.a.core)
		if err != nil {
			t.Fatal(err)
		}
		if b.Pending == 0 {
			break
		}
		if i == 1500 {
			t.Fatalf("%d notifications still pending before the clock moves", b.Pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.clock.Advance(48*time.Hour + pay.DefaultServiceGrace)
	if n, err := w.a.pay.ExpireServiceOrders(ctx); err != nil || n != 1 {
		t.Fatalf("expire = %d, %v", n, err)
	}
	// (Read from the service: the clock is past what a signature may be.)
	if q, err := w.a.pay.ServiceOrderOf(ctx, m.MchID, "stay-expire"); err != nil || q.State != pay.ServiceExpired {
		t.Fatalf("after expiry %+v, %v", q, err)
	}
	line(60000, 0, 40000)

	w.prove()
}

// fee320 is the credit fee of a ¥320 payment, the merchant's first of the
// month.
func fee320(t *testing.T, w *creditWorld) fenfu.Fen {
	t.Helper()
	return w.a.pay.Fees.Credit.Price(32000, 0, 0).Fee
}

// okPage gets a page as the payer's browser does; anything but 200
// fails the test.
func okPage(t *testing.T, p payer, u string) string {
	t.Helper()
	resp, page := htmlPage(t, p.client, u)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d\n%s", u, resp.StatusCode, page)
	}
	return page
}

func decodeBody(t *testing.T, r *http.Response, v any) {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}
