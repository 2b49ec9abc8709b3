package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// wxHost is where the official SDK sends its requests; sdkClient's
// transport takes them to fenfu.
const wxHost = "https://api.mch.weixin.qq.com"

// aggregateCodeJSON is an aggregate code as the API and the CLI answer it.
type aggregateCodeJSON struct {
	CodeID     string `json:"code_id"`
	CodeURL    string `json:"code_url"`
	Label      string `json:"label"`
	State      string `json:"state"`
	CreateTime string `json:"create_time"`
	RevokeTime string `json:"revoke_time"`
}

// sdkJSON sends a signed v3 request with the official SDK and decodes
// the answer into out.
func sdkJSON(t *testing.T, c *core.Client, method, path string, body, out any) error {
	t.Helper()
	var res *core.APIResult
	var err error
	if method == "POST" {
		res, err = c.Post(t.Context(), wxHost+path, body)
	} else {
		res, err = c.Get(t.Context(), wxHost+path)
	}
	if err != nil {
		return err
	}
	defer res.Response.Body.Close()
	b, _ := io.ReadAll(res.Response.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return nil
}

// shopper is a consumer in a browser-like client: cookies kept,
// redirects not followed, so each answer can be looked at.
type shopper struct {
	t          *testing.T
	base       string
	phone, pin string
	client     *http.Client
}

func newShopper(t *testing.T, base, phone, pin string) *shopper {
	jar, _ := cookiejar.New(nil)
	return &shopper{t: t, base: base, phone: phone, pin: pin, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send sends a request of the page's origin and returns status, Location
// and body.
func (s *shopper) send(method, path string, form url.Values) (int, string, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), readAll(s.t, resp)
}

var nonceRE = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// amountForm is the nonce of the amount form on a page, or "".
func amountForm(page string) string {
	if m := nonceRE.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// TestAggregateCodeSDK: a merchant creates an aggregate code with the
// official SDK; a consumer opens it, must log in before any order is
// made, enters ¥23.45, is sent on to the order's cashier page and pays on
// credit; the notification reaches the code's notify_url and the SDK's
// handler verifies it; the SDK queries the order by out_trade_no. The
// same on balance, the code's orders listed, the code revoked and
// refused.
func TestAggregateCodeSDK(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testAggregateCodeSDK(t, engine) })
	}
}

