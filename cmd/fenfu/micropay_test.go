package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/paycode"
	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// TestCodePayment drives code payments (付款码支付) against a running
// fenfu: gopay's Micropay, QueryOrder and Reverse over API v2, the
// consumer confirming a USERPAYING payment on the confirm page over HTTP,
// two tills sending one code at once, installments at the counter, the
// official SDK's generic client on the v3 codepay and reverse routes, and
// fenfu verify after all of it.
func TestCodePayment(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testCodePayment(t, engine) })
	}
}

func testCodePayment(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var k struct {
		Key string `json:"apiv2_key"`
	}
	in.mustCLI(&k, "merchant", "set-v2-key", "--mchid", m.MchID)
	var cons struct {
		ID    string `json:"id"`
		Phone string `json:"phone"`
		PIN   string `json:"pin"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--rating", "A", "--balance", "100000")
	// The consumer's phone stands in as fenfu sandbox paycode, which
	// issues codes as the payment code page does.
	issueFor := func(consumer, channel string, flags ...string) paycode.Code {
		t.Helper()
		var c paycode.Code
		in.mustCLI(&c, append([]string{"sandbox", "paycode", "--consumer", consumer, "--channel", channel}, flags...)...)
		if !paycode.Valid(c.Code) || c.Channel != channel {
			t.Fatalf("sandbox paycode gave %+v", c)
		}
		return c
	}
	issue := func(channel string) string { return issueFor(cons.ID, channel).Code }

	c := wechat.NewClient(m.AppID, m.MchID, k.Key, true)
	c.BaseURL = in.base + "/"
	n := 0
	micropay := func(no string, total int, code string, extra ...string) *wechat.MicropayResponse {
		t.Helper()
		n++
		bm := gopay.BodyMap{}
		bm.Set("nonce_str", fmt.Sprintf("mp%08d", n)).Set("body", "Milk tea").Set("out_trade_no", no).Set("total_fee", total).
			Set("spbill_create_ip", "10.0.0.8").Set("auth_code", code).Set("device_info", "till-01").Set("sign_type", wechat.SignType_MD5)
		for i := 0; i+1 < len(extra); i += 2 {
			bm.Set(extra[i], extra[i+1])
		}
		rsp, err := c.Micropay(ctx, bm)
		if err != nil {
			t.Fatal(err)
		}
		if rsp.ReturnCode != "SUCCESS" {
			t.Fatalf("micropay %s: %+v", no, rsp)
		}
		if ok, err := wechat.VerifySign(k.Key, wechat.SignType_MD5, rsp); !ok || err != nil {
			t.Fatalf("gopay does not accept the micropay sign: %v", err)
		}
		return rsp
	}
	query := func(no string) gopay.BodyMap {
		t.Helper()
		n++
		q := gopay.BodyMap{}
		q.Set("nonce_str", fmt.Sprintf("q%08d", n)).Set("out_trade_no", no).Set("sign_type", wechat.SignType_HMAC_SHA256)
		rsp, bm, err := c.QueryOrder(ctx, q)
		if err != nil || rsp.ResultCode != "SUCCESS" {
			t.Fatalf("orderquery %s = %+v, %v", no, rsp, err)
		}
		if ok, err := wechat.VerifySign(k.Key, wechat.SignType_HMAC_SHA256, bm); !ok || err != nil {
			t.Fatalf("gopay does not accept the orderquery sign: %v", err)
		}
		return bm
	}
	reverse := func(no string) *wechat.ReverseResponse {
		t.Helper()
		n++
		r := gopay.BodyMap{}
		r.Set("nonce_str", fmt.Sprintf("r%08d", n)).Set("out_trade_no", no)
		rsp, err := c.Reverse(ctx, r)
		if err != nil || rsp.ReturnCode != "SUCCESS" {
			t.Fatalf("reverse %s = %+v, %v", no, rsp, err)
		}
		if ok, err := wechat.VerifySign(k.Key, wechat.SignType_MD5, rsp); !ok || err != nil {
			t.Fatalf("gopay does not accept the reverse sign: %v", err)
		}
		return rsp
	}

	// Paid at once, on credit.
	code := issue(paycode.Credit)
	r := micropay("CODE-1", 1800, code)
	if r.ResultCode != "SUCCESS" || r.TradeType != "MICROPAY" || r.TransactionId == "" || r.BankType != "FENFU_CREDIT" ||
		r.TotalFee != "1800" || r.TimeEnd == "" || r.OutTradeNo != "CODE-1" {
		t.Fatalf("micropay = %+v", r)
	}
	if q := query("CODE-1"); q.GetString("trade_state") != "SUCCESS" || q.GetString("trade_type") != "MICROPAY" || q.GetString("device_info") != "till-01" {
		t.Fatalf("orderquery = %v", q)
	}
	// The spent code, and an expired one, are refused.
	if r := micropay("CODE-2", 100, code); r.ResultCode != "FAIL" || r.ErrCode != "AUTH_CODE_INVALID" {
		t.Fatalf("reused code = %+v", r)
	}
	expired := issueFor(cons.ID, paycode.Credit, "--ttl", "1ms")
	if r := micropay("CODE-2", 100, expired.Code); r.ResultCode != "FAIL" || r.ErrCode != "AUTHCODEEXPIRE" {
		t.Fatalf("expired code = %+v", r)
	}
	if r := micropay("CODE-2", 100, "12345"); r.ResultCode != "FAIL" || r.ErrCode != "AUTH_CODE_ERROR" {
		t.Fatalf("malformed code = %+v", r)
	}

	// Above ¥1,000: USERPAYING until the consumer confirms with their PIN.
	large := issue(paycode.Credit)
	r = micropay("CODE-3", 120000, large, "selected_installment_number", "6")
	if r.ResultCode != "FAIL" || r.ErrCode != "USERPAYING" {
		t.Fatalf("large code payment = %+v", r)
	}
	q := query("CODE-3")
	if q.GetString("trade_state") != "USERPAYING" || q.GetString("transaction_id") != "" {
		t.Fatalf("waiting order = %v", q)
	}
	id := waitingOrder(t, in, "CODE-3")
	phone := loggedIn(t, in, cons.Phone, cons.PIN)
	// The consumer's payment-code page, following the code, links here.
	var st struct {
		State      string `json:"state"`
		ConfirmURL string `json:"confirm_url"`
	}
	if code, body := call(t, phone, "GET", in.base+"/cashier/paycode/status", nil, &st, "X-Payment-Code", large); code != 200 || st.State != "confirm" ||
		st.ConfirmURL != "/cashier/paycode/orders/"+id {
		t.Fatalf("code status = %d %s", code, body)
	}
	var page struct {
		Waiting      bool  `json:"waiting"`
		Total        int64 `json:"total"`
		Installments *struct {
			N int `json:"installment_number"`
		} `json:"installments"`
		TradeState string `json:"trade_state"`
		Merchant   string `json:"merchant"`
	}
	if code, body := call(t, phone, "GET", in.base+"/cashier/paycode/orders/"+id+"?format=json", nil, &page); code != 200 ||
		!page.Waiting || page.Total != 120000 || page.Installments == nil || page.Installments.N != 6 || page.Merchant == "" {
		t.Fatalf("confirm page = %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", in.base+"/cashier/paycode/orders/"+id, nil)
	req.Header.Set("Accept", "text/html")
	if resp, err := phone.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `action="/cashier/paycode/orders/`+id+`/confirm"`) || !strings.Contains(string(b), "¥1,200.00") {
			t.Fatalf("confirm page = %d\n%s", resp.StatusCode, b)
		}
	}
	// Another consumer's session sees nothing; a wrong PIN pays nothing.
	if code, _ := call(t, &http.Client{}, "GET", in.base+"/cashier/paycode/orders/"+id+"?format=json", nil, nil); code != 401 {
		t.Fatalf("confirm page without a login = %d", code)
	}
	if code, body := call(t, phone, "POST", in.base+"/cashier/paycode/orders/"+id+"/confirm", map[string]string{"pin": "000000"}, nil); code != 401 {
		t.Fatalf("wrong PIN = %d %s", code, body)
	}
	if code, body := call(t, phone, "POST", in.base+"/cashier/paycode/orders/"+id+"/confirm", map[string]string{"pin": cons.PIN}, &page); code != 200 ||
		page.TradeState != "SUCCESS" {
		t.Fatalf("confirm = %d %s", code, body)
	}
	if q := query("CODE-3"); q.GetString("trade_state") != "SUCCESS" || q.GetString("transaction_id") != id {
		t.Fatalf("confirmed order = %v", q)
	}

	// Reverse: a paid order is refunded in full and reads REVOKED; an
	// unpaid one is REVOKED; again, nothing more happens.
	if r := reverse("CODE-1"); r.ResultCode != "SUCCESS" || r.Recall != "N" {
		t.Fatalf("reverse of a paid order = %+v", r)
	}
	if q := query("CODE-1"); q.GetString("trade_state") != "REVOKED" {
		t.Fatalf("reversed paid order = %v", q)
	}
	if r := micropay("CODE-4", 150000, issue(paycode.Credit)); r.ErrCode != "USERPAYING" {
		t.Fatalf("large code payment = %+v", r)
	}
	for range 2 {
		if r := reverse("CODE-4"); r.ResultCode != "SUCCESS" || r.Recall != "N" {
			t.Fatalf("reverse of a waiting order = %+v", r)
		}
	}
	if q := query("CODE-4"); q.GetString("trade_state") != "REVOKED" {
		t.Fatalf("reversed waiting order = %v", q)
	}
	if r := reverse("CODE-none"); r.ResultCode != "FAIL" || r.ErrCode != "ORDERNOTEXIST" || r.Recall != "N" {
		t.Fatalf("reverse of no order = %+v", r)
	}

	// One code, two tills at once: one pays, the other is refused.
	shared := issue(paycode.Balance)
	var wg sync.WaitGroup
	answers := make([]*wechat.MicropayResponse, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bm := gopay.BodyMap{}
			bm.Set("nonce_str", fmt.Sprintf("race%d", i)).Set("body", "Bread").Set("out_trade_no", fmt.Sprintf("RACE-%d", i)).
				Set("total_fee", 700).Set("spbill_create_ip", "10.0.0.9").Set("auth_code", shared)
			rsp, err := c.Micropay(ctx, bm)
			if err != nil {
				t.Error(err)
				return
			}
			answers[i] = rsp
		}()
	}
	wg.Wait()
	if answers[0] == nil || answers[1] == nil {
		t.FailNow()
	}
	paid := 0
	for _, a := range answers {
		switch {
		case a.ResultCode == "SUCCESS" && a.BankType == "OTHERS":
			paid++
		case a.ErrCode != "AUTH_CODE_INVALID":
			t.Fatalf("race answer = %+v", a)
		}
	}
	if paid != 1 {
		t.Fatalf("one code paid %d times: %+v %+v", paid, answers[0], answers[1])
	}

	// v3, through the official SDK's generic client.
	sdk := sdkClient(t, in.base, m)
	body := map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Noodles", "out_trade_no": "V3-CODE-1",
		"payer": map[string]string{"auth_code": issue(paycode.Credit)}, "amount": map[string]any{"total": 2600, "currency": "CNY"},
		"scene_info":       map[string]any{"device_id": "till-02", "store_info": map[string]string{"out_id": "store-1"}},
		"installment_info": map[string]int{"selected_installment_number": 3}}
	res, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body)
	if err != nil {
		t.Fatal(err)
	}
	var tx struct {
		TradeState      string `json:"trade_state"`
		TradeType       string `json:"trade_type"`
		TransactionID   string `json:"transaction_id"`
		InstallmentInfo struct {
			N int `json:"selected_installment_number"`
		} `json:"installment_info"`
		SceneInfo struct {
			DeviceID string `json:"device_id"`
		} `json:"scene_info"`
	}
	if err := json.NewDecoder(res.Response.Body).Decode(&tx); err != nil || res.Response.StatusCode != 200 || tx.TradeState != "SUCCESS" ||
		tx.TradeType != "MICROPAY" || tx.TransactionID == "" || tx.InstallmentInfo.N != 3 || tx.SceneInfo.DeviceID != "till-02" {
		t.Fatalf("v3 codepay = %d %+v, %v", res.Response.StatusCode, tx, err)
	}
	body["out_trade_no"], body["payer"] = "V3-CODE-2", map[string]string{"auth_code": issue(paycode.Credit)}
	body["amount"] = map[string]any{"total": 200000}
	res, err = sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body)
	if err != nil {
		t.Fatal(err)
	}
	tx.TradeState, tx.TransactionID = "", ""
	if err := json.NewDecoder(res.Response.Body).Decode(&tx); err != nil || res.Response.StatusCode != 202 || tx.TradeState != "USERPAYING" || tx.TransactionID != "" {
		t.Fatalf("v3 codepay above the no-PIN limit = %d %+v, %v", res.Response.StatusCode, tx, err)
	}
	for _, no := range []string{"V3-CODE-1", "V3-CODE-2"} {
		res, err = sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/"+no+"/reverse",
			map[string]string{"appid": m.AppID, "mchid": m.MchID})
		if err != nil {
			t.Fatal(err)
		}
		var rv map[string]string
		if err := json.NewDecoder(res.Response.Body).Decode(&rv); err != nil || rv["out_trade_no"] != no || rv["mchid"] != m.MchID || rv["appid"] != m.AppID {
			t.Fatalf("v3 reverse = %v, %v", rv, err)
		}
		res, err = sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/"+no+"?mchid="+m.MchID)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(res.Response.Body).Decode(&tx); err != nil || tx.TradeState != "REVOKED" {
			t.Fatalf("v3 query of reversed %s = %+v, %v", no, tx, err)
		}
	}
	// A bad request is answered with its field.
	body["payer"] = map[string]string{}
	if _, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body); err == nil ||
		!strings.Contains(err.Error(), "payer.auth_code") {
		t.Fatalf("codepay without auth_code = %v", err)
	}

	// Wrong PINs on the confirm page count toward the phone's lockout:
	// after five, even the right PIN is refused for a while.
	var other struct {
		ID    string `json:"id"`
		Phone string `json:"phone"`
		PIN   string `json:"pin"`
	}
	in.mustCLI(&other, "consumer", "create", "--credit-limit", "1000000", "--rating", "A")
	oc := issueFor(other.ID, paycode.Credit)
	if r := micropay("CODE-5", 130000, oc.Code); r.ErrCode != "USERPAYING" {
		t.Fatalf("large code payment = %+v", r)
	}
	phone2 := loggedIn(t, in, other.Phone, other.PIN)
	id5 := waitingOrder(t, in, "CODE-5")
	// The first consumer cannot confirm the second's payment.
	if code, _ := call(t, phone, "POST", in.base+"/cashier/paycode/orders/"+id5+"/confirm", map[string]string{"pin": cons.PIN}, nil); code != 404 {
		t.Fatalf("another consumer's confirmation = %d", code)
	}
	for range 5 {
		if code, body := call(t, phone2, "POST", in.base+"/cashier/paycode/orders/"+id5+"/confirm", map[string]string{"pin": "000000"}, nil); code != 401 {
			t.Fatalf("wrong PIN = %d %s", code, body)
		}
	}
	if code, body := call(t, phone2, "POST", in.base+"/cashier/paycode/orders/"+id5+"/confirm", map[string]string{"pin": other.PIN}, nil); code != 429 {
		t.Fatalf("right PIN after five wrong ones = %d %s", code, body)
	}
	if q := query("CODE-5"); q.GetString("trade_state") != "USERPAYING" {
		t.Fatalf("order after refused confirmations = %v", q)
	}

	if out, err := in.cli("verify"); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// waitingOrder is the transaction_id of a merchant's waiting order, which
// the consumer's payment-code page links to.
func waitingOrder(t *testing.T, in *instance, outTradeNo string) string {
	t.Helper()
	var id string
	if err := in.store(t, "core").R.QueryRow(`SELECT id FROM orders WHERE out_trade_no = $1`, outTradeNo).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// loggedIn is a consumer's phone logged in to the cashier.
func loggedIn(t *testing.T, in *instance, phone, pin string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(in.base+"/cashier/login", url.Values{"phone": {phone}, "pin": {pin}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

// call sends a JSON request with c and decodes a 200 answer into out.
// header is pairs of a request header's name and value.
func call(t *testing.T, c *http.Client, method, url string, in, out any, header ...string) (int, string) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode, string(b)
}
