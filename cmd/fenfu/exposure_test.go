package main

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
)

// TestExposureAPI: the two exposure routes with the official SDK (which
// signs the requests and verifies fenfu's signed answers), their field
// validation, an openid resolved from a paid order's payer, a
// market_exposure_token preselecting credit at the cashier and ignored on
// another order, the exposures recorded on every surface, and the funnel
// counting the conversion.
func TestExposureAPI(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testExposureAPI(t, engine) })
	}
}

func testExposureAPI(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var cons struct {
		ID    string `json:"id"`
		Phone string `json:"phone"`
		PIN   string `json:"pin"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--balance", "100000", "--rating", "A")
	sdk := sdkClient(t, in.base, m)
	const api = "https://api.mch.weixin.qq.com"
	post := func(path string, body any, out any) error {
		t.Helper()
		res, err := sdk.Post(ctx, api+path, body)
		if err != nil {
			return err
		}
		defer res.Response.Body.Close()
		b, _ := io.ReadAll(res.Response.Body)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
		return nil
	}
	order := func(no string, total int) string { // returns the cashier path
		t.Helper()
		var out struct {
			CodeURL string `json:"code_url"`
		}
		if err := post("/v3/pay/transactions/native", map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Tea",
			"out_trade_no": no, "notify_url": "https://shop.example/n", "amount": map[string]any{"total": total}}, &out); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(out.CodeURL)
		return u.Path
	}
	phone := loggedIn(t, in, cons.Phone, cons.PIN)
	payOn := func(path, channel string) {
		t.Helper()
		var paid map[string]any
		if code, body := call(t, phone, "POST", in.base+path+"/pay", map[string]any{"channel": channel, "pin": cons.PIN}, &paid); code != 200 {
			t.Fatalf("pay %s: %d %s", path, code, body)
		}
	}
	instal := func(body map[string]any) (bool, error) {
		t.Helper()
		var out struct {
			Recommend *bool `json:"recommend_exposure"`
		}
		if err := post("/v3/pay/instal/exposure", body, &out); err != nil {
			return false, err
		}
		if out.Recommend == nil {
			t.Fatal("no recommend_exposure in the answer")
		}
		return *out.Recommend, nil
	}

	// A consumer fenfu does not know: decided on the merchant only.
	if rec, err := instal(map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "OPENID", "openid": "oUnknownOpenid"}); err != nil || !rec {
		t.Fatalf("unknown consumer: %v %v", rec, err)
	}
	// The merchant learns the consumer's openid from a paid order's payer.
	first := order("EXPOSE-0001", 2000)
	payOn(first, "balance")
	res, err := sdk.Get(ctx, api+"/v3/pay/transactions/out-trade-no/EXPOSE-0001?mchid="+m.MchID)
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Payer struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	b, _ := io.ReadAll(res.Response.Body)
	res.Response.Body.Close()
	if err := json.Unmarshal(b, &q); err != nil || q.Payer.OpenID == "" {
		t.Fatalf("query: %v %s", err, b)
	}
	openid := q.Payer.OpenID
	if rec, err := instal(map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "OPENID", "openid": openid}); err != nil || !rec {
		t.Fatalf("known consumer, active line: %v %v", rec, err)
	}
	credit := in.store(t, "credit")
	if _, err := credit.W.Exec(`UPDATE credit_lines SET state = 'FROZEN' WHERE consumer_id = $1`, cons.ID); err != nil {
		t.Fatal(err)
	}
	if rec, err := instal(map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "OPENID", "openid": openid}); err != nil || rec {
		t.Fatalf("known consumer, frozen line: %v %v; want no exposure recommended", rec, err)
	}
	// The phone's hash names the same consumer; the store keeps only a
	// keyed index of it, never the bare SHA-256.
	phoneHash := consumer.PhoneHash(cons.Phone)
	if rec, err := instal(map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "PHONE_NO", "phone_number_hash": phoneHash}); err != nil || rec {
		t.Fatalf("consumer named by phone hash, frozen line: %v %v; want no exposure recommended", rec, err)
	}
	var kept string
	if err := in.store(t, "core").R.QueryRow(`SELECT phone_hash_index FROM consumers WHERE id = $1`, cons.ID).Scan(&kept); err != nil ||
		kept == "" || strings.Contains(kept, phoneHash) {
		t.Fatalf("phone_hash_index %q (%v): want a keyed index, not the hash %s", kept, err, phoneHash)
	}
	if _, err := credit.W.Exec(`UPDATE credit_lines SET state = 'ACTIVE' WHERE consumer_id = $1`, cons.ID); err != nil {
		t.Fatal(err)
	}

	// Field validation, with WeChat's error bodies.
	for _, tc := range []struct {
		path string
		body map[string]any
		want string
	}{
		{"/v3/pay/instal/exposure", map[string]any{"mchid": "1900000000", "appid": m.AppID, "user_id_type": "OPENID", "openid": openid}, "mchid"},
		{"/v3/pay/instal/exposure", map[string]any{"mchid": m.MchID, "appid": "wxother", "user_id_type": "OPENID", "openid": openid}, "appid"},
		{"/v3/pay/instal/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "EMAIL"}, "user_id_type"},
		{"/v3/pay/instal/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "OPENID"}, "openid"},
		{"/v3/pay/instal/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "PHONE_NO",
			"phone_number_hash": strings.Repeat("A", 64)}, "phone_number_hash"},
		{"/v3/pay/instal/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "user_id_type": "OPENID",
			"openid": strings.Repeat("o", 129)}, "openid"},
		{"/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID}, "out_trade_no"},
		{"/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "out_trade_no": "EXPOSE-0002",
			"payer": map[string]any{"phone_number_hash": "abc"}}, "payer.phone_number_hash"},
	} {
		var out any
		err := post(tc.path, tc.body, &out)
		if err == nil || !strings.Contains(err.Error(), "PARAM_ERROR") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want PARAM_ERROR naming %s", tc.path, tc.body, err, tc.want)
		}
	}
	if err := post("/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "out_trade_no": "NO-SUCH-ORDER"},
		new(any)); err == nil || !strings.Contains(err.Error(), "ORDER_NOT_EXIST") {
		t.Errorf("an unknown order: %v", err)
	}
	if err := post("/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "out_trade_no": "EXPOSE-0001"},
		new(any)); err == nil || !strings.Contains(err.Error(), "ORDERPAID") {
		t.Errorf("a paid order: %v", err)
	}

	// An order, exposed for the consumer: 分付 shown, with a token.
	second := order("EXPOSE-0002", 5000)
	other := order("EXPOSE-0003", 5000)
	var tx struct {
		Show  *bool  `json:"fqf_exposure"`
		Token string `json:"market_exposure_token"`
	}
	if err := post("/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "out_trade_no": "EXPOSE-0002",
		"payer": map[string]any{"openid": openid}}, &tx); err != nil || tx.Show == nil || !*tx.Show || tx.Token == "" {
		t.Fatalf("transactions exposure: %+v %v", tx, err)
	}
	view := func(path string) cashier.View {
		t.Helper()
		var v cashier.View
		if code, body := call(t, phone, "GET", in.base+path+"?format=json&market_exposure_token="+url.QueryEscape(tx.Token), nil, &v); code != 200 {
			t.Fatalf("cashier %s: %d %s", path, code, body)
		}
		return v
	}
	if v := view(second); !v.CreditPreselected || v.Preselected() != "credit" || v.MarketExposure == "" {
		t.Fatalf("the token's own order: %+v", v)
	}
	if v := view(other); v.CreditPreselected || v.MarketExposure != "" {
		t.Fatalf("the token on another order was taken: %+v", v)
	}
	payOn(second, "credit")

	// Every surface recorded its exposures.
	core := in.store(t, "core")
	for _, s := range []string{pay.SurfaceCashier, pay.SurfaceInstalAPI, pay.SurfaceTransactions} {
		var n int
		if err := core.R.QueryRow(`SELECT COUNT(*) FROM exposures WHERE surface = $1 AND mchid = $2`, s, m.MchID).Scan(&n); err != nil || n == 0 {
			t.Errorf("exposures on %s: %d %v", s, n, err)
		}
	}
	var n int
	if err := core.R.QueryRow(`SELECT COUNT(*) FROM exposures WHERE surface = $1 AND consumer_id = $2 AND reason = $3`,
		pay.SurfaceTransactions, cons.ID, string(display.AmountAtLeastMin)).Scan(&n); err != nil || n != 1 {
		t.Errorf("the transactions exposure of the resolved consumer: %d %v", n, err)
	}

	// The funnel counts the conversion of the exposed order.
	res, err = sdk.Get(ctx, api+"/v3/fenfu/exposures/funnel")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Response.Body)
	res.Response.Body.Close()
	var funnel struct {
		Reasons []pay.FunnelStep `json:"reasons"`
	}
	if err := json.Unmarshal(b, &funnel); err != nil {
		t.Fatal(err)
	}
	got := map[string]pay.FunnelStep{}
	for _, f := range funnel.Reasons {
		got[f.Reason] = f
	}
	if f := got[string(display.AmountAtLeastMin)]; f.PaidOnCredit != 1 || f.Paid < 1 || f.Exposures < 3 {
		t.Errorf("funnel of %s: %+v (all: %s)", display.AmountAtLeastMin, f, b)
	}
	if f := got[string(display.NoAmount)]; f.Exposures < 1 || f.Paid != 0 {
		t.Errorf("funnel of %s: %+v", display.NoAmount, f)
	}
	if _, err := sdk.Get(ctx, api+"/v3/fenfu/exposures/funnel?begin_date=2026-13-01"); err == nil || !strings.Contains(err.Error(), "begin_date") {
		t.Errorf("a bad begin_date: %v", err)
	}
}
