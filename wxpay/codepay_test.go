package wxpay

import (
	"testing"

	"github.com/fenfu/fenfu"
)

// FuzzCodepayRequest: a v3 codepay body is read into an order or refused
// with a stable error code naming what is wrong, never a system error;
// what it accepts carries the code, the amount and the merchant.
func FuzzCodepayRequest(f *testing.F) {
	f.Add(`{"appid":"wx1","mchid":"1900000001","description":"tea","out_trade_no":"T-000001","payer":{"auth_code":"134567890123456789"},` +
		`"amount":{"total":100},"scene_info":{"device_id":"till-1","store_info":{"out_id":"s1"}},"installment_info":{"selected_installment_number":3}}`)
	f.Add(`{"mchid":"1900000001","payer":{},"amount":{"total":1},"scene_info":{}}`)
	f.Add(`{"mchid":"1900000001","payer":{"auth_code":"1"},"amount":{"total":-5},"scene_info":{"device_ip":"x"}}`)
	f.Add(`{"installment_info":{"selected_installment_number":-1}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		var req codepayReq
		err := decode([]byte(body), &req)
		var o struct {
			AuthCode string
			Total    fenfu.Fen
			MchID    string
			N        int
		}
		if err == nil {
			c, perr := req.order("1900000001")
			err = perr
			o.AuthCode, o.Total, o.MchID, o.N = c.AuthCode, c.Total, c.MchID, c.Installments
		}
		if err != nil {
			if e := fenfu.AsError(err); e.Code == fenfu.SystemError || e.Err != nil {
				t.Fatalf("%q: refused with %v", body, err)
			}
			return
		}
		if o.AuthCode == "" || o.MchID != "1900000001" || o.N < 0 {
			t.Fatalf("%q: accepted as %+v", body, o)
		}
	})
}

// FuzzV2Micropay: a v2 micropay XML body is read into an order or refused
// with a stable error code, never a system error.
func FuzzV2Micropay(f *testing.F) {
	f.Add(`<xml><appid>wx1</appid><mch_id>1900000001</mch_id><body>tea</body><out_trade_no>T-000001</out_trade_no>` +
		`<total_fee>100</total_fee><spbill_create_ip>10.0.0.1</spbill_create_ip><auth_code>134567890123456789</auth_code>` +
		`<time_expire>20261127103000</time_expire><limit_pay>no_credit</limit_pay><selected_installment_number>6</selected_installment_number></xml>`)
	f.Add(`<xml><total_fee>0</total_fee><spbill_create_ip>1</spbill_create_ip><auth_code>1</auth_code></xml>`)
	f.Add(`<xml><total_fee>1</total_fee><spbill_create_ip>1</spbill_create_ip><auth_code>1</auth_code><selected_installment_number>x</selected_installment_number></xml>`)
	f.Add(`<xml><limit_pay>no_debit</limit_pay></xml>`)
	f.Fuzz(func(t *testing.T, body string) {
		p, err := ParseV2([]byte(body))
		if err != nil {
			return
		}
		c, err := v2CodeOrder("1900000001", p)
		if err != nil {
			if e := fenfu.AsError(err); e.Code == fenfu.SystemError || e.Err != nil {
				t.Fatalf("%q: refused with %v", body, err)
			}
			return
		}
		if c.AuthCode == "" || c.Total <= 0 || c.API != "v2" || c.Installments < 0 {
			t.Fatalf("%q: accepted as %+v", body, c)
		}
	})
}
