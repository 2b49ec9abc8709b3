package notify

import (
	"bytes"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

const key = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"

var plaintext = []byte(`{"mchid":"1900000001","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","transaction_id":"4200000000000000000000000000","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"FENFU_CREDIT","attach":"","success_time":"2026-11-27T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}`)

// TestAESMatchesOfficialSDK: the SDK's own decryptor opens fenfu's resource.
func TestAESMatchesOfficialSDK(t *testing.T) {
	r, err := Encrypt(AES256GCM, key, "fdasflkja484", "transaction", "transaction", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	got, err := utils.DecryptAES256GCM(key, r.AssociatedData, r.Nonce, r.Ciphertext)
	if err != nil || got != string(plaintext) {
		t.Fatalf("SDK decrypt = %q, %v", got, err)
	}
}

func TestRoundTripAndTamper(t *testing.T) {
	for _, alg := range []string{AES256GCM, SM4GCM} {
		t.Run(alg, func(t *testing.T) {
			r, err := Encrypt(alg, key, "0123456789ab", "transaction", "transaction", plaintext)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decrypt(r, key)
			if err != nil || !bytes.Equal(got, plaintext) {
				t.Fatalf("decrypt = %v", err)
			}
			bad := r
			bad.AssociatedData = "refund"
			if _, err := Decrypt(bad, key); err == nil {
				t.Fatal("decrypted with other associated data")
			}
			if _, err := Decrypt(r, "b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"); err == nil {
				t.Fatal("decrypted with another key")
			}
		})
	}
	if _, err := Encrypt(AES256GCM, "short", "0123456789ab", "", "", plaintext); err != ErrKey {
		t.Fatalf("short key: %v", err)
	}
}

func FuzzDecrypt(f *testing.F) {
	r, _ := Encrypt(SM4GCM, key, "0123456789ab", "transaction", "transaction", plaintext)
	f.Add(r.Algorithm, r.Ciphertext, r.Nonce, r.AssociatedData)
	f.Add(AES256GCM, "!!", "x", "")
	f.Fuzz(func(t *testing.T, alg, ct, nonce, ad string) {
		_, _ = Decrypt(Resource{Algorithm: alg, Ciphertext: ct, Nonce: nonce, AssociatedData: ad}, key)
	})
}

func BenchmarkEncrypt(b *testing.B) {
	pt := plaintext[:300]
	for _, alg := range []string{AES256GCM, SM4GCM} {
		b.Run(alg, func(b *testing.B) {
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				if _, err := Encrypt(alg, key, "0123456789ab", "transaction", "transaction", pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
