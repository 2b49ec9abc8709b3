package access_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/seal"
)

func each(t *testing.T, f func(t *testing.T, s *access.Service, clock *fenfu.FakeClock, core *db.DB)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			s := access.New(core, clock)
			var err error
			if s.Sealer, err = seal.New([]byte("0123456789abcdef")); err != nil {
				t.Fatal(err)
			}
			f(t, s, clock, core)
		})
	}
}

const password = "a long enough password"

// TestBootstrapOnce: of bootstraps at once, one makes the director; any
// later one is refused.
func TestBootstrapOnce(t *testing.T) {
	each(t, func(t *testing.T, s *access.Service, clock *fenfu.FakeClock, core *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		made := 0
		for i := range 4 {
			wg.Go(func() {
				en, err := s.Bootstrap(ctx, "test", []string{"ann", "bo", "cy", "di"}[i], password)
				if err == nil {
					mu.Lock()
					made++
					mu.Unlock()
					if en.Staff.Rank != access.Director || en.TOTPSecret == "" || en.TOTPURL == "" {
						t.Errorf("bootstrap made %+v", en)
					}
				} else if fenfu.ErrorCode(err) != fenfu.InvalidRequest {
					t.Errorf("a refused bootstrap: %v", err)
				}
			})
		}
		wg.Wait()
		if list, err := s.List(ctx); made != 1 || err != nil || len(list) != 1 {
			t.Errorf("%d bootstraps succeeded, %d staff (%v); want one", made, len(list), err)
		}
	})
}

// TestAddChecks: names, departments, ranks and passwords are checked, and
// the TOTP secret is stored sealed.
func TestAddChecks(t *testing.T) {
	each(t, func(t *testing.T, s *access.Service, clock *fenfu.FakeClock, core *db.DB) {
		ctx := context.Background()
		for name, n := range map[string]access.NewStaff{
			"name":       {Name: "Bad Name", Department: access.Risk, Rank: access.StaffRank, Password: password},
			"department": {Name: "ok", Department: "legal", Rank: access.StaffRank, Password: password},
			"rank":       {Name: "ok", Department: access.Risk, Rank: "chief", Password: password},
			"password":   {Name: "ok", Department: access.Risk, Rank: access.StaffRank, Password: "short"},
		} {
			if _, err := s.Add(ctx, "test", n); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("bad %s: %v, want PARAM_ERROR", name, err)
			}
		}
		en, err := s.Add(ctx, "test", access.NewStaff{Name: "ok", Department: access.Risk, Rank: access.StaffRank, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Add(ctx, "test", access.NewStaff{Name: "ok", Department: access.Risk, Rank: access.StaffRank, Password: password}); err == nil {
			t.Error("the same name twice was added")
		}
		stored, err := core.Strings(ctx, `SELECT totp_secret || ' ' || password_hash FROM staff WHERE name = 'ok'`)
		if err != nil || len(stored) != 1 || !seal.Sealed(stored[0]) || strings.Contains(stored[0], en.TOTPSecret) || strings.Contains(stored[0], password) {
			t.Errorf("stored %q: the TOTP secret or password is in the clear", stored)
		}
	})
}

// TestTOTPOnce: a code of the step before or after passes once; a code
// two steps away does not.
func TestTOTPOnce(t *testing.T) {
	each(t, func(t *testing.T, s *access.Service, clock *fenfu.FakeClock, core *db.DB) {
		ctx := context.Background()
		en, err := s.Add(ctx, "test", access.NewStaff{Name: "ok", Department: access.Risk, Rank: access.StaffRank, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		old, _ := totp.GenerateCode(en.TOTPSecret, clock.Now().Add(-60*time.Second))
		if _, err := s.Login(ctx, "ok", password, old, ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("a code two steps old: %v", err)
		}
		prev, _ := totp.GenerateCode(en.TOTPSecret, clock.Now().Add(-30*time.Second))
		if _, err := s.Login(ctx, "ok", password, prev, ""); err != nil {
			t.Errorf("the previous step's code: %v", err)
		}
		if _, err := s.Login(ctx, "ok", password, prev, ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("the same code again: %v", err)
		}
	})
}

func TestPolicyAllows(t *testing.T) {
	p := access.Policy{{Permission: access.Unmask, Department: access.Support, MinRank: access.Supervisor}}
	for _, tc := range []struct {
		st   access.Staff
		want bool
	}{
		{access.Staff{Department: access.Support, Rank: access.StaffRank}, false},
		{access.Staff{Department: access.Support, Rank: access.Supervisor}, true},
		{access.Staff{Department: access.Support, Rank: access.Manager}, true},
		{access.Staff{Department: access.Risk, Rank: access.Manager}, false},
		{access.Staff{Department: access.Finance, Rank: access.Director}, true},
		{access.Staff{Department: access.Finance, Rank: access.Director, Disabled: true}, false},
	} {
		if got := p.Allows(tc.st, access.Unmask); got != tc.want {
			t.Errorf("%+v: Allows = %v, want %v", tc.st, got, tc.want)
		}
	}
}

// TestPasswordHashUpgrade: a password hashed by the first scheme
// (PBKDF2-SHA256) still logs in, and its hash is replaced by an argon2id
// one on that login.
func TestPasswordHashUpgrade(t *testing.T) {
	each(t, func(t *testing.T, s *access.Service, clock *fenfu.FakeClock, core *db.DB) {
		ctx := context.Background()
		en, err := s.Add(ctx, "test", access.NewStaff{Name: "ok", Department: access.Risk, Rank: access.StaffRank, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		salt := []byte("sixteen byte sal")
		key, _ := pbkdf2.Key(sha256.New, password, salt, 20000, 32)
		old := "pbkdf2-sha256$20000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
		if _, err := core.Exec(ctx, `UPDATE staff SET password_hash = $1 WHERE name = 'ok'`, old); err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(en.TOTPSecret, clock.Now())
		if _, err := s.Login(ctx, "ok", password, code, ""); err != nil {
			t.Fatalf("login against the old hash: %v", err)
		}
		if h, err := core.Strings(ctx, `SELECT password_hash FROM staff WHERE name = 'ok'`); err != nil || len(h) != 1 || !strings.HasPrefix(h[0], "$argon2id$") {
			t.Fatalf("hash after login = %q, %v; want argon2id", h, err)
		}
		clock.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(en.TOTPSecret, clock.Now())
		if _, err := s.Login(ctx, "ok", password, code, ""); err != nil {
			t.Errorf("login against the upgraded hash: %v", err)
		}
	})
}
