package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/onboard"
)

// TestOnboardingOverHTTP runs the onboarding cases through the
// merchant API (signed v3, official SDK client) and the staff API.
func TestOnboardingOverHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testOnboardingOverHTTP(t, engine) })
	}
}

type appRecord struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Checks []struct {
		Name   string `json:"name"`
		Passed bool   `json:"passed"`
		Reason string `json:"reason"`
	} `json:"checks"`
	Events []struct {
		To     string `json:"to"`
		Actor  string `json:"actor"`
		Reason string `json:"reason"`
	} `json:"events"`
}

func (r appRecord) failed(name string) string {
	for _, c := range r.Checks {
		if c.Name == name && !c.Passed {
			return c.Reason
		}
	}
	return ""
}

func testOnboardingOverHTTP(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	staff := staffAPI(t, in)
	// Staff API without the token is refused.
	resp, err := http.Get(in.base + "/admin/applications")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("staff API without a token: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()

	var shop, noodles, newcomer, listed sandboxMerchant
	for _, m := range []*sandboxMerchant{&shop, &noodles, &newcomer, &listed} {
		in.mustCLI(m, "merchant", "create", "--env", "production")
	}
	// History is relative to today: use the three months before now.
	hist := "mchid,month,ordinary_count\n"
	for _, m := range []sandboxMerchant{shop, noodles, listed} {
		for _, mo := range lastMonths(3) {
			hist += fmt.Sprintf("%s,%s,600\n", m.MchID, mo)
		}
	}
	if st := staff("POST", "/admin/history", "text/csv", []byte(hist), nil); st != 200 {
		t.Fatal("history upload")
	}
	if st := staff("POST", "/admin/risk-list?source=PBOC-2026-11", "text/csv",
		[]byte("licence_number,name,reason\n91310000LISTED01X,Listed Co,fraud ring\n"), nil); st != 200 {
		t.Fatal("risk list upload")
	}

	apply := func(m sandboxMerchant, app map[string]any) appRecord {
		t.Helper()
		c := sdkClient(t, in.base, m)
		var rec appRecord
		res, err := c.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications", app)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&rec)
		res, err = c.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications/"+rec.ID+"/submit", map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&rec)
		return rec
	}
	ecom := func(licence string) map[string]any {
		return map[string]any{"entity_type": "enterprise", "licence_number": licence, "licence_status": "normal",
			"industry": "ecommerce_retail", "qualifications": map[string]string{"icp_filing": "沪ICP备2026001号"}}
	}

	// An e-commerce merchant approved and activated.
	r := apply(shop, ecom("91310000SHOP0001X"))
	if r.State != "in_review" {
		t.Fatalf("e-commerce application: %+v", r)
	}
	var q struct {
		Applications []appRecord `json:"applications"`
	}
	staff("GET", "/admin/applications?state=in_review", "", nil, &q)
	if len(q.Applications) != 1 || q.Applications[0].ID != r.ID {
		t.Fatalf("review queue = %+v", q)
	}
	var cons struct{ ID, Phone, PIN string }
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--rating", "A", "--balance", "1000000")
	pay := func(m sandboxMerchant, no string) error {
		svc := sdkClient(t, in.base, m)
		var created struct {
			CodeURL string `json:"code_url"`
		}
		res, err := svc.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/native", map[string]any{"appid": m.AppID,
			"mchid": m.MchID, "description": "x", "out_trade_no": no, "notify_url": "https://m.example/n", "amount": map[string]any{"total": 500}})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&created)
		// A production merchant's order is paid as its consumers pay it,
		// with the phone and PIN: sandbox pay refuses it.
		return payAs(ctx, created.CodeURL, cons.Phone, cons.PIN, "credit")
	}
	if err := pay(shop, "ONB-0001"); err == nil || !strings.Contains(err.Error(), "not activated") {
		t.Fatalf("credit before activation: %v", err)
	}
	if st := staff("POST", "/admin/applications/"+r.ID+"/review", "application/json", []byte(`{"decision":"approve","reason":"documents verified"}`), &r); st != 200 || r.State != "approved" {
		t.Fatalf("approve: %d %s", st, r.State)
	}
	if st := staff("POST", "/admin/applications/"+r.ID+"/deposit", "application/json", []byte(`{"ref":"BANK-0001"}`), &r); st != 200 || r.State != "deposit_paid" {
		t.Fatalf("deposit: %d %s", st, r.State)
	}
	if st := staff("POST", "/admin/applications/"+r.ID+"/activate", "", nil, &r); st != 200 || r.State != "active" {
		t.Fatalf("activate: %d %s", st, r.State)
	}
	if r.Events[3].Actor != "staff:li.wei" {
		t.Fatalf("the review is not recorded under the staff member: %+v", r.Events)
	}
	if err := pay(shop, "ONB-0002"); err != nil {
		t.Fatalf("credit after activation: %v", err)
	}

	// A catering merchant missing its food licence.
	r = apply(noodles, map[string]any{"entity_type": "individual_business", "licence_number": "92310000NOODLE01X", "licence_status": "normal",
		"industry": "catering", "stores": []map[string]string{{"name": "Noodles", "address": "徐汇区"}}})
	if r.State != "rejected" || !strings.Contains(r.failed("industry_qualification"), "food_business_licence") {
		t.Fatalf("catering without licence: %+v", r)
	}
	// A merchant without three months of history.
	if r = apply(newcomer, ecom("91310000NEWCOME1X")); r.State != "rejected" || r.failed("transaction_history") == "" {
		t.Fatalf("newcomer: %+v", r)
	}
	// A blacklisted merchant.
	if r = apply(listed, ecom("91310000LISTED01X")); r.State != "rejected" || !strings.Contains(r.failed("risk_list"), "fraud ring") {
		t.Fatalf("listed: %+v", r)
	}
	// The merchant sees its own application, and only its own.
	var mine appRecord
	res, err := sdkClient(t, in.base, listed).Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications/"+r.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Response.Body).Decode(&mine)
	if mine.State != "rejected" || len(mine.Checks) != 4 {
		t.Fatalf("merchant's view: %+v", mine)
	}
	if _, err := sdkClient(t, in.base, shop).Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications/"+r.ID); err == nil {
		t.Fatal("a merchant read another's application")
	}

	// Blacklisted after activation: the screening suspends it; credit refused.
	staff("POST", "/admin/risk-list?source=PBOC-2026-12", "text/csv", []byte("licence_number,name,reason\n91310000SHOP0001X,Shop,late fraud finding\n"), nil)
	var sc struct {
		Suspended int `json:"suspended"`
	}
	if st := staff("POST", "/admin/rescreen", "", nil, &sc); st != 200 || sc.Suspended != 1 {
		t.Fatalf("rescreen: %d %+v", st, sc)
	}
	if err := pay(shop, "ONB-0003"); err == nil || !strings.Contains(err.Error(), "suspended") {
		t.Fatalf("credit after suspension: %v", err)
	}
	// Gray release through the staff API.
	var ro struct {
		Rollout int `json:"credit_rollout"`
	}
	if st := staff("POST", "/admin/merchants/"+shop.MchID+"/rollout", "application/json", []byte(`{"percent":25}`), &ro); st != 200 || ro.Rollout != 25 {
		t.Fatalf("rollout: %d %+v", st, ro)
	}
	if st := staff("POST", "/admin/merchants/"+shop.MchID+"/rollout", "application/json", []byte(`{"percent":101}`), nil); st != 400 {
		t.Fatalf("rollout of 101 %%: %d", st)
	}
	var ab struct {
		Cohorts []map[string]any `json:"cohorts"`
	}
	if st := staff("GET", "/admin/merchants/"+shop.MchID+"/ab-report", "", nil, &ab); st != 200 {
		t.Fatalf("ab report: %d", st)
	}
	// Settlement from the staff API: a discount, a batch run by hand,
	// settlements, holds and the exception queue.
	var disc map[string]any
	if st := staff("POST", "/admin/merchants/"+shop.MchID+"/discount", "application/json", []byte(`{"discount_ppm":1000,"until":"2027-01-01T00:00:00+08:00"}`), &disc); st != 200 {
		t.Fatalf("discount: %d", st)
	}
	if st := staff("POST", "/admin/merchants/"+shop.MchID+"/discount", "application/json", []byte(`{"discount_ppm":-5}`), nil); st != 400 {
		t.Fatalf("negative discount: %d", st)
	}
	yesterday := time.Now().In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	var runs struct {
		Batches []struct {
			Channel string `json:"channel"`
			State   string `json:"state"`
		} `json:"batches"`
	}
	if st := staff("POST", "/admin/settlements/run", "application/json", []byte(`{"date":"`+yesterday+`"}`), &runs); st != 200 ||
		len(runs.Batches) != 2 || runs.Batches[0].State != "DONE" {
		t.Fatalf("settlement run: %d %+v", st, runs)
	}
	if st := staff("GET", "/admin/settlements/batches?date="+yesterday, "", nil, &runs); st != 200 || len(runs.Batches) != 2 {
		t.Fatalf("batch status: %d %+v", st, runs)
	}
	today := time.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	if st := staff("POST", "/admin/settlements/run", "application/json", []byte(`{"date":"`+today+`"}`), nil); st != 400 {
		t.Fatalf("settlement run of today: %d", st)
	}
	if st := staff("POST", "/admin/settlements/run", "application/json", []byte(`{"date":"tomorrow"}`), nil); st != 400 {
		t.Fatalf("settlement run of a bad date: %d", st)
	}
	var list struct {
		Total int `json:"total_count"`
	}
	if st := staff("GET", "/admin/settlements?from="+yesterday, "", nil, &list); st != 200 {
		t.Fatalf("settlements: %d", st)
	}
	var queue struct {
		Open, Overdue int
	}
	if st := staff("GET", "/admin/settlement-exceptions", "", nil, &queue); st != 200 || queue.Open != 0 {
		t.Fatalf("exception queue: %d %+v", st, queue)
	}
	if st := staff("POST", "/admin/orders/nope/hold", "application/json", []byte(`{"reason":"test"}`), nil); st != 404 {
		t.Fatalf("hold of a missing order: %d", st)
	}
	if st := staff("POST", "/admin/settlement-exceptions/nope/resolve", "application/json", []byte(`{"status":"RESOLVED","resolution":"x"}`), nil); st != 404 {
		t.Fatalf("resolving a missing exception: %d", st)
	}
	if out, err := in.cli("verify"); err != nil {
		t.Fatalf("verify: %v %s", err, out)
	}
}

