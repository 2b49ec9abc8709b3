package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// The consumer's pages in a real browser: headless Chromium driven over
// the DevTools protocol, one browser for the whole test binary and a
// fresh profile (its own cookies) for each test.

// chromiumPath is where the browser is looked for.
const chromiumPath = "chromium"

var browserOnce struct {
	sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browserOnce.cancel != nil {
		browserOnce.cancel()
	}
	os.Exit(code)
}

// screen is a viewport a test sees the pages at.
type screen struct {
	name          string
	width, height int64
	mobile        bool
}

// The screens: a phone's and a desktop's.
var (
	phone   = screen{"phone", 390, 844, true}
	desktop = screen{"desktop", 1280, 800, false}
)

// tabAt opens a tab of the shared browser in a profile of its own, on
// the screen s. Without Chromium the test is skipped, unless
// FENFU_REQUIRE_BROWSER=1 makes that a failure.
func tabAt(t *testing.T, s screen) context.Context {
	t.Helper()
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		msg := "chromium is not installed (apt-get install chromium); the browser tests need it"
		if os.Getenv("FENFU_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + ", and FENFU_REQUIRE_BROWSER=1 requires them")
		}
		t.Skip(msg)
	}
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.WindowSize(390, 844))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browserOnce.ctx, browserOnce.cancel = bctx, func() { bcancel(); acancel() }
		browserOnce.err = chromedp.Do(bctx) // starts the browser
	})
	if browserOnce.err != nil {
		t.Fatalf("starting chromium: %v", browserOnce.err)
	}
	ctx, cancel := chromedp.NewContext(browserOnce.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	opts := []chromedp.EmulateViewportOption{}
	if s.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.width, s.height, opts...)); err != nil {
		t.Fatal(err)
	}
	ctx, tcancel := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(tcancel)
	return ctx
}

// person is someone using the pages in a browser tab.
type person struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func newPerson(t *testing.T) *person { return newPersonAt(t, phone) }

