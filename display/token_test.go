package display_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/display"
)

func TestTokenRoundTrip(t *testing.T) {
	s := display.NewTokens([]byte("platform secret, 32 bytes long!!"))
	now := time.Unix(1_800_000_000, 0)
	want := display.Token{OrderID: "4200", ConsumerID: "c1", ExposureID: "EX1", Expires: now.Add(time.Hour)}
	tok := s.Sign(want)
	if got, ok := s.Open(tok, now); !ok || got != want {
		t.Fatalf("open: %+v %v", got, ok)
	}
	if _, ok := s.Open(tok, want.Expires); ok {
		t.Fatal("opened at its expiry")
	}
	if _, ok := display.NewTokens([]byte("another secret, 32 bytes long!!!")).Open(tok, now); ok {
		t.Fatal("opened under another secret")
	}
	other := s.Sign(display.Token{OrderID: "4201", ExposureID: "EX1", Expires: want.Expires})
	flip := []byte(tok)
	flip[len(flip)/2] ^= 0x01 // another base64 letter: one bit of the sealed body
	for _, bad := range []string{string(flip), tok[:len(tok)-2], other[:len(other)/2] + tok[len(tok)/2:], tok + ".x", "",
		strings.Repeat("A", 500)} {
		if _, ok := s.Open(bad, now); ok {
			t.Errorf("opened %q", bad)
		}
	}
}

// FuzzTokenOpen: no input panics, and only what Sign made opens.
func FuzzTokenOpen(f *testing.F) {
	s := display.NewTokens([]byte("platform secret, 32 bytes long!!"))
	now := time.Unix(1_800_000_000, 0)
	good := s.Sign(display.Token{OrderID: "4200", ConsumerID: "c1", ExposureID: "EX1", Expires: now.Add(time.Hour)})
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Add(good + "x")
	f.Fuzz(func(t *testing.T, tok string) {
		got, ok := s.Open(tok, now)
		if ok && s.Sign(got) != tok {
			t.Fatalf("opened %q, which Sign would not make: %+v", tok, got)
		}
	})
}
