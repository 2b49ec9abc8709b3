package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/keyring"
	"github.com/pquerna/otp/totp"
)

// TestResealCoversStaffTOTP: a master-key rotation done as the README
// says (new master with the old as previous, keys reseal, then the new
// alone) leaves nothing under the old master, staff TOTP secrets
// included, and the director still logs in.
func TestResealCoversStaffTOTP(t *testing.T) {
	ctx := context.Background()
	oldHex, newHex := strings.Repeat("1f", 16), strings.Repeat("2e", 16)
	open := func(cfg Config) *app {
		t.Helper()
		a, err := openAt(t.Context(), cfg, discardLogger(), fenfu.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := testConfig(t)
	cfg.MasterKeyHex = oldHex
	a := open(cfg)
	en, err := a.access.Bootstrap(ctx, "test", "boss", "correct horse battery staple 1")
	if err != nil {
		t.Fatal(err)
	}
	a.close()

	rotating := cfg
	rotating.MasterKeyHex, rotating.PreviousMasterKeyHex = newHex, oldHex
	b := open(rotating)
	if _, err := keyring.Reseal(ctx, b.core, b.keys.Sealer, sealedColumns(), nil); err != nil {
		t.Fatal(err)
	}
	counts, err := keyring.Status(ctx, b.core, b.keys.Sealer, sealedColumns())
	if err != nil {
		t.Fatal(err)
	}
	staff := false
	for _, c := range counts {
		for id, n := range c.Masters {
			if id != b.keys.Sealer.Current() && n > 0 {
				t.Errorf("after the reseal %d values remain under %s: %+v", n, id, c)
			}
		}
		staff = staff || strings.Contains(c.Column, "staff")
	}
	if !staff {
		t.Errorf("status does not count the staff's sealed TOTP secrets: %+v", counts)
	}
	b.close()

	rotated := cfg
	rotated.MasterKeyHex = newHex
	c := open(rotated)
	defer c.close()
	code, err := totp.GenerateCode(en.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.access.Login(ctx, "boss", "correct horse battery staple 1", code, "127.0.0.1"); err != nil {
		t.Fatalf("the director cannot log in under the new master: %v", err)
	}
}
