package scheme_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/fenfu/fenfu/scheme"
	wechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// TestFieldEncryption: a field encrypted to a key decrypts with its
// private key and no other; the RSA form is the official SDK's and
// gopay's, both ways; the SM2 form is C1C3C2 in ASN.1 as gmsm's
// EncryptASN1 makes it.
func TestFieldEncryption(t *testing.T) {
	const id = "310101199001011234"
	for _, n := range []scheme.Name{scheme.RSA, scheme.SM2} {
		t.Run(string(n), func(t *testing.T) {
			key, _ := scheme.Generate(n)
			other, _ := scheme.Generate(n)
			ct, err := scheme.EncryptField(scheme.Public(key), id)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := scheme.DecryptField(key, ct); err != nil || got != id {
				t.Fatalf("DecryptField = %q, %v", got, err)
			}
			if _, err := scheme.DecryptField(other, ct); err != scheme.ErrDecrypt {
				t.Fatalf("another key decrypted: %v", err)
			}
			if _, err := scheme.DecryptField(key, id); err != scheme.ErrDecrypt {
				t.Fatalf("plaintext decrypted: %v", err)
			}
			// The peers' own encryption decrypts here, and ours there.
			var peer string
			switch k := key.(type) {
			case *rsa.PrivateKey:
				if peer, err = utils.EncryptOAEPWithPublicKey(id, &k.PublicKey); err != nil {
					t.Fatal(err)
				}
				if got, err := utils.DecryptOAEP(ct, k); err != nil || got != id {
					t.Fatalf("the SDK decrypts ours to %q, %v", got, err)
				}
				// gopay's, too.
				pubPEM, _ := scheme.PublicKeyPEM(&k.PublicKey)
				privPEM, _ := scheme.PrivateKeyPEM(k)
				gp, err := wechat.V3EncryptText(id, pubPEM)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := scheme.DecryptField(key, gp); err != nil || got != id {
					t.Fatalf("DecryptField of gopay's ciphertext = %q, %v", got, err)
				}
				if got, err := wechat.V3DecryptText(ct, privPEM); err != nil || got != id {
					t.Fatalf("gopay decrypts ours to %q, %v", got, err)
				}
			case *sm2.PrivateKey:
				b, err := sm2.EncryptASN1(rand.Reader, &k.PublicKey, []byte(id))
				if err != nil {
					t.Fatal(err)
				}
				peer = base64.StdEncoding.EncodeToString(b)
			}
			if got, err := scheme.DecryptField(key, peer); err != nil || got != id {
				t.Fatalf("DecryptField of the peer's ciphertext = %q, %v", got, err)
			}
		})
	}
}

// FuzzDecryptField: whatever arrives in a field, DecryptField returns
// ErrDecrypt or the plaintext that was encrypted; it never panics.
func FuzzDecryptField(f *testing.F) {
	rsaKey, _ := scheme.Generate(scheme.RSA)
	sm2Key, _ := scheme.Generate(scheme.SM2)
	keys := []crypto.Signer{rsaKey, sm2Key}
	for _, k := range keys {
		ct, _ := scheme.EncryptField(scheme.Public(k), "13812345678")
		f.Add(ct)
	}
	f.Add("MA==")
	f.Add("MAA=")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		for _, k := range keys {
			got, err := scheme.DecryptField(k, in)
			if err == nil && got != "13812345678" {
				t.Fatalf("decrypted %q to %q", in, got)
			}
			if err != nil && err != scheme.ErrDecrypt {
				t.Fatalf("error %v, want ErrDecrypt", err)
			}
		}
	})
}
