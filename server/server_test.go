package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/server"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/wxpay"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type env struct {
	srv     *httptest.Server
	client  *wxpay.Client
	m       merchant.Sandbox
	v2Key   string
	token   string // a director's bearer token
	health  atomic.Pointer[func(context.Context) error]
	metrics *metrics.Registry
}

// newEnv serves fenfu's whole HTTP surface over SQLite stores, as serve
// assembles it; withAdmin says whether the staff API is on.
func newEnv(t *testing.T, withAdmin bool) *env {
	t.Helper()
	return newEnvWith(t, withAdmin, nil, nil)
}

// newEnvWith is newEnv behind the given trusted proxies, with the given
// limiter of failed authentications per source.
func newEnvWith(t *testing.T, withAdmin bool, proxies server.Proxies, failures *ratelimit.Limiter) *env {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.SystemClock{} // the v3 client signs with the real time
	core := dbtest.Open(t, db.SQLite, "core", clock)
	cr := dbtest.Open(t, db.SQLite, "credit", clock)
	keys := keyringtest.Open(t, core)
	ids := &fenfu.RandomIDs{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(ctx, "Tea house", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	v2Key, err := ms.SetAPIv2Key(ctx, m.MchID, "")
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner(keys.Secret), IDs: ids, Clock: clock, Log: log}
	e := &env{m: m, v2Key: v2Key, metrics: metrics.New()}
	ok := func(context.Context) error { return nil }
	e.health.Store(&ok)
	api := &wxpay.API{Services: wxpay.Services{Pay: ps, Merchants: ms}, Keys: keys, Clock: clock, IDs: ids, Log: log,
		Nonces: wxpay.MemoryNonces(), Failures: failures, PublicURL: func() string { return e.srv.URL }}
	var staff *admin.API
	if withAdmin {
		people := access.New(core, clock)
		e.token = accesstest.Director(t, people)
		staff = &admin.API{Access: people, Onboard: &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: core},
			IDs: ids, Clock: clock, Merchants: ms}, Merchants: ms, Pay: ps,
			Settle: &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "test", Log: log}, Log: log,
			Clock: clock, Background: func(f func(context.Context)) { go f(context.Background()) }}
	}
	cs := consumer.New(core, cr, ids, clock)
	cash := cashier.New(ps, cs, ms, clock, log, api.CodeURL)
	h := server.New(server.Deps{API: api, Admin: staff, Cashier: cash, Metrics: e.metrics, Log: log,
		Health: func(ctx context.Context) error { return (*e.health.Load())(ctx) }, Proxies: proxies, MetricsFrom: server.DefaultMetricsFrom()})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.client = &wxpay.Client{BaseURL: e.srv.URL, MchID: m.MchID, SerialNo: m.SerialNo, Key: m.PrivateKey,
		PlatformKey: scheme.Public(keys.Platform(scheme.RSA).Key), PlatformKeyID: keys.Platform(scheme.RSA).ID, IDs: ids}
	return e
}

func (e *env) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return e.send(t, "GET", path, nil, header...)
}

func (e *env) send(t *testing.T, method, path string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func code(t *testing.T, body []byte) string {
	t.Helper()
	var out struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", body, err)
	}
	return out.Code
}

