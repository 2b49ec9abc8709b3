package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/paycode"
)

// TestConfirmPageWhilePaying: while a confirmation is paying a code
// payment, the confirm page says it is being paid and a second
// confirmation answers USERPAYING (wait), never "ask for a new code",
// which would have the consumer pay twice. A confirmation whose body
// cannot be read, or names no PIN, is refused as malformed and does not
// count as a wrong PIN.
func TestConfirmPageWhilePaying(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			in := startServer(t, engine)
			var m sandboxMerchant
			in.mustCLI(&m, "sandbox", "merchant")
			var cons struct {
				ID    string `json:"id"`
				Phone string `json:"phone"`
				PIN   string `json:"pin"`
			}
			in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--rating", "A")
			var c paycode.Code
			in.mustCLI(&c, "sandbox", "paycode", "--consumer", cons.ID, "--channel", paycode.Credit)
			body := map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Noodles", "out_trade_no": "CONFIRM-P-1",
				"payer": map[string]string{"auth_code": c.Code}, "amount": map[string]any{"total": 200000},
				"scene_info": map[string]any{"device_id": "till-02"}}
			res, err := sdkClient(t, in.base, m).Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body)
			if err != nil || res.Response.StatusCode != 202 {
				t.Fatalf("codepay = %v", err)
			}
			id := waitingOrder(t, in, "CONFIRM-P-1")
			phone := loggedIn(t, in, cons.Phone, cons.PIN)
			confirm := in.base + "/cashier/paycode/orders/" + id + "/confirm"

			// An unreadable form body and a missing PIN check no PIN.
			for i := range 6 {
				resp, err := phone.Post(confirm, "application/x-www-form-urlencoded", strings.NewReader("pin=%zz"))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 400 || !strings.Contains(string(b), "PARAM_ERROR") {
					t.Fatalf("unreadable confirmation %d = %d %s", i, resp.StatusCode, b)
				}
				if code, body := call(t, phone, "POST", confirm, map[string]string{}, nil); code != 400 || !strings.Contains(body, "PARAM_ERROR") {
					t.Fatalf("confirmation without a PIN %d = %d %s", i, code, body)
				}
			}

			// The first confirmation is capturing: the order is PAYING.
			if _, err := in.store(t, "core").W.Exec(`UPDATE orders SET state = 'PAYING' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			var page struct {
				Waiting bool `json:"waiting"`
				Paying  bool `json:"paying"`
			}
			if code, body := call(t, phone, "GET", in.base+"/cashier/paycode/orders/"+id+"?format=json", nil, &page); code != 200 ||
				page.Waiting || !page.Paying {
				t.Fatalf("confirm page while paying = %d %s", code, body)
			}
			req, _ := http.NewRequest("POST", confirm, strings.NewReader(url.Values{"pin": {cons.PIN}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			resp, err := phone.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), "USERPAYING") || !strings.Contains(string(b), "正在付款") ||
				strings.Contains(string(b), "scan a new") {
				t.Fatalf("second confirmation while paying = %d\n%s", resp.StatusCode, b)
			}
			if code, body := call(t, phone, "POST", confirm, map[string]string{"pin": cons.PIN}, nil); code != 400 ||
				!strings.Contains(body, "USERPAYING") {
				t.Fatalf("second confirmation while paying, JSON = %d %s", code, body)
			}
		})
	}
}
