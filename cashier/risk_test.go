package cashier_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
)

// TestCashierRiskRejection: a payment a rule rejects shows the payer the
// rule's message on the cashier page and in its JSON, the rule reads the
// device id and address the cashier passes, and the order stays payable
// from balance.
func TestCashierRiskRejection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	engine := &risk.Engine{DB: e.credit, Clock: fenfu.SystemClock{}}
	if _, err := engine.AddRule(ctx, "staff:test", "a stolen phone", risk.Rule{Name: "stolen-phone", Channels: []string{risk.Credit},
		Expr: `device == "stolen-1" && ip == "127.0.0.1"`, Decision: risk.Reject, Reason: "reported stolen",
		Message: "Credit pay is not available on this device. Pay from balance instead.", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.pay.Risk = &pay.Risk{Engine: engine}
	o := e.order(t, "tea-risk-1", 300)
	form := url.Values{"channel": {"credit"}, "phone": {e.phone}, "pin": {e.pin}, "device_id": {"stolen-1"}}
	resp, err := http.PostForm(e.srv.URL+"/q/"+o.Token+"/pay", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "Credit pay is not available on this device. Pay from balance instead.") {
		t.Fatalf("rejected payment page: %d\n%s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/q/"+o.Token+"/pay",
		strings.NewReader(`{"channel":"credit","phone":"`+e.phone+`","pin":"`+e.pin+`","device_id":"stolen-1"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 403 || out["code"] != "RULE_LIMIT" || !strings.Contains(out["message"].(string), "not available on this device") {
		t.Fatalf("rejected payment JSON: %d %v", resp.StatusCode, out)
	}
	// Another device pays on credit; the rejected order is still payable.
	form.Set("device_id", "phone-2")
	resp, err = http.PostForm(e.srv.URL+"/q/"+o.Token+"/pay", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := e.pay.Get(ctx, o.ID); resp.StatusCode != 200 || got.State != pay.Success {
		t.Fatalf("payment from another device: %d, order %s", resp.StatusCode, got.State)
	}
}
