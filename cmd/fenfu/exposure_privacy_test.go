package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"testing"

	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db/dbtest"
)

// postV3 sends a signed v3 request of merchant m and reads its JSON
// answer into out.
func postV3(ctx context.Context, t *testing.T, in *instance, m sandboxMerchant, path string, body, out any) {
	t.Helper()
	res, err := sdkClient(t, in.base, m).Post(ctx, "https://api.mch.weixin.qq.com"+path, body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer res.Response.Body.Close()
	b, _ := io.ReadAll(res.Response.Body)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v in %s", path, err, b)
	}
}

// TestExposureAPIDoesNotTellAMerchantWhenAStrangerPaysElsewhere: a
// merchant names by the hash of a phone number a consumer who never paid
// it. Whatever it is told must not change when that consumer pays
// another merchant: else polling the transactions exposure API with a
// small order of its own tells the merchant, for any phone number, whether
// and when its owner paid anywhere on fenfu today.
func TestExposureAPIDoesNotTellAMerchantWhenAStrangerPaysElsewhere(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			in := startServer(t, engine)
			var watcher, shop sandboxMerchant
			in.mustCLI(&watcher, "sandbox", "merchant")
			in.mustCLI(&shop, "sandbox", "merchant")
			var cons struct {
				ID    string `json:"id"`
				Phone string `json:"phone"`
				PIN   string `json:"pin"`
			}
			in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--balance", "100000", "--rating", "A")
			post := func(m sandboxMerchant, path string, body, out any) {
				t.Helper()
				postV3(ctx, t, in, m, path, body, out)
			}
			order := func(m sandboxMerchant, no string, total int) string {
				t.Helper()
				var out struct {
					CodeURL string `json:"code_url"`
				}
				post(m, "/v3/pay/transactions/native", map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Tea",
					"out_trade_no": no, "notify_url": "https://shop.example/n", "amount": map[string]any{"total": total}}, &out)
				u, _ := url.Parse(out.CodeURL)
				return u.Path
			}
			hash := consumer.PhoneHash(cons.Phone)
			order(watcher, "WATCH-0001", 500) // ¥5: below the amount rule
			ask := func() (bool, bool) {
				t.Helper()
				var tx struct {
					Show *bool `json:"fqf_exposure"`
				}
				post(watcher, "/v3/pay/transactions/exposure", map[string]any{"mchid": watcher.MchID, "appid": watcher.AppID,
					"out_trade_no": "WATCH-0001", "payer": map[string]any{"phone_number_hash": hash}}, &tx)
				var ix struct {
					Recommend *bool `json:"recommend_exposure"`
				}
				post(watcher, "/v3/pay/instal/exposure", map[string]any{"mchid": watcher.MchID, "appid": watcher.AppID,
					"user_id_type": "PHONE_NO", "phone_number_hash": hash}, &ix)
				if tx.Show == nil || ix.Recommend == nil {
					t.Fatalf("answers without their fields: %+v %+v", tx, ix)
				}
				return *tx.Show, *ix.Recommend
			}
			beforeTx, beforeInstal := ask()

			// The consumer pays at another merchant.
			phone := loggedIn(t, in, cons.Phone, cons.PIN)
			var paid map[string]any
			if code, body := call(t, phone, "POST", in.base+order(shop, "SHOP-0001", 800)+"/pay", map[string]any{"channel": "balance", "pin": cons.PIN}, &paid); code != 200 {
				t.Fatalf("pay at the other merchant: %d %s", code, body)
			}

			if afterTx, afterInstal := ask(); afterTx != beforeTx || afterInstal != beforeInstal {
				t.Fatalf("the watcher learns the stranger paid elsewhere: fqf_exposure %v then %v, recommend_exposure %v then %v",
					beforeTx, afterTx, beforeInstal, afterInstal)
			}
		})
	}
}

// TestExposureAPIDoesNotTellAMerchantWhichPhonesAreConsumers: the hash of
// a phone number is a guessable name (a merchant hashes every number of a
// prefix), so for a consumer who never paid the merchant the answers must
// be those for a phone fenfu does not know; else the exposure API, at the
// merchant's request rate, lists which phone numbers are fenfu's
// consumers.
func TestExposureAPIDoesNotTellAMerchantWhichPhonesAreConsumers(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			in := startServer(t, engine)
			var m sandboxMerchant
			in.mustCLI(&m, "sandbox", "merchant")
			var cons struct {
				Phone string `json:"phone"`
			}
			in.mustCLI(&cons, "consumer", "create", "--credit-limit", "1000000", "--balance", "100000", "--rating", "A")
			post := func(path string, body, out any) {
				t.Helper()
				postV3(ctx, t, in, m, path, body, out)
			}
			post("/v3/pay/transactions/native", map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Tea",
				"out_trade_no": "PROBE-0001", "notify_url": "https://shop.example/n", "amount": map[string]any{"total": 500}}, new(any))
			show := func(hash string) bool {
				t.Helper()
				var tx struct {
					Show *bool `json:"fqf_exposure"`
				}
				post("/v3/pay/transactions/exposure", map[string]any{"mchid": m.MchID, "appid": m.AppID, "out_trade_no": "PROBE-0001",
					"payer": map[string]any{"phone_number_hash": hash}}, &tx)
				if tx.Show == nil {
					t.Fatal("no fqf_exposure in the answer")
				}
				return *tx.Show
			}
			nobody := sha256.Sum256([]byte("19999999999"))
			if stranger, unknown := show(consumer.PhoneHash(cons.Phone)), show(hex.EncodeToString(nobody[:])); stranger != unknown {
				t.Fatalf("a consumer's phone answers fqf_exposure %v, a phone fenfu does not know %v: the merchant tells them apart", stranger, unknown)
			}
		})
	}
}
