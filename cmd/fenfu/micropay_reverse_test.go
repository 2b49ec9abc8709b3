package main

import (
	"context"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/paycode"
	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// TestReverseWire drives the reverse routes against a running
// server: a v3 reverse the server refuses must not have reversed the
// order, and appid, which WeChat Pay's reverse requires
// (code-payment-v3/direct/reverse.html: appid 必填), must be checked
// before anything is done; a merchant can never reverse another's order.
func TestReverseWire(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			in := startServer(t, engine)
			var m, other sandboxMerchant
			in.mustCLI(&m, "sandbox", "merchant")
			in.mustCLI(&other, "sandbox", "merchant")
			var k struct {
				Key string `json:"apiv2_key"`
			}
			in.mustCLI(&k, "merchant", "set-v2-key", "--mchid", other.MchID)
			var cons struct {
				ID string `json:"id"`
			}
			in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--rating", "A", "--balance", "100000")
			issue := func() string {
				var c paycode.Code
				in.mustCLI(&c, "sandbox", "paycode", "--consumer", cons.ID, "--channel", paycode.Credit)
				return c.Code
			}
			sdk := sdkClient(t, in.base, m)
			codepay := func(no string) {
				t.Helper()
				body := map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Noodles", "out_trade_no": no,
					"payer": map[string]string{"auth_code": issue()}, "amount": map[string]any{"total": 200000},
					"scene_info": map[string]any{"device_id": "till-02"}}
				res, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body)
				if err != nil || res.Response.StatusCode != 202 {
					t.Fatalf("codepay %s = %v", no, err)
				}
			}
			state := func(no string) string {
				t.Helper()
				var s string
				if err := in.store(t, "core").R.QueryRow(`SELECT state FROM orders WHERE out_trade_no = $1`, no).Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s
			}

			// Another merchant cannot reverse the order, over v3 or v2.
			codepay("RV-W-0")
			osdk := sdkClient(t, in.base, other)
			if _, err := osdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/RV-W-0/reverse",
				map[string]string{"appid": other.AppID, "mchid": other.MchID}); err == nil || !strings.Contains(err.Error(), "404") {
				t.Errorf("v3 reverse of another merchant's order = %v", err)
			}
			c := wechat.NewClient(other.AppID, other.MchID, k.Key, true)
			c.BaseURL = in.base + "/"
			bm := gopay.BodyMap{}
			bm.Set("nonce_str", "rvw0").Set("out_trade_no", "RV-W-0")
			if rsp, err := c.Reverse(ctx, bm); err != nil || rsp.ErrCode != "ORDERNOTEXIST" {
				t.Errorf("v2 reverse of another merchant's order = %+v, %v", rsp, err)
			}
			if s := state("RV-W-0"); s != "NOTPAY" {
				t.Errorf("order after another merchant's reverses = %s", s)
			}

			// A reverse refused for its appid reverses nothing.
			codepay("RV-W-1")
			_, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/RV-W-1/reverse",
				map[string]string{"appid": "wx0000000000000000", "mchid": m.MchID})
			if s := state("RV-W-1"); err != nil && s != "NOTPAY" {
				t.Errorf("v3 reverse answered %v, yet the order is now %s", err, s)
			}
			// appid is required.
			codepay("RV-W-2")
			if _, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/RV-W-2/reverse",
				map[string]string{"mchid": m.MchID}); err == nil {
				t.Errorf("v3 reverse without appid accepted; order %s", state("RV-W-2"))
			}
			if s := state("RV-W-2"); s != "NOTPAY" {
				t.Errorf("order after a reverse without appid = %s", s)
			}

			// A v2 micropay resent after its order was reversed answers
			// ORDERREVERSED, as WeChat Pay's does, and pays nothing.
			var mk struct {
				Key string `json:"apiv2_key"`
			}
			in.mustCLI(&mk, "merchant", "set-v2-key", "--mchid", m.MchID)
			mc := wechat.NewClient(m.AppID, m.MchID, mk.Key, true)
			mc.BaseURL = in.base + "/"
			bm = gopay.BodyMap{}
			bm.Set("nonce_str", "rvw3").Set("body", "Tea").Set("out_trade_no", "RV-W-3").Set("total_fee", 300).
				Set("spbill_create_ip", "10.0.0.9").Set("auth_code", issue())
			if rsp, err := mc.Micropay(ctx, bm); err != nil || rsp.ResultCode != "SUCCESS" {
				t.Fatalf("v2 micropay = %+v, %v", rsp, err)
			}
			rv := gopay.BodyMap{}
			rv.Set("nonce_str", "rvw4").Set("out_trade_no", "RV-W-3")
			if rsp, err := mc.Reverse(ctx, rv); err != nil || rsp.ResultCode != "SUCCESS" {
				t.Fatalf("v2 reverse = %+v, %v", rsp, err)
			}
			if rsp, err := mc.Micropay(ctx, bm); err != nil || rsp.ResultCode != "FAIL" || rsp.ErrCode != "ORDERREVERSED" {
				t.Errorf("v2 micropay resent after the reverse = %+v, %v", rsp, err)
			}
		})
	}
}
