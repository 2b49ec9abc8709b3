package cashier_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/pay"
)

// browserOf is a client with its own cookies that sends Accept-Language
// lang ("" for none), as a browser does, and follows redirects.
func browserOf(lang string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: langTransport(lang)}
}

type langTransport string

func (l langTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if l != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Accept-Language", string(l))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// postForm posts a form and returns the status, the final page and the
// request that fetched it.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) (int, string, *http.Request) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request
}

func (e *env) login(t *testing.T, c *http.Client, next string) {
	t.Helper()
	if st, body, _ := postForm(t, c, e.srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {e.pin}, "next": {next}}); st != 200 {
		t.Fatalf("login: %d\n%s", st, body)
	}
}

// shows fails unless page has each of wants.
func shows(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s does not show %q:\n%s", what, w, page)
			return
		}
	}
}

// TestCashierLanguages: Chinese unless the browser prefers English; the
// switch sets a cookie that later pages follow; <html lang> says which.
func TestCashierLanguages(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-lang-1", 1234567)
	for _, tc := range []struct{ accept, lang, login string }{
		{"", "zh-CN", "登录并付款"}, {"zh-CN,zh;q=0.9", "zh-CN", "登录并付款"},
		{"en-US,en;q=0.9", "en", "Log in to pay"}, {"fr-FR,en;q=0.5", "en", "Log in to pay"},
	} {
		_, page, _ := get(t, browserOf(tc.accept), e.srv.URL+"/q/"+o.Token, "")
		shows(t, "Accept-Language "+tc.accept, page, `<html lang="`+tc.lang+`">`, tc.login, "¥12,345.67")
	}
	// The switch: English, remembered by cookie, then Chinese again.
	b := browserOf("zh-CN")
	st, page, h := get(t, b, e.srv.URL+"/q/"+o.Token+"?lang=en", "")
	shows(t, "?lang=en", page, `<html lang="en">`, "Log in to pay", `href="/q/`+o.Token+`?lang=zh"`, "China Standard Time (UTC&#43;8)")
	if st != 200 || !strings.Contains(h.Get("Set-Cookie"), "fenfu_lang=en") {
		t.Fatalf("?lang=en set no cookie: %d %v", st, h)
	}
	_, page, _ = get(t, b, e.srv.URL+"/q/"+o.Token, "")
	shows(t, "after the switch", page, `<html lang="en">`, "Log in to pay")
	_, page, _ = get(t, b, e.srv.URL+"/q/"+o.Token+"?lang=zh", "")
	shows(t, "?lang=zh", page, `<html lang="zh-CN">`, "登录并付款", "北京时间")
	// The switch keeps the page's other query values.
	_, page, _ = get(t, b, e.srv.URL+"/q/"+o.Token+"?market_exposure_token=mt-1", "")
	shows(t, "a page opened with a market_exposure_token", page, `href="/q/`+o.Token+`?lang=en&amp;market_exposure_token=mt-1"`)
}

