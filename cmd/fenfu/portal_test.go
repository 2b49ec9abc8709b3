package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/examples/sdkwalk"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/wxpay"
)

// portalWorld is a server on a fake clock that starts at the real time
// (so the official SDK's signatures fall within the allowed skew), a
// sandbox merchant with its keys, and the merchant's notify endpoint.
type portalWorld struct {
	*creditWorld
	m    merchant.Sandbox
	hook *notifyHook
}

// notifyHook is a merchant's notify_url: it decrypts each notification
// with the merchant's API v3 key and keeps it, by event id.
type notifyHook struct {
	t      *testing.T
	apiv3  string
	srv    *httptest.Server
	mu     sync.Mutex
	events map[string][]map[string]any
}

func (h *notifyHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env struct {
		ID        string          `json:"id"`
		EventType string          `json:"event_type"`
		Resource  notify.Resource `json:"resource"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &env); err != nil {
		h.t.Errorf("a notification that is not JSON: %s", body)
		w.WriteHeader(400)
		return
	}
	h.mu.Lock()
	key := h.apiv3
	h.mu.Unlock()
	pt, err := notify.Decrypt(env.Resource, key)
	if err != nil {
		h.t.Errorf("a notification the merchant's key does not decrypt: %v", err)
		w.WriteHeader(400)
		return
	}
	var obj map[string]any
	_ = json.Unmarshal(pt, &obj)
	obj["event_type"] = env.EventType
	h.mu.Lock()
	h.events[env.ID] = append(h.events[env.ID], obj)
	h.mu.Unlock()
	w.WriteHeader(204)
}

// got returns the notifications of an event the hook has received.
func (h *notifyHook) got(event string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.events[event]...)
}

// wait waits until the hook has received n notifications of an event.
func (h *notifyHook) wait(event string, n int) []map[string]any {
	h.t.Helper()
	for i := 0; i < 200; i++ {
		if got := h.got(event); len(got) >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("the merchant's endpoint received %d notifications of %s, want %d", len(h.got(event)), event, n)
	return nil
}

func startPortalWorld(t *testing.T, engine db.Engine) *portalWorld {
	t.Helper()
	cfg := engineConfig(t, engine)
	cfg.NotifyPrivate = true // the merchant's endpoint is on this machine
	w := startWorldAt(t, cfg, time.Now().Truncate(time.Second))
	m, err := w.a.merchants.CreateSandbox(t.Context(), "Portal shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	h := &notifyHook{t: t, apiv3: m.APIv3Key, events: map[string][]map[string]any{}}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return &portalWorld{creditWorld: w, m: m, hook: h}
}

// portalUser is a merchant's user of the portal, with a browser-like
// client that keeps cookies and does not follow redirects.
type portalUser struct {
	mchid, name, password, totp string
	client                      *http.Client
}

var totpSecretRE = regexp.MustCompile(`id="enrolled-totp">([A-Z2-7]+)<`)

// owner has staff make the merchant's owner, as onboarding staff do.
func (w *portalWorld) owner(mchid, name string) *portalUser {
	w.t.Helper()
	var en struct {
		User struct {
			Role string `json:"role"`
		} `json:"user"`
		TOTPSecret string `json:"totp_secret"`
	}
	w.staff("POST", "/admin/merchants/"+mchid+"/users", map[string]any{"name": name, "password": "owner's long password"}, &en)
	if en.User.Role != "owner" || en.TOTPSecret == "" {
		w.t.Fatalf("the owner made: %+v", en)
	}
	return w.user(mchid, name, "owner's long password", en.TOTPSecret)
}

func (w *portalWorld) user(mchid, name, password, secret string) *portalUser {
	jar, _ := cookiejar.New(nil)
	return &portalUser{mchid: mchid, name: name, password: password, totp: secret, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send sends a request as the user, a form for a POST from the portal's
// own origin unless origin says otherwise; it returns the status, the
// redirect's location and the body.
func (w *portalWorld) send(u *portalUser, method, path string, form url.Values, origin ...string) (int, string, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, w.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == "POST" {
		req.Header.Set("Origin", w.base)
		if len(origin) > 0 {
			req.Header.Set("Origin", origin[0])
		}
	}
	resp, err := u.client.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	b := readAll(w.t, resp)
	return resp.StatusCode, resp.Header.Get("Location"), b
}

// sendFile posts a multipart form with one file as the user, from the
// portal's own origin (sendFiles).
func (w *portalWorld) sendFile(u *portalUser, path string, fields map[string]string, name, contentType string, content []byte) (int, string, string) {
	w.t.Helper()
	return w.sendFiles(u, path, fields, portalFile{name, contentType, content})
}

// login logs the user in with the current TOTP code (if it has a second
// factor); the clock moves on a step first, so no code is used twice.
func (w *portalWorld) login(u *portalUser) {
	w.t.Helper()
	w.clock.Advance(30 * time.Second)
	code := ""
	if u.totp != "" {
		code, _ = totp.GenerateCode(u.totp, w.clock.Now())
	}
	status, loc, body := w.send(u, "POST", "/portal/login", url.Values{"mchid": {u.mchid}, "name": {u.name}, "password": {u.password},
		"totp": {code}, "next": {"/portal/"}})
	if status != 303 || loc != "/portal/" {
		w.t.Fatalf("%s logs in: HTTP %d to %q\n%s", u.name, status, loc, body)
	}
}

// add has an owner add a user in the portal and returns it.
func (w *portalWorld) add(owner *portalUser, name, role string, withTOTP bool) *portalUser {
	w.t.Helper()
	form := url.Values{"name": {name}, "role": {role}, "password": {name + "'s long password"}}
	if withTOTP {
		form.Set("totp", "1")
	}
	status, _, body := w.send(owner, "POST", "/portal/users", form)
	if status != 200 || !strings.Contains(body, `id="enrolled"`) {
		w.t.Fatalf("adding %s: HTTP %d\n%s", name, status, body)
	}
	secret := ""
	if m := totpSecretRE.FindStringSubmatch(body); m != nil {
		secret = m[1]
	}
	if want := withTOTP || role == "owner" || role == "developer"; want != (secret != "") {
		w.t.Fatalf("%s added with a second factor %v, want %v", name, secret != "", want)
	}
	return w.user(owner.mchid, name, name+"'s long password", secret)
}

// paid makes an order of the merchant, whose notifications go to the
// hook, and has a consumer pay it.
func (w *portalWorld) paid(no string, total fenfu.Fen, ch pay.Channel) pay.Order {
	w.t.Helper()
	ctx := w.t.Context()
	w.clock.Advance(time.Second) // orders made in turn
	o, err := w.a.pay.CreateNative(ctx, pay.NativeOrder{MchID: w.m.MchID, AppID: w.m.AppID, Description: "Teapot", OutTradeNo: no,
		NotifyURL: w.hook.srv.URL + "/notify", Total: total})
	if err != nil {
		w.t.Fatal(err)
	}
	if ch == "" {
		return o
	}
	c := w.consumer(100_000_00, 100_000_00)
	if o, err = w.a.pay.Pay(ctx, o.Token, c.id, ch); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// sdk is the official SDK's client of the merchant.
func (w *portalWorld) sdk() *core.Client {
	w.t.Helper()
	u, _ := url.Parse(w.base)
	pk := w.a.keys.Platform(scheme.RSA)
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(w.m.MchID, w.m.SerialNo, w.m.PrivateKey.(*rsa.PrivateKey), pk.ID,
			scheme.Public(pk.Key).(*rsa.PublicKey)),
		option.WithHTTPClient(&http.Client{Transport: sdkwalk.ToHost{Fenfu: u}, Timeout: 10 * time.Second}))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// v3 is fenfu's own v3 client of the merchant, signing at the world's
// time: for what runs after the clock moved ahead of the real one.
func (w *portalWorld) v3() *wxpay.Client {
	pk := w.a.keys.Platform(scheme.RSA)
	return &wxpay.Client{BaseURL: w.base, MchID: w.m.MchID, SerialNo: w.m.SerialNo, Key: w.m.PrivateKey, PlatformKey: scheme.Public(pk.Key),
		PlatformKeyID: pk.ID, IDs: w.a.ids, Clock: w.clock}
}

// v3Bill is a day's trade bill as the v3 API serves it: the download_url
// of GET /v3/bill/tradebill, fetched.
func (w *portalWorld) v3Bill(date string) []byte {
	w.t.Helper()
	c := w.v3()
	var link struct {
		DownloadURL string `json:"download_url"`
	}
	if err := c.Do(w.t.Context(), "GET", "/v3/bill/tradebill?bill_date="+date, nil, &link); err != nil {
		w.t.Fatalf("the v3 trade bill of %s: %v", date, err)
	}
	uri := strings.TrimPrefix(link.DownloadURL, w.base)
	auth, err := c.Sign("GET", uri, nil, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", w.base+uri, nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) == 0 {
		w.t.Fatalf("the v3 bill download: HTTP %d %s", resp.StatusCode, b)
	}
	return b
}

var refundNoRE = regexp.MustCompile(`name="out_refund_no" value="([^"]+)"`)

