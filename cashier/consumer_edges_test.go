package cashier_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
)

// switchOf follows the page's language switch from the address the page
// was shown at, as a browser does, and returns the status and page.
func switchOf(t *testing.T, b *http.Client, at *url.URL, page string) (int, string) {
	t.Helper()
	m := regexp.MustCompile(`id="lang-switch" href="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no language switch on the page at %s:\n%s", at, page)
	}
	u, err := at.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	st, body, _ := get(t, b, u.String(), "")
	return st, body
}

// TestLanguageSwitchAfterAFailedForm: a form that failed (a wrong PIN
// paying, a wrong PIN logging in) shows the order again with the switch;
// following it shows the same order in the other language, not a page
// that does not exist.
func TestLanguageSwitchAfterAFailedForm(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-switch-1", 20_00)

	b := browserOf("zh-CN")
	st, page, req := postForm(t, b, e.srv.URL+"/cashier/login", url.Values{"phone": {e.phone}, "pin": {"000000"}, "next": {"/q/" + o.Token}})
	shows(t, "wrong PIN at login", page, "Tea House", "¥20.00")
	if st != http.StatusUnauthorized {
		t.Fatalf("wrong PIN at login: %d", st)
	}
	st, page = switchOf(t, b, req.URL, page)
	if st != http.StatusOK {
		t.Errorf("the switch after a wrong login PIN answers %d, want 200 and the order", st)
	}
	shows(t, "the switch after a wrong login PIN", page, `<html lang="en">`, "Tea House", "¥20.00", "Log in to pay")

	b = browserOf("zh-CN")
	e.login(t, b, "/q/"+o.Token)
	st, page, req = postForm(t, b, e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {"000000"}})
	shows(t, "wrong PIN paying", page, "Tea House", "¥20.00", `id="pay-pin"`)
	if st != http.StatusUnauthorized {
		t.Fatalf("wrong PIN paying: %d", st)
	}
	st, page = switchOf(t, b, req.URL, page)
	if st != http.StatusOK {
		t.Errorf("the switch after a wrong PIN paying answers %d, want 200 and the order", st)
	}
	shows(t, "the switch after a wrong PIN paying", page, `<html lang="en">`, "Tea House", "¥20.00", `id="pay-pin"`)
}

// TestPublicURLWithDefaultPortAcceptsItsOrigin: a public URL written
// with its scheme's default port (https://host:443) is the same origin a
// browser sends without the port, so its forms are the cashier's own.
func TestPublicURLWithDefaultPortAcceptsItsOrigin(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-origin-1", 20_00)
	for _, tc := range []struct{ public, origin string }{
		{"https://pay.example.test:443", "https://pay.example.test"},
		{"http://pay.example.test:80/", "http://pay.example.test"},
	} {
		srv, ca := e.nodeWith(t)
		ca.PublicURL = func() string { return tc.public }
		form := url.Values{"phone": {e.phone}, "pin": {e.pin}, "next": {"/q/" + o.Token}}
		req, _ := http.NewRequest("POST", srv.URL+"/cashier/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", tc.origin)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("login from Origin %s with --public-url %s: %d, want 303", tc.origin, tc.public, resp.StatusCode)
		}
	}
}

// TestPaidOrderDetailsOnlyForItsPayer: once an order is paid, another
// consumer who opens its code (or anyone, as JSON) learns that it is
// paid, not when or whether the payer borrowed for it.
func TestPaidOrderDetailsOnlyForItsPayer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := e.order(t, "tea-payer-1", 20_00)
	payer := browserOf("en")
	e.login(t, payer, "/q/"+o.Token)
	if st, page, _ := postForm(t, payer, e.srv.URL+"/q/"+o.Token+"/pay", url.Values{"channel": {"credit"}, "pin": {e.pin}}); st != 200 {
		t.Fatalf("payment: %d\n%s", st, page)
	}
	_, page, _ := get(t, payer, e.srv.URL+"/q/"+o.Token, "")
	shows(t, "the payer's paid page", page, `id="paid"`, `id="paid-with"`, `id="paid-at"`, `id="remaining"`)

	_, pin, err := e.cons.Create(ctx, consumer.NewConsumer{Phone: "13800138001", CreditLimit: 10000, Rating: "A", Balance: 500})
	if err != nil {
		t.Fatal(err)
	}
	other := browserOf("en")
	postForm(t, other, e.srv.URL+"/cashier/login", url.Values{"phone": {"13800138001"}, "pin": {pin}, "next": {"/q/" + o.Token}})
	for name, c := range map[string]*http.Client{"another consumer": other, "no one logged in": browserOf("en")} {
		_, page, _ = get(t, c, e.srv.URL+"/q/"+o.Token, "")
		shows(t, name+"'s view of a paid order", page, `id="paid"`)
		for _, private := range []string{`id="paid-with"`, `id="paid-at"`, `id="remaining"`, "Credit (分付)"} {
			if strings.Contains(page, private) {
				t.Errorf("%s sees %s of another's payment", name, private)
			}
		}
		_, js, _ := get(t, c, e.srv.URL+"/q/"+o.Token+"?format=json", "")
		if strings.Contains(js, `"paid_with"`) || strings.Contains(js, `"paid_at"`) {
			t.Errorf("%s reads the payment's channel or time as JSON: %s", name, js)
		}
	}
}

// TestSandboxPayOnlySandboxOrders: the sandbox's payment, which needs no
// PIN, pays a sandbox merchant's order and refuses a production
// merchant's, which stays unpaid.
func TestSandboxPayOnlySandboxOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, ca := e.nodeWith(t)
	prod, err := e.ms.Create(ctx, "Big Shop", "production", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	po, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: prod.MchID, AppID: prod.AppID, Description: "Sofa",
		OutTradeNo: "sofa-sandbox-1", NotifyURL: "https://shop.example/n", Total: 2_00})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ca.SandboxPay(ctx, po.Token, e.id, pay.ChannelBalance, pay.Client{})
	if fe := fenfu.AsError(err); err == nil || fe.Code != fenfu.NoAuth || !strings.Contains(fe.Message, "sandbox") || fe.Remedy == "" {
		t.Fatalf("sandbox payment of a production merchant's order: %v; want NO_AUTH with a remedy", err)
	}
	if got, err := e.pay.Get(ctx, po.ID); err != nil || got.State != pay.NotPay {
		t.Fatalf("the production order after the refusal: %+v %v", got.State, err)
	}
	so := e.order(t, "tea-sandbox-1", 2_00)
	if got, err := ca.SandboxPay(ctx, so.Token, e.id, pay.ChannelBalance, pay.Client{}); err != nil || got.State != pay.Success {
		t.Fatalf("sandbox payment of a sandbox merchant's order: %+v %v", got.State, err)
	}
}