// newPersonAt is newPerson on the screen s.
func newPersonAt(t *testing.T, s screen) *person {
	dir := os.Getenv("FENFU_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &person{t: t, ctx: tabAt(t, s), shots: dir}
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// open goes to a URL and waits for sel to show.
func (p *person) open(u, sel string) {
	p.t.Helper()
	p.do(chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// click clicks sel, waits for the page it leads to and for next to show
// on it.
func (p *person) click(sel, next string) {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
	if resp == nil {
		p.t.Fatalf("click %s: no page loaded", sel)
	}
	p.do(chromedp.WaitVisible(chromedp.CSS(next)))
}

// text is the visible text of sel.
func (p *person) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// sees fails unless the visible text of sel has each of wants.
func (p *person) sees(sel string, wants ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, w := range wants {
		if !strings.Contains(got, w) {
			p.t.Errorf("%s does not show %q; it shows:\n%s", sel, w, got)
		}
	}
}

// eval evaluates a boolean expression in the page.
func (p *person) eval(expr string) bool {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *person) value(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// login fills the page's login form and waits for next.
func (p *person) login(who payer, next string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), who.phone), chromedp.SendKeys(chromedp.CSS(`input[name=pin]`), who.pin))
	p.click(`form[action="/cashier/login"] button`, next)
}

// shot saves a screenshot of the whole page.
func (p *person) shot(name string) {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	p.n++
	f := filepath.Join(p.shots, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(f, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", f)
}

// TestCreditPagesInBrowser walks the consumer's credit pages as a person
// does, on each engine: opens an order's code_url, logs in, chooses 6
// installments from the costs shown and pays, reads the plan and its first
// due date on the page after paying, opens the credit account, repays what
// is due and then everything with the buttons (the available amount
// restored), and after the statement date logs in again on the account
// page and opens the month's statement.
func TestCreditPagesInBrowser(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testCreditPagesInBrowser(t, engine) })
	}
}

func testCreditPagesInBrowser(t *testing.T, engine db.Engine) {
	p := newPerson(t)
	w := startCreditWorld(t, engine)
	alice := w.consumer(10_000_00, 2_000_00)
	sofa := w.order("SOFA-0001", 1200_00, pay.Offer{Count: 3, MerchantPays: true}, pay.Offer{Count: 6}, pay.Offer{Count: 12})

	p.open(w.a.codeURL(sofa.Token), `input[name=phone]`)
	p.sees("body", "Installment shop", "¥1,200.00", "Log in to pay")
	p.shot("cashier-login")
	p.login(alice, `input[name=installment_number][value="6"]`)
	p.sees(".plans", "In full, ¥1,200.00 due 2026-12-10", "3 × ¥400.00", "interest-free, fee paid by the merchant",
		"6 × ¥209.00", "fee ¥54.00 · total ¥1,254.00 · first due 2026-12-10", "12 × ¥")
	if !p.eval(`document.querySelector('input[name=channel][value=credit]').checked`) {
		t.Error("the credit option is not selected first")
	}
	p.shot("cashier-installments")

	p.do(chromedp.Click(chromedp.CSS(`input[name=installment_number][value="6"]`)))
	if !p.eval(`document.querySelector('input[name=installment_number][value="6"]').checked`) {
		t.Fatal("6 installments not chosen")
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`#pay-pin`), alice.pin))
	p.click(`form[action$="/pay"] button[type=submit]`, `#plan`)
	p.sees("#paid", "Paid")
	p.sees("#first-due", "2026-12-10 · ¥209.00")
	p.sees("#plan", "6 installments · fee ¥54.00")
	p.sees("#plan .schedule", "2026-12-10", "2027-05-10", "¥200.00", "¥9.00", "待还 due")
	p.shot("paid")

	p.click(`#account-link`, `#available`)
	p.sees("#used", "¥1,200.00")
	p.sees("#available", "¥8,800.00")
	p.sees("#limit", "¥10,000.00")
	p.sees(".plan", "Installment shop", "¥1,200.00", "6 installments", "fee ¥54.00", "2027-05-10")
	p.sees("#due", "Due now ¥209.00 by 2026-12-10", "To pay off everything now: ¥1,209.00")
	p.sees("#payoff-button", "Pay off ¥1,209.00")
	if v := p.value(`#amount`); v != "209.00" {
		t.Errorf("the repay form offers %q, want what is due now, 209.00", v)
	}
	p.sees("body", "The first statement is made on 2026-12-01")
	p.shot("account")

	p.click(`#repay-button`, `#repaid`)
	p.sees("#repaid", "Repaid ¥209.00", "principal ¥200.00, fee ¥9.00")
	p.sees("#available", "¥9,000.00")
	// Nothing is due now: the form offers paying everything off early,
	// the fee of the installments not yet due waived.
	p.sees("#due", "Nothing due by 2026-12-10", "To pay off everything now: ¥1,000.00")
	if v := p.value(`#amount`); v != "1000.00" {
		t.Errorf("the repay form offers %q after the due amount is repaid, want the payoff, 1000.00", v)
	}
	p.shot("account-repaid-due")
	p.click(`#repay-button`, `#repaid`)
	p.sees("#repaid", "Repaid ¥1,000.00", "fee waived ¥45.00")
	p.sees("#available", "¥10,000.00")
	p.sees("#used", "¥0.00")
	p.sees("#due", "Nothing to repay")
	p.sees(".plan", "paid off", "已还 paid")
	p.shot("account-repaid")
	if a, err := w.a.repay.AccountOf(t.Context(), alice.id); err != nil || a.Used != 0 || a.Available != 10_000_00 || len(a.Repayments) != 2 {
		t.Errorf("the account after paying off: %+v, %v", a, err)
	}
	w.prove()

	// After the statement date the session has long ended: the account
	// page asks for the login and comes back to the account.
	w.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, w.clock.Now().Location()))
	p.open(w.base+"/cashier/credit", `input[name=phone]`)
	p.shot("account-login")
	p.login(alice, `#available`)
	p.click(`a.statement[href$="2026-12"]`, `#total-due`)
	p.sees("h1", "Statement 2026-12")
	p.sees("#purchases", "¥1,200.00", "6 期", "¥54.00")
	p.sees("#repayments", "¥209.00", "¥1,000.00", "¥45.00 waived")
	p.sees("#total-due", "¥0.00")
	p.sees("#due-date", "2026-12-10")
	p.shot("statement")
}

// TestOverdueNoticeInBrowser: a consumer with a repayment overdue sees the
// notice, with what to repay, on the cashier (the credit option disabled,
// balance chosen) and on the account page, repays there, and finds credit
// offered again; a frozen line is explained on both pages.
func TestOverdueNoticeInBrowser(t *testing.T) {
	p := newPerson(t)
	w := startCreditWorld(t, db.SQLite)
	bob := w.consumer(1000_00, 1000_00)
	w.pay(bob, w.order("CHAIR-0001", 400_00), 1)
	w.toDay("2026-12-12")
	w.staff("POST", "/admin/credit/overdue", nil, nil)
	desk := w.order("DESK-0001", 50_00)

	p.open(w.a.codeURL(desk.Token), `input[name=phone]`)
	p.login(bob, `#credit-paused`)
	p.sees("#credit-paused", "Credit paused", "a repayment is overdue", "Repay what is overdue", "Repay now")
	if !p.eval(`document.querySelector('#credit-paused details').textContent.includes('credit payments are paused while a repayment is overdue: repay ¥400.40 due on 2026-12-10')`) {
		t.Error("the paused credit option's detail does not say what is overdue")
	}
	if !p.eval(`document.querySelector('input[name=channel][value=credit]').disabled`) ||
		!p.eval(`document.querySelector('input[name=channel][value=balance]').checked`) {
		t.Error("the credit option is not disabled with balance chosen instead")
	}
	p.shot("cashier-overdue")

	p.click(`#credit-paused a`, `#paused`)
	p.sees("#paused", "Overdue 2 days", "repay ¥400.40 due on 2026-12-10")
	if v := p.value(`#amount`); v != "400.40" {
		t.Errorf("the repay form offers %q, want what is overdue, 400.40", v)
	}
	p.sees("#upcoming", "2026-12-10", "¥400.40", "逾期 overdue")
	p.shot("account-overdue")
	p.click(`#repay-button`, `#repaid`)
	if p.eval(`document.getElementById('paused') !== null`) {
		t.Error("the overdue notice stays after repaying")
	}
	p.sees("#available", "¥1,000.00")

	p.open(w.a.codeURL(desk.Token), `input[name=channel][value=credit]`)
	if p.eval(`document.getElementById('credit-paused') !== null || document.querySelector('input[name=channel][value=credit]').disabled`) {
		t.Error("credit is still refused after repaying")
	}

	w.staff("POST", "/admin/consumers/"+bob.id+"/line", map[string]any{"frozen": true, "reason": "checking the account"}, nil)
	p.open(w.a.codeURL(desk.Token), `#credit-paused`)
	p.sees("#credit-paused", "Credit paused", "the line is frozen")
	if !p.eval(`document.querySelector('#credit-paused details').textContent.includes("the consumer's credit line is frozen")`) {
		t.Error("the frozen credit option's detail does not say it is frozen")
	}
	p.open(w.base+"/cashier/credit", `#paused`)
	p.sees("#paused", "Frozen", "frozen")
	p.sees("#available", "¥0.00")
	p.shot("account-frozen")
}

