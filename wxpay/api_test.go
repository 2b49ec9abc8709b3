package wxpay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

type harness struct {
	api    *wxpay.API
	srv    *httptest.Server
	client *wxpay.Client
	m      merchant.Sandbox
	keys   *keyring.Keyring
}

func newHarness(t *testing.T) *harness { return newHarnessScheme(t, scheme.RSA) }

func newHarnessScheme(t *testing.T, sch scheme.Name) *harness { return newHarnessOn(t, db.SQLite, sch) }

// newHarnessOn is a harness whose stores are on engine.
func newHarnessOn(t *testing.T, engine db.Engine, sch scheme.Name) *harness {
	t.Helper()
	clock := fenfu.SystemClock{}
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	keys := keyringtest.Open(t, core)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(context.Background(), "shop", sch)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner(keys.Secret), IDs: ids, Clock: clock}
	h := &harness{m: m, keys: keys}
	api := &wxpay.API{Services: wxpay.Services{Pay: ps, Merchants: ms}, Keys: keys, Clock: clock, IDs: ids, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Nonces: wxpay.MemoryNonces(), PublicURL: func() string { return h.srv.URL }}
	h.api = api
	mux := http.NewServeMux()
	api.Register(mux)
	api.RegisterV2(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.client = &wxpay.Client{BaseURL: h.srv.URL, MchID: m.MchID, SerialNo: m.SerialNo, Key: m.PrivateKey,
		PlatformKey: scheme.Public(keys.Platform(sch).Key), PlatformKeyID: keys.Platform(sch).ID, IDs: ids}
	return h
}

// limit sets the per-merchant rate limit, once.
func (h *harness) limit(rate, burst float64) {
	if h.api.Limits == nil {
		h.api.Limits = &ratelimit.Limiter{Rate: rate, Burst: burst}
	}
}

func (h *harness) order(no string) map[string]any {
	return map[string]any{"appid": h.m.AppID, "mchid": h.m.MchID, "description": "tea", "out_trade_no": no,
		"notify_url": "https://shop.example/n", "amount": map[string]any{"total": 100}}
}

// raw sends a request with the given Authorization header and returns
// status and decoded error body, checking the response is signed.
func (h *harness) raw(t *testing.T, method, uri string, body []byte, auth string) (int, wxpay.ErrorBody) {
	t.Helper()
	return h.rawWith(t, h.client, method, uri, body, auth)
}

// rawWith is raw, verifying the answer with c's platform key.
func (h *harness) rawWith(t *testing.T, c *wxpay.Client, method, uri string, body []byte, auth string) (int, wxpay.ErrorBody) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+uri, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if err := c.VerifyResponse(resp.Header, rb); err != nil {
		t.Fatalf("error response not signed: %v", err)
	}
	if resp.Header.Get("Request-ID") == "" {
		t.Fatal("no Request-ID")
	}
	var eb wxpay.ErrorBody
	_ = json.Unmarshal(rb, &eb)
	return resp.StatusCode, eb
}

