package qr

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestCodeTokenRoundTrip(t *testing.T) {
	s := NewCodeSigner(secret)
	p := CodePayload{CodeID: "agc_000000000001", MchID: "1900000001"}
	tok := s.Token(p)
	got, err := s.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Fatalf("Parse = %+v, want %+v", got, p)
	}
	if again := s.Token(p); again != tok {
		t.Errorf("the same code signs as %q and %q: a printed code must keep its token", tok, again)
	}
}

// TestCodeTokenTamper: a token whose payload names another merchant or
// another code, with the original MAC kept, is refused; so is one signed
// under another secret.
func TestCodeTokenTamper(t *testing.T) {
	s := NewCodeSigner(secret)
	tok := s.Token(CodePayload{CodeID: "agc_000000000001", MchID: "1900000001"})
	_, sig, _ := strings.Cut(tok, ".")
	reencode := func(body string) string { return base64.RawURLEncoding.EncodeToString([]byte(body)) + "." + sig }
	for name, bad := range map[string]string{
		"another merchant": reencode("a1|agc_000000000001|1900000002"),
		"another code":     reencode("a1|agc_000000000002|1900000001"),
		"another secret":   NewCodeSigner([]byte("another secret of thirty-two byt")).Token(CodePayload{"agc_000000000001", "1900000001"}),
		"empty fields":     s.Token(CodePayload{}),
		"truncated mac":    tok[:len(tok)-2],
		"empty":            "",
	} {
		if _, err := s.Parse(bad); fenfu.ErrorCode(err) != fenfu.ParamError || !strings.Contains(err.Error(), "altered") {
			t.Errorf("%s: Parse = %v, want PARAM_ERROR naming an altered code", name, err)
		}
	}
}

// TestOrderAndCodeTokensDoNotCross: the same secret signs both kinds, and
// neither kind parses as the other, even re-signed with the other's
// payload shape.
func TestOrderAndCodeTokensDoNotCross(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	orders, codes := NewSigner(secret), NewCodeSigner(secret)
	order := orders.Token(Payload{OrderID: "4200001", MchID: "1900000001", Total: 2345, Expires: now.Add(time.Hour)})
	code := codes.Token(CodePayload{CodeID: "agc_1", MchID: "1900000001"})
	if _, err := codes.Parse(order); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("an order's token parsed as an aggregate code's: %v", err)
	}
	if _, err := orders.Parse(code, now); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("an aggregate code's token parsed as an order's: %v", err)
	}
	// The payloads are kept apart by the key too: an aggregate payload
	// signed with the order key, and the reverse, are refused.
	if _, err := codes.Parse(sign(orders.key, codeVersion, "agc_1", "1900000001")); err == nil {
		t.Error("an aggregate payload under the order key parsed")
	}
	if _, err := orders.Parse(sign(codes.key, version, "4200001", "1900000001", "2345", "1800003600"), now); err == nil {
		t.Error("an order payload under the aggregate key parsed")
	}
}

func FuzzParseCode(f *testing.F) {
	s := NewCodeSigner(secret)
	f.Add(s.Token(CodePayload{"agc_1", "1900000001"}))
	f.Add(NewSigner(secret).Token(Payload{"o", "m", 1, time.Unix(1_800_000_000, 0)}))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Parse(tok)
		if err == nil && s.Token(p) != tok {
			t.Fatalf("accepted a token that is not the canonical signature of its payload: %q", tok)
		}
		if err != nil && fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Fatalf("Parse(%q) = %v, want PARAM_ERROR", tok, err)
		}
	})
}