// TestCreditPagesHTTP: programs keep the JSON of the credit routes, and
// the page's repay form is safe: submitted twice it repays once, and from
// another site it is refused.
func TestCreditPagesHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testCreditPagesHTTP(t, engine) })
	}
}

var formKeyRE = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

func testCreditPagesHTTP(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	carol := w.consumer(1000_00, 500_00)
	w.pay(carol, w.order("LAMP-0001", 300_00), 1)

	get := func(path, accept string) (int, string, string) {
		req, _ := http.NewRequest("GET", w.base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := carol.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), readAll(t, resp)
	}
	for _, accept := range []string{"", "*/*", "application/json"} {
		if code, ct, body := get("/cashier/credit", accept); code != 200 || !strings.HasPrefix(ct, "application/json") ||
			!strings.Contains(body, `"credit_used":30000`) {
			t.Errorf("Accept %q: HTTP %d %s %s", accept, code, ct, body)
		}
	}
	code, ct, page := get("/cashier/credit", "text/html,application/xhtml+xml")
	if code != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("the page: HTTP %d %s", code, ct)
	}
	m := formKeyRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no idempotency key in the repay form:\n%s", page)
	}
	form := url.Values{"amount": {"100.00"}, "idempotency_key": {m[1]}}
	post := func(origin string) (int, string) {
		req, _ := http.NewRequest("POST", w.base+"/cashier/credit/repay", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := carol.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if code, body := post("https://evil.example"); code != 403 || !strings.Contains(body, "cross-site repayment requests are refused") {
		t.Errorf("a cross-site form: HTTP %d %s", code, body)
	}
	if a := w.account(carol); a.Used != 300_00 {
		t.Fatalf("the cross-site form repaid: %+v", a)
	}
	for range 2 {
		if code, body := post(w.base); code != 200 || !strings.Contains(body, "Repaid ¥100.00") {
			t.Fatalf("the repay form: HTTP %d %s", code, body)
		}
	}
	if a := w.account(carol); a.Used != 200_00 {
		t.Errorf("the form submitted twice repaid %d, want 10000 once", 300_00-a.Used)
	}
	form.Set("amount", "abc")
	if code, body := post(""); code != 400 || !strings.Contains(body, "the amount to repay is yuan") || !strings.Contains(body, `id="available"`) {
		t.Errorf("a bad amount: HTTP %d %s", code, body)
	}
	var st credit.Statement
	w.clock.Set(w.clock.Now().AddDate(0, 0, 5))
	w.toDay(w.clock.Now().Format(time.DateOnly), carol)
	w.do(carol.client, "GET", "/cashier/credit/statements/2026-12", nil, &st)
	if len(st.Purchases) != 1 || st.TotalDue != 200_00 {
		t.Errorf("the statement as JSON: %+v", st)
	}
	if code, _, page := get("/cashier/credit/statements/2026-12", "text/html"); code != 200 || !strings.Contains(page, "¥200.00") {
		t.Errorf("the statement page: HTTP %d", code)
	}
	// Logged out, a browser gets the login form, which comes back to the
	// page; a program gets the error.
	anon := &http.Client{}
	for _, path := range []string{"/cashier/credit", "/cashier/credit/statements/2026-12"} {
		req, _ := http.NewRequest("GET", w.base+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); resp.StatusCode != 401 || !strings.Contains(body, `name="next" value="`+path+`"`) {
			t.Errorf("%s logged out: HTTP %d %s", path, resp.StatusCode, body)
		}
	}
	if code, body := w.try(anon, "GET", "/cashier/credit", nil, nil); code != 401 || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Errorf("logged out as JSON: HTTP %d %s", code, body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
