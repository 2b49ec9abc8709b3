package login

import (
	"strings"
	"testing"
)

func TestCheckPIN(t *testing.T) {
	h := Hash("246810")
	if ok, stale := Check(h, "246810"); !ok || stale {
		t.Errorf("today's hash with the right PIN: ok %v, stale %v", ok, stale)
	}
	if ok, _ := Check(h, "246811"); ok {
		t.Error("a wrong PIN matched")
	}
	weaker := encodeArgon2id("246810", []byte("0123456789abcdef"), 8*1024, 1, 1, 32)
	if ok, stale := Check(weaker, "246810"); !ok || !stale {
		t.Errorf("an argon2id hash with other parameters: ok %v, stale %v; want a stale match", ok, stale)
	}
	parts := strings.Split(h, "$")
	for name, bad := range map[string]string{
		"empty":         "",
		"unknown":       "bcrypt$2a$10$abc",
		"argon2i":       strings.Replace(h, "$argon2id$", "$argon2i$", 1),
		"version":       strings.Replace(h, "$v=19$", "$v=16$", 1),
		"huge memory":   strings.Replace(h, "m=19456", "m=99999999", 1),
		"huge time":     strings.Replace(h, "t=2", "t=1000", 1),
		"no threads":    strings.Replace(h, "p=1", "p=0", 1),
		"bad salt":      strings.Replace(h, parts[4], "!!", 1),
		"short hash":    strings.Replace(h, parts[5], "AAAA", 1),
		"extra field":   h + "$x",
		"pbkdf2 rounds": "pbkdf2-sha256$0$AAAA$AAAA",
	} {
		if ok, _ := Check(bad, "246810"); ok {
			t.Errorf("%s: %q matched", name, bad)
		}
	}
}

// BenchmarkHash measures one login's secret check at today's parameters,
// and the PBKDF2 scheme it replaced, for comparison.
func BenchmarkHash(b *testing.B) {
	h := Hash("246810")
	b.Run("argon2id", func(b *testing.B) {
		for b.Loop() {
			Check(h, "246810")
		}
	})
	old := "pbkdf2-sha256$20000$c2l4dGVlbiBieXRlIHNhbA$9f8bbNJAMjFOMq4F4R2xtgXmYl2JjCpA5K3Q79b3fc0"
	b.Run("pbkdf2-sha256", func(b *testing.B) {
		for b.Loop() {
			Check(old, "246810")
		}
	})
}

// TestDummyHash: the hash unknown names are checked against has today's
// parameters, so checking it costs what checking a real secret does.
func TestDummyHash(t *testing.T) {
	if _, stale := Check(DummyHash, "000000"); stale {
		t.Errorf("DummyHash %q is stale: make a new one with Hash", DummyHash)
	}
	h := Hash("000000")
	if got, want := strings.Join(strings.Split(DummyHash, "$")[:4], "$"), strings.Join(strings.Split(h, "$")[:4], "$"); got != want {
		t.Errorf("DummyHash parameters %s, want %s", got, want)
	}
}
