package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// TestGopayV2 drives the legacy XML API with go-pay/gopay's WeChat v2
// client: unified order (MD5), payment, order query, refund and refund
// query (HMAC-SHA256), close, and a wrong key; every response's sign is
// checked with gopay's own verifier.
func TestGopayV2(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testGopayV2(t, engine) })
	}
}

func testGopayV2(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var k struct {
		Key string `json:"apiv2_key"`
	}
	in.mustCLI(&k, "merchant", "set-v2-key", "--mchid", m.MchID)
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000", "--rating", "A", "--balance", "0")
	// Both API keys are stored sealed, never as they are.
	core := in.store(t, "core")
	var v3, v2 string
	if err := core.R.QueryRow(`SELECT apiv3_key, apiv2_key FROM merchants WHERE mchid = $1`, m.MchID).Scan(&v3, &v2); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v3, "sm4env2.") || !strings.HasPrefix(v2, "sm4env2.") || strings.Contains(v3+v2, m.APIv3Key) ||
		strings.Contains(v3+v2, k.Key) {
		t.Fatalf("merchant secrets stored as %q and %q", v3, v2)
	}

	// The merchant's v2 notify_url, parsed and verified by gopay; it
	// refuses the first delivery, then acknowledges.
	notices := make(chan gopay.BodyMap, 4)
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bm, err := wechat.ParseNotifyToBodyMap(r)
		if err != nil {
			t.Errorf("gopay cannot parse the v2 notification: %v", err)
			return
		}
		if ok, err := wechat.VerifySign(k.Key, wechat.SignType_MD5, bm); !ok || err != nil {
			t.Errorf("gopay does not accept the v2 notification sign: %v", err)
		}
		if hits.Add(1) == 1 {
			_, _ = w.Write([]byte((&wechat.NotifyResponse{ReturnCode: "FAIL", ReturnMsg: "busy"}).ToXmlString()))
			return
		}
		notices <- bm
		_, _ = w.Write([]byte((&wechat.NotifyResponse{ReturnCode: "SUCCESS", ReturnMsg: "OK"}).ToXmlString()))
	}))
	defer hook.Close()

	c := wechat.NewClient(m.AppID, m.MchID, k.Key, true)
	c.BaseURL = in.base + "/"
	verify := func(signType string, rsp any) {
		t.Helper()
		ok, err := wechat.VerifySign(k.Key, signType, rsp)
		if err != nil || !ok {
			t.Fatalf("gopay does not accept the response sign (%s): %v", signType, err)
		}
	}

	bm := gopay.BodyMap{}
	bm.Set("nonce_str", "v2nonce0001").Set("body", "Green tea").Set("out_trade_no", "V2-ORDER-1").Set("total_fee", 1800).
		Set("spbill_create_ip", "127.0.0.1").Set("notify_url", hook.URL+"/v2/notify").Set("trade_type", "NATIVE").
		Set("product_id", "tea-1").Set("sign_type", wechat.SignType_MD5)
	uo, err := c.UnifiedOrder(ctx, bm)
	if err != nil {
		t.Fatal(err)
	}
	if uo.ReturnCode != "SUCCESS" || uo.ResultCode != "SUCCESS" || !strings.HasPrefix(uo.CodeUrl, in.base+"/q/") {
		t.Fatalf("unifiedorder = %+v", uo)
	}
	verify(wechat.SignType_MD5, uo)
	if out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "credit", uo.CodeUrl); err != nil {
		t.Fatalf("pay: %v %s", err, out)
	}
	q := gopay.BodyMap{}
	q.Set("nonce_str", "v2nonce0002").Set("out_trade_no", "V2-ORDER-1").Set("sign_type", wechat.SignType_HMAC_SHA256)
	qr, qrBm, err := c.QueryOrder(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if qr.ResultCode != "SUCCESS" || qr.TradeState != "SUCCESS" || qr.TotalFee != "1800" || qr.BankType != "FENFU_CREDIT" || qr.TimeEnd == "" {
		t.Fatalf("orderquery = %+v", qr)
	}
	verify(wechat.SignType_HMAC_SHA256, qrBm) // the whole response, as gopay advises
	// The v2 payment notification: refused once, delivered again 15 s
	// later by WeChat's schedule — too long to wait here, so resend it.
	deadline := time.Now().Add(10 * time.Second)
	for hits.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var st struct {
		State    string `json:"state"`
		Attempts []struct {
			Error string `json:"error"`
		} `json:"attempts"`
	}
	sdk := sdkClient(t, in.base, m)
	// The attempt is logged once the worker's round commits, a moment
	// after the merchant's endpoint saw it: look until it is there.
	for {
		res, err := sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/notifications/EV-"+qr.TransactionId)
		if err != nil {
			t.Fatal(err)
		}
		st.Attempts = nil
		_ = json.NewDecoder(res.Response.Body).Decode(&st)
		if len(st.Attempts) > 0 || !time.Now().Before(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != "PENDING" || len(st.Attempts) != 1 || !strings.Contains(st.Attempts[0].Error, "return_code") {
		t.Fatalf("after a refused delivery: %+v", st)
	}
	if _, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/notifications/EV-"+qr.TransactionId+"/resend", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notices:
		if n.GetString("result_code") != "SUCCESS" || n.GetString("out_trade_no") != "V2-ORDER-1" || n.GetString("total_fee") != "1800" ||
			n.GetString("transaction_id") != qr.TransactionId || n.GetString("time_end") == "" {
			t.Fatalf("v2 notification = %v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no v2 notification after resend")
	}

	rb := gopay.BodyMap{}
	rb.Set("nonce_str", "v2nonce0003").Set("out_trade_no", "V2-ORDER-1").Set("out_refund_no", "V2-REFUND-1").
		Set("total_fee", 1800).Set("refund_fee", 800).Set("sign_type", wechat.SignType_HMAC_SHA256)
	rr, rrBm, err := c.Refund(ctx, rb)
	if err != nil {
		t.Fatal(err)
	}
	if rr.ResultCode != "SUCCESS" || rr.RefundFee != "800" || rr.RefundId == "" {
		t.Fatalf("refund = %+v", rr)
	}
	verify(wechat.SignType_HMAC_SHA256, rrBm)
	rq := gopay.BodyMap{}
	rq.Set("nonce_str", "v2nonce0004").Set("out_trade_no", "V2-ORDER-1")
	qq, qqBm, err := c.QueryRefund(ctx, rq)
	if err != nil {
		t.Fatal(err)
	}
	if qq.ResultCode != "SUCCESS" || qq.RefundCount != "1" {
		t.Fatalf("refundquery = %+v", qq)
	}
	verify(wechat.SignType_MD5, qqBm)

	// Close: a paid order cannot be closed (ORDERPAID); an unpaid one can.
	cb := gopay.BodyMap{}
	cb.Set("nonce_str", "v2nonce0005").Set("out_trade_no", "V2-ORDER-1")
	cr, err := c.CloseOrder(ctx, cb)
	if err != nil || cr.ResultCode != "FAIL" || cr.ErrCode != "ORDERPAID" {
		t.Fatalf("close paid order = %+v, %v", cr, err)
	}
	bm2 := gopay.BodyMap{}
	bm2.Set("nonce_str", "v2nonce0006").Set("body", "tea").Set("out_trade_no", "V2-ORDER-2").Set("total_fee", 1).
		Set("spbill_create_ip", "127.0.0.1").Set("notify_url", "https://shop.example/v2/notify").Set("trade_type", "NATIVE")
	if _, err := c.UnifiedOrder(ctx, bm2); err != nil {
		t.Fatal(err)
	}
	cb2 := gopay.BodyMap{}
	cb2.Set("nonce_str", "v2nonce0007").Set("out_trade_no", "V2-ORDER-2")
	if cr, err := c.CloseOrder(ctx, cb2); err != nil || cr.ResultCode != "SUCCESS" {
		t.Fatalf("close unpaid order = %+v, %v", cr, err)
	}

	// A wrong key is refused at the communication level.
	bad := wechat.NewClient(m.AppID, m.MchID, strings.Repeat("x", 32), true)
	bad.BaseURL = in.base + "/"
	q2 := gopay.BodyMap{}
	q2.Set("nonce_str", "v2nonce0008").Set("out_trade_no", "V2-ORDER-1")
	br, _, err := bad.QueryOrder(ctx, q2)
	if err != nil || br.ReturnCode != "FAIL" || !strings.Contains(br.ReturnMsg, "SIGNERROR") {
		t.Fatalf("wrong key = %+v, %v", br, err)
	}
}