// sign returns c's Authorization header for a request, now.
func sign(t *testing.T, c *wxpay.Client, method, uri string, body []byte) string {
	t.Helper()
	a, err := c.Sign(method, uri, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	const uri = "/v3/pay/transactions/native"
	body, _ := json.Marshal(h.order("auth-ok-1"))
	now := time.Now()

	sign := func(c *wxpay.Client, method, uri string, b []byte, at time.Time) string {
		a, err := c.Sign(method, uri, b, at)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrong := *h.client
	wrong.Key = otherKey
	unknownSerial := *h.client
	unknownSerial.SerialNo = "0000000000000000000000000000000000000000"

	good := sign(h.client, "POST", uri, body, now)
	if st, eb := h.raw(t, "POST", uri, body, good); st != 200 {
		t.Fatalf("good request: %d %+v", st, eb)
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		auth    string
		message string
	}{
		{"replayed nonce", body, good, "already used"},
		{"tampered body", bytes.Replace(body, []byte(`"total":100`), []byte(`"total":1`), 1), sign(h.client, "POST", uri, body, now), "does not verify"},
		{"wrong key", body, sign(&wrong, "POST", uri, body, now), "does not verify"},
		{"unknown serial", body, sign(&unknownSerial, "POST", uri, body, now), "no active key"},
		{"stale timestamp", body, sign(h.client, "POST", uri, body, now.Add(-6*time.Minute)), "within 5 minutes"},
		{"future timestamp", body, sign(h.client, "POST", uri, body, now.Add(6*time.Minute)), "within 5 minutes"},
		{"signed for another path", body, sign(h.client, "POST", "/v3/pay/transactions/jsapi", body, now), "does not verify"},
		{"no header", body, "", "missing Authorization"},
		{"other scheme", body, strings.Replace(sign(h.client, "POST", uri, body, now), "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA1024", 1), "unsupported"},
		{"garbage", body, "WECHATPAY2-SHA256-RSA2048 lol", "no value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, eb := h.raw(t, "POST", uri, tc.body, tc.auth)
			if st != 401 || eb.Code != "SIGN_ERROR" || !strings.Contains(eb.Message, tc.message) {
				t.Fatalf("got %d %+v, want 401 SIGN_ERROR mentioning %q", st, eb, tc.message)
			}
		})
	}
}

func TestRequestChecks(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var apiErr *wxpay.APIError
	// mchid in the body must be the signer's.
	o := h.order("mchid-mismatch")
	o["mchid"] = "1900000000"
	err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Body.Code != "PARAM_ERROR" || apiErr.Body.Detail.Field != "mchid" {
		t.Fatalf("mchid mismatch: %v", err)
	}
	// Type errors name the field.
	o = h.order("type-error")
	o["amount"] = map[string]any{"total": "100"}
	err = h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil)
	if !errors.As(err, &apiErr) || apiErr.Body.Code != "PARAM_ERROR" || apiErr.Body.Detail == nil || apiErr.Body.Detail.Field != "amount.total" {
		t.Fatalf("type error: %v %+v", err, apiErr)
	}
	// scene_info is checked, and a risk rule may read it.
	o = h.order("scene-bad-ip")
	o["scene_info"] = map[string]any{"payer_client_ip": "not-an-ip", "device_id": "POS-1"}
	err = h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil)
	if !errors.As(err, &apiErr) || apiErr.Body.Code != "PARAM_ERROR" || apiErr.Body.Detail == nil || apiErr.Body.Detail.Field != "scene_info.payer_client_ip" {
		t.Fatalf("bad scene_info: %v %+v", err, apiErr)
	}
	o["scene_info"] = map[string]any{"payer_client_ip": "198.51.100.7", "device_id": "POS-1"}
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil); err != nil {
		t.Fatalf("scene_info: %v", err)
	}
	// Oversized bodies are refused.
	o = h.order("too-big")
	o["attach"] = strings.Repeat("x", wxpay.MaxBody)
	err = h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(apiErr.Body.Message, "exceeds") {
		t.Fatalf("big body: %v", err)
	}
	// Another merchant's mchid in a query is refused.
	err = h.client.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/x123456?mchid=1900000000", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("foreign mchid query: %v", err)
	}
	// An unpaid order is not visible by transaction_id.
	var created struct {
		CodeURL string `json:"code_url"`
	}
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", h.order("unpaid-1"), &created); err != nil {
		t.Fatal(err)
	}
	var tx wxpay.Transaction
	if err := h.client.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/unpaid-1?mchid="+h.m.MchID, nil, &tx); err != nil {
		t.Fatal(err)
	}
	if tx.TradeState != "NOTPAY" || tx.TransactionID != "" || tx.Payer != nil {
		t.Fatalf("unpaid transaction = %+v", tx)
	}
}

func TestParseAuthorization(t *testing.T) {
	a, err := wxpay.ParseAuthorization(`WECHATPAY2-SHA256-RSA2048 signature="YWJj",timestamp="1554208460", serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242"`)
	if err != nil {
		t.Fatal(err)
	}
	if a.MchID != "1900009191" || a.Timestamp != 1554208460 || a.SerialNo != "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C" ||
		a.NonceStr != "593BEC0C930BF1AFEB40B4A08C8FB242" || string(a.Signature) != "abc" {
		t.Fatalf("parsed %+v", a)
	}
	for _, bad := range []string{
		``, `WECHATPAY2-SHA256-RSA2048`, `WECHATPAY2-SHA256-RSA2048 mchid="1"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="1",nonce_str="n",timestamp="1",serial_no="s",signature="YQ=="`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="x",serial_no="s",signature="YQ=="`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s",signature="!!"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1" nonce_str="n",timestamp="1",serial_no="s",signature="YQ=="`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1,nonce_str="n"`,
	} {
		if _, err := wxpay.ParseAuthorization(bad); err == nil {
			t.Errorf("ParseAuthorization(%q) accepted", bad)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="1DDE",signature="YWJj"`)
	f.Add(`WECHATPAY2-SHA256-RSA2048 a=b,c="d`)
	f.Add(`x y=`)
	f.Fuzz(func(t *testing.T, h string) {
		a, err := wxpay.ParseAuthorization(h)
		if err != nil {
			return
		}
		if a.MchID == "" || a.NonceStr == "" || a.SerialNo == "" || (a.Scheme != scheme.RSA && a.Scheme != scheme.SM2) {
			t.Fatalf("accepted an incomplete header %q: %+v", h, a)
		}
		// The parsed timestamp is accepted exactly when it is within the
		// clock-skew window of fuzzNow, however far off it is.
		off := new(big.Int).Sub(big.NewInt(a.Timestamp), big.NewInt(fuzzNow))
		within := off.CmpAbs(big.NewInt(int64(wxpay.MaxClockSkew/time.Second))) <= 0
		if err := wxpay.CheckTimestamp(a.Timestamp, time.Unix(fuzzNow, 0)); (err == nil) != within {
			t.Fatalf("timestamp %d, %s s from now: CheckTimestamp = %v", a.Timestamp, off, err)
		}
	})
}

