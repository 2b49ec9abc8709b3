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
	f.Add(v1(v))
	f.Add("sm4env2.00000000.a.b")
	f.Add("sm4env2..a.b")
	f.Fuzz(func(t *testing.T, in string) {
		got, openErr := s.Open(in, "ctx")
		if openErr == nil && got != "secret" {
			t.Fatalf("opened a forged value to %q", got)
		}
		// A value that opens still opens to the same after Rewrap.
		if out, _, err := s.Rewrap(in, "ctx"); openErr == nil {
			if err != nil {
				t.Fatalf("Rewrap of a value that opens: %v", err)
			}
			if again, err := s.Open(out, "ctx"); err != nil || again != got {
				t.Fatalf("rewrapped to one that opens to %q, %v", again, err)
			}
		}
		_, _ = MasterOf(in)
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

// v1 turns a version 2 envelope into the version 1 one of the same data
// key and data: the master's ID is the only difference.
func v1(v2 string) string {
	parts := strings.SplitN(v2, ".", 3)
	return prefixV1 + parts[2]
}

// TestMasterRotation: a Sealer holding a new master and the old one opens
// values of both and of the old format; Rewrap moves a value to the new
// master without changing what it opens to, after which the old master
// alone no longer opens it.
func TestMasterRotation(t *testing.T) {
	oldKey, newKey := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	old, _ := New(oldKey)
	both, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if old.Current() == both.Current() || both.Current() != MasterID(newKey) {
		t.Fatal("master IDs do not tell the masters apart")
	}
	const ctx = "consumers.phone:c1"
	v, _ := old.Seal("13800138000", ctx)
	if id, _ := MasterOf(v); id != old.Current() {
		t.Fatalf("the envelope names master %q, want %q", id, old.Current())
	}
	for name, sealed := range map[string]string{"version 2": v, "version 1": v1(v)} {
		if got, err := both.Open(sealed, ctx); err != nil || got != "13800138000" {
			t.Fatalf("%s: the previous master's value does not open: %q, %v", name, got, err)
		}
		if id, err := both.WrappedBy(sealed, ctx); err != nil || id != old.Current() {
			t.Fatalf("%s: WrappedBy = %q, %v", name, id, err)
		}
		re, changed, err := both.Rewrap(sealed, ctx)
		if err != nil || !changed {
			t.Fatalf("%s: Rewrap: %v %v", name, changed, err)
		}
		if !strings.HasSuffix(re, strings.SplitN(v, ".", 4)[3]) {
			t.Fatalf("%s: Rewrap changed the data, not only its wrapped key", name)
		}
		if got, err := both.Open(re, ctx); err != nil || got != "13800138000" {
			t.Fatalf("%s: the rewrapped value opens to %q, %v", name, got, err)
		}
		if _, err := old.Open(re, ctx); err != ErrOpen {
			t.Fatalf("%s: the old master alone opens a rewrapped value", name)
		}
		if again, changed, err := both.Rewrap(re, ctx); err != nil || changed || again != re {
			t.Fatalf("%s: rewrapping twice changed the value", name)
		}
		if _, _, err := both.Rewrap(sealed, "consumers.phone:c2"); err != ErrOpen {
			t.Fatalf("%s: rewrapped in another context: %v", name, err)
		}
	}
	newOnly, _ := New(newKey)
	if _, err := newOnly.Open(v, ctx); err != ErrOpen {
		t.Fatal("a master opened a value another wrapped")
	}
}

// TestIndexKeyOutlivesMaster: a Sealer given the stored index key
// computes the indexes its first master derived, whatever master it holds.
func TestIndexKeyOutlivesMaster(t *testing.T) {
	old, _ := New([]byte("0123456789abcdef"))
	want := old.Index("consumers.phone", "13800138000")
	next, _ := New([]byte("fedcba9876543210"))
	if next.Index("consumers.phone", "13800138000") == want {
		t.Fatal("two masters derive one index key")
	}
	kept, err := next.WithIndexKey(old.DerivedIndexKey())
	if err != nil {
		t.Fatal(err)
	}
	if kept.Index("consumers.phone", "13800138000") != want {
		t.Fatal("the kept index key does not give the indexes written before")
	}
	if _, err := next.WithIndexKey([]byte("short")); err == nil {
		t.Fatal("took a short index key")
	}
}

// TestSealWith: with a sealer a value is stored sealed and opens in its
// context; without one it is kept as given, and a sealed value does not
// open.
func TestSealWith(t *testing.T) {
	s, err := New([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := SealWith(s, "JBSWY3DPEHPK3PXP", "staff.totp:ann")
	if err != nil || !Sealed(stored) {
		t.Fatalf("sealed %q, %v", stored, err)
	}
	if got, err := OpenWith(s, stored, "staff.totp:ann"); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Errorf("opened %q, %v", got, err)
	}
	if _, err := OpenWith(s, stored, "staff.totp:bo"); err == nil {
		t.Error("opened in another context")
	}
	if _, err := OpenWith(nil, stored, "staff.totp:ann"); err == nil {
		t.Error("a sealed value opened without a sealer")
	}
	if kept, err := SealWith(nil, "JBSWY3DPEHPK3PXP", "x"); err != nil || kept != "JBSWY3DPEHPK3PXP" {
		t.Errorf("without a sealer: %q, %v", kept, err)
	}
	if got, err := OpenWith(nil, "JBSWY3DPEHPK3PXP", "x"); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Errorf("a value stored unsealed: %q, %v", got, err)
	}
}
