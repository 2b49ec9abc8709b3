package wxpay

import (
	"encoding/json"
	"testing"

	"github.com/fenfu/fenfu"
)

// FuzzCompletion: whatever a complete or modify body says, checking it
// never panics, and a completion it accepts has 1 to 100 named items
// whose amounts less the discounts are its total_amount, stored so they
// read back the same.
func FuzzCompletion(f *testing.F) {
	f.Add(`{"appid":"wx1","service_id":"500001","total_amount":32000,"post_payments":[{"name":"Room","amount":32000,"count":1}]}`)
	f.Add(`{"total_amount":800,"post_payments":[{"name":"Room","amount":1000}],"post_discounts":[{"name":"VIP","amount":200}]}`)
	f.Add(`{"total_amount":0,"post_payments":[{"name":"Ride","description":"free"}]}`)
	f.Add(`{"total_amount":-1,"post_payments":[{"name":"x","amount":-1}]}`)
	f.Add(`{"post_payments":[]}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		var c completeReq
		if decode([]byte(body), &c) != nil {
			return
		}
		stored, err := c.check()
		if err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("check: %v, want PARAM_ERROR", err)
			}
			return
		}
		var sum fenfu.Fen
		for _, p := range c.PostPayments {
			if p.Name == "" {
				t.Fatal("an item without a name was accepted")
			}
			if p.Amount != nil {
				sum += *p.Amount
			}
		}
		for _, d := range c.PostDiscounts {
			sum -= d.Amount
		}
		if n := len(c.PostPayments); n == 0 || n > 100 || sum != *c.TotalAmount {
			t.Fatalf("accepted %d items summing to %d for total %d", n, sum, *c.TotalAmount)
		}
		var back completion
		if err := json.Unmarshal([]byte(stored), &back); err != nil || len(back.PostPayments) != len(c.PostPayments) {
			t.Fatalf("stored %q does not read back: %v", stored, err)
		}
	})
}