// TestPortalHTTP: the merchant portal over HTTP, on each engine. Staff
// make a merchant's owner, who adds users of each role; a finance user
// refunds from an order's page through the path the v3 API takes (the
// same notification, the refund in the SDK's refund query, once however
// often the form is sent); a support user cannot refund; a form from
// another site is refused; another merchant's user sees none of the
// merchant's orders by any address; every request is in the audit log
// under its user; bills, notifications, settlements, fees, keys, users
// and complaints work from their pages, in both languages.
func TestPortalHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testPortalHTTP(t, engine) })
	}
}

func testPortalHTTP(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := startPortalWorld(t, engine)
	owner := w.owner(w.m.MchID, "ann")
	if code, body := w.try(http.DefaultClient, "POST", "/admin/merchants/"+w.m.MchID+"/users",
		map[string]any{"name": "eve", "password": "another long password"}, nil, w.staffAuth()...); code != 400 || !strings.Contains(body, "already has an owner") {
		t.Errorf("a second owner by staff: HTTP %d %s", code, body)
	}
	// The owner's second factor is required.
	status, _, body := w.send(owner, "POST", "/portal/login", url.Values{"mchid": {owner.mchid}, "name": {"ann"}, "password": {owner.password}})
	if status != 401 || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Errorf("the owner without a code: HTTP %d", status)
	}
	w.login(owner)
	if status, loc, _ := w.send(owner, "GET", "/portal/", nil); status != 303 || loc != "/portal/orders" {
		t.Errorf("the portal's first page: HTTP %d to %q", status, loc)
	}
	fin := w.add(owner, "fin", "finance", false)
	sup := w.add(owner, "sup", "support", false)
	dev := w.add(owner, "dev", "developer", false) // a developer always has a second factor
	if dev.totp == "" {
		t.Fatal("a developer added without a second factor")
	}
	for _, u := range []*portalUser{fin, sup, dev} {
		w.login(u)
	}
	// Another merchant, with an owner of its own.
	other, err := w.a.merchants.CreateSandbox(ctx, "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	stranger := w.owner(other.MchID, "bo")
	w.login(stranger)

	credit := w.paid("TEA-0001", 120_00, pay.ChannelCredit)
	balance := w.paid("TEA-0002", 30_00, pay.ChannelBalance)
	unpaid := w.paid("TEA-0003", 8_00, "")
	w.hook.wait("EV-"+credit.ID, 1)

	// Orders: the list, its search and CSV.
	_, _, list := w.send(fin, "GET", "/portal/orders", nil)
	for _, no := range []string{"TEA-0001", "TEA-0002", "TEA-0003", "¥120.00"} {
		if !strings.Contains(list, no) {
			t.Errorf("the order list lacks %s", no)
		}
	}
	if _, _, paidOnly := w.send(fin, "GET", "/portal/orders?state=SUCCESS", nil); !strings.Contains(paidOnly, "TEA-0001") ||
		strings.Contains(paidOnly, "TEA-0003") {
		t.Error("the list of paid orders shows an unpaid one, or not a paid one")
	}
	if _, _, one := w.send(fin, "GET", "/portal/orders?out_trade_no=TEA-0002&channel=ordinary", nil); !strings.Contains(one, balance.ID) ||
		strings.Contains(one, "TEA-0001") {
		t.Error("the search by out_trade_no and channel")
	}
	status, _, csvBody := w.send(fin, "GET", "/portal/orders.csv", nil)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if status != 200 || err != nil || len(rows) != 4 || rows[0][0] != "transaction_id" || rows[3][1] != "TEA-0001" || rows[3][5] != "120.00" {
		t.Errorf("the orders' CSV: HTTP %d %v %q", status, err, rows)
	}

	// A list's page after a cursor it did not answer is refused, naming
	// after.
	for _, list := range []string{"/portal/orders", "/portal/orders.csv", "/portal/notifications", "/portal/settlements", "/portal/settlements.csv",
		"/portal/complaints", "/portal/tickets"} {
		if status, _, body := w.send(owner, "GET", list+"?after=bm90IGEgY3Vyc29y", nil); status != 400 || !strings.Contains(body, "after") {
			t.Errorf("%s after a cursor it did not answer: HTTP %d\n%s", list, status, body)
		}
	}

	// Another merchant's user sees none of them, by any address.
	if _, _, l := w.send(stranger, "GET", "/portal/orders?transaction_id="+credit.ID, nil); strings.Contains(l, "TEA-0001") {
		t.Error("another merchant's user finds the order by its transaction_id")
	}
	if _, _, l := w.send(stranger, "GET", "/portal/orders", nil); strings.Contains(l, "TEA-000") {
		t.Error("another merchant's user lists the merchant's orders")
	}
	if _, _, c := w.send(stranger, "GET", "/portal/orders.csv?out_trade_no=TEA-0001", nil); strings.Contains(c, "TEA-0001") {
		t.Error("another merchant's user exports the merchant's orders")
	}
	if status, _, body := w.send(stranger, "GET", "/portal/orders/"+credit.ID, nil); status != 404 || strings.Contains(body, "TEA-0001") {
		t.Errorf("another merchant's order page: HTTP %d", status)
	}
	if status, _, _ := w.send(stranger, "POST", "/portal/orders/"+credit.ID+"/refunds", url.Values{"out_refund_no": {"X-1"}, "amount": {"1.00"}}); status != 404 {
		t.Errorf("another merchant's user refunding the order: HTTP %d", status)
	}
	if status, _, _ := w.send(stranger, "GET", "/portal/notifications?event_id=EV-"+credit.ID, nil); status != 200 {
		t.Errorf("the stranger's log: HTTP %d", status)
	} else if _, _, l := w.send(stranger, "GET", "/portal/notifications?event_id=EV-"+credit.ID, nil); strings.Contains(l, `data-event="EV-`+credit.ID) {
		t.Error("another merchant's user reads the merchant's delivery log")
	}

	// A support user reads the order but cannot refund it.
	status, _, page := w.send(sup, "GET", "/portal/orders/"+credit.ID, nil)
	if status != 200 || !strings.Contains(page, "TEA-0001") || strings.Contains(page, `id="refund-form"`) {
		t.Errorf("the support user's order page: HTTP %d, refund form shown %v", status, strings.Contains(page, `id="refund-form"`))
	}
	status, _, body = w.send(sup, "POST", "/portal/orders/"+credit.ID+"/refunds", url.Values{"out_refund_no": {"SUP-1"}, "amount": {"1.00"}})
	if status != 403 || !strings.Contains(body, "FORBIDDEN") || !strings.Contains(body, "owner, finance") {
		t.Errorf("a support user's refund: HTTP %d\n%s", status, body)
	}
	// A form another site sent is refused.
	status, _, body = w.send(fin, "POST", "/portal/orders/"+credit.ID+"/refunds", url.Values{"out_refund_no": {"EVIL-1"}, "amount": {"1.00"}},
		"https://evil.example")
	if status != 403 || !strings.Contains(body, "NO_AUTH") {
		t.Errorf("a cross-site refund: HTTP %d\n%s", status, body)
	}
	if refunds, _ := w.a.pay.RefundsOf(ctx, credit.ID); len(refunds) != 0 {
		t.Fatalf("refused refunds were made: %+v", refunds)
	}

	// The finance user refunds from the order's page; the form sent again
	// refunds once.
	_, _, page = w.send(fin, "GET", "/portal/orders/"+credit.ID, nil)
	m := refundNoRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="refund-form"`) {
		t.Fatalf("the finance user's order page has no refund form:\n%s", page)
	}
	form := url.Values{"out_refund_no": {m[1]}, "amount": {"20.00"}, "reason": {"chipped lid"}}
	for range 2 {
		status, loc, body := w.send(fin, "POST", "/portal/orders/"+credit.ID+"/refunds", form)
		if status != 303 || !strings.HasPrefix(loc, "/portal/orders/"+credit.ID+"?refund=") {
			t.Fatalf("the refund form: HTTP %d to %q\n%s", status, loc, body)
		}
	}
	made, _ := w.a.pay.RefundsOf(ctx, credit.ID)
	if len(made) != 1 || made[0].Amount != 20_00 || made[0].OutRefundNo != m[1] {
		t.Fatalf("the form sent twice made %+v, want one refund of 2000", made)
	}
	_, _, page = w.send(fin, "GET", "/portal/orders/"+credit.ID+"?lang=zh", nil)
	saysState(t, "the order page's refund", page, map[string]string{"SUCCESS": "退款成功", "PROCESSING": "退款处理中"}[string(made[0].Status)],
		string(made[0].Status))
	_, _, page = w.send(fin, "GET", "/portal/orders/"+credit.ID+"?refund="+url.QueryEscape(m[1]), nil)
	if !strings.Contains(page, `id="notice"`) || !strings.Contains(page, m[1]) || !strings.Contains(page, "¥20.00") || !strings.Contains(page, ">REFUND<") {
		t.Errorf("the order page after the refund:\n%s", page)
	}
	form.Set("amount", "21.00")
	if status, _, body := w.send(fin, "POST", "/portal/orders/"+credit.ID+"/refunds", form); status != 400 || !strings.Contains(body, "different parameters") {
		t.Errorf("the same out_refund_no with another amount: HTTP %d", status)
	}
	// The refund is the API's: in the official SDK's refund query, and
	// notified as a refund made through the API is.
	refunds := refunddomestic.RefundsApiService{Client: w.sdk()}
	got, _, err := refunds.QueryByOutRefundNo(ctx,
		refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(m[1])})
	if err != nil || *got.Amount.Refund != 20_00 || *got.OutTradeNo != "TEA-0001" || *got.Status != refunddomestic.STATUS_SUCCESS {
		t.Fatalf("the SDK's refund query: %v, %v", got, err)
	}
	if n := w.hook.wait("EV-"+*got.RefundId, 1); n[0]["out_refund_no"] != m[1] || n[0]["event_type"] != "REFUND.SUCCESS" {
		t.Errorf("the refund's notification: %+v", n)
	}

	// Every request is in the audit log under its user.
	entries, err := audit.List(ctx, w.a.core, audit.Filter{Action: "POST /portal/orders/{transaction_id}/refunds", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		var d struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(e.Detail, &d)
		seen[e.Actor] += d.Code + " "
	}
	for actor, want := range map[string]string{
		"merchant_user:" + w.m.MchID + "/fin":  "OK",
		"merchant_user:" + w.m.MchID + "/sup":  "FORBIDDEN",
		"merchant_user:" + other.MchID + "/bo": "ORDER_NOT_EXIST",
	} {
		if !strings.Contains(seen[actor], want) {
			t.Errorf("the audit log has %s's refunds as %q, want %s among them", actor, seen[actor], want)
		}
	}
	if reads, _ := audit.List(ctx, w.a.core, audit.Filter{Actor: "merchant_user:" + w.m.MchID + "/sup", Action: "GET /portal/orders/{transaction_id}"}); len(reads) == 0 {
		t.Error("a page read is not in the audit log")
	}

	// Notifications: the delivery log, and a resend the worker delivers as
	// a new attempt.
	_, _, log := w.send(dev, "GET", "/portal/notifications?event_id=EV-"+credit.ID, nil)
	if !strings.Contains(log, `data-event="EV-`+credit.ID+`" data-attempt="1"`) || !strings.Contains(log, "DELIVERED") {
		t.Fatalf("the delivery log:\n%s", log)
	}
	saysState(t, "the delivery log", log, "已送达", "DELIVERED")
	if status, loc, _ := w.send(dev, "POST", "/portal/notifications/EV-"+credit.ID+"/resend", url.Values{}); status != 303 || !strings.Contains(loc, "resent=") {
		t.Fatalf("resend: HTTP %d to %q", status, loc)
	}
	if again := w.hook.wait("EV-"+credit.ID, 2); again[1]["out_trade_no"] != "TEA-0001" {
		t.Errorf("the resent notification: %+v", again[1])
	}
	if status, _, _ := w.send(fin, "POST", "/portal/notifications/EV-"+credit.ID+"/resend", url.Values{}); status != 403 {
		t.Errorf("a finance user's resend: HTTP %d", status)
	}

	// Keys: register, retire the old one, rotate the API v3 key (shown
	// once), the notify URL.
	priv, err := scheme.Generate(scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := scheme.MarshalPublicKey(scheme.Public(priv))
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	status, loc, _ := w.send(dev, "POST", "/portal/keys", url.Values{"public_key": {string(pemKey)}})
	serial := merchant.SerialOf(der)
	if status != 303 || loc != "/portal/keys?added="+serial {
		t.Fatalf("registering a key: HTTP %d to %q", status, loc)
	}
	if status, loc, _ := w.send(dev, "POST", "/portal/keys/"+w.m.SerialNo+"/retire", url.Values{}); status != 303 || !strings.Contains(loc, "retired=") {
		t.Errorf("retiring the first key: HTTP %d to %q", status, loc)
	}
	if status, _, body := w.send(dev, "POST", "/portal/keys/"+serial+"/retire", url.Values{}); status != 400 || !strings.Contains(body, "only active key") {
		t.Errorf("retiring the last key: HTTP %d", status)
	}
	w.m.PrivateKey, w.m.SerialNo = priv, serial // the merchant signs with its new key from now on
	keys, _ := w.a.merchants.Keys(ctx, w.m.MchID)
	if len(keys) != 2 || keys[0].State != merchant.KeyActive || keys[1].State != merchant.KeyRetired {
		t.Errorf("the keys after: %+v", keys)
	}
	_, _, page = w.send(dev, "POST", "/portal/keys/apiv3", url.Values{})
	if fresh, _ := w.a.merchants.Fresh(ctx, w.m.MchID); len(fresh.APIv3Key) != 32 || !strings.Contains(page, `id="apiv3-key">`+fresh.APIv3Key+`<`) {
		t.Errorf("the rotated API v3 key is not the one shown")
	} else {
		if _, _, again := w.send(dev, "GET", "/portal/keys", nil); strings.Contains(again, fresh.APIv3Key) {
			t.Error("the API v3 key is shown again")
		}
		w.hook.mu.Lock()
		w.hook.apiv3 = fresh.APIv3Key // the merchant's endpoint decrypts with the new key
		w.hook.mu.Unlock()
	}
	if status, _, _ := w.send(dev, "POST", "/portal/notify-url", url.Values{"notify_url": {"http://127.0.0.1:9/n"}}); status != 303 {
		t.Errorf("a sandbox merchant's http notify URL: HTTP %d", status)
	}
	if status, _, body := w.send(dev, "POST", "/portal/notify-url", url.Values{"notify_url": {"ftp://shop.example/n"}}); status != 400 || !strings.Contains(body, "PARAM_ERROR") {
		t.Errorf("a notify URL no delivery reaches: HTTP %d", status)
	}
	if status, _, _ := w.send(sup, "GET", "/portal/keys", nil); status != 403 {
		t.Errorf("a support user's keys page: HTTP %d", status)
	}

	// Complaints: the support user answers one.
	cons := w.consumer(1000_00, 1000_00)
	cake := w.paid("CAKE-0001", 50_00, "")
	if _, err := w.a.pay.Pay(ctx, cake.Token, cons.id, pay.ChannelCredit); err != nil {
		t.Fatal(err)
	}
	c, err := w.a.complaints.File(ctx, complaint.NewComplaint{ConsumerID: cons.id, TransactionID: cake.ID, ProblemType: "OTHERS", Detail: "stale"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, l := w.send(sup, "GET", "/portal/complaints", nil); !strings.Contains(l, c.ID) {
		t.Error("the complaint list lacks the complaint")
	}
	if status, loc, _ := w.send(sup, "POST", "/portal/complaints/"+c.ID+"/response", url.Values{"response_content": {"We will bake another."}}); status != 303 ||
		!strings.Contains(loc, "done=response") {
		t.Errorf("answering: HTTP %d to %q", status, loc)
	}
	if x, _ := w.a.complaints.Of(ctx, w.m.MchID, c.ID); x.State != complaint.Processing {
		t.Errorf("the answered complaint is %s", x.State)
	}
	_, _, cp := w.send(sup, "GET", "/portal/complaints/"+c.ID+"?lang=zh", nil)
	saysState(t, "the complaint page", cp, "处理中", "PROCESSING")
	_, _, cl := w.send(sup, "GET", "/portal/complaints?lang=zh", nil)
	saysState(t, "the complaints list", cl, "处理中", "PROCESSING")
	if status, _, _ := w.send(stranger, "GET", "/portal/complaints/"+c.ID, nil); status != 404 {
		t.Errorf("another merchant's complaint: HTTP %d", status)
	}

	// Tickets: a developer opens one about an order with a file, staff
	// answer it, the developer answers back; it is the merchant's ticket,
	// as the v3 API's, and no other merchant's user reaches it.
	callLog := []byte("2026-12-07 10:00:03 POST /v3/pay/transactions/native timeout after 10s\n")
	status, loc, body = w.sendFile(dev, "/portal/tickets", map[string]string{"type": "INTERFACE_TIMEOUT", "subject": "Timeouts at noon",
		"description": "Our calls time out between 12:00 and 12:05.", "order": "TEA-0002"}, "calls.txt", "text/plain", callLog)
	if status != 303 || !strings.HasPrefix(loc, "/portal/tickets/TK") {
		t.Fatalf("opening a ticket: HTTP %d to %q\n%s", status, loc, body)
	}
	tkID := strings.TrimPrefix(strings.Split(loc, "?")[0], "/portal/tickets/")
	tk, err := w.a.tickets.Get(ctx, ticket.Merchant(w.m.MchID), tkID)
	if err != nil || tk.Type != ticket.InterfaceTimeout || tk.OutTradeNo != "TEA-0002" || len(tk.Attachments) != 1 || tk.Status != ticket.Open {
		t.Fatalf("the ticket opened in the portal: %+v, %v", tk, err)
	}
	w.staffAuth() // li.wei, who answers it
	if _, err := w.a.tickets.Reply(ctx, ticket.Staff("li.wei"), tkID, ticket.Message{Body: "Your notify host answered slowly; we have raised the timeout."}); err != nil {
		t.Fatal(err)
	}
	_, _, page = w.send(dev, "GET", "/portal/tickets/"+tkID, nil)
	if !strings.Contains(page, "raised the timeout") || !strings.Contains(page, "ANSWERED") || !strings.Contains(page, "calls.txt") || strings.Contains(page, "li.wei") {
		t.Errorf("the ticket's page:\n%s", page)
	}
	if status, loc, _ := w.send(dev, "POST", "/portal/tickets/"+tkID+"/replies", url.Values{"content": {"Thank you, it works now."}}); status != 303 || !strings.Contains(loc, "done=replied") {
		t.Errorf("answering the ticket: HTTP %d to %q", status, loc)
	}
	if status, _, file := w.send(fin, "GET", "/portal/tickets/"+tkID+"/attachments/"+tk.Attachments[0].ID, nil); status != 200 || file != string(callLog) {
		t.Errorf("the ticket's file: HTTP %d %q", status, file)
	}
	if _, _, l := w.send(sup, "GET", "/portal/tickets", nil); !strings.Contains(l, tkID) || !strings.Contains(l, "Timeouts at noon") {
		t.Error("the ticket list lacks the ticket")
	}
	if status, _, _ := w.send(stranger, "GET", "/portal/tickets/"+tkID, nil); status != 404 {
		t.Errorf("another merchant's ticket: HTTP %d", status)
	}
	if _, _, l := w.send(stranger, "GET", "/portal/tickets", nil); strings.Contains(l, tkID) {
		t.Error("another merchant's user lists the merchant's ticket")
	}
	// A history longer than a page shows its newest events and says how
	// many earlier ones it leaves out.
	padHistory(t, w.a.core, tkID, ticket.MaxHistory)
	if tk, err = w.a.tickets.Get(ctx, ticket.Merchant(w.m.MchID), tkID); err != nil || tk.HistoryOmitted == 0 {
		t.Fatalf("a ticket of more than %d events: %d left out, %v", ticket.MaxHistory, tk.HistoryOmitted, err)
	}
	if _, _, page = w.send(dev, "GET", "/portal/tickets/"+tkID, nil); !strings.Contains(page, `id="history-omitted">`) ||
		!strings.Contains(page, fmt.Sprintf(" %d</p>", tk.HistoryOmitted)) || !strings.Contains(page, fmt.Sprintf("still waiting, %d", ticket.MaxHistory-1)) {
		t.Errorf("the page of a ticket with %d earlier events left out:\n%s", tk.HistoryOmitted, page)
	}

	// The next day: the bill equals the API's, the day settles.
	day := w.clock.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	w.clock.Set(fenfu.DayStart(w.clock.Now()).AddDate(0, 0, 1).Add(10 * time.Hour))
	for _, u := range []*portalUser{owner, fin, sup, dev} { // the sessions of yesterday have ended
		if status, _, _ := w.send(u, "GET", "/portal/orders", nil); status != 401 {
			t.Errorf("%s's session of yesterday: HTTP %d", u.name, status)
		}
		w.login(u)
	}
	status, _, bill := w.send(fin, "GET", "/portal/bills/download?kind=trade&date="+day+"&type=ALL&channel=ALL", nil)
	if want := w.v3Bill(day); status != 200 || !bytes.Equal([]byte(bill), want) {
		t.Errorf("the portal's bill (HTTP %d) differs from the v3 API's:\n%s\nwant:\n%s", status, bill, want)
	}
	if status, _, _ := w.send(sup, "GET", "/portal/bills/download?kind=trade&date="+day, nil); status != 403 {
		t.Errorf("a support user's bill: HTTP %d", status)
	}
	if _, err := w.a.settle.Run(ctx, day); err != nil {
		t.Fatal(err)
	}
	_, _, sl := w.send(fin, "GET", "/portal/settlements", nil)
	if !strings.Contains(sl, day) || !strings.Contains(sl, "SETTLED") {
		t.Errorf("the settlements page:\n%s", sl)
	}
	saysState(t, "the settlements page", sl, "已结算", "SETTLED")
	_, _, sc := w.send(fin, "GET", "/portal/settlements.csv?from="+day+"&to="+day, nil)
	if rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(sc, "\ufeff"))).ReadAll(); err != nil || len(rows) != 3 || rows[0][0] != "settlement_id" {
		t.Errorf("the settlements' CSV: %v %q", err, rows)
	}
	_, _, fees := w.send(fin, "GET", "/portal/fees?month="+day[:7]+"&lang=en", nil)
	if !strings.Contains(fees, `id="fees-total"`) || !strings.Contains(fees, "Fee statements") {
		t.Errorf("the fee statement:\n%s", fees)
	}

	// Every page of the owner's, in both languages.
	for _, p := range []struct{ path, zh, en string }{
		{"/portal/orders", "订单", "Orders"}, {"/portal/orders/" + unpaid.ID, "订单详情", "Order"}, {"/portal/bills", "账单下载", "Bills"},
		{"/portal/notifications", "通知记录", "Notifications"}, {"/portal/settlements", "结算记录", "Settlements"},
		{"/portal/fees", "手续费账单", "Fee statements"}, {"/portal/keys", "商户公钥", "Public keys"},
		{"/portal/sandbox", "沙箱测试报告", "Sandbox test report"}, {"/portal/rollout", "A/B 对比", "A/B report"},
		{"/portal/complaints", "消费者投诉", "Complaints"}, {"/portal/tickets", "提交工单", "Open a ticket"}, {"/portal/users", "用户管理", "Users"},
	} {
		for lang, want := range map[string]string{"zh": p.zh, "en": p.en} {
			sep := "?"
			if strings.Contains(p.path, "?") {
				sep = "&"
			}
			status, _, body := w.send(owner, "GET", p.path+sep+"lang="+lang, nil)
			if status != 200 || !strings.Contains(body, want) || !strings.Contains(body, `<html lang="`) {
				t.Errorf("%s in %s: HTTP %d, without %q", p.path, lang, status, want)
			}
		}
	}

	// Rollout: the owner sets it; a developer sees the report but may not.
	if status, _, _ := w.send(owner, "POST", "/portal/rollout", url.Values{"percent": {"30"}}); status != 303 {
		t.Errorf("setting the rollout: HTTP %d", status)
	}
	if fresh, _ := w.a.merchants.Fresh(ctx, w.m.MchID); fresh.CreditRollout != 30 {
		t.Errorf("the rollout is %d", fresh.CreditRollout)
	}
	if status, _, _ := w.send(dev, "POST", "/portal/rollout", url.Values{"percent": {"100"}}); status != 403 {
		t.Errorf("a developer setting the rollout: HTTP %d", status)
	}

	// Users: the owner disables the support user, whose session ends; the
	// last owner stays.
	if status, _, _ := w.send(owner, "POST", "/portal/users/sup/disable", url.Values{}); status != 303 {
		t.Errorf("disabling: HTTP %d", status)
	}
	if status, _, body := w.send(sup, "GET", "/portal/orders", nil); status != 401 || !strings.Contains(body, `action="/portal/login"`) {
		t.Errorf("a disabled user's session: HTTP %d", status)
	}
	if status, _, _ := w.send(owner, "POST", "/portal/users/ann/disable", url.Values{}); status != 400 {
		t.Errorf("disabling the last owner: HTTP %d", status)
	}
	// Staff disable the last owner (a lost phone), whose session ends, and
	// make a new one.
	w.staff("POST", "/admin/merchants/"+w.m.MchID+"/users/ann/disable", map[string]any{"reason": "lost the phone with the second factor"}, nil)
	if status, _, _ := w.send(owner, "GET", "/portal/orders", nil); status != 401 {
		t.Errorf("the owner staff disabled: HTTP %d", status)
	}
	amy := w.owner(w.m.MchID, "amy")
	w.login(amy)
	// Logout ends the session; the login page sends the user back where
	// it was going.
	if status, loc, _ := w.send(fin, "POST", "/portal/logout", url.Values{}); status != 303 || loc != "/portal/login" {
		t.Errorf("logout: HTTP %d to %q", status, loc)
	}
	if status, _, body := w.send(fin, "GET", "/portal/settlements?from="+day, nil); status != 401 ||
		!strings.Contains(body, `name="next" value="/portal/settlements?from=`+day+`"`) {
		t.Errorf("after logout: HTTP %d\n%s", status, body)
	}
	// A login form another site sent is refused.
	status, _, _ = w.send(fin, "POST", "/portal/login", url.Values{"mchid": {fin.mchid}, "name": {"fin"}, "password": {fin.password}}, "https://evil.example")
	if status != 403 {
		t.Errorf("a cross-site login: HTTP %d", status)
	}
}

