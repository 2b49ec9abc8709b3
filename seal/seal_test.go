package seal

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, _ := New([]byte("0123456789abcdef"))
	other, _ := New([]byte("fedcba9876543210"))
	v, err := s.Seal("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb", "merchants.apiv3_key:1900000001")
	if err != nil {
		t.Fatal(err)
	}
	if !Sealed(v) || strings.Contains(v, "a7cde1") {
		t.Fatalf("sealed value %q", v)
	}
	if got, err := s.Open(v, "merchants.apiv3_key:1900000001"); err != nil || got != "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(v, "merchants.apiv3_key:1900000002"); err != ErrOpen {
		t.Fatalf("opened in another context: %v", err)
	}
	if _, err := other.Open(v, "merchants.apiv3_key:1900000001"); err != ErrOpen {
		t.Fatalf("opened with another master key: %v", err)
	}
	if v2, _ := s.Seal("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb", "merchants.apiv3_key:1900000001"); v2 == v {
		t.Fatal("sealing twice gave the same ciphertext")
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := New([]byte("0123456789abcdef"))
	v, _ := s.Seal("secret", "ctx")
	f.Add(v)
	f.Add("sm4env1.a.b")
	f.Fuzz(func(t *testing.T, in string) {
		if got, err := s.Open(in, "ctx"); err == nil && got != "secret" {
			t.Fatalf("opened a forged value to %q", got)
		}
	})
}

func TestIndex(t *testing.T) {
	s, _ := New([]byte("0123456789abcdef"))
	other, _ := New([]byte("fedcba9876543210"))
	a := s.Index("consumers.phone", "13800138000")
	if a != s.Index("consumers.phone", "13800138000") {
		t.Fatal("the index of one value is not stable")
	}
	if !strings.HasPrefix(a, "sm3bi1.") || strings.Contains(a, "13800138000") {
		t.Fatalf("index %q", a)
	}
	for name, b := range map[string]string{
		"another value":               s.Index("consumers.phone", "13800138001"),
		"another kind":                s.Index("risk_list.licence_number", "13800138000"),
		"another master key":          other.Index("consumers.phone", "13800138000"),
		"kind and value run together": s.Index("consumers.phone1", "3800138000"),
	} {
		if b == a {
			t.Errorf("%s gives the same index", name)
		}
	}
	// The index key is derived: it is not the master key, and an index
	// keyed by the master key itself does not match.
	if string(s.index) == "0123456789abcdef" || a == indexPrefix+encodeMAC([]byte("0123456789abcdef"), "consumers.phone", "13800138000") {
		t.Fatal("the index is keyed by the master key itself")
	}
}

func encodeMAC(key []byte, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString(hmacSM3(key, parts...))
}