// fuzzNow is the clock FuzzParseAuthorization checks timestamps against;
// its corpus's timestamps are relative to it.
const fuzzNow = 1764201600

// farOff is how far, in seconds, a timestamp was from the clock when it
// slipped through the clock-skew check: times a billion nanoseconds, it
// wraps round int64 to within the window (issue 11, finding 4). It is a
// little over 300,000 years.
const farOff = 9_500_073_197_960

func TestCheckTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	for _, tc := range []struct {
		name string
		ts   int64
		ok   bool
	}{
		{"now", now.Unix(), true},
		{"5 minutes ago", now.Unix() - 300, true},
		{"in 5 minutes", now.Unix() + 300, true},
		{"5 minutes and a second ago", now.Unix() - 301, false},
		{"in 5 minutes and a second", now.Unix() + 301, false},
		{"300,000 years ago", now.Unix() - farOff, false},
		{"in 300,000 years", now.Unix() + farOff, false},
		{"the smallest int64", math.MinInt64, false},
		{"the largest int64", math.MaxInt64, false},
		{"zero", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wxpay.CheckTimestamp(tc.ts, now)
			if got := err == nil; got != tc.ok {
				t.Fatalf("CheckTimestamp(%d) = %v, want accepted %v", tc.ts, err, tc.ok)
			}
			if err != nil && (fenfu.ErrorCode(err) != fenfu.SignError || !strings.Contains(err.Error(), "within 5 minutes")) {
				t.Fatalf("CheckTimestamp(%d) = %v, want SIGN_ERROR saying the window", tc.ts, err)
			}
		})
	}
}

// TestTimestampFarOff: a correctly signed request whose timestamp is
// 300,000 years off is refused, not taken for one within the window.
func TestTimestampFarOff(t *testing.T) {
	h := newHarness(t)
	const uri = "/v3/pay/transactions/native"
	for _, off := range []int64{-farOff, farOff} {
		body, _ := json.Marshal(h.order(fmt.Sprintf("far-off-%d", off%1000+1000)))
		auth, err := h.client.Sign("POST", uri, body, time.Unix(time.Now().Unix()+off, 0))
		if err != nil {
			t.Fatal(err)
		}
		if st, eb := h.raw(t, "POST", uri, body, auth); st != 401 || eb.Code != "SIGN_ERROR" || !strings.Contains(eb.Message, "within 5 minutes") {
			t.Errorf("timestamp %d s off: %d %+v, want 401 SIGN_ERROR about the window", off, st, eb)
		}
	}
}

func TestSM2Merchant(t *testing.T) {
	h := newHarnessScheme(t, scheme.SM2)
	ctx := context.Background()
	var created struct {
		CodeURL string `json:"code_url"`
	}
	// The client verifies the response with the SM2 platform key.
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", h.order("sm2-order-1"), &created); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/v3/pay/transactions/out-trade-no/sm2-order-1?mchid="+h.m.MchID, nil)
	auth, _ := h.client.Sign("GET", "/v3/pay/transactions/out-trade-no/sm2-order-1?mchid="+h.m.MchID, nil, time.Now())
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Wechatpay-Signature-Type") != string(scheme.SM2) ||
		resp.Header.Get("Wechatpay-Serial") != h.keys.Platform(scheme.SM2).ID {
		t.Fatalf("SM2 response: %d %v", resp.StatusCode, resp.Header)
	}
	// The SM2 key under the RSA scheme name is refused.
	body, _ := json.Marshal(h.order("sm2-order-2"))
	a, _ := h.client.Sign("POST", "/v3/pay/transactions/native", body, time.Now())
	a = strings.Replace(a, string(scheme.SM2), string(scheme.RSA), 1)
	rsaView := *h.client // the answer comes in the scheme the request named
	rsaView.PlatformKey, rsaView.PlatformKeyID = scheme.Public(h.keys.Platform(scheme.RSA).Key), h.keys.Platform(scheme.RSA).ID
	if st, eb := h.rawWith(t, &rsaView, "POST", "/v3/pay/transactions/native", body, a); st != 401 || !strings.Contains(eb.Message, "SM2 key") {
		t.Fatalf("scheme mismatch: %d %+v", st, eb)
	}
}

