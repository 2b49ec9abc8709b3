package cashier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
)

type env struct {
	srv   *httptest.Server
	pay   *pay.Service
	cons  *consumer.Service
	m     merchant.Sandbox
	phone string
	pin   string
	id    string

	core, credit *db.DB
	ms           *merchant.Service
	secret       []byte
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.SystemClock{}
	core := dbtest.Open(t, db.SQLite, "core", clock)
	cr := dbtest.Open(t, db.SQLite, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(ctx, "Tea House", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{m: m, core: core, credit: cr, ms: ms, secret: []byte("cashier test secret, 32 bytes!!!")}
	e.srv, e.pay, e.cons = e.node(t)
	c, pin, err := e.cons.Create(ctx, consumer.NewConsumer{Phone: "13800138000", CreditLimit: 10000, Rating: "A", Balance: 500})
	if err != nil {
		t.Fatal(err)
	}
	e.phone, e.pin, e.id = c.Phone, pin, c.ID
	return e
}

// nodeWith is node, also returning the cashier to set before it serves.
func (e *env) nodeWith(t *testing.T) (*httptest.Server, *cashier.Cashier) {
	t.Helper()
	clock, ids := fenfu.SystemClock{}, &fenfu.RandomIDs{}
	ps := &pay.Service{Core: e.core, Credit: e.credit, Merchants: e.ms, Tokens: qr.NewSigner(e.secret), IDs: ids, Clock: clock}
	cs := consumer.New(e.core, e.credit, ids, clock)
	mux := http.NewServeMux()
	var srv *httptest.Server
	ca := cashier.New(ps, cs, e.ms, clock, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(tok string) string { return srv.URL + "/q/" + tok })
	ca.Pictures = cashier.Pictures{Marks: qr.NewMarker(e.secret), Screen: qr.Size{Px: 360}, Print: qr.PrintSize(40, 300)}
	ca.Register(mux)
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, ca
}

// node starts a cashier on e's stores, as one of the nodes of a
// deployment, and returns its server and services.
func (e *env) node(t *testing.T) (*httptest.Server, *pay.Service, *consumer.Service) {
	t.Helper()
	srv, ca := e.nodeWith(t)
	return srv, ca.Orders, ca.Consumers
}

func (e *env) order(t *testing.T, no string, total fenfu.Fen) pay.Order {
	t.Helper()
	o, err := e.pay.CreateNative(context.Background(), pay.NativeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Oolong",
		OutTradeNo: no, NotifyURL: "https://tea.example/n", Total: total})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func get(t *testing.T, c *http.Client, u string, accept string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestCashierPage(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-0001", 1234)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	st, body, _ := get(t, browser, e.srv.URL+"/q/"+o.Token, "text/html")
	if st != 200 || !strings.Contains(body, "Tea House") || !strings.Contains(body, "¥12.34") || !strings.Contains(body, "Oolong") ||
		!strings.Contains(body, "登录并付款") || !strings.Contains(body, `<html lang="zh-CN">`) {
		t.Fatalf("page: %d\n%s", st, body)
	}
	st, body, _ = get(t, browser, e.srv.URL+"/q/"+o.Token+"?format=json", "")
	var v cashier.View
	if err := json.Unmarshal([]byte(body), &v); st != 200 || err != nil || v.Total != 1234 || len(v.Channels) != 2 || v.Channels[0].Name != "balance" ||
		v.Channels[1].Reason.Code != display.AmountAtLeastMin || v.Channels[1].Rank == nil || v.Channels[1].Rank.Code != display.NoConsumer {
		// Nobody logged in: the consumer's rules are not applied, and
		// credit is not listed first.
		t.Fatalf("json view: %d %s", st, body)
	}
	st, body, h := get(t, browser, e.srv.URL+"/q/"+o.Token+".png", "")
	if st != 200 || h.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("png: %d %s", st, h.Get("Content-Type"))
	}
	// A token altered to another amount is refused, as page, JSON and PNG.
	enc, sig, _ := strings.Cut(o.Token, ".")
	other := e.order(t, "tea-0002", 1)
	oenc, _, _ := strings.Cut(other.Token, ".")
	for _, bad := range []string{oenc + "." + sig, enc + "." + sig[:len(sig)-2] + "AA", "x"} {
		for _, suffix := range []string{"", "?format=json", ".png", ".svg"} {
			st, body, _ := get(t, browser, e.srv.URL+"/q/"+bad+suffix, "")
			if st != 400 || !strings.Contains(body, "PARAM_ERROR") {
				t.Fatalf("tampered %q%s: %d %s", bad, suffix, st, body)
			}
		}
	}

	// Log in with phone and PIN, then pay with the form, as a browser does.
	form := url.Values{"phone": {e.phone}, "pin": {e.pin}, "next": {"/q/" + o.Token}}
	resp, err := browser.PostForm(e.srv.URL+"/cashier/login", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "付款 ¥12.34") || !strings.Contains(string(b), "138****8000") ||
		!strings.Contains(string(b), `<label class="field" for="pay-pin">`) {
		t.Fatalf("after login: %d\n%s", resp.StatusCode, b)
	}
	resp, err = browser.PostForm(e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {e.pin}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "支付成功") || resp.Request.Method != "GET" || resp.Request.URL.Path != "/q/"+o.Token {
		t.Fatalf("pay: %d, at %s %s\n%s", resp.StatusCode, resp.Request.Method, resp.Request.URL, b)
	}
	if got, _ := e.pay.Get(context.Background(), o.ID); got.State != pay.Success || got.ConsumerID != e.id {
		t.Fatalf("order after browser payment: %+v", got)
	}
	// Paying again shows the reason.
	resp, _ = browser.PostForm(e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"balance"}, "pin": {e.pin}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "ORDERPAID") {
		t.Fatalf("second pay: %d %s", resp.StatusCode, b)
	}
	// A cross-site form post is refused.
	req, _ := http.NewRequest("POST", e.srv.URL+"/q/"+other.Token+"/pay", strings.NewReader("channel=credit"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, _ = browser.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site pay: %d", resp.StatusCode)
	}
}

// answer sends req and returns the status and the JSON body it was
// answered with.
func answer(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestCashierJSON(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-json-1", 800)
	post := func(body map[string]string) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", e.srv.URL+"/q/"+o.Token+"/pay", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return answer(t, req)
	}
	if st, out := post(map[string]string{"channel": "credit"}); st != 401 || out["code"] != "UNAUTHENTICATED" {
		t.Fatalf("no login: %d %v", st, out)
	}
	if st, out := post(map[string]string{"channel": "balance", "phone": e.phone, "pin": e.pin}); st != 403 || out["code"] != "NOT_ENOUGH" {
		t.Fatalf("balance short: %d %v", st, out)
	}
	for i := range 5 {
		if st, out := post(map[string]string{"channel": "credit", "phone": e.phone, "pin": "000000"}); st != 401 {
			t.Fatalf("wrong PIN %d: %d %v", i, st, out)
		}
	}
	if st, out := post(map[string]string{"channel": "credit", "phone": e.phone, "pin": e.pin}); st != 429 || out["code"] != "FREQUENCY_LIMITED" {
		t.Fatalf("after 5 wrong PINs: %d %v", st, out)
	}
}

// TestCashierLoginMalformedPhone: a login with a phone that is not a
// mainland mobile number is a PARAM_ERROR naming the phone, whatever its
// size, and never reaches the PIN check.
func TestCashierLoginMalformedPhone(t *testing.T) {
	e := newEnv(t)
	for _, phone := range []string{strings.Repeat("9", 4000), "12345", "+8613800138000"} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/cashier/login", strings.NewReader(url.Values{"phone": {phone}, "pin": {"000000"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		st, out := answer(t, req)
		if msg, _ := out["message"].(string); st != 400 || out["code"] != "PARAM_ERROR" || !strings.Contains(msg, "phone") {
			t.Errorf("login with phone of %d bytes: %d %v; want 400 PARAM_ERROR naming phone", len(phone), st, out)
		}
	}
}

// TestCashierLoginSourceLimit: failed logins are counted against the
// connection's address, whatever X-Forwarded-For says: after 20 from one
// address it is refused, even with the right PIN.
func TestCashierLoginSourceLimit(t *testing.T) {
	e := newEnv(t)
	login := func(phone, pin string, i int) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/cashier/login", strings.NewReader(url.Values{"phone": {phone}, "pin": {pin}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		req.Header.Set("X-Real-IP", fmt.Sprintf("198.51.100.%d", i))
		return answer(t, req)
	}
	for i := range 20 {
		if st, out := login(fmt.Sprintf("139%08d", i), "000000", i); st != 401 || out["code"] != "UNAUTHENTICATED" {
			t.Fatalf("wrong login %d: %d %v", i+1, st, out)
		}
	}
	if st, out := login(e.phone, e.pin, 99); st != 429 || out["code"] != "FREQUENCY_LIMITED" || nonEmpty(out["remedy"]) == "" ||
		out["help"] != "/errors#FREQUENCY_LIMITED" {
		t.Fatalf("the right PIN after 20 wrong logins from one address: %d %v; want 429 FREQUENCY_LIMITED with a remedy", st, out)
	}
	// The page says the network is locked, not the phone's PIN, which
	// had no wrong try.
	for _, tc := range []struct{ accept, says, not string }{
		{"zh-CN", "此网络登录失败太多", "支付密码已锁定"},
		{"en", "Too many failed logins on this network", "PIN locked"},
	} {
		st, page, _ := postForm(t, browserOf(tc.accept), e.srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {e.pin}})
		shows(t, "a login from a locked network ("+tc.accept+")", page, tc.says)
		if st != 429 || strings.Contains(page, tc.not) {
			t.Errorf("a login from a locked network (%s): %d, says %q", tc.accept, st, tc.not)
		}
	}
}

