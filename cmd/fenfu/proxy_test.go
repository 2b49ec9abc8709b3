package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/server"
)

// TestCashierBehindProxy: behind a reverse proxy that reaches fenfu at
// another Host than the public URL's, a consumer logs in and pays: the
// forms' Origin is the public URL's, which the cashier accepts; the
// trusted proxy's X-Forwarded-Proto makes the session cookie Secure and
// its X-Forwarded-For is the address the risk engine reads.
func TestCashierBehindProxy(t *testing.T) {
	const public = "https://pay.example.test"
	cfg := testConfig(t)
	cfg.PublicURL = public
	ps, err := server.ParseProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TrustedProxies = ps
	w := startWorld(t, cfg)
	ctx := context.Background()
	backend, _ := url.Parse(w.base)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backend) // Host: the backend's, not pay.example.test
		r.Out.Header.Set("X-Forwarded-For", "203.0.113.9")
		r.Out.Header.Set("X-Forwarded-Proto", "https")
	}})
	t.Cleanup(proxy.Close)
	if _, err := w.a.risk.AddRule(ctx, "staff:test", "a network that abuses credit", risk.Rule{Name: "abusive-net", Channels: []string{risk.Credit},
		Expr: `ip == "203.0.113.9"`, Decision: risk.Reject, Reason: "abuse", Message: "Credit pay is not available from this network.", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	alice := w.consumer(1000_00, 500_00)
	o := w.order("PROXY-0001", 20_00)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path, origin string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", proxy.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	login := url.Values{"phone": {alice.phone}, "pin": {alice.pin}, "next": {"/q/" + o.Token}}
	// Another site's form, and one from the address fenfu sees, are
	// refused: only the public URL's origin is the cashier's own.
	for _, origin := range []string{"https://evil.example", "http://" + backend.Host + ".evil.example", "http://pay.example.test"} {
		if resp, _ := post("/cashier/login", origin, login, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("login from %s: %d, want 403", origin, resp.StatusCode)
		}
	}
	resp, body := post("/cashier/login", public, login, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login through the proxy: %d %s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "fenfu_session" {
			session = c
		}
	}
	if session == nil || !session.Secure {
		t.Fatalf("the session cookie through an https proxy is %+v, want Secure", session)
	}
	// Credit is refused by the rule on the client's address, which only
	// the proxy's header carries; balance pays.
	resp, body = post("/q/"+o.Token+"/pay", public, url.Values{"channel": {"credit"}, "pin": {alice.pin}}, session)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Credit pay is not available from this network.") {
		t.Fatalf("credit through the proxy: %d, want the rule's refusal of 203.0.113.9\n%s", resp.StatusCode, body)
	}
	resp, body = post("/q/"+o.Token+"/pay", public, url.Values{"channel": {"balance"}, "pin": {alice.pin}}, session)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/q/"+o.Token {
		t.Fatalf("balance through the proxy: %d %s", resp.StatusCode, body)
	}
	if got, err := w.a.pay.Get(ctx, o.ID); err != nil || got.State != pay.Success || got.ConsumerID != alice.id {
		t.Fatalf("the order after paying through the proxy: %+v %v", got, err)
	}
}

// TestLoopbackUnproxied: serve warns of a --public-url consumers reach
// with no trusted proxy, not of one left to its default, a loopback one,
// or one with proxies.
func TestLoopbackUnproxied(t *testing.T) {
	proxies, err := server.ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		public  string
		proxies server.Proxies
		want    bool
	}{
		{"https://pay.example.com", nil, true}, {"http://10.0.0.5:8080", nil, true},
		{"https://pay.example.com", proxies, false}, {"", nil, false}, {"http://127.0.0.1:8080", nil, false}, {"http://localhost", nil, false},
	} {
		if got := unproxied(tc.public, tc.proxies); got != tc.want {
			t.Errorf("unproxied(%q, %v) = %v", tc.public, tc.proxies, got)
		}
	}
}

func TestLoopback(t *testing.T) {
	for u, want := range map[string]bool{"http://127.0.0.1:8080": true, "http://localhost": true, "http://[::1]:80/x": true,
		"https://pay.example.com": false, "http://10.0.0.5:8080": false, "http://app.localhost": true, "http://127.8.9.1": true} {
		if got := loopback(u); got != want {
			t.Errorf("loopback(%q) = %v", u, got)
		}
	}
}

// TestConsoleLoginsBehindProxyCountEachClient: behind a trusted reverse
// proxy, the console's failed logins are counted per client, by the
// address the proxy names in X-Forwarded-For, never per proxy: one client
// trying name after name is refused, 429 with when to try again, and
// another client behind the same proxy is not.
func TestConsoleLoginsBehindProxyCountEachClient(t *testing.T) {
	cfg := testConfig(t)
	ps, err := server.ParseProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TrustedProxies = ps
	cfg.Login.SourceFailures = 3
	w := startWorld(t, cfg)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(client, name string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", w.base+"/console/login?lang=en", strings.NewReader(url.Values{"name": {name},
			"password": {"Summer2026!pass"}, "totp": {"123456"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i, name := range []string{"ops.a", "ops.b", "ops.c"} {
		if status, _ := login("203.0.113.9", name); status != http.StatusUnauthorized {
			t.Fatalf("wrong login %d: HTTP %d", i+1, status)
		}
	}
	status, page := login("203.0.113.9", "ops.d")
	if status != http.StatusTooManyRequests || !strings.Contains(page, "FREQUENCY_LIMITED") || !strings.Contains(page, "another network") {
		t.Errorf("a fourth name from the same client: HTTP %d, want 429 saying when to try again", status)
	}
	if status, _ := login("203.0.113.10", "ops.a"); status != http.StatusUnauthorized {
		t.Errorf("another client behind the same proxy: HTTP %d, want 401", status)
	}
}