// TestStoreNoncesAcrossNodes: a nonce used on one node is refused on
// another sharing the store, until it leaves the replay window.
func TestStoreNoncesAcrossNodes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			dsn := dbtest.DSN(t, engine, "core")
			open := func() *db.DB {
				d, err := db.Open(ctx, "core", dsn, fenfu.SystemClock{}, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if _, err := d.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return d
			}
			w := 2 * wxpay.MaxClockSkew
			a, b := &merchant.SharedNonces{DB: open(), Window: w}, &merchant.SharedNonces{DB: open(), Window: w}
			now := time.Now()
			for _, step := range []struct {
				n     *merchant.SharedNonces
				mchid string
				at    time.Time
				fresh bool
			}{
				{a, "m1", now, true},
				{b, "m1", now.Add(time.Second), false},                       // replayed to the other node
				{b, "m2", now.Add(time.Second), true},                        // another merchant's nonce space
				{a, "m1", now.Add(2*wxpay.MaxClockSkew + time.Second), true}, // out of the window: fresh again
			} {
				got, err := step.n.Use(ctx, step.mchid, "N0NCE", step.at)
				if err != nil {
					t.Fatal(err)
				}
				if got != step.fresh {
					t.Fatalf("Use(%s) at +%v = %v, want %v", step.mchid, step.at.Sub(now), got, step.fresh)
				}
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	l := &ratelimit.Limiter{Rate: 10, Burst: 3}
	now := time.Now()
	for i := range 3 {
		if !l.Allow("m", now) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.Allow("m", now) {
		t.Fatal("fourth request in the same instant allowed")
	}
	if !l.Allow("other", now) {
		t.Fatal("another merchant was limited")
	}
	if !l.Allow("m", now.Add(100*time.Millisecond)) {
		t.Fatal("a token did not come back after 1/rate")
	}
	h := newHarness(t)
	var api429 *wxpay.APIError
	limited := false
	for range 50 {
		h.limit(1, 2)
		err := h.client.Do(context.Background(), "GET", "/v3/pay/transactions/out-trade-no/none-123?mchid="+h.m.MchID, nil, nil)
		if errors.As(err, &api429) && api429.Status == 429 && api429.Body.Code == "FREQUENCY_LIMITED" {
			limited = true
			break
		}

	}
	if !limited {
		t.Fatal("no request was answered 429 FREQUENCY_LIMITED")
	}
}

// v2 posts a v2 request with the given parameters, signed with key (MD5)
// unless key is empty, and returns the answer's parameters and raw body.
func (h *harness) v2(t *testing.T, path string, p map[string]string, key string) (map[string]string, string) {
	t.Helper()
	if key != "" {
		p["sign"] = wxpay.SignV2(p, key, wxpay.SignMD5)
	}
	resp, err := http.Post(h.srv.URL+path, "text/xml", bytes.NewReader(wxpay.EncodeV2(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out, err := wxpay.ParseV2(b)
	if err != nil {
		t.Fatalf("v2 answer %q: %v", b, err)
	}
	return out, string(b)
}

// v2Query is a v2 order query of the harness's merchant.
func (h *harness) v2Query(no string) map[string]string {
	return map[string]string{"appid": h.m.AppID, "mch_id": h.m.MchID, "nonce_str": "n" + no, "out_trade_no": no}
}

// TestUnsignedRequestsSpendNoMerchantBudget: requests that name a merchant
// but do not carry its signature (a v2 sign made with the wrong key, a v3
// signature by another key, a replayed v3 request) leave the merchant's
// rate alone, so a flood of them cannot get its own calls refused (issue
// 11, finding 2).
func TestUnsignedRequestsSpendNoMerchantBudget(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const burst = 10
	h.api.Limits = &ratelimit.Limiter{Rate: 0.001, Burst: burst} // no token comes back during the test
	v2key, err := h.api.Merchants.SetAPIv2Key(ctx, h.m.MchID, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		out, _ := h.v2(t, "/pay/orderquery", h.v2Query(fmt.Sprintf("flood-%04d", i)), strings.Repeat("x", 32))
		if out["return_code"] != "FAIL" || !strings.Contains(out["return_msg"], "签名错误") {
			t.Fatalf("badly signed v2 request answered %v", out)
		}
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	forger := *h.client
	forger.Key = otherKey
	q := "/v3/pay/transactions/out-trade-no/budget-1?mchid=" + h.m.MchID
	for range 20 {
		if st, eb := h.raw(t, "GET", q, nil, sign(t, &forger, "GET", q, nil)); st != 401 {
			t.Fatalf("forged v3 request answered %d %+v", st, eb)
		}
	}
	// One request of the merchant's, and replays of it.
	good := sign(t, h.client, "GET", q, nil)
	if st, eb := h.raw(t, "GET", q, nil, good); st != 404 {
		t.Fatalf("the merchant's request answered %d %+v, want 404 ORDER_NOT_EXIST", st, eb)
	}
	for range 20 {
		if st, eb := h.raw(t, "GET", q, nil, good); st != 401 || !strings.Contains(eb.Message, "already used") {
			t.Fatalf("replayed request answered %d %+v", st, eb)
		}
	}
	// The rest of the merchant's burst is its own, in either protocol.
	for i := range burst - 2 {
		if st, eb := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", q, nil)); st != 404 {
			t.Fatalf("the merchant's v3 request %d of its burst answered %d %+v", i+2, st, eb)
		}
	}
	if out, _ := h.v2(t, "/pay/orderquery", h.v2Query("budget-1"), v2key); out["return_code"] != "SUCCESS" {
		t.Fatalf("the merchant's v2 request, the last of its burst, answered %v", out)
	}
	if st, eb := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", q, nil)); st != 429 || eb.Code != "FREQUENCY_LIMITED" {
		t.Fatalf("the merchant's request past its burst answered %d %+v, want 429", st, eb)
	}
}

// TestV2UnknownMerchantLooksLikeBadSign: an unknown mch_id, a merchant
// without an API v2 key and a wrong sign get the same answer, so probing
// cannot tell which merchants exist.
func TestV2UnknownMerchantLooksLikeBadSign(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	bad := strings.Repeat("k", 32)
	noKey, _ := h.v2(t, "/pay/orderquery", h.v2Query("probe-1"), bad) // the merchant has no v2 key yet
	if _, err := h.api.Merchants.SetAPIv2Key(ctx, h.m.MchID, ""); err != nil {
		t.Fatal(err)
	}
	wrongSign, _ := h.v2(t, "/pay/orderquery", h.v2Query("probe-1"), bad)
	p := h.v2Query("probe-1")
	p["mch_id"] = "1900000000"
	unknown, _ := h.v2(t, "/pay/orderquery", p, bad)
	if wrongSign["return_code"] != "FAIL" || !strings.Contains(wrongSign["return_msg"], "签名错误") {
		t.Fatalf("wrong sign answered %v, want return_code FAIL, 签名错误", wrongSign)
	}
	for name, got := range map[string]map[string]string{"unknown mch_id": unknown, "merchant without a v2 key": noKey} {
		if fmt.Sprint(got) != fmt.Sprint(wrongSign) {
			t.Errorf("%s answered %v; a wrong sign answers %v", name, got, wrongSign)
		}
	}
}

// TestFailuresLimitedBySource: an address whose requests keep failing
// authentication is refused, in either protocol, once it has spent its
// budget of failures; the requests it made do not count against the
// merchant.
func TestFailuresLimitedBySource(t *testing.T) {
	h := newHarness(t)
	h.api.Failures = &ratelimit.Limiter{Rate: 0.001, Burst: 3}
	q := "/v3/pay/transactions/out-trade-no/source-1?mchid=" + h.m.MchID
	if st, _ := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", q, nil)); st != 404 {
		t.Fatalf("a good request answered %d", st)
	}
	for range 2 {
		if st, eb := h.raw(t, "GET", q, nil, "WECHATPAY2-SHA256-RSA2048 lol"); st != 401 {
			t.Fatalf("a malformed request answered %d %+v", st, eb)
		}
	}
	if out, _ := h.v2(t, "/pay/orderquery", h.v2Query("source-1"), strings.Repeat("k", 32)); !strings.Contains(out["return_msg"], "签名错误") {
		t.Fatalf("a badly signed v2 request answered %v", out)
	}
	// Three failures spent the address's budget: even a good request is
	// refused now, before it is checked.
	if st, eb := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", q, nil)); st != 429 || eb.Code != "FREQUENCY_LIMITED" {
		t.Fatalf("a request from an address out of failures answered %d %+v, want 429", st, eb)
	}
	if out, _ := h.v2(t, "/pay/orderquery", h.v2Query("source-1"), strings.Repeat("k", 32)); out["return_code"] != "FAIL" ||
		!strings.Contains(out["return_msg"], "FREQUENCY_LIMITED") {
		t.Fatalf("a v2 request from an address out of failures answered %v", out)
	}
}

// TestFailuresLimitedSignedInScheme: a national-crypto merchant refused
// because its address is out of failures gets the refusal signed with the
// SM2 platform key its SDK verifies, not RSA's: otherwise its SDK reports
// a response it cannot verify instead of FREQUENCY_LIMITED. (fenfu chaos
// found it: with the clock stepped past the signature window, SM2 clients
// saw their requests fail as unverifiable responses.)
func TestFailuresLimitedSignedInScheme(t *testing.T) {
	h := newHarnessScheme(t, scheme.SM2)
	h.api.Failures = &ratelimit.Limiter{Rate: 0.001, Burst: 1}
	q := "/v3/pay/transactions/out-trade-no/source-1?mchid=" + h.m.MchID
	other := "/v3/pay/transactions/out-trade-no/source-2?mchid=" + h.m.MchID
	if st, eb := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", other, nil)); st != 401 || eb.Code != "SIGN_ERROR" {
		t.Fatalf("a request signed for another URL answered %d %+v", st, eb)
	}
	// raw verifies the answer with the merchant's (SM2) platform key.
	if st, eb := h.raw(t, "GET", q, nil, sign(t, h.client, "GET", q, nil)); st != 429 || eb.Code != "FREQUENCY_LIMITED" {
		t.Fatalf("a request from an address out of failures answered %d %+v, want 429", st, eb)
	}
}

// paid creates an order of total fen through the domain and pays it from
// a new consumer's balance.
func (h *harness) paid(t *testing.T, no string, total fenfu.Fen) pay.Order {
	t.Helper()
	ctx := context.Background()
	ps := h.api.Pay
	o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: h.m.MchID, AppID: h.m.AppID, Description: "tea", OutTradeNo: no,
		NotifyURL: "https://shop.example/n", Total: total})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := consumer.New(ps.Core, ps.Credit, ps.IDs, ps.Clock).Create(ctx, consumer.NewConsumer{Rating: "A", Balance: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = ps.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	return o
}

// signed sends body to uri signed by the harness's merchant, as it is:
// the SDKs would turn invalid UTF-8 into U+FFFD before signing.
func (h *harness) signed(t *testing.T, method, uri string, body []byte) (int, wxpay.ErrorBody) {
	t.Helper()
	return h.raw(t, method, uri, body, sign(t, h.client, method, uri, body))
}

// TestUnstorableInput: text that PostgreSQL cannot store (U+0000), that
// is not valid UTF-8, or that holds another character text fields do not
// allow, and amounts past the protocol's largest, are PARAM_ERROR naming
// the field on both engines, never a SYSTEM_ERROR that tells the caller to
// retry (issue 11, finding 5).
func TestUnstorableInput(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			h := newHarnessOn(t, engine, scheme.RSA)
			ctx := context.Background()
			const native = "/v3/pay/transactions/native"
			for i, tc := range []struct {
				field, value string // value: the string's JSON text, as sent
			}{
				{"description", `tea\u0000`},
				{"attach", `\u0000`},
				{"notify_url", `https://shop.example/n\u0000`},
				{"goods_tag", `tag\u0000`},
				{"description", `tea\u0007`},
				{"attach", `tea\ufffe`},
				{"attach", "tea\uFFFF"},
				{"description", "tea\xff"},
				{"attach", "tea\xe4\xb8"},
			} {
				o := h.order(fmt.Sprintf("unstorable-%02d", i))
				o[tc.field] = "PLACEHOLDER"
				body, _ := json.Marshal(o)
				body = bytes.Replace(body, []byte("PLACEHOLDER"), []byte(tc.value), 1)
				st, eb := h.signed(t, "POST", native, body)
				if st != 400 || eb.Code != "PARAM_ERROR" || eb.Detail == nil || eb.Detail.Field != tc.field {
					t.Errorf("%s %q: %d %+v, want 400 PARAM_ERROR naming %s", tc.field, tc.value, st, eb, tc.field)
				}
			}
			// A key with invalid UTF-8 is named by its object.
			o := h.order("unstorable-key")
			body, _ := json.Marshal(o)
			body = bytes.Replace(body, []byte(`"total"`), []byte("\"tot\xffal\""), 1)
			if st, eb := h.signed(t, "POST", native, body); st != 400 || eb.Code != "PARAM_ERROR" || eb.Detail == nil || eb.Detail.Field != "amount" {
				t.Errorf("a key that is not UTF-8: %d %+v, want PARAM_ERROR naming amount", st, eb)
			}

			// Refunds of a partly refunded order.
			paid := h.paid(t, "unstorable-paid", 1000)
			refund := func(no string, amount map[string]any) map[string]any {
				return map[string]any{"out_trade_no": paid.OutTradeNo, "out_refund_no": no, "amount": amount}
			}
			if err := h.client.Do(ctx, "POST", "/v3/refund/domestic/refunds", refund("part-1", map[string]any{"refund": 10, "total": 1000, "currency": "CNY"}), nil); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name  string
				req   map[string]any
				field string
			}{
				{"refund of int64's largest", refund("huge-1", map[string]any{"refund": int64(math.MaxInt64), "total": 1000, "currency": "CNY"}), "amount.refund"},
				{"refund past the largest order", refund("huge-2", map[string]any{"refund": pay.MaxTotal + 1, "total": 1000, "currency": "CNY"}), "amount.refund"},
				{"total of int64's largest", refund("huge-3", map[string]any{"refund": 10, "total": int64(math.MaxInt64), "currency": "CNY"}), "amount.total"},
				{"reason with U+0000", func() map[string]any {
					r := refund("nul-1", map[string]any{"refund": 10, "total": 1000, "currency": "CNY"})
					r["reason"] = "broken\x00"
					return r
				}(), "reason"},
				{"out_trade_no with U+0000", map[string]any{"out_trade_no": "unstorable\x00", "out_refund_no": "nul-2",
					"amount": map[string]any{"refund": 10, "total": 1000, "currency": "CNY"}}, "out_trade_no"},
			} {
				body, _ := json.Marshal(tc.req)
				st, eb := h.signed(t, "POST", "/v3/refund/domestic/refunds", body)
				if st != 400 || eb.Code != "PARAM_ERROR" || eb.Detail == nil || eb.Detail.Field != tc.field {
					t.Errorf("%s: %d %+v, want 400 PARAM_ERROR naming %s", tc.name, st, eb, tc.field)
				}
			}
			// A refund within the protocol's limits but past what is left is
			// the business error it always was.
			body, _ = json.Marshal(refund("over-1", map[string]any{"refund": pay.MaxTotal, "total": 1000, "currency": "CNY"}))
			if st, eb := h.signed(t, "POST", "/v3/refund/domestic/refunds", body); st != 400 || eb.Code != "INVALID_REQUEST" {
				t.Errorf("a refund past the refundable: %d %+v, want 400 INVALID_REQUEST", st, eb)
			}
			// A query naming an order with U+0000 is not a system error.
			q := "/v3/pay/transactions/out-trade-no/unstorable%00x?mchid=" + h.m.MchID
			if st, eb := h.signed(t, "GET", q, nil); st == 500 || eb.Code == "SYSTEM_ERROR" {
				t.Errorf("query with U+0000: %d %+v, want a 4xx", st, eb)
			}

			// v2: amounts past the largest order, and text XML cannot carry.
			v2key, err := h.api.Merchants.SetAPIv2Key(ctx, h.m.MchID, "")
			if err != nil {
				t.Fatal(err)
			}
			p := map[string]string{"appid": h.m.AppID, "mch_id": h.m.MchID, "nonce_str": "n1", "out_trade_no": paid.OutTradeNo,
				"out_refund_no": "v2-huge-1", "total_fee": "1000", "refund_fee": strconv.FormatInt(math.MaxInt64, 10)}
			if out, _ := h.v2(t, "/secapi/pay/refund", p, v2key); out["result_code"] != "FAIL" || out["err_code"] != "PARAM_ERROR" ||
				!strings.Contains(out["err_code_des"], "refund_fee") {
				t.Errorf("v2 refund of int64's largest: %v, want PARAM_ERROR naming refund_fee", out)
			}
			p = map[string]string{"appid": h.m.AppID, "mch_id": h.m.MchID, "nonce_str": "n2", "body": "tea\x00", "out_trade_no": "v2-nul-1",
				"total_fee": "100", "spbill_create_ip": "203.0.113.7", "notify_url": "https://shop.example/n", "trade_type": "NATIVE"}
			if out, _ := h.v2(t, "/pay/unifiedorder", p, v2key); out["return_code"] != "FAIL" || !strings.Contains(out["return_msg"], "parameter body") {
				t.Errorf("v2 order with U+0000 in body: %v, want FAIL naming the parameter", out)
			}
		})
	}
}

