package wxpay

import "testing"

// TestCodepayCounterIP: the till's address a code payment carries
// (v3 scene_info.device_ip, v2 spbill_create_ip, both validated or
// required) reaches the order's scene, which pay.Micropay hands the risk
// engine as the client's address; dropped, no address rule ever sees a
// code payment.
func TestCodepayCounterIP(t *testing.T) {
	var req codepayReq
	if err := decode([]byte(`{"mchid":"1900000001","payer":{"auth_code":"134567890123456789"},"amount":{"total":100},`+
		`"scene_info":{"device_id":"till-1","device_ip":"10.1.2.3"}}`), &req); err != nil {
		t.Fatal(err)
	}
	c, err := req.order("1900000001")
	if err != nil {
		t.Fatal(err)
	}
	if c.Scene.PayerClientIP != "10.1.2.3" {
		t.Errorf("v3 scene_info.device_ip 10.1.2.3 became scene %+v", c.Scene)
	}
	v2, err := v2CodeOrder("1900000001", map[string]string{"spbill_create_ip": "10.1.2.4", "auth_code": "134567890123456789",
		"total_fee": "100", "out_trade_no": "T-1", "body": "tea"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Scene.PayerClientIP != "10.1.2.4" {
		t.Errorf("v2 spbill_create_ip 10.1.2.4 became scene %+v", v2.Scene)
	}
}