// TestMerchantUsersCLI: `fenfu merchant-users add` makes a merchant's
// first owner on a running server's stores, printing a generated password
// and the TOTP secret once, with which the owner logs in to the portal;
// a second owner is refused, and `list` shows the merchant's users.
func TestMerchantUsersCLI(t *testing.T) {
	in := startServer(t, db.SQLite)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var en struct {
		User struct {
			Name, Role, MchID string
		} `json:"user"`
		Password   string `json:"password"`
		TOTPSecret string `json:"totp_secret"`
	}
	in.mustCLI(&en, "merchant-users", "add", "--mchid", m.MchID, "--name", "ann", "--actor", "li.wei")
	if en.User.Role != "owner" || en.User.MchID != m.MchID || len(en.Password) < 12 || en.TOTPSecret == "" {
		t.Fatalf("merchant-users add printed %+v", en)
	}
	if _, err := in.cli("merchant-users", "add", "--mchid", m.MchID, "--name", "bo"); err == nil || !strings.Contains(err.Error(), "already has an owner") {
		t.Errorf("a second owner from the command line: %v", err)
	}
	var list []struct{ Name, Role string }
	in.mustCLI(&list, "merchant-users", "list", "--mchid", m.MchID)
	if len(list) != 1 || list[0].Name != "ann" || list[0].Role != "owner" {
		t.Errorf("merchant-users list: %+v", list)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	code, _ := totp.GenerateCode(en.TOTPSecret, time.Now())
	req, _ := http.NewRequest("POST", in.base+"/portal/login", strings.NewReader(url.Values{"mchid": {m.MchID}, "name": {"ann"},
		"password": {en.Password}, "totp": {code}, "next": {"/portal/keys"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || resp.Request.URL.Path != "/portal/keys" || !strings.Contains(body, m.MerchantSerialNo) {
		t.Errorf("the owner's first login: HTTP %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	entries, err := audit.List(t.Context(), in.store(t, "core"), audit.Filter{TargetKind: "merchant user"})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, e := range entries {
		actions[e.Action] = e.Actor
	}
	if actions["merchant user add"] != "staff:li.wei" || actions[audit.ActionLogin] != "merchant_user:"+m.MchID+"/ann" {
		t.Errorf("the audit log of the owner's making and login: %v", actions)
	}
}

// TestPortalSessionOnAFakeClock: the session cookie lasts as the session
// does on fenfu's clock, not until a time on the browser's: on a clock
// days behind the real one a login still keeps its session.
func TestPortalSessionOnAFakeClock(t *testing.T) {
	w := &portalWorld{creditWorld: startCreditWorld(t, db.SQLite)} // 2026-11-27, whatever today is
	if w.clock.Now().After(time.Now().Add(-24 * time.Hour)) {
		t.Skip("the world's clock is not behind the real one")
	}
	owner := w.owner(w.mchid, "ann")
	w.login(owner)
	if status, _, _ := w.send(owner, "GET", "/portal/orders", nil); status != 200 {
		t.Errorf("a page after logging in on a clock behind the browser's: HTTP %d", status)
	}
}

// TestPortalTicketFormKeepsItsInputWhenRefused: a ticket refused for its
// file (or any field) answers the page again with the problem and the
// form as it was sent: the type, subject and description the merchant
// wrote are still there to put right.
func TestPortalTicketFormKeepsItsInputWhenRefused(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	desc := "昨天 12:00 至 12:30 的订单都没有收到支付通知，请核实。"
	status, _, body := w.sendFile(owner, "/portal/tickets?lang=zh", map[string]string{"type": "INTERFACE_TIMEOUT", "subject": "通知未到",
		"description": desc}, "record.txt", "text/plain", []byte("<html><body>not text</body></html>"))
	if status != 400 {
		t.Fatalf("a ticket with a file that is not what it says: HTTP %d", status)
	}
	if !strings.Contains(body, `id="open-ticket"`) || !strings.Contains(body, desc) {
		t.Errorf("the refusal does not give back the form (%v) nor the description written (%v)", strings.Contains(body, `id="open-ticket"`),
			strings.Contains(body, desc))
	}
}

// TestPortalPagesKeepTheirFormsWhenRefused: a list's filter refused for
// what it asks (a date that is no date) and a form refused for a field
// answer their page again, 400, with the problem and the filter or form
// as sent; a CSV export of a refused filter answers the list's page.
func TestPortalPagesKeepTheirFormsWhenRefused(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	for _, path := range []string{"/portal/orders?out_trade_no=LAMP-0042&from=2026-13-01", "/portal/orders.csv?out_trade_no=LAMP-0042&from=2026-13-01"} {
		status, _, page := w.send(owner, "GET", path, nil)
		if status != 400 || !strings.Contains(page, `id="error"`) || !strings.Contains(page, `action="/portal/orders"`) ||
			!strings.Contains(page, `value="LAMP-0042"`) || !strings.Contains(page, `value="2026-13-01"`) {
			t.Errorf("%s: HTTP %d, the orders' filter as sent with the problem: %v %v %v", path, status, strings.Contains(page, `id="error"`),
				strings.Contains(page, `action="/portal/orders"`), strings.Contains(page, `value="LAMP-0042"`))
		}
	}
	status, _, page := w.send(owner, "GET", "/portal/settlements?state=LOST&channel=credit", nil)
	if status != 400 || !strings.Contains(page, `id="error-code">PARAM_ERROR`) || !strings.Contains(page, `value="credit" selected`) {
		t.Errorf("settlements of no state: HTTP %d\n%s", status, page)
	}
	status, _, page = w.send(owner, "POST", "/portal/users", url.Values{"name": {"Bad Name"}, "role": {"finance"}, "password": {"Summer2026!pass"},
		"totp": {""}})
	if status != 400 || !strings.Contains(page, `id="add-user"`) || !strings.Contains(page, `value="Bad Name"`) ||
		!strings.Contains(page, `value="finance" selected`) || strings.Contains(page, "Summer2026!pass") {
		t.Errorf("a user of a name no user can have: HTTP %d, the form as sent, its password not: %v %v %v", status,
			strings.Contains(page, `value="Bad Name"`), strings.Contains(page, `value="finance" selected`), !strings.Contains(page, "Summer2026!pass"))
	}
}

// TestPortalTicketPagesSayWordsNotCodes: the portal's ticket list
// and ticket page, in Chinese, say the types, states, history events and
// actors in Chinese, never as the API's codes (GENERAL, OPEN, OPENED,
// merchant).
func TestPortalTicketPagesSayWordsNotCodes(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	status, loc, _ := w.send(owner, "POST", "/portal/tickets", url.Values{"type": {"GENERAL"}, "subject": {"结算问题"}, "description": {"请核实"}})
	if status != 303 {
		t.Fatalf("opening a ticket: HTTP %d", status)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/portal/tickets/")
	for _, path := range []string{"/portal/tickets?lang=zh", "/portal/tickets/" + id + "?lang=zh"} {
		_, _, page := w.send(owner, "GET", path, nil)
		for _, code := range []string{">GENERAL<", ">OPEN<", ">OPENED<", ">merchant<"} {
			if strings.Contains(page, code) {
				t.Errorf("%s shows %s untranslated on a Chinese page", path, strings.Trim(code, "<>"))
			}
		}
	}
}

// TestPortalBillDownloadAuditedWithItsHash: a bill download's audit
// entry records the bill's SHA-1, so the entry says which bytes left; a
// read is recorded once, a refused one too, with its outcome.
func TestPortalBillDownloadAuditedWithItsHash(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.paid("TEA-0001", 120_00, pay.ChannelCredit)
	day := w.clock.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	w.clock.Set(fenfu.DayStart(w.clock.Now()).AddDate(0, 0, 1).Add(10 * time.Hour))
	w.login(owner)
	if status, _, body := w.send(owner, "GET", "/portal/bills/download?kind=trade&date="+day, nil); status != 200 || !strings.Contains(body, "TEA-0001") {
		t.Fatalf("the day's bill: HTTP %d\n%s", status, body)
	}
	entries, err := audit.List(t.Context(), w.a.core, audit.Filter{Actor: "merchant_user:" + w.m.MchID + "/ann",
		Action: "GET /portal/bills/download", Limit: 10})
	if err != nil || len(entries) == 0 {
		t.Fatalf("the download's audit entries: %v, %v", entries, err)
	}
	hashed := false
	for _, e := range entries {
		var d map[string]any
		_ = json.Unmarshal(e.Detail, &d)
		if d["sha1"] != nil {
			hashed = true
		}
	}
	if !hashed {
		t.Errorf("no audit entry of the bill download records the bill's sha1: %s", entries[0].Detail)
	}
	if len(entries) != 1 {
		t.Errorf("the download is in the audit log %d times, want once", len(entries))
	}
	if status, _, _ := w.send(owner, "GET", "/portal/bills/download?kind=nope&date="+day, nil); status != 400 {
		t.Fatalf("a download of no kind of bill: HTTP %d", status)
	}
	entries, err = audit.List(t.Context(), w.a.core, audit.Filter{Actor: "merchant_user:" + w.m.MchID + "/ann",
		Action: "GET /portal/bills/download", Limit: 10})
	var refused []string
	for _, e := range entries {
		if strings.Contains(string(e.Detail), "kind=nope") {
			refused = append(refused, string(e.Detail))
		}
	}
	if err != nil || len(refused) != 1 || !strings.Contains(refused[0], `"PARAM_ERROR"`) {
		t.Errorf("the refused download's audit entries: %q, %v; want one, with its code", refused, err)
	}
}

// TestPortalNoticeIsNeverALinksText: /portal/users?disabled= never
// shows the text the link carries as the portal's own notice
// ("已停用用户：…"), so no link can make the portal say what it likes;
// nor do the keys' and the delivery log's notices, which name only a key
// or an event the merchant has.
func TestPortalNoticeIsNeverALinksText(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	const bait = "请致电4008001234重置密钥"
	_, _, page := w.send(owner, "GET", "/portal/users?lang=zh&disabled="+url.QueryEscape(bait), nil)
	if strings.Contains(page, bait) {
		t.Errorf("the users page shows a link's text as its notice: %q", bait)
	}
	const serial = "4008001234400800123440080012344008001234" // reads as a serial, is none of the merchant's
	for _, path := range []string{"/portal/keys?added=" + serial, "/portal/keys?retired=" + serial,
		"/portal/notifications?resent=" + url.QueryEscape("EV-"+bait)} {
		if _, _, page := w.send(owner, "GET", path+"&lang=zh", nil); strings.Contains(page, `id="notice"`) {
			t.Errorf("%s shows a notice of a link's text", path)
		}
	}
}

// TestPortalAndConsoleLoginsLimitedPerAddress: the portal's and the
// console's logins count wrong logins per address as well as per user,
// as the consumers' login does: one address cannot try a password on any
// number of users without end (password spraying).
func TestPortalAndConsoleLoginsLimitedPerAddress(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	const tries = 40
	limited := false
	for i := range tries {
		u := w.user(w.m.MchID, fmt.Sprintf("user%02d", i), "Summer2026!pass", "")
		status, _, _ := w.send(u, "POST", "/portal/login", url.Values{"mchid": {u.mchid}, "name": {u.name}, "password": {u.password}})
		if status == http.StatusTooManyRequests {
			limited = true
			break
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("a wrong login: HTTP %d", status)
		}
	}
	if !limited {
		t.Errorf("one address made %d wrong portal logins, each on another user, and none was refused", tries)
	}
	limited = false
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range tries {
		resp, err := noFollow.PostForm(w.base+"/console/login", url.Values{"name": {fmt.Sprintf("staff%02d", i)}, "password": {"Summer2026!pass"},
			"totp": {"123456"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Errorf("one address made %d wrong console logins, each on another name, and none was refused", tries)
	}
}
