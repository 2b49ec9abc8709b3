package qr

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

func TestTokenRoundTripAndTamper(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_800_000_000, 0)
	p := Payload{OrderID: "4200001", MchID: "1900000001", Total: 1234, Expires: now.Add(2 * time.Hour)}
	tok := s.Token(p)
	got, err := s.Parse(tok, now)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Payload{p.OrderID, p.MchID, p.Total, time.Unix(p.Expires.Unix(), 0)}) {
		t.Fatalf("Parse = %+v, want %+v", got, p)
	}
	// Re-sign a payload with a different amount under another key: rejected.
	forged := NewSigner([]byte("another secret of thirty-two byt")).Token(Payload{p.OrderID, p.MchID, 1, p.Expires})
	enc, sig, _ := strings.Cut(tok, ".")
	fenc, _, _ := strings.Cut(forged, ".")
	for name, bad := range map[string]string{
		"forged key":      forged,
		"swapped payload": fenc + "." + sig,
		"flipped mac":     enc + "." + strings.Map(func(r rune) rune { return r ^ 1 }, sig),
		"no mac":          enc,
		"empty":           "",
		"garbage":         "!!!.???",
	} {
		if _, err := s.Parse(bad, now); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s: Parse = %v, want PARAM_ERROR", name, err)
		}
	}
	if _, err := s.Parse(tok, now.Add(3*time.Hour)); fenfu.ErrorCode(err) != fenfu.OrderClosed {
		t.Errorf("expired: Parse = %v, want ORDER_CLOSED", err)
	}
}

func TestPNG(t *testing.T) {
	b, err := PNG("http://127.0.0.1:8080/q/abc.def", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("not a PNG")
	}
}

func FuzzParse(f *testing.F) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_800_000_000, 0)
	f.Add(s.Token(Payload{"o", "m", 1, now.Add(time.Hour)}))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Parse(tok, now)
		if err == nil && s.Token(p) != tok {
			t.Fatalf("accepted a token that is not the canonical signature of its payload: %q", tok)
		}
	})
}

func BenchmarkPNG(b *testing.B) {
	url := "https://pay.example.com/q/MXw0MjAwMjAyNjExMjcyMTM2NDM5NjczOTgzMzQxfDE5ODExODU0Mjh8NjgwMHwxNzk1NzkzODAz.wyhsYyVp4p7qFAm20UqAkg"
	for b.Loop() {
		if _, err := PNG(url, 6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenParse(b *testing.B) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_800_000_000, 0)
	tok := s.Token(Payload{"4200202611272136439673983341", "1981185428", 6800, now.Add(time.Hour)})
	for b.Loop() {
		if _, err := s.Parse(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