// TestV2KeyChangeReachesEveryNode: an API v2 key set through another
// process takes effect on a running node at once: the new key signs, the
// old one is refused, and the answer is signed with the new one (issue 11,
// finding 8).
func TestV2KeyChangeReachesEveryNode(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	old, err := h.api.Merchants.SetAPIv2Key(ctx, h.m.MchID, "")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := h.v2(t, "/pay/orderquery", h.v2Query("v2key-1"), old); out["return_code"] != "SUCCESS" { // cached now
		t.Fatalf("with the first key: %v", out)
	}
	other := merchant.New(h.api.Pay.Core, &fenfu.RandomIDs{}, fenfu.SystemClock{}) // `fenfu merchant set-v2-key`
	key, err := other.SetAPIv2Key(ctx, h.m.MchID, "")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := h.v2(t, "/pay/orderquery", h.v2Query("v2key-2"), key)
	if out["return_code"] != "SUCCESS" || out["sign"] != wxpay.SignV2(out, key, wxpay.SignMD5) {
		t.Errorf("with the new key: %v, want SUCCESS signed with it", out)
	}
	if out, _ := h.v2(t, "/pay/orderquery", h.v2Query("v2key-3"), old); !strings.Contains(out["return_msg"], "签名错误") {
		t.Errorf("with the replaced key: %v, want 签名错误", out)
	}
}