func testAggregateCodeSDK(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant", "--name", "Noodle House")
	var cons struct{ ID, Phone, PIN string }
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000", "--balance", "5000")
	client := sdkClient(t, in.base, m)

	handler := sdkNotifyHandler(t, m)
	notices := make(chan payments.Transaction, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx payments.Transaction
		if _, err := handler.ParseNotifyRequest(r.Context(), r, &tx); err != nil {
			t.Errorf("the SDK refused fenfu's notification: %v", err)
			w.WriteHeader(400)
			return
		}
		notices <- tx
		w.WriteHeader(204)
	}))
	defer hook.Close()

	var code aggregateCodeJSON
	if err := sdkJSON(t, client, "POST", "/v3/fenfu/aggregate-codes", map[string]any{"label": "Till 3", "notify_url": hook.URL + "/notify"}, &code); err != nil {
		t.Fatalf("create: %v", err)
	}
	if code.Label != "Till 3" || code.State != "active" || !strings.HasPrefix(code.CodeURL, in.base+"/a/") || code.CreateTime == "" {
		t.Fatalf("created %+v", code)
	}
	var apiErr *core.APIError
	if err := sdkJSON(t, client, "POST", "/v3/fenfu/aggregate-codes", map[string]any{"label": "Till\n4"}, nil); !errors.As(err, &apiErr) ||
		apiErr.StatusCode != 400 || apiErr.Code != "PARAM_ERROR" {
		t.Errorf("a two-line label: %v", err)
	}
	path := strings.TrimPrefix(code.CodeURL, in.base)
	alice := newShopper(t, in.base, cons.Phone, cons.PIN)

	// Logged out: the page shows the merchant and the code and asks for
	// the login, with no amount form; a form sent anyway makes nothing.
	status, _, page := alice.send("GET", path, nil)
	if status != 200 || !strings.Contains(page, "Noodle House") || !strings.Contains(page, "Till 3") ||
		!strings.Contains(page, `name="next" value="`+path+`"`) || amountForm(page) != "" {
		t.Fatalf("the page logged out: HTTP %d\n%s", status, page)
	}
	if status, _, page := alice.send("POST", path, url.Values{"amount": {"23.45"}, "nonce": {"1.abcdefghijklmnopqrst"}}); status != 401 ||
		!strings.Contains(page, "log in to pay") {
		t.Errorf("a form logged out: HTTP %d\n%s", status, page)
	}
	var list struct {
		Data       []json.RawMessage `json:"data"`
		TotalCount int               `json:"total_count"`
	}
	if err := sdkJSON(t, client, "GET", "/v3/fenfu/aggregate-codes/"+code.CodeID+"/orders", nil, &list); err != nil || list.TotalCount != 0 {
		t.Fatalf("orders before the login: %+v, %v", list, err)
	}

	// The login comes back to the code's page, now with the form.
	status, next, _ := alice.send("POST", "/cashier/login", url.Values{"phone": {cons.Phone}, "pin": {cons.PIN}, "next": {path}})
	if status != 303 || next != path {
		t.Fatalf("login: HTTP %d to %q, want 303 to %s", status, next, path)
	}
	pay := func(channel, amount string) (outTradeNo string) {
		t.Helper()
		_, _, page := alice.send("GET", path, nil)
		nonce := amountForm(page)
		if nonce == "" || !strings.Contains(page, `inputmode="decimal"`) || !strings.Contains(page, `<label for="amount">`) {
			t.Fatalf("no labelled amount form logged in:\n%s", page)
		}
		form := url.Values{"amount": {amount}, "nonce": {nonce}}
		status, cashier, _ := alice.send("POST", path, form)
		if status != 303 || !strings.HasPrefix(cashier, "/q/") {
			t.Fatalf("the amount form: HTTP %d to %q, want 303 to the order's cashier", status, cashier)
		}
		// Sent twice (a double tap, a resend): the same order.
		if status, again, _ := alice.send("POST", path, form); status != 303 || again != cashier {
			t.Errorf("the form sent again: HTTP %d to %q, want %s", status, again, cashier)
		}
		status, _, page = alice.send("GET", cashier, nil)
		if status != 200 || !strings.Contains(page, "¥"+amount) || !strings.Contains(page, "Till 3 · Noodle House") {
			t.Fatalf("the order's cashier: HTTP %d\n%s", status, page)
		}
		req, _ := http.NewRequest("POST", in.base+cashier+"/pay", strings.NewReader(`{"channel":"`+channel+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := alice.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var paid struct {
			TradeState string `json:"trade_state"`
			OutTradeNo string `json:"out_trade_no"`
		}
		body := readAll(t, resp)
		if err := json.Unmarshal([]byte(body), &paid); err != nil || resp.StatusCode != 200 || paid.TradeState != "SUCCESS" {
			t.Fatalf("paying on %s: HTTP %d %s", channel, resp.StatusCode, body)
		}
		return paid.OutTradeNo
	}
	svc := native.NativeApiService{Client: client}
	for _, c := range []struct{ channel, bankType string }{{"credit", "FENFU_CREDIT"}, {"balance", "OTHERS"}} {
		no := pay(c.channel, "23.45")
		if !regexp.MustCompile(`^AGG[0-9]{12}[0-9A-F]{17}$`).MatchString(no) {
			t.Errorf("out_trade_no %q is not AGG, the time and 17 hex digits", no)
		}
		select {
		case n := <-notices:
			if *n.OutTradeNo != no || *n.TradeState != "SUCCESS" || *n.Amount.Total != 2345 || *n.Attach != code.CodeID || *n.BankType != c.bankType {
				t.Errorf("notification = %s", mustJSON(n))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s payment notification within 10 s", c.channel)
		}
		tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(no), Mchid: core.String(m.MchID)})
		if err != nil {
			t.Fatal(err)
		}
		if *tx.TradeState != "SUCCESS" || *tx.Amount.Total != 2345 || *tx.Amount.PayerTotal != 2345 || *tx.BankType != c.bankType ||
			tx.Payer == nil || tx.Payer.Openid == nil || *tx.Payer.Openid == "" || *tx.TradeType != "NATIVE" || *tx.Attach != code.CodeID {
			t.Errorf("queried %s", mustJSON(tx))
		}
		byID, _, err := svc.QueryOrderById(ctx, native.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: core.String(m.MchID)})
		if err != nil || *byID.OutTradeNo != no {
			t.Errorf("by transaction_id: %v, %v", byID, err)
		}
	}
	if err := sdkJSON(t, client, "GET", "/v3/fenfu/aggregate-codes/"+code.CodeID+"/orders?limit=10", nil, &list); err != nil || list.TotalCount != 2 || len(list.Data) != 2 {
		t.Errorf("the code's orders: %+v, %v", list, err)
	}

	// Another merchant sees neither the code nor its orders.
	var other sandboxMerchant
	in.mustCLI(&other, "sandbox", "merchant")
	oc := sdkClient(t, in.base, other)
	for _, p := range []string{"/v3/fenfu/aggregate-codes/" + code.CodeID, "/v3/fenfu/aggregate-codes/" + code.CodeID + "/orders"} {
		if err := sdkJSON(t, oc, "GET", p, nil, nil); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Errorf("another merchant's GET %s: %v", p, err)
		}
	}
	var theirs struct {
		Data []aggregateCodeJSON `json:"data"`
	}
	if err := sdkJSON(t, oc, "GET", "/v3/fenfu/aggregate-codes", nil, &theirs); err != nil || len(theirs.Data) != 0 {
		t.Errorf("another merchant's list: %+v, %v", theirs, err)
	}

	// Altered codes, and an order's token, are refused with the reason.
	token := strings.TrimPrefix(path, "/a/")
	var otherCode aggregateCodeJSON
	if err := sdkJSON(t, oc, "POST", "/v3/fenfu/aggregate-codes", map[string]any{"label": "Till 1"}, &otherCode); err != nil {
		t.Fatal(err)
	}
	enc, sig, _ := strings.Cut(token, ".")
	oenc, _, _ := strings.Cut(strings.TrimPrefix(otherCode.CodeURL, in.base+"/a/"), ".")
	for name, bad := range map[string]string{"another merchant's code": oenc + "." + sig, "a cut signature": enc + "." + sig[:8],
		"an order's token": strings.TrimPrefix(prepayCode(t, svc, m, hook.URL), in.base+"/q/")} {
		if status, _, page := alice.send("GET", "/a/"+bad, nil); status != 400 || !strings.Contains(page, "not a valid payment code") {
			t.Errorf("%s: HTTP %d\n%s", name, status, page)
		}
	}

	// Revoked, the code refuses.
	var revoked aggregateCodeJSON
	if err := sdkJSON(t, client, "POST", "/v3/fenfu/aggregate-codes/"+code.CodeID+"/revoke", map[string]any{}, &revoked); err != nil ||
		revoked.State != "revoked" || revoked.RevokeTime == "" {
		t.Fatalf("revoke: %+v, %v", revoked, err)
	}
	if status, _, page := alice.send("GET", path, nil); status != 400 || !strings.Contains(page, "withdrawn") {
		t.Errorf("the revoked code's page: HTTP %d\n%s", status, page)
	}
	if status, _, _ := alice.send("POST", path, url.Values{"amount": {"1"}, "nonce": {"1.abcdefghijklmnopqrst"}}); status != 400 {
		t.Errorf("the revoked code's form: HTTP %d", status)
	}
	if out, err := in.cli("verify"); err != nil || !strings.Contains(out, "the books prove") {
		t.Fatalf("verify: %v %s", err, out)
	}
}

// prepayCode creates a Native order with the SDK and returns its code_url.
func prepayCode(t *testing.T, svc native.NativeApiService, m sandboxMerchant, notify string) string {
	t.Helper()
	resp, _, err := svc.Prepay(t.Context(), native.PrepayRequest{Appid: core.String(m.AppID), Mchid: core.String(m.MchID),
		Description: core.String("Noodles"), OutTradeNo: core.String("NATIVE-0001"), NotifyUrl: core.String(notify),
		Amount: &native.Amount{Total: core.Int64(100)}})
	if err != nil {
		t.Fatal(err)
	}
	return *resp.CodeUrl
}
