package wxpay_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/wxpay"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// TestApplicationFieldsEncrypted: an application's personal fields reach
// fenfu encrypted to the platform key the Wechatpay-Serial header names,
// as the peers' own encryption makes them (the official SDK's RSA-OAEP,
// gmsm's SM2 C1C3C2_ASN1); the answer carries them encrypted to the
// merchant's key; a field sent in clear, or encrypted to a key the header
// does not name, is a PARAM_ERROR naming what is wrong.
func TestApplicationFieldsEncrypted(t *testing.T) {
	for _, sch := range []scheme.Name{scheme.RSA, scheme.SM2} {
		t.Run(string(sch), func(t *testing.T) {
			h := newHarnessScheme(t, sch)
			sealer, _ := seal.New([]byte("wxpay-test-mk-16"))
			h.api.Onboard = &onboard.Service{DB: h.api.Pay.Core, Policy: onboard.DefaultPolicy(), IDs: h.api.IDs, Clock: h.api.Clock, Sealer: sealer}
			ctx := context.Background()
			encrypt := func(v string) string {
				t.Helper()
				var ct string
				var err error
				switch k := scheme.Public(h.keys.Platform(sch).Key).(type) {
				case *rsa.PublicKey:
					ct, err = utils.EncryptOAEPWithPublicKey(v, k)
				case *ecdsa.PublicKey:
					var b []byte
					b, err = sm2.EncryptASN1(rand.Reader, k, []byte(v))
					ct = base64.StdEncoding.EncodeToString(b)
				}
				if err != nil {
					t.Fatal(err)
				}
				return ct
			}
			decrypt := func(v string) string {
				t.Helper()
				var pt string
				var err error
				switch k := h.m.PrivateKey.(type) {
				case *rsa.PrivateKey:
					pt, err = utils.DecryptOAEP(v, k)
				case *sm2.PrivateKey:
					var ct, b []byte
					if ct, err = base64.StdEncoding.DecodeString(v); err == nil {
						b, err = sm2.Decrypt(k, ct)
						pt = string(b)
					}
				}
				if err != nil {
					t.Fatalf("the merchant cannot decrypt %q: %v", v, err)
				}
				return pt
			}
			app := func(id string) map[string]any {
				return map[string]any{"entity_type": "enterprise", "licence_number": "91310000MA1TEA01X", "licence_status": "normal",
					"industry":     "ecommerce_retail",
					"legal_person": map[string]string{"name": encrypt("王茶香"), "id_number": id, "phone": encrypt("13912345678")},
					"settlement_account": map[string]string{"bank": "招商银行", "account_name": encrypt("王茶香"),
						"account_number": encrypt("6225880212345678")}}
			}
			var rec onboard.Record
			if err := h.client.Do(ctx, "POST", "/v3/fenfu/applications", app(encrypt("310101199001011234")), &rec); err != nil {
				t.Fatal(err)
			}
			lp, acct := rec.Application.LegalPerson, rec.Application.SettlementAccount
			if lp == nil || acct == nil || strings.Contains(lp.IDNumber, "1234") {
				t.Fatalf("answer: %+v", rec.Application)
			}
			if got := decrypt(lp.IDNumber); got != "310101199001011234" {
				t.Errorf("id_number in the answer decrypts to %q", got)
			}
			if got := decrypt(lp.Name) + decrypt(lp.Phone) + decrypt(acct.AccountName); got != "王茶香13912345678王茶香" {
				t.Errorf("the answer's fields decrypt to %q", got)
			}
			if got := decrypt(acct.AccountNumber); got != "************5678" {
				t.Errorf("account_number in the answer decrypts to %q, want it masked", got)
			}
			// The stored application opens to what the merchant sent.
			if a, err := h.api.Onboard.Get(ctx, rec.ID); err != nil || a.Application.LegalPerson == nil || a.Application.LegalPerson.IDNumber != "310101199001011234" {
				t.Fatalf("stored: %+v %v", a.Application, err)
			}
			// A field in clear is refused, naming it.
			var ae *wxpay.APIError
			err := h.client.Do(ctx, "POST", "/v3/fenfu/applications", app("310101199001011234"), nil)
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Body.Code != "PARAM_ERROR" || ae.Body.Detail == nil ||
				ae.Body.Detail.Field != "legal_person.id_number" || ae.Body.Remedy == "" {
				t.Fatalf("a field in clear: %v %+v", err, ae)
			}
			// Wechatpay-Serial naming no platform key of the scheme.
			body, _ := json.Marshal(app(encrypt("310101199001011234")))
			req, _ := http.NewRequest("POST", h.srv.URL+"/v3/fenfu/applications", bytes.NewReader(body))
			req.Header.Set("Authorization", sign(t, h.client, "POST", "/v3/fenfu/applications", body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Wechatpay-Serial", "PUB_KEY_ID_NOT_OURS")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var eb wxpay.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&eb)
			resp.Body.Close()
			if resp.StatusCode != 400 || eb.Code != "PARAM_ERROR" || !strings.Contains(eb.Message, "PUB_KEY_ID_NOT_OURS") || eb.Remedy == "" {
				t.Fatalf("an unknown Wechatpay-Serial: %d %+v", resp.StatusCode, eb)
			}
			// A read answers encrypted too.
			var got onboard.Record
			if err := h.client.Do(ctx, "GET", "/v3/fenfu/applications/"+rec.ID, nil, &got); err != nil {
				t.Fatal(err)
			}
			if got.Application.LegalPerson == nil || decrypt(got.Application.LegalPerson.IDNumber) != "310101199001011234" {
				t.Fatalf("read: %+v", got.Application)
			}
		})
	}
}

// FuzzApplicationFields: whatever body and fields a merchant sends, the
// decoding and decryption of an application answers a PARAM_ERROR or an
// application whose personal fields are text; it never fails otherwise
// and never panics.
func FuzzApplicationFields(f *testing.F) {
	keys := keyringtest.Open(f, dbtest.Open(f, db.SQLite, "core", fenfu.SystemClock{}))
	api := &wxpay.API{Keys: keys}
	for _, sch := range []scheme.Name{scheme.RSA, scheme.SM2} {
		ct, _ := scheme.EncryptField(scheme.Public(keys.Platform(sch).Key), "310101199001011234")
		bad, _ := scheme.EncryptField(scheme.Public(keys.Platform(sch).Key), "a\x00b")
		for _, v := range []string{ct, bad, "310101199001011234", "", "MA=="} {
			f.Add(string(sch), `{"legal_person":{"name":"`+v+`","id_number":"`+ct+`"},"settlement_account":{"account_number":"`+v+`"}}`)
		}
	}
	f.Add(string(scheme.RSA), `{"legal_person":null}`)
	f.Fuzz(func(t *testing.T, sch, body string) {
		n := scheme.Name(sch)
		if n != scheme.SM2 {
			n = scheme.RSA
		}
		app, err := api.OpenApplication(n, keys.Platform(n).ID, []byte(body))
		if err != nil {
			if code := fenfu.ErrorCode(err); code != fenfu.ParamError {
				t.Fatalf("%s: %v", code, err)
			}
			return
		}
		if p := app.LegalPerson; p != nil {
			for _, v := range []string{p.Name, p.IDNumber, p.Phone} {
				if err := fenfu.Text("field", v); err != nil {
					t.Fatalf("a field decrypted to %q", v)
				}
			}
		}
	})
}
