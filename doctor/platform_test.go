package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/seal"
)

// TestPlatformCertificateExpiry: a merchant holding the current platform
// certificate passes while it has more than 30 days left, is warned
// within 30 days (saying when it expires), and fails once it has expired;
// one holding the public key is never told of the certificate's expiry.
func TestPlatformCertificateExpiry(t *testing.T) {
	keys, _ := openKeys(t, fenfu.SystemClock{})
	d := &Doctor{Keys: keys}
	for _, n := range keyring.Schemes {
		pk := keys.Platform(n)
		cert, notAfter := pk.Certificate.SerialNo, pk.Certificate.NotAfter
		for _, c := range []struct {
			serial string
			now    time.Time
			v      Verdict
			code   fenfu.Code
			what   string
		}{
			{cert, notAfter.Add(-31 * 24 * time.Hour), Pass, "", "is current"},
			{cert, notAfter.Add(-10 * 24 * time.Hour), Warn, fenfu.PlatformCertExpiring, "in 10 days"},
			{cert, notAfter, Fail, fenfu.PlatformCertExpired, "expired at " + notAfter.UTC().Format(time.RFC3339)},
			{pk.ID, notAfter.Add(time.Hour), Pass, "", "is current"},
		} {
			got := d.platformKey(n, c.serial, c.now, catalog.EN)
			if got.Verdict != c.v || got.Code != c.code || !strings.Contains(got.Detail, c.what) {
				t.Errorf("%s %s at %s: %+v, want %s %s %q", n, c.serial, c.now, got, c.v, c.code, c.what)
			}
		}
	}
}

// openKeys opens a core store and the platform's keys in it.
func openKeys(t *testing.T, clock fenfu.Clock) (*keyring.Keyring, *db.DB) {
	t.Helper()
	sealer, err := seal.New([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	store := dbtest.Open(t, db.SQLite, "core", clock)
	keys, err := keyring.Open(t.Context(), store, t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	return keys, store
}

// TestUnsignedChecks: checks asked for without a signed request (from
// the merchant portal) skip the merchant's clock and key, saying where
// they are checked, and judge the platform key only when one is named.
func TestUnsignedChecks(t *testing.T) {
	d := &Doctor{Clock: fenfu.SystemClock{}}
	rep, err := d.Run(t.Context(), Subject{MchID: "1900000001", Unsigned: true}, catalog.EN)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Check{}
	for _, c := range rep.Checks {
		seen[c.Name] = c
	}
	for _, name := range []string{CheckClock, CheckMerchantKey} {
		if c := seen[name]; c.Verdict != Skip || !strings.Contains(c.Detail, "fenfu doctor") {
			t.Errorf("%s of unsigned checks: %+v", name, c)
		}
	}
	if c := seen[CheckPlatformKey]; c.Verdict != Skip || c.Code != "" {
		t.Errorf("the platform key, none named: %+v", c)
	}
}