func TestSM2Certificates(t *testing.T) {
	h := newHarnessScheme(t, scheme.SM2)
	var out struct {
		Data []struct {
			SerialNo           string          `json:"serial_no"`
			EncryptCertificate notify.Resource `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := h.client.Do(context.Background(), "GET", "/v3/certificates?algorithm_type=SM2", nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Data) != 1 || out.Data[0].SerialNo != h.keys.Platform(scheme.SM2).Certificate.SerialNo ||
		out.Data[0].EncryptCertificate.Algorithm != notify.SM4GCM || out.Data[0].EncryptCertificate.AssociatedData != "certificate" {
		t.Fatalf("certificates = %+v", out)
	}
	pemBytes, err := notify.Decrypt(out.Data[0].EncryptCertificate, h.m.APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	cert, err := smx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := scheme.MarshalPublicKey(scheme.Public(h.keys.Platform(scheme.SM2).Key))
	got, _ := scheme.MarshalPublicKey(cert.PublicKey)
	if !bytes.Equal(got, want) {
		t.Fatal("the SM2 certificate does not hold the SM2 platform key")
	}
}

// TestKeyRotation: a merchant registers a second key; both verify while
// both are active; the retired one stops at once; the last cannot go.
func TestKeyRotation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ms := h.api.Merchants
	newKey, _ := scheme.Generate(scheme.SM2) // rotating to national crypto, too
	pubPEM, _ := scheme.PublicKeyPEM(scheme.Public(newKey))
	serial, err := ms.AddKey(ctx, h.m.MchID, pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ms.AddKey(ctx, h.m.MchID, pubPEM); err != nil || again != serial {
		t.Fatalf("registering twice: %s, %v", again, err)
	}
	next := *h.client
	next.Key, next.SerialNo = newKey, serial
	next.PlatformKey, next.PlatformKeyID = scheme.Public(h.keys.Platform(scheme.SM2).Key), h.keys.Platform(scheme.SM2).ID
	q := "/v3/pay/transactions/out-trade-no/rot-000001?mchid=" + h.m.MchID
	var apiErr *wxpay.APIError
	for name, c := range map[string]*wxpay.Client{"old": h.client, "new": &next} {
		if err := c.Do(ctx, "GET", q, nil, nil); !errors.As(err, &apiErr) || apiErr.Body.Code != "ORDER_NOT_EXIST" {
			t.Fatalf("%s key during the overlap: %v", name, err)
		}
	}
	if err := ms.RetireKey(ctx, h.m.MchID, h.m.SerialNo); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Do(ctx, "GET", q, nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Fatalf("retired key: %v", err)
	}
	if err := ms.RetireKey(ctx, h.m.MchID, serial); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Fatalf("retiring the last key: %v", err)
	}
	keys, _ := ms.Keys(ctx, h.m.MchID)
	if len(keys) != 2 || keys[0].SerialNo != serial || keys[0].State != "active" || keys[1].State != "retired" {
		t.Fatalf("keys = %+v", keys)
	}
}

// TestPlatformKeyOverlap: during a rotation a client that asks for the
// next key (Wechatpay-Serial) is answered with it, others with the current
// key; after promotion the old key is still used for clients that ask.
func TestPlatformKeyOverlap(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	old := h.keys.Platform(scheme.RSA)
	next, err := h.keys.Rotate(ctx, scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	verifyWith := func(pk keyring.PlatformKey) error {
		c := *h.client
		c.PlatformKey, c.PlatformKeyID = scheme.Public(pk.Key), pk.ID
		err := c.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/overlap-1?mchid="+h.m.MchID, nil, nil)
		var apiErr *wxpay.APIError
		if errors.As(err, &apiErr) && apiErr.Body.Code == "ORDER_NOT_EXIST" {
			return nil // answered, and the answer verified
		}
		return err
	}
	if err := verifyWith(old); err != nil {
		t.Fatalf("current key during the overlap: %v", err)
	}
	if err := verifyWith(next); err != nil {
		t.Fatalf("next key during the overlap: %v", err)
	}
	if err := h.keys.Promote(ctx, scheme.RSA); err != nil {
		t.Fatal(err)
	}
	if h.keys.Platform(scheme.RSA).ID != next.ID {
		t.Fatal("promotion did not make the next key current")
	}
	if err := verifyWith(old); err != nil {
		t.Fatalf("previous key after promotion: %v", err)
	}
	if err := verifyWith(next); err != nil {
		t.Fatalf("new current key: %v", err)
	}
}