// TestSurfaces: each surface answers at its routes, through the server's
// middleware.
func TestSurfaces(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()

	// v3: a signed order, whose code_url the cashier serves.
	var created struct {
		CodeURL string `json:"code_url"`
	}
	err := e.client.Do(ctx, "POST", "/v3/pay/transactions/native", map[string]any{"appid": e.m.AppID, "mchid": e.m.MchID,
		"description": "tea", "out_trade_no": "server-0001", "notify_url": "https://shop.example/n", "amount": map[string]any{"total": 100}}, &created)
	if err != nil {
		t.Fatalf("v3 native order: %v", err)
	}
	if !strings.HasPrefix(created.CodeURL, e.srv.URL+"/q/") {
		t.Fatalf("code_url %q", created.CodeURL)
	}
	resp, body := e.get(t, "/v3/pay/transactions/out-trade-no/server-0001?mchid="+e.m.MchID)
	if resp.StatusCode != http.StatusUnauthorized || code(t, body) != "SIGN_ERROR" || resp.Header.Get("Wechatpay-Signature") == "" {
		t.Errorf("unsigned v3 query: %d %s, signature %q; want a signed 401 SIGN_ERROR", resp.StatusCode, body, resp.Header.Get("Wechatpay-Signature"))
	}

	// Cashier: the order's page, as JSON.
	resp, body = e.get(t, strings.TrimPrefix(created.CodeURL, e.srv.URL)+"?format=json")
	var page struct {
		TradeState string `json:"trade_state"`
		OutTradeNo string `json:"out_trade_no"`
		Merchant   string `json:"merchant"`
	}
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != http.StatusOK ||
		page.TradeState != "NOTPAY" || page.OutTradeNo != "server-0001" || page.Merchant != "Tea house" {
		t.Errorf("cashier page: %d %s", resp.StatusCode, body)
	}

	// v2: the same order queried in XML, signed with the API v2 key.
	p := map[string]string{"appid": e.m.AppID, "mch_id": e.m.MchID, "out_trade_no": "server-0001", "nonce_str": "n0nce"}
	p["sign"] = wxpay.SignV2(p, e.v2Key, wxpay.SignMD5)
	resp, body = e.send(t, "POST", "/pay/orderquery", wxpay.EncodeV2(p))
	got, err := wxpay.ParseV2(body)
	if err != nil || resp.StatusCode != http.StatusOK || got["return_code"] != "SUCCESS" || got["result_code"] != "SUCCESS" ||
		got["trade_state"] != "NOTPAY" {
		t.Errorf("v2 order query: %d %v %v", resp.StatusCode, got, err)
	}

	// Staff API.
	resp, body = e.get(t, "/admin/applications", "Authorization", "Bearer "+e.token)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("staff queue: %d %s", resp.StatusCode, body)
	}
	resp, body = e.get(t, "/admin/applications")
	if resp.StatusCode != http.StatusUnauthorized || code(t, body) != "UNAUTHENTICATED" {
		t.Errorf("staff queue without a token: %d %s", resp.StatusCode, body)
	}

	// Health, index.
	resp, body = e.get(t, "/healthz")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	down := func(context.Context) error { return errors.New("core store: connection refused") }
	e.health.Store(&down)
	resp, body = e.get(t, "/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "unavailable") {
		t.Errorf("/healthz with a store down: %d %s", resp.StatusCode, body)
	}
	resp, body = e.get(t, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "fenfu") {
		t.Errorf("index: %d %s", resp.StatusCode, body)
	}

	// Metrics count what was served, by route and status.
	resp, body = e.get(t, "/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	for _, want := range []struct {
		route, status string
		n             float64
	}{
		{"POST /v3/pay/transactions/native", "OK", 1},
		{"GET /v3/pay/transactions/out-trade-no/{out_trade_no}", "Unauthorized", 1},
		{"POST /pay/orderquery", "OK", 1},
		{"GET /healthz", "OK", 1},
		{"GET /healthz", "Service Unavailable", 1},
		{"GET /admin/applications", "Unauthorized", 1},
	} {
		if got := counter(mfs["fenfu_http_requests_total"], "route", want.route, "status", want.status); got != want.n {
			t.Errorf("fenfu_http_requests_total{route=%q,status=%q} = %v, want %v", want.route, want.status, got, want.n)
		}
	}
	if h := mfs["fenfu_http_request_seconds"]; h == nil || h.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("no latency histogram: %v", h)
	}
}

