package keyring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/scheme"
)

func TestLoadCreatesPrivateFiles(t *testing.T) {
	dir := t.TempDir()
	k, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"platform_private_key.pem", "platform_sm2_private_key.pem", "secret", "master.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v", f, err, fi.Mode().Perm())
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "platform_private_key.pem"))
	if !strings.HasPrefix(string(raw), "sm4env") || strings.Contains(string(raw), "PRIVATE KEY") {
		t.Fatal("the platform private key is stored in the clear")
	}
	again, err := Load(dir)
	if err != nil || again.RSA.ID != k.RSA.ID || again.SM2.Certificate.SerialNo != k.SM2.Certificate.SerialNo {
		t.Fatal("a second load made new keys")
	}
	if err := os.Chmod(filepath.Join(dir, "master.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("loaded a master.key readable by others")
	}
}

func TestRotation(t *testing.T) {
	for _, n := range []scheme.Name{scheme.RSA, scheme.SM2} {
		t.Run(n.Algorithm(), func(t *testing.T) {
			dir := t.TempDir()
			k0, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			old := k0.Platform(n)
			next, err := Rotate(dir, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Rotate(dir, n); err == nil {
				t.Fatal("rotated twice without promoting")
			}
			k1, _ := Load(dir)
			if got := k1.Platform(n).ID; got != old.ID {
				t.Fatal("rotation changed the current key")
			}
			if len(k1.All(n)) != 2 || k1.ForSerial(n, next.ID).ID != next.ID || k1.ForSerial(n, next.Certificate.SerialNo).ID != next.ID ||
				k1.ForSerial(n, "").ID != old.ID {
				t.Fatal("the next key is not offered to clients that ask for it")
			}
			if err := Promote(dir, n); err != nil {
				t.Fatal(err)
			}
			k2, _ := Load(dir)
			if k2.Platform(n).ID != next.ID || k2.ForSerial(n, old.ID).ID != old.ID || k2.ForSerial(n, old.ID).Slot != Previous {
				t.Fatal("after promotion the new key is not current, or the old one is not kept")
			}
			if _, err := Rotate(dir, n); err != nil {
				t.Fatal(err)
			}
			if err := Promote(dir, n); err == nil {
				t.Fatal("promoted while a previous key is still kept")
			}
			if err := RetirePrevious(dir, n); err != nil {
				t.Fatal(err)
			}
			k3, _ := Load(dir)
			if k3.ForSerial(n, old.ID).ID == old.ID {
				t.Fatal("a retired key is still used")
			}
		})
	}
}