// TestCashierErrorsForConsumers: each error a consumer meets paying says
// what happened in their language, keeps the merchant and the amount on
// screen, offers the next step, and keeps the developer's code in a
// collapsed detail.
func TestCashierErrorsForConsumers(t *testing.T) {
	e := newEnv(t) // a credit line of ¥100.00 and a balance of ¥5.00
	ctx := context.Background()
	b := browserOf("")
	big := e.order(t, "tea-err-1", 150_00)

	// A wrong PIN at the login form: the order's page again, with the
	// login form and the reason.
	st, page, _ := postForm(t, b, e.srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {"000000"}, "next": {"/q/" + big.Token}})
	shows(t, "wrong PIN at login", page, "Tea House", "¥150.00", "支付密码不正确", "还可以再试 4 次，之后将锁定 15 分钟", `name="phone"`,
		`<details id="error-detail"><summary>`, "UNAUTHENTICATED")
	if st != 401 || strings.Contains(page, `id="error-detail" open`) {
		t.Errorf("wrong PIN at login: %d", st)
	}
	e.login(t, b, "/q/"+big.Token)
	// The display rules find the line short: the option says why, in the
	// catalogue's words.
	_, page, _ = get(t, b, e.srv.URL+"/q/"+big.Token, "")
	shows(t, "short line before paying", page, `id="why-credit">分付额度不足 · 可以改用零钱支付`)

	// A wrong PIN confirming the payment: the form again, still logged in.
	st, page, _ = postForm(t, b, e.srv.URL+"/q/"+big.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {"000000"}})
	shows(t, "wrong PIN paying", page, "Tea House", "¥150.00", "支付密码不正确", "还可以再试 4 次", `id="pay-pin"`, "138****8000")
	if st != 401 {
		t.Errorf("wrong PIN paying: %d", st)
	}
	// The count of tries left goes down with each wrong PIN.
	_, page, _ = postForm(t, b, e.srv.URL+"/q/"+big.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {"000001"}})
	shows(t, "second wrong PIN paying", page, "还可以再试 3 次")

	// A credit line too short: the message, and the form on balance.
	st, page, _ = postForm(t, b, e.srv.URL+"/q/"+big.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {e.pin}})
	shows(t, "short line", page, "Tea House", "¥150.00", "分付额度不足", "改用零钱支付", "NOT_ENOUGH")
	if st != 403 || !regexp.MustCompile(`id="channel-balance" name="channel" value="balance" style="width:auto" checked`).MatchString(page) {
		t.Errorf("short line: %d, balance not preselected:\n%s", st, page)
	}
	if strings.Contains(page, "or a smaller amount") && !strings.Contains(page, "<details") {
		t.Error("the developer's remedy is shown outside the detail")
	}

	// Paid, then paid again from a second tab.
	o := e.order(t, "tea-err-2", 3_00)
	st, page, req := postForm(t, b, e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"balance"}, "pin": {e.pin}})
	if st != 200 || req.Method != "GET" || req.URL.Path != "/q/"+o.Token {
		t.Fatalf("pay: %d at %s %s", st, req.Method, req.URL)
	}
	shows(t, "paid", page, "支付成功", `id="paid-at"`, "北京时间", "零钱", `id="remaining">¥2.00`)
	st, page, _ = postForm(t, b, e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"balance"}, "pin": {e.pin}})
	shows(t, "paid twice", page, "订单已支付", "不会重复扣款", `id="error-action" href="/q/`+o.Token+`"`, "ORDERPAID")
	if st != 400 {
		t.Errorf("paid twice: %d", st)
	}

	// A session that ended: log in again, back on the order.
	other := browserOf("en")
	o2 := e.order(t, "tea-err-3", 2_00)
	st, page, _ = postForm(t, other, e.srv.URL+"/q/"+o2.Token+"/pay", url.Values{"channel": {"balance"}, "pin": {e.pin}})
	shows(t, "no session", page, "Please log in", "Tea House", "¥2.00", `name="phone"`)
	if st != 401 {
		t.Errorf("no session: %d", st)
	}

	// A form another site sent.
	r, _ := http.NewRequest("POST", e.srv.URL+"/q/"+o2.Token+"/pay", strings.NewReader("channel=balance"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	resp, err := b.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	shows(t, "cross-site", string(body), "请求来自其他网站", "Tea House", "¥2.00")

	// An expired order keeps its merchant and amount on screen and names
	// the time zone of its expiry.
	exp, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "Oolong", OutTradeNo: "tea-err-4",
		NotifyURL: "https://tea.example/n", Total: 1_00, TimeExpire: time.Now().Add(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1600 * time.Millisecond)
	for _, u := range []string{"/q/" + exp.Token, "/q/" + exp.Token + "?lang=en"} {
		st, page, _ = get(t, b, e.srv.URL+u, "")
		if st != 400 {
			t.Errorf("%s: %d", u, st)
		}
		if strings.HasSuffix(u, "en") {
			shows(t, "expired, English", page, "Code expired", "China Standard Time (UTC&#43;8)", "Ask the merchant for a new code", "¥1.00")
		} else {
			shows(t, "expired", page, "付款码已过期", "（北京时间）过期", "请向商户索取新的付款码", "Tea House", "¥1.00")
		}
		if strings.Contains(page, `id="pay-form"`) {
			t.Errorf("%s: the expired order offers the payment form", u)
		}
	}

	// An address that is no page, and the icon.
	st, page, _ = get(t, browserOf(""), e.srv.URL+"/cashier/nonesuch", "")
	shows(t, "404", page, "页面不存在", `<html lang="zh-CN">`, `rel="icon"`)
	if st != 404 {
		t.Errorf("404 page: %d", st)
	}
	st, page, h := get(t, b, e.srv.URL+"/favicon.ico", "")
	if st != 200 || h.Get("Content-Type") != "image/x-icon" || !strings.HasPrefix(page, "\x00\x00\x01\x00") || len(page) > 2048 {
		t.Errorf("favicon: %d %s %d bytes", st, h.Get("Content-Type"), len(page))
	}
}

// TestCashierPaidPage: a form payment answers 303 to the order's page;
// reloading it pays nothing again; the page shows the payment and, once
// refunded, says so, in part with the amount.
func TestCashierPaidPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := browserOf("en")
	o := e.order(t, "tea-prg-1", 40_00)
	e.login(t, b, "/q/"+o.Token)
	noRedirect := *b
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.PostForm(e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {e.pin}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/q/"+o.Token {
		t.Fatalf("form payment: %d to %q, want 303 to the order's page", resp.StatusCode, resp.Header.Get("Location"))
	}
	for range 3 { // reloads
		_, page, _ := get(t, b, e.srv.URL+"/q/"+o.Token, "")
		shows(t, "paid page", page, `id="paid"`, "Paid", "China Standard Time (UTC&#43;8)", "Credit (分付)", `id="remaining">¥60.00`)
	}
	c, _ := e.cons.Get(ctx, e.id)
	if c.Credit.Available != 60_00 {
		t.Errorf("after reloads the line has ¥%s available, want ¥60.00: paid once", fenfu.Yuan(c.Credit.Available))
	}
	if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, TransactionID: o.ID, OutRefundNo: "r-1", Refund: 10_00, Total: 40_00}); err != nil {
		t.Fatal(err)
	}
	_, page, _ := get(t, b, e.srv.URL+"/q/"+o.Token, "")
	shows(t, "partly refunded", page, `id="refunded"`, "Partly refunded ¥10.00")
	_, page, _ = get(t, b, e.srv.URL+"/q/"+o.Token+"?lang=zh", "")
	shows(t, "partly refunded, Chinese", page, "部分退款 ¥10.00")
	if _, err := e.pay.Refund(ctx, pay.RefundRequest{MchID: e.m.MchID, TransactionID: o.ID, OutRefundNo: "r-2", Refund: 30_00, Total: 40_00}); err != nil {
		t.Fatal(err)
	}
	_, page, _ = get(t, b, e.srv.URL+"/q/"+o.Token, "")
	shows(t, "refunded", page, `id="refunded">已退款`)
	if strings.Contains(page, `id="paid"`) {
		t.Error("a refunded order still says paid")
	}
}