// lastMonths returns the n full calendar months before now, in Shanghai.
func lastMonths(n int) []string {
	return onboard.HistoryMonths(time.Now(), n)
}

// staffAPI returns a caller of the instance's staff API, as li.wei, the
// first director, made by `fenfu staff bootstrap`, with a personal API
// token of `fenfu staff token create`. It answers the status, logs any
// other answer than 200, and decodes a 200's body into out (if not nil).
func staffAPI(t *testing.T, in *instance) func(method, path, contentType string, body []byte, out any) int {
	var boot struct {
		TOTPSecret string `json:"totp_secret"`
		Password   string `json:"password"`
	}
	in.mustCLI(&boot, "staff", "bootstrap", "--name", "li.wei")
	if boot.TOTPSecret == "" || boot.Password == "" {
		t.Fatalf("bootstrap printed no TOTP secret or password: %+v", boot)
	}
	if _, err := in.cli("staff", "bootstrap", "--name", "zhao.min"); err == nil {
		t.Error("a second bootstrap succeeded")
	}
	var token struct {
		Token string `json:"token"`
	}
	in.mustCLI(&token, "staff", "token", "create", "--name", "li.wei", "--label", "onboarding test")
	return func(method, path, contentType string, body []byte, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, in.base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token.Token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode == 200 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %s", method, path, b)
			}
		}
		if resp.StatusCode != 200 {
			t.Logf("%s %s → %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode
	}
}

// payAs pays a code_url on the cashier as a consumer does, logging in with
// its phone and PIN in the payment (the JSON form), on channel; an error
// carries the cashier's answer.
func payAs(ctx context.Context, codeURL, phone, pin, channel string) error {
	b, _ := json.Marshal(map[string]string{"channel": channel, "phone": phone, "pin": pin})
	req, err := http.NewRequestWithContext(ctx, "POST", codeURL+"/pay", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var paid struct {
		TradeState string `json:"trade_state"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &paid) != nil || paid.TradeState != "SUCCESS" {
		return fmt.Errorf("paying %s: HTTP %d %s", codeURL, resp.StatusCode, body)
	}
	return nil
}
