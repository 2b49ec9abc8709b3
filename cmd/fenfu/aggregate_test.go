package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"github.com/fenfu/fenfu/aggregate"
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
	var mine struct {
		Data       []aggregateCodeJSON `json:"data"`
		TotalCount int                 `json:"total_count"`
	}
	if err := sdkJSON(t, client, "GET", "/v3/fenfu/aggregate-codes?limit=5&offset=0", nil, &mine); err != nil || mine.TotalCount != 1 ||
		len(mine.Data) != 1 || mine.Data[0] != code {
		t.Errorf("the merchant's codes: %+v, %v; want the one created", mine, err)
	}
	if err := sdkJSON(t, client, "GET", "/v3/fenfu/aggregate-codes?limit=0", nil, nil); !errors.As(err, &apiErr) || apiErr.Code != "PARAM_ERROR" {
		t.Errorf("limit=0: %v, want PARAM_ERROR", err)
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
		req, _ := http.NewRequest("POST", in.base+cashier+"/pay", strings.NewReader(`{"channel":"`+channel+`","pin":"`+cons.PIN+`"}`))
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

// aggregateWorld is a credit world with an aggregate code of its
// merchant's ("Table 12") and a consumer who is logged in.
func aggregateWorld(t *testing.T, cfg Config) (*creditWorld, string, *shopper) {
	t.Helper()
	w := startWorld(t, cfg)
	c, err := w.a.aggregate.Create(t.Context(), aggregate.NewCode{MchID: w.mchid, Label: "Table 12"})
	if err != nil {
		t.Fatal(err)
	}
	p := w.consumer(1000_00, 1000_00)
	s := newShopper(t, w.base, p.phone, p.pin)
	if status, _, _ := s.send("POST", "/cashier/login", url.Values{"phone": {p.phone}, "pin": {p.pin}}); status != 303 {
		t.Fatalf("login: HTTP %d", status)
	}
	return w, "/a/" + c.Token, s
}

// TestAggregateAmountForm: the amounts the form refuses, each with what
// to enter and the amount shown again, making no order; another site's
// form refused; and a consumer starting more orders a minute than
// --aggregate-per-minute refused until the minute has passed.
func TestAggregateAmountForm(t *testing.T) {
	cfg := testConfig(t)
	cfg.AggregatePerMinute = 3
	w, path, s := aggregateWorld(t, cfg)
	code := strings.TrimPrefix(path, "/a/")
	codeID := func() string {
		p, err := w.a.aggregate.Tokens.Parse(code)
		if err != nil {
			t.Fatal(err)
		}
		return p.CodeID
	}()
	orders := func() int {
		_, n, err := w.a.aggregate.Orders(t.Context(), w.mchid, codeID, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	_, _, page := s.send("GET", path, nil)
	nonce := amountForm(page)
	for _, c := range []struct{ amount, says string }{
		{"0", "more than ¥0.00"},
		{"-1", "enter the amount in yuan"},
		{"0.001", "enter the amount in yuan"},
		{"abc", "enter the amount in yuan"},
		{"100000000.01", "at most ¥100000000.00"},
		{"1e9", "enter the amount in yuan"},
		{"", "enter the amount in yuan"},
	} {
		status, _, page := s.send("POST", path, url.Values{"amount": {c.amount}, "nonce": {nonce}})
		if status != 400 || !strings.Contains(page, c.says) || !strings.Contains(page, `id="error"`) ||
			!strings.Contains(page, `value="`+c.amount+`"`) || amountForm(page) == "" {
			t.Errorf("amount %q: HTTP %d, want 400 saying %q with the amount and a form again:\n%s", c.amount, status, c.says, page)
		}
	}
	if n := orders(); n != 0 {
		t.Fatalf("refused amounts made %d orders", n)
	}
	req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(url.Values{"amount": {"5"}, "nonce": {nonce}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 403 || !strings.Contains(body, "cross-site") {
		t.Errorf("another site's form: HTTP %d %s", resp.StatusCode, body)
	}
	// Three orders a minute, each a new form; the fourth waits.
	for i := range 4 {
		_, _, page := s.send("GET", path, nil)
		status, _, body := s.send("POST", path, url.Values{"amount": {"5.00"}, "nonce": {amountForm(page)}})
		if i < 3 && status != 303 {
			t.Fatalf("order %d: HTTP %d %s", i+1, status, body)
		}
		if i == 3 && (status != 429 || !strings.Contains(body, "in the last minute")) {
			t.Errorf("the fourth order in a minute: HTTP %d, want 429\n%s", status, body)
		}
	}
	w.clock.Advance(time.Minute)
	_, _, page = s.send("GET", path, nil)
	if status, _, body := s.send("POST", path, url.Values{"amount": {"5.00"}, "nonce": {amountForm(page)}}); status != 303 {
		t.Errorf("a minute later: HTTP %d %s", status, body)
	}
	if n := orders(); n != 4 {
		t.Errorf("%d orders, want 4", n)
	}
}

// TestAggregateCLI: `fenfu aggregate create` prints the code with its
// URL and writes a PNG that a decoder reads as that URL; list and revoke.
func TestAggregateCLI(t *testing.T) {
	in := startServer(t, db.SQLite)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	png := filepath.Join(t.TempDir(), "till3.png")
	var c aggregateCodeJSON
	in.mustCLI(&c, "aggregate", "create", "--mchid", m.MchID, "--label", "Till 3", "--public-url", "https://pay.example.com/", "--png", png)
	if c.Label != "Till 3" || c.State != "active" || !strings.HasPrefix(c.CodeURL, "https://pay.example.com/a/") {
		t.Fatalf("created %+v", c)
	}
	if _, err := in.cli("aggregate", "create", "--mchid", m.MchID, "--label", "Till 3"); err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Errorf("create without a public URL: %v", err)
	}
	if _, err := in.cli("aggregate", "create", "--mchid", m.MchID, "--label", strings.Repeat("x", 33), "--public-url", "https://pay.example.com"); err == nil ||
		!strings.Contains(err.Error(), "at most 32 characters") {
		t.Errorf("a label of 33 characters: %v", err)
	}
	var list struct {
		Data       []aggregateCodeJSON `json:"data"`
		TotalCount int                 `json:"total_count"`
	}
	in.mustCLI(&list, "aggregate", "list", "--mchid", m.MchID, "--public-url", "https://pay.example.com")
	if list.TotalCount != 1 || len(list.Data) != 1 || list.Data[0].CodeURL != c.CodeURL {
		t.Errorf("listed %+v", list)
	}
	var r aggregateCodeJSON
	in.mustCLI(&r, "aggregate", "revoke", "--mchid", m.MchID, "--id", c.CodeID, "--public-url", "https://pay.example.com")
	if r.State != "revoked" || r.CodeURL != c.CodeURL {
		t.Errorf("revoked %+v", r)
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("FENFU_REQUIRE_BROWSER") == "1" {
			t.Fatal("zbarimg is not installed (apt-get install zbar-tools), and FENFU_REQUIRE_BROWSER=1 requires it")
		}
		t.Skip("zbarimg is not installed (apt-get install zbar-tools)")
	}
	out, err := exec.CommandContext(context.Background(), zbar, "--quiet", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != c.CodeURL {
		t.Errorf("the PNG scans as %q, want %q", got, c.CodeURL)
	}
}

// TestAggregateCodeInBrowser: at phone size, a consumer opens a table's
// code, logs in, enters the amount in the labelled field, continues, and
// lands on the order's cashier with the amount and the payment options.
func TestAggregateCodeInBrowser(t *testing.T) {
	p := newPerson(t)
	w := startCreditWorld(t, db.SQLite)
	c, err := w.a.aggregate.Create(t.Context(), aggregate.NewCode{MchID: w.mchid, Label: "Table 12"})
	if err != nil {
		t.Fatal(err)
	}
	alice := w.consumer(1000_00, 1000_00)
	p.open(w.a.aggregateURL(c.Token), `input[name=phone]`)
	p.sees("body", "Installment shop", "Table 12", "Log in to pay")
	if p.eval(`document.getElementById('amount') !== null`) {
		t.Error("the amount field shows before the login")
	}
	p.shot("aggregate-login")
	p.login(alice, `#amount`)
	p.sees(`label[for=amount]`, "Amount")
	if !p.eval(`document.getElementById('amount').inputMode === 'decimal'`) {
		t.Error("the amount field does not ask for a decimal keypad")
	}
	if !p.eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the amount page is wider than the phone")
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`#amount`), "23.45"))
	p.shot("aggregate-amount")
	p.click(`#continue`, `input[name=channel][value=credit]`)
	p.sees("body", "Installment shop", "¥23.45", "Table 12 · Installment shop", "Pay ¥23.45")
	if !p.eval(`location.pathname.startsWith('/q/')`) {
		t.Error("the form did not lead to the order's cashier page")
	}
	p.shot("aggregate-cashier")
}
