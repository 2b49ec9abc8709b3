package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/qr/qrtest"
)

// login logs the payer in to the cashier with the login form, which
// starts the session its client's cookie carries.
func (w *creditWorld) login(p payer) {
	w.t.Helper()
	resp, err := p.client.PostForm(w.base+"/cashier/login", url.Values{"phone": {p.phone}, "pin": {p.pin}})
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		w.t.Fatalf("login: HTTP %d", resp.StatusCode)
	}
}

// till is a merchant's till: it sends the consumer's code with a new
// order of total, a code payment (pay.Micropay), which the code's consumer
// pays on the code's channel.
func (w *creditWorld) till(code, no string, total fenfu.Fen) pay.Order {
	w.t.Helper()
	o, err := w.a.pay.Micropay(w.t.Context(), pay.CodeOrder{MchID: w.mchid, AppID: w.appid, Description: "Sofa", OutTradeNo: no,
		Total: total, AuthCode: code})
	if err != nil {
		w.t.Fatalf("pay by code %s: %v", code, err)
	}
	return o
}

// issued is the JSON of an issued code.
type issued struct {
	Code         string `json:"code"`
	Channel      string `json:"channel"`
	IssuedAt     string `json:"issued_at"`
	ExpiresAt    string `json:"expires_at"`
	RefreshAfter int    `json:"refresh_after"`
	Images       struct {
		Barcode string `json:"barcode"`
		QR      string `json:"qr"`
	} `json:"images"`
}

type codeStatus struct {
	State         string    `json:"state"`
	Channel       string    `json:"channel"`
	TransactionID string    `json:"transaction_id"`
	Merchant      string    `json:"merchant"`
	Amount        fenfu.Fen `json:"amount"`
	PaidAt        string    `json:"paid_at"`
}

// status reads a code's status as p, with the code in the query.
func (w *creditWorld) status(p payer, code string) codeStatus {
	w.t.Helper()
	var s codeStatus
	w.do(p.client, "GET", "/cashier/paycode/status", nil, &s, "X-Payment-Code", code)
	return s
}

// pngOf decodes a data: URI of a PNG.
func pngOf(t *testing.T, uri string) []byte {
	t.Helper()
	b64, ok := strings.CutPrefix(uri, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a data: URI of a PNG: %.40q", uri)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() == 0 {
		t.Fatalf("the PNG: %v", err)
	}
	return b
}

// TestPaycodeHTTP: the payment code routes, on each engine: login
// required; a code issued for a channel with its images; codes at most one
// per gap; another site's POST refused; another consumer cannot read a
// code's status; a new code ends the old one; a code a till redeems and
// pays reads as paid with the merchant and amount; credit refused while
// the line is frozen.
func TestPaycodeHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testPaycodeHTTP(t, engine) })
	}
}