// counter returns the value of the series with the given labels.
func counter(mf *dto.MetricFamily, labels ...string) float64 {
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if match {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, false)
	for _, path := range []string{"/nope", "/v3/pay/transactions", "/v3/unknown/route", "/q/", "/admin/applications", "/metrics/x"} {
		resp, body := e.get(t, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d %s, want 404", path, resp.StatusCode, body)
		}
	}
	// A known path with another method is not served either.
	if resp, _ := e.send(t, "DELETE", "/healthz", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /healthz = %d, want 405", resp.StatusCode)
	}
	_, body := e.get(t, "/metrics")
	if !strings.Contains(string(body), `fenfu_http_requests_total{route="unmatched",status="Not Found"} 5`) {
		t.Errorf("unmatched requests not counted as such:\n%s", body)
	}
	// An address under /q/ that is no page gets the cashier's 404 page,
	// counted under the cashier's catch-all, not one label per address.
	if !strings.Contains(string(body), `fenfu_http_requests_total{route="/q/",status="Not Found"} 1`) {
		t.Errorf("the cashier's 404 not counted under its pattern:\n%s", body)
	}
}

// TestPanicRecovery: a handler that panics answers 500 SYSTEM_ERROR, and
// the server goes on serving; a handler that aborts its response drops the
// connection without an answer.
func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, false)
	boom := func(context.Context) error { panic("boom") }
	e.health.Store(&boom)
	resp, body := e.get(t, "/healthz")
	if resp.StatusCode != http.StatusInternalServerError || code(t, body) != "SYSTEM_ERROR" || strings.Contains(string(body), "boom") {
		t.Errorf("panicking handler: %d %s; want 500 SYSTEM_ERROR without the panic's detail", resp.StatusCode, body)
	}
	abort := func(context.Context) error { panic(http.ErrAbortHandler) }
	e.health.Store(&abort)
	if resp, err := http.Get(e.srv.URL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("aborted handler answered %d", resp.StatusCode)
	}
	ok := func(context.Context) error { return nil }
	e.health.Store(&ok)
	if resp, body := e.get(t, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the panics: %d %s", resp.StatusCode, body)
	}
}

// TestTrustedProxyLimitsEachClient: behind a trusted proxy, the failed
// authentications of one client spend that client's budget, not every
// client's; a client that is not a trusted proxy cannot name another
// address to escape its own.
func TestTrustedProxyLimitsEachClient(t *testing.T) {
	bad := func(e *env, xff string) int {
		t.Helper()
		resp, _ := e.get(t, "/v3/pay/transactions/out-trade-no/x?mchid="+e.m.MchID, "Authorization",
			`WECHATPAY2-SHA256-RSA2048 mchid="`+e.m.MchID+`",nonce_str="n",timestamp="1",serial_no="S",signature="c2ln"`,
			"X-Forwarded-For", xff)
		return resp.StatusCode
	}
	limiter := func() *ratelimit.Limiter { return &ratelimit.Limiter{Rate: 0.001, Burst: 3, Max: 1000} }

	proxied := newEnvWith(t, false, server.Proxies{netip.MustParsePrefix("127.0.0.0/8")}, limiter())
	for range 3 {
		if got := bad(proxied, "198.51.100.1"); got != http.StatusUnauthorized {
			t.Fatalf("a bad signature: %d, want 401", got)
		}
	}
	if got := bad(proxied, "198.51.100.1"); got != http.StatusTooManyRequests {
		t.Errorf("the client past its budget: %d, want 429", got)
	}
	if got := bad(proxied, "198.51.100.2"); got != http.StatusUnauthorized {
		t.Errorf("another client behind the same proxy: %d, want 401 (its own budget)", got)
	}

	direct := newEnvWith(t, false, nil, limiter())
	for range 3 {
		bad(direct, "198.51.100.1")
	}
	if got := bad(direct, "198.51.100.2"); got != http.StatusTooManyRequests {
		t.Errorf("a peer that is no proxy naming another address: %d, want 429 (its own budget, spent)", got)
	}
}