// TestCashierLogoutRevokesSession: after logout the session cookie is
// worth nothing, on the node that logged it out and on any other node of
// the same stores, though before it worked on both.
func TestCashierLogoutRevokesSession(t *testing.T) {
	e := newEnv(t)
	other, _, _ := e.node(t)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(e.srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {e.pin}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(e.srv.URL)
	var session *http.Cookie
	for _, c := range jar.Cookies(u) {
		if c.Name == "fenfu_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after login")
	}
	// pay pays an order with the cookie alone, as JSON.
	pay := func(base, no string) (int, map[string]any) {
		t.Helper()
		o := e.order(t, no, 100)
		req, _ := http.NewRequest("POST", base+"/q/"+o.Token+"/pay", strings.NewReader(`{"channel":"balance","pin":"`+e.pin+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		return answer(t, req)
	}
	if st, out := pay(e.srv.URL, "logout-1"); st != 200 || out["trade_state"] != "SUCCESS" {
		t.Fatalf("pay with the session: %d %v", st, out)
	}
	if st, out := pay(other.URL, "logout-2"); st != 200 || out["trade_state"] != "SUCCESS" {
		t.Fatalf("pay with the session on another node: %d %v", st, out)
	}
	resp, err = browser.PostForm(e.srv.URL+"/cashier/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, base := range []string{e.srv.URL, other.URL} {
		if st, out := pay(base, "logout-3-"+strings.TrimPrefix(base, "http://127.0.0.1:")); st != 401 || out["code"] != "UNAUTHENTICATED" {
			t.Errorf("pay on %s with the cookie after logout: %d %v; want 401 UNAUTHENTICATED", base, st, out)
		}
	}
}

func TestCashierPayCredit(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-json-2", 800)
	b, _ := json.Marshal(map[string]string{"channel": "credit", "phone": e.phone, "pin": e.pin})
	resp, err := http.Post(e.srv.URL+"/q/"+o.Token+"/pay", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || out["trade_state"] != "SUCCESS" || out["channel"] != "credit" {
		t.Fatalf("json pay: %d %v", resp.StatusCode, out)
	}
	// Paying with phone and PIN logs the consumer in; the next payment
	// is made with the session cookie it set, and still confirmed with
	// the PIN: the session alone pays nothing.
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Value == "" {
		t.Fatalf("a payment with phone and PIN set cookies %v, want the session's", cookies)
	}
	o2 := e.order(t, "tea-json-3", 600)
	payWith := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/q/"+o2.Token+"/pay", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookies[0])
		return answer(t, req)
	}
	if st, out := payWith(`{"channel":"credit"}`); st != 400 || out["code"] != "PARAM_ERROR" || !strings.Contains(nonEmpty(out["message"]), "pin") {
		t.Fatalf("pay with the session cookie alone: %d %v, want PARAM_ERROR naming the pin", st, out)
	}
	if st, out := payWith(`{"channel":"credit","pin":"000000"}`); st != 401 || out["code"] != "UNAUTHENTICATED" {
		t.Fatalf("pay with the session and a wrong PIN: %d %v", st, out)
	}
	if got, _ := e.pay.Get(context.Background(), o2.ID); got.State != pay.NotPay {
		t.Fatalf("the order after a wrong PIN: %s", got.State)
	}
	if st, out := payWith(`{"channel":"credit","pin":"` + e.pin + `"}`); st != 200 || out["trade_state"] != "SUCCESS" {
		t.Fatalf("pay with the session and the PIN: %d %v", st, out)
	}
}

// TestCashierPINFreeBelow: below the PIN-free amount a logged-in consumer
// pays with the session alone; at it, the PIN is asked for, and the page
// shows the PIN field only where it is needed.
func TestCashierPINFreeBelow(t *testing.T) {
	e := newEnv(t)
	srv, ca := e.nodeWith(t)
	ca.PINFreeBelow = 500
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	small, big := e.order(t, "tea-free-1", 499), e.order(t, "tea-free-2", 500)
	resp, err := browser.PostForm(srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {e.pin}, "next": {"/q/" + small.Token}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `name="pin"`) {
		t.Errorf("the page of a ¥4.99 order asks for the PIN below ¥5.00:\n%s", b)
	}
	if _, body, _ := get(t, browser, srv.URL+"/q/"+big.Token, ""); !strings.Contains(body, `id="pay-pin"`) {
		t.Errorf("the page of a ¥5.00 order does not ask for the PIN:\n%s", body)
	}
	for _, tc := range []struct {
		o    pay.Order
		want int
	}{{small, 200}, {big, 400}} {
		resp, err := browser.PostForm(srv.URL+"/q/"+tc.o.Token+"/pay", url.Values{"channel": {"balance"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("¥%s without the PIN: %d, want %d", fenfu.Yuan(tc.o.Total), resp.StatusCode, tc.want)
		}
	}
	if got, _ := e.pay.Get(context.Background(), big.ID); got.State != pay.NotPay {
		t.Errorf("the ¥5.00 order was paid without the PIN: %s", got.State)
	}
}

// TestGrayRelease: with credit pay rolled out to 30 % of consumers, only
// that cohort is offered and allowed credit, deterministically, and the A/B
// report compares the cohorts from what consumers did.
func TestGrayRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.pay.Merchants.SetRollout(ctx, e.m.MchID, 30); err != nil {
		t.Fatal(err)
	}
	m, _ := e.pay.Merchants.Get(ctx, e.m.MchID)
	want := map[string]int{}
	views := map[string]int{}
	for i := range 40 {
		phone := fmt.Sprintf("139%08d", i)
		c, pin, err := e.cons.Create(ctx, consumer.NewConsumer{Phone: phone, CreditLimit: 100000, Rating: "A", Balance: 100000})
		if err != nil {
			t.Fatal(err)
		}
		cohort := m.Cohort(c.ID)
		if (merchant.Bucket(e.m.MchID, c.ID) < 30) != (cohort == merchant.CohortCredit) {
			t.Fatal("cohort does not follow the bucket")
		}
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		o := e.order(t, fmt.Sprintf("gray-%04d", i), fenfu.Fen(1000+i))
		resp, err := browser.PostForm(e.srv.URL+"/cashier/login", url.Values{"phone": {phone}, "pin": {pin}, "next": {"/q/" + o.Token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, body, _ := get(t, browser, e.srv.URL+"/q/"+o.Token+"?format=json", "")
		var v cashier.View
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		offered := false
		for _, ch := range v.Channels {
			offered = offered || ch.Name == "credit"
		}
		if offered != (cohort == merchant.CohortCredit) {
			t.Fatalf("consumer %d in cohort %s: credit offered = %v", i, cohort, offered)
		}
		views[cohort]++
		// Control consumers cannot pay on credit even by asking.
		if cohort == merchant.CohortControl {
			if _, err := e.pay.Pay(ctx, o.Token, c.ID, "credit"); fenfu.ErrorCode(err) != fenfu.RuleLimit {
				t.Fatalf("control consumer paying on credit: %v", err)
			}
		}
		// Every second consumer pays: on credit if offered, else balance.
		if i%2 == 0 {
			ch := pay.ChannelBalance
			if offered {
				ch = pay.ChannelCredit
			}
			if _, err := e.pay.Pay(ctx, o.Token, c.ID, ch); err != nil {
				t.Fatal(err)
			}
			want[cohort]++
		}
	}
	if views[merchant.CohortCredit] == 0 || views[merchant.CohortControl] == 0 {
		t.Fatalf("one cohort is empty: %v", views)
	}
	report, err := e.pay.ABReport(ctx, e.m.MchID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		wantShare := 0.0
		if r.Cohort == merchant.CohortCredit {
			wantShare = 1
		}
		if r.Views != views[r.Cohort] || r.Paid != want[r.Cohort] || r.CreditShare != wantShare ||
			r.Conversion != float64(want[r.Cohort])/float64(views[r.Cohort]) || r.AverageTicket < 1000 || r.AverageTicket > 1040 {
			t.Errorf("cohort %s: %+v (views %d, paid %d)", r.Cohort, r, views[r.Cohort], want[r.Cohort])
		}
	}
}

// nonEmpty is a decoded JSON value as a string, "" if absent or not one.
func nonEmpty(v any) string {
	s, _ := v.(string)
	return s
}

// TestCashierRefusesUnknownSessions: a cookie the store holds no live
// session for pays for nothing, whether it is made up, malformed or a
// token that was never issued.
func TestCashierRefusesUnknownSessions(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-forged-1", 500)
	for _, v := range []string{"MADEUPTOKENMADEUPTOKENMADEU", "not|a|token", strings.Repeat("A", 200), "x' OR '1'='1"} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/q/"+o.Token+"/pay", strings.NewReader(`{"channel":"credit"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: "fenfu_session", Value: v})
		if st, out := answer(t, req); st != 401 || out["code"] != "UNAUTHENTICATED" {
			t.Errorf("cookie %q: %d %v, want 401 UNAUTHENTICATED", v, st, out)
		}
	}
}

// The page opens on credit when the merchant preselected it and the line
// covers the amount; otherwise on the first channel that covers it.
func TestPreselectedChannel(t *testing.T) {
	yes, no := true, false
	credit := func(enough *bool) cashier.Channel { return cashier.Channel{Name: "credit", Enough: enough} }
	balance := cashier.Channel{Name: "balance", Enough: &yes}
	for _, tc := range []struct {
		name      string
		preselect bool
		channels  []cashier.Channel
		want      string
	}{
		{"balance listed first, no preselection", false, []cashier.Channel{balance, credit(&yes)}, "balance"},
		{"balance listed first, credit preselected", true, []cashier.Channel{balance, credit(&yes)}, "credit"},
		{"credit preselected but short", true, []cashier.Channel{balance, credit(&no)}, "balance"},
		{"credit preselected, nobody logged in", true, []cashier.Channel{{Name: "balance"}, credit(nil)}, "credit"},
		{"credit preselected but not offered", true, []cashier.Channel{balance}, "balance"},
	} {
		v := cashier.View{CreditPreselected: tc.preselect, Channels: tc.channels}
		if got := v.Preselected(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