func testPaycodeHTTP(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	alice, bob := w.consumer(1000_00, 200_00), w.consumer(1000_00, 0)
	anon := &http.Client{}

	for _, path := range []string{"/cashier/paycode", "/cashier/paycode/status"} {
		if code, body := w.try(anon, "GET", path, nil, nil, "X-Payment-Code", "134567890123456789"); code != 401 || !strings.Contains(body, "UNAUTHENTICATED") {
			t.Errorf("GET %s logged out: HTTP %d %s", path, code, body)
		}
	}
	if code, body := w.try(anon, "POST", "/cashier/paycode", map[string]string{"channel": "credit"}, nil); code != 401 {
		t.Errorf("POST logged out: HTTP %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", w.base+"/cashier/paycode", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 401 || !strings.Contains(body, `name="next" value="/cashier/paycode"`) {
		t.Errorf("the page logged out: HTTP %d %s", resp.StatusCode, body)
	}

	// The login form comes back to the payment code page, or to a payment
	// waiting for the consumer's confirmation, and nowhere else.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	confirm := "/cashier/paycode/orders/4200202611271000001234567890"
	for next, want := range map[string]string{"/cashier/paycode": "/cashier/paycode", confirm: confirm,
		"/cashier/paycode/orders/../../admin": "/", "/cashier/paycode/x": "/"} {
		resp, err := noFollow.PostForm(w.base+"/cashier/login", url.Values{"phone": {alice.phone}, "pin": {alice.pin}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); resp.StatusCode != 303 || got != want {
			t.Errorf("login with next %q: HTTP %d to %q, want %q", next, resp.StatusCode, got, want)
		}
	}

	w.login(alice)
	w.login(bob)
	// The JSON answer, exactly: these keys and no others.
	code, body := w.try(alice.client, "POST", "/cashier/paycode", map[string]string{"channel": "credit"}, nil)
	if code != 200 {
		t.Fatalf("issue: HTTP %d %s", code, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"channel", "code", "expires_at", "images", "issued_at", "refresh_after"}; !slices.Equal(keys, want) {
		t.Errorf("the answer's keys are %v, want %v", keys, want)
	}
	var first issued
	_ = json.Unmarshal([]byte(body), &first)
	issuedAt, err1 := time.Parse(time.RFC3339, first.IssuedAt)
	expiresAt, err2 := time.Parse(time.RFC3339, first.ExpiresAt)
	if !paycode.Valid(first.Code) || first.Channel != "credit" || first.RefreshAfter != 60 || err1 != nil || err2 != nil ||
		expiresAt.Sub(issuedAt) != paycode.DefaultTTL || !strings.HasSuffix(first.ExpiresAt, "+08:00") {
		t.Errorf("issued %s", body)
	}
	pngOf(t, first.Images.Barcode)
	pngOf(t, first.Images.QR)

	// A second code at once is refused, and ends nothing.
	if code, body := w.try(alice.client, "POST", "/cashier/paycode", map[string]string{"channel": "balance"}, nil); code != 429 ||
		!strings.Contains(body, "FREQUENCY_LIMITED") {
		t.Errorf("a second code at once: HTTP %d %s", code, body)
	}
	w.clock.Advance(5 * time.Second)
	// Another site's request issues nothing, as JSON or as a form.
	if code, body := w.try(alice.client, "POST", "/cashier/paycode", map[string]string{"channel": "balance"}, nil,
		"Origin", "https://evil.example"); code != 403 || !strings.Contains(body, "cross-site payment code requests are refused") {
		t.Errorf("a cross-site POST: HTTP %d %s", code, body)
	}
	freq, _ := http.NewRequest("POST", w.base+"/cashier/paycode", strings.NewReader("channel=balance"))
	freq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	freq.Header.Set("Origin", "https://evil.example")
	if resp, err := alice.client.Do(freq); err != nil || resp.StatusCode != 403 {
		t.Errorf("a cross-site form: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if s := w.status(alice, first.Code); s.State != "unused" || s.Channel != "credit" {
		t.Errorf("the code after refused requests: %+v", s)
	}
	// The page's way: the code in a header, not the URL.
	var s codeStatus
	w.do(alice.client, "GET", "/cashier/paycode/status", nil, &s, "X-Payment-Code", first.Code)
	if s.State != "unused" {
		t.Errorf("the status by header: %+v", s)
	}
	// Another consumer cannot read the code's status.
	if code, body := w.try(bob.client, "GET", "/cashier/paycode/status", nil, nil, "X-Payment-Code", first.Code); code != 404 ||
		!strings.Contains(body, "RESOURCE_NOT_EXISTS") {
		t.Errorf("bob reads alice's code: HTTP %d %s", code, body)
	}
	if code, body := w.try(alice.client, "GET", "/cashier/paycode/status", nil, nil, "X-Payment-Code", "12"); code != 400 || !strings.Contains(body, "AUTH_CODE_ERROR") {
		t.Errorf("a malformed code: HTTP %d %s", code, body)
	}

	// A new code cuts the old one short: it still pays for the overlap (a
	// till may have scanned it just before the page refreshed), then reads
	// as expired, and no till can use it.
	var second issued
	w.do(alice.client, "POST", "/cashier/paycode", map[string]string{"channel": "balance"}, &second)
	if second.Channel != "balance" || second.Code == first.Code {
		t.Fatalf("the second code: %+v", second)
	}
	if s := w.status(alice, first.Code); s.State != "unused" {
		t.Errorf("the replaced code within the overlap: %+v", s)
	}
	w.clock.Advance(paycode.Overlap)
	if s := w.status(alice, first.Code); s.State != "expired" {
		t.Errorf("the replaced code: %+v", s)
	}
	if err := w.a.core.Update(t.Context(), func(tx *db.Tx) error {
		_, err := w.a.paycodes.Redeem(t.Context(), tx, first.Code, "no-such-order")
		return err
	}); fenfu.ErrorCode(err) != fenfu.AuthCodeExpire {
		t.Errorf("a till redeems the replaced code: %v", err)
	}

	// A till redeems the code and the order is paid: the status names the
	// merchant, the amount and the order.
	o := w.till(second.Code, "TEA-0001", 12_50)
	s = w.status(alice, second.Code)
	if s.State != "paid" || s.Merchant != "Installment shop" || s.Amount != 12_50 || s.TransactionID != o.ID || s.PaidAt == "" {
		t.Errorf("the paid code: %+v", s)
	}
	if c, err := w.a.consumers.Get(t.Context(), alice.id); err != nil || c.Balance != 200_00-12_50 {
		t.Errorf("alice's balance after paying by code: %+v, %v", c, err)
	}
	// A code whose order cannot be read says only that it was used.
	w.clock.Advance(5 * time.Second)
	var third issued
	w.do(alice.client, "POST", "/cashier/paycode", nil, &third)
	if third.Channel != "credit" {
		t.Errorf("with no channel asked, the code is for %q, want credit", third.Channel)
	}
	if err := w.a.core.Update(t.Context(), func(tx *db.Tx) error {
		_, err := w.a.paycodes.Redeem(t.Context(), tx, third.Code, "no-such-order")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if s := w.status(alice, third.Code); s.State != "used" || s.TransactionID != "" {
		t.Errorf("a code of an order not to be read: %+v", s)
	}
	// It expires as a code never used does.
	w.clock.Advance(5 * time.Second)
	var fourth issued
	w.do(alice.client, "POST", "/cashier/paycode", map[string]string{"channel": "balance"}, &fourth)
	w.clock.Advance(paycode.DefaultTTL)
	if s := w.status(alice, fourth.Code); s.State != "expired" {
		t.Errorf("a code past its TTL: %+v", s)
	}

	// The page: the code's images inline, under a policy that lets only
	// the page's own script run, never stored.
	resp, page := htmlPage(t, alice.client, w.base+"/cashier/paycode?channel=balance")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "script-src 'nonce-") ||
		!strings.Contains(csp, "img-src 'self' data:") || !strings.Contains(page, `id="barcode" src="data:image/png;base64,`) ||
		!strings.Contains(page, `id="qr" src="data:image/png;base64,`) || !strings.Contains(page, "<script nonce=") {
		t.Errorf("the page: HTTP %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	if !strings.Contains(page, `<noscript><meta http-equiv="refresh" content="60;url=/cashier/paycode?channel=balance"></noscript>`) {
		t.Error("the page does not reload itself each minute without script")
	}
	// Reloaded at once, the page has no new code yet: it says so and
	// reloads itself when it can have one.
	resp, page = htmlPage(t, alice.client, w.base+"/cashier/paycode?channel=balance")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="wait"`) || !strings.Contains(page, `<meta http-equiv="refresh" content="3;url=/cashier/paycode?channel=balance">`) ||
		strings.Contains(page, `id="barcode"`) {
		t.Errorf("the page reloaded at once: HTTP %d\n%s", resp.StatusCode, page)
	}
	// The page's channel buttons, a form of the page's own site, answer
	// with the page showing a code of the channel.
	w.clock.Advance(5 * time.Second)
	freq, _ = http.NewRequest("POST", w.base+"/cashier/paycode", strings.NewReader("channel=credit"))
	freq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	freq.Header.Set("Origin", w.base)
	resp, err = alice.client.Do(freq)
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(page, `data-channel="credit"`) || !strings.Contains(page, `id="barcode"`) {
		t.Errorf("the channel form: HTTP %d\n%s", resp.StatusCode, page)
	}
	if _, account := htmlPage(t, alice.client, w.base+"/cashier/credit"); !strings.Contains(account, `id="paycode-link" href="/cashier/paycode"`) {
		t.Error("the credit account page does not link the payment code page")
	}

	// A frozen line shows no credit code: the JSON refuses it, the page
	// disables the option with the reason and shows a balance code.
	w.staff("POST", "/admin/consumers/"+bob.id+"/line", map[string]any{"frozen": true, "reason": "checking the account"}, nil)
	if code, body := w.try(bob.client, "POST", "/cashier/paycode", map[string]string{"channel": "credit"}, nil); code != 403 ||
		!strings.Contains(body, "frozen") {
		t.Errorf("a credit code on a frozen line: HTTP %d %s", code, body)
	}
	resp, page = htmlPage(t, bob.client, w.base+"/cashier/paycode")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="credit-disabled"`) || !strings.Contains(page, "frozen") ||
		!strings.Contains(page, `value="credit" id="channel-credit" disabled`) || !strings.Contains(page, `data-channel="balance"`) {
		t.Errorf("bob's page with a frozen line: HTTP %d\n%s", resp.StatusCode, page)
	}
}

// TestPaycodeInBrowser: a consumer logs in, follows the link from the
// credit account to the payment code page and sees a credit code's
// barcode and QR code, whose scans are the digits the page prints; picks
// balance; the page fetches the next code by itself; a till redeems and
// pays the code and the page shows the payment in the code's place.
func TestPaycodeInBrowser(t *testing.T) {
	p := newPerson(t)
	w := startCreditWorld(t, db.SQLite)
	alice := w.consumer(1000_00, 300_00)

	p.open(w.base+"/cashier/credit", `input[name=phone]`)
	p.login(alice, `#paycode-link`)
	p.click(`#paycode-link`, `#barcode`)
	p.sees("#channels", "分付", "available ¥1,000.00", "零钱", "¥300.00")
	p.sees("#expiry", "分付", "valid until 10:02:00")
	if !p.eval(`document.getElementById('channel-credit').classList.contains('on')`) {
		t.Error("the credit channel is not the one shown")
	}
	for _, img := range []string{"barcode", "qr"} {
		if !p.eval(`document.getElementById('` + img + `').complete && document.getElementById('` + img + `').naturalWidth > 0`) {
			t.Errorf("the %s image is not rendered", img)
		}
	}
	masked := p.text("#digits-masked")
	if !strings.Contains(masked, "•") || p.eval(`document.getElementById('digits').open`) {
		t.Errorf("the digits show %q before the consumer asks for them", masked)
	}
	p.shot("paycode")
	p.do(chromedp.Click(chromedp.CSS(`#digits summary`)))
	digits := strings.ReplaceAll(p.text("#digits-full"), " ", "")
	if !paycode.Valid(digits) || !strings.HasPrefix(strings.ReplaceAll(masked, " ", ""), digits[:4]) {
		t.Fatalf("the page shows the digits %q (masked %q)", digits, masked)
	}
	p.shot("paycode-digits")
	p.scans("barcode", digits)
	p.scans("qr", digits)

	// The balance button shows a balance code (without script, too: it is
	// a form).
	w.clock.Advance(5 * time.Second)
	p.click(`#channel-balance`, `#barcode`)
	p.sees("#expiry", "零钱", "valid until 10:02:05")
	p.do(chromedp.Click(chromedp.CSS(`#digits summary`)))
	digits = strings.ReplaceAll(p.text("#digits-full"), " ", "")
	p.scans("barcode", digits)

	// The minute's refresh: the page fetches a new code of the channel
	// and shows it in place, with images of the new digits.
	w.clock.Advance(paycode.Refresh)
	if !p.evalAsync(`window.paycodeRefresh()`) {
		t.Fatal("the page's refresh failed")
	}
	if p.eval(`document.getElementById('digits').open`) {
		t.Error("the new code's digits show before the consumer asks for them")
	}
	p.do(chromedp.Click(chromedp.CSS(`#digits summary`)))
	next := strings.ReplaceAll(p.text("#digits-full"), " ", "")
	if next == digits || !paycode.Valid(next) {
		t.Fatalf("after the refresh the page shows %q, before %q", next, digits)
	}
	p.scans("qr", next)
	p.scans("barcode", next)
	p.sees("#expiry", "零钱", "valid until 10:03:05")

	// A till redeems the code shown and the order is paid: the page,
	// polling the code's status, shows the payment in the code's place.
	w.till(next, "NOODLE-0001", 23_00)
	p.do(chromedp.WaitVisible(chromedp.CSS(`#paid`)))
	p.sees("#paid", "Paid", "¥23.00", "Installment shop")
	if p.eval(`document.getElementById('code').offsetParent !== null`) {
		t.Error("the used code is still shown")
	}
	p.shot("paycode-paid")
	if c, err := w.a.consumers.Get(t.Context(), alice.id); err != nil || c.Balance != 300_00-23_00 || c.Credit.Used != 0 {
		t.Errorf("the consumer after paying by a balance code: %+v, %v", c, err)
	}
	w.prove()

	// Once the session ends, the page's next fetch brings the login form.
	w.clock.Advance(cashier.SessionTTL)
	p.eval(`window.paycodeRefresh(), true`)
	p.do(chromedp.WaitVisible(chromedp.CSS(`input[name=phone]`)))
	if v := p.value(`input[name=next]`); v != "/cashier/paycode" {
		t.Errorf("the login form comes back to %q, want the payment code page", v)
	}
}

// htmlPage gets a page as a browser does, asking for HTML.
func htmlPage(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// evalAsync evaluates an expression whose value is a promise of a
// boolean, and waits for it.
func (p *person) evalAsync(expr string) bool {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// scans reads the page's image img as it was shown, scans it with zbarimg
// as a till would, and fails unless it carries want.
func (p *person) scans(img, want string) {
	p.t.Helper()
	src, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('`+img+`').src`))
	if err != nil {
		p.t.Fatal(err)
	}
	if got := qrtest.Scan(p.t, pngOf(p.t, src)); got != want {
		p.t.Errorf("the %s scans as %q, want the digits %q", img, got, want)
	}
}
