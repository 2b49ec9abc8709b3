package login

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTOTPStep: a code is accepted in its step and the steps either side,
// once: not again once its step is the last accepted, and never a code of
// another step or length.
func TestTOTPStep(t *testing.T) {
	secret, url, err := NewTOTP("19000001/alice")
	if err != nil || secret == "" || url == "" {
		t.Fatalf("NewTOTP: %q %q %v", secret, url, err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 10, 0, time.UTC)
	step := now.Unix() / 30
	for off := int64(-1); off <= 1; off++ {
		code, _ := totp.GenerateCode(secret, now.Add(time.Duration(off)*30*time.Second))
		at, ok := TOTPStep(secret, code, now, 0)
		if !ok || at != step+off {
			t.Errorf("the code of step %+d: step %d ok %v, want %d", off, at, ok, step+off)
		}
		if _, ok := TOTPStep(secret, code, now, step+off); ok {
			t.Errorf("the code of step %+d accepted again after its step was used", off)
		}
	}
	old, _ := totp.GenerateCode(secret, now.Add(-90*time.Second))
	if _, ok := TOTPStep(secret, old, now, 0); ok {
		t.Error("a code three steps old was accepted")
	}
	if _, ok := TOTPStep(secret, "12345", now, 0); ok {
		t.Error("a five-digit code was accepted")
	}
}

// TestTOTPURL: the URL of a secret shown again is the one NewTOTP gave.
func TestTOTPURL(t *testing.T) {
	secret, want, err := NewTOTP("1900000109/ann")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := TOTPURL("1900000109/ann", secret); got != want || err != nil {
		t.Errorf("TOTPURL = %s, %v, want %s", got, err, want)
	}
	if _, err := TOTPURL("1900000109/ann", "not base32!"); err == nil {
		t.Error("the URL of a secret that is not base32")
	}
}
