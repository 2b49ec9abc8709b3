package scheme

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, n := range []Name{RSA, SM2} {
		t.Run(string(n), func(t *testing.T) {
			key, err := Generate(n)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := Of(key); got != n {
				t.Fatalf("Of(private) = %s", got)
			}
			privPEM, err := PrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := PublicKeyPEM(Public(key))
			if err != nil {
				t.Fatal(err)
			}
			key2, err := ParsePrivateKeyPEM(privPEM)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := Of(pub); got != n {
				t.Fatalf("Of(public) = %s", got)
			}
			msg := []byte("POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{}\n")
			sig, err := Sign(key2, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(pub, msg, sig); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := Verify(pub, bytes.Replace(msg, []byte("POST"), []byte("GET"), 1), sig); err != ErrBadSignature {
				t.Fatalf("verify of another message = %v", err)
			}
		})
	}
}

// TestSM2KnownAnswer verifies gmsm's published SM2-with-SM3 vector, so the
// default user ID and DER encoding are the standard ones.
func TestSM2KnownAnswer(t *testing.T) {
	point, _ := hex.DecodeString("048356e642a40ebd18d29ba3532fbd9f3bbee8f027c3f6f39a5ba2f870369f9988981f5efe55d1c5cdf6c0ef2b070847a14f7fdf4272a8df09c442f3058af94ba1")
	pub, err := sm2.NewPublicKey(point)
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip the key through PEM as fenfu stores it.
	pemBytes, err := PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParsePublicKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString("304402205b3a799bd94c9063120d7286769220af6b0fa127009af3e873c0e8742edc5f890220097968a4c8b040fd548d1456b33f470cabd8456bfea53e8a828f92f6d4bdcd77")
	if err := Verify(parsed, []byte("ShangMi SM2 Sign Standard"), sig); err != nil {
		t.Fatalf("known SM2 signature: %v", err)
	}
}

// A v3 request's signed message is a few hundred bytes.
var benchMsg = bytes.Repeat([]byte("x"), 300)

func BenchmarkSign(b *testing.B) {
	for _, n := range []Name{RSA, SM2} {
		key, _ := Generate(n)
		b.Run(n.Algorithm(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Sign(key, benchMsg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []Name{RSA, SM2} {
		key, _ := Generate(n)
		sig, _ := Sign(key, benchMsg)
		pub := Public(key)
		b.Run(n.Algorithm(), func(b *testing.B) {
			for b.Loop() {
				if err := Verify(pub, benchMsg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRSAGoldenVector: SHA256-RSA2048 signatures are deterministic, so
// fenfu's signer must reproduce the official SDK's own test vector
// (wechatpay-go core/auth/signers: its test key and the message "source").
func TestRSAGoldenVector(t *testing.T) {
	keyPEM, err := os.ReadFile("testdata/sdk_test_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/sdk_test_signature.txt")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(key, []byte("source"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(sig); got != strings.TrimSpace(string(want)) {
		t.Fatalf("signature = %s\nwant        %s", got, want)
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"request", Message("POST", "/v3/pay/transactions/native?x=1", 1764201600, "n0nce", []byte(`{"a":1}`)),
			"POST\n/v3/pay/transactions/native?x=1\n1764201600\nn0nce\n{\"a\":1}\n"},
		{"request without body", Message("GET", "/v3/certificates", 1764201600, "n", nil),
			"GET\n/v3/certificates\n1764201600\nn\n\n"},
		{"response", ResponseMessage(1764201600, "n0nce", []byte(`{}`)), "1764201600\nn0nce\n{}\n"},
		{"empty response", ResponseMessage(1764201600, "n", nil), "1764201600\nn\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := string(tc.got), tc.want; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
}