// TestWordsOfTemplates: every word a template asks for has both
// languages.
func TestWordsOfTemplates(t *testing.T) {
	key := regexp.MustCompile(`\{\{[^}]*\bt "([a-z0-9-]+)"`)
	n := 0
	for name, text := range templateTexts(t) {
		for _, m := range key.FindAllStringSubmatch(text, -1) {
			n++
			w, ok := cashier.Words[m[1]]
			if !ok || w.ZH == "" || w.EN == "" {
				t.Errorf("%s: the word %q has no entry in both languages", name, m[1])
			}
		}
	}
	if n < 30 {
		t.Errorf("found %d words in the templates; the pattern is broken", n)
	}
	// And every word the code asks for.
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\bword\([^,()]+(?:\([^)]*\))?, "([a-z0-9-]+)"\)`)
	n = 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			n++
			if w, ok := cashier.Words[m[1]]; !ok || w.ZH == "" || w.EN == "" {
				t.Errorf("%s: the word %q has no entry in both languages", f, m[1])
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d words in the code; the pattern is broken", n)
	}
}

func TestMoney(t *testing.T) {
	for f, want := range map[fenfu.Fen]string{0: "0.00", 5: "0.05", 123456: "1,234.56", 1234567: "12,345.67", 100000000: "1,000,000.00",
		-123456: "-1,234.56", 99999: "999.99"} {
		if got := cashier.Money(f); got != want {
			t.Errorf("Money(%d) = %s, want %s", f, got, want)
		}
	}
}

// templateTexts are the page templates' texts, by file name.
func templateTexts(t *testing.T) map[string]string {
	t.Helper()
	dir, err := os.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range dir {
		b, err := os.ReadFile("templates/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name()] = string(b)
	}
	return out
}

// TestInputsLabelled: every field a consumer fills in on any page has an
// id and a <label for> naming it.
func TestInputsLabelled(t *testing.T) {
	field := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	id := regexp.MustCompile(`\bid="([^"]+)"`)
	n := 0
	for name, text := range templateTexts(t) {
		for _, m := range field.FindAllString(text, -1) {
			if strings.Contains(m, `type="hidden"`) {
				continue
			}
			n++
			i := id.FindStringSubmatch(m)
			if i == nil || !strings.Contains(text, `for="`+i[1]+`"`) {
				t.Errorf("%s: %s has no <label for>", name, m)
			}
		}
	}
	if n < 8 {
		t.Errorf("found %d fields; the pattern is broken", n)
	}
}

// TestTemplatesRender: every page renders whole, in each language, with
// an error on it: a template naming a field its page lacks fails here,
// not as a page cut short in front of a consumer.
func TestTemplatesRender(t *testing.T) {
	for _, l := range []string{"zh", "en"} {
		for _, name := range []string{"cashier.html", "confirm.html", "credit.html", "paycode.html", "serviceorder.html", "statement.html",
			"complaints.html", "error.html", "aggregate.html"} {
			if err := cashier.RenderEmpty(l, name); err != nil {
				t.Errorf("%s in %s: %v", name, l, err)
			}
		}
	}
}
