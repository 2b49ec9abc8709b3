package merchantuser_test

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
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

type env struct {
	s     *merchantuser.Service
	clock *fenfu.FakeClock
	core  *db.DB
	mchid string
}

func each(t *testing.T, f func(t *testing.T, e env)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			s := merchantuser.New(core, clock)
			var err error
			if s.Sealer, err = seal.New([]byte("0123456789abcdef")); err != nil {
				t.Fatal(err)
			}
			m, err := merchant.New(core, &fenfu.RandomIDs{}, clock).CreateSandbox(context.Background(), "Shop", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			f(t, env{s: s, clock: clock, core: core, mchid: m.MchID})
		})
	}
}

const password = "a long enough password"

// owner makes the merchant's first owner, as platform staff do.
func (e env) owner(t *testing.T, name string) merchantuser.Enrollment {
	t.Helper()
	en, err := e.s.AddOwner(context.Background(), "staff:li.wei", merchantuser.NewUser{MchID: e.mchid, Name: name, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return en
}

// code is the TOTP code of an enrollment now.
func (e env) code(t *testing.T, en merchantuser.Enrollment) string {
	t.Helper()
	c, err := totp.GenerateCode(en.TOTPSecret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFirstOwner: platform staff make a merchant's first owner, with a
// second factor, one at a time: of several made at once one is made, and
// any later one is refused while an owner can log in.
func TestFirstOwner(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		made := 0
		for i := range 4 {
			wg.Go(func() {
				en, err := e.s.AddOwner(ctx, "staff:li.wei", merchantuser.NewUser{MchID: e.mchid, Name: []string{"ann", "bo", "cy", "di"}[i],
					Role: merchantuser.Support, Password: password})
				if err == nil {
					mu.Lock()
					made++
					mu.Unlock()
					if en.User.Role != merchantuser.Owner || !en.User.TOTP || en.TOTPSecret == "" || !strings.HasPrefix(en.TOTPURL, "otpauth://") {
						t.Errorf("the first owner: %+v", en)
					}
				} else if fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "already has an owner") {
					t.Errorf("a second first owner: %v", err)
				}
			})
		}
		wg.Wait()
		if list, err := e.s.List(ctx, e.mchid); made != 1 || err != nil || len(list) != 1 {
			t.Errorf("%d owners made, %d users (%v); want one", made, len(list), err)
		}
		if _, err := e.s.AddOwner(ctx, "staff:li.wei", merchantuser.NewUser{MchID: "1900000000", Name: "ann", Password: password}); fenfu.ErrorCode(err) != fenfu.MchNotExists {
			t.Errorf("an owner of an unknown merchant: %v", err)
		}
		stored, err := e.core.Strings(ctx, `SELECT totp_secret FROM merchant_users`)
		if err != nil || len(stored) != 1 || !seal.Sealed(stored[0]) {
			t.Errorf("the TOTP secret is stored as %q (%v), want it sealed", stored, err)
		}
		entries, err := audit.List(ctx, e.core, audit.Filter{Action: merchantuser.ActionAdd})
		if err != nil || len(entries) != 1 || entries[0].Actor != "staff:li.wei" || !strings.HasPrefix(entries[0].Target.ID, "merchant_user:"+e.mchid+"/") {
			t.Errorf("the audit log of the owner made: %+v, %v", entries, err)
		}
		// An owner who lost the second factor: staff disable it, which an
		// owner may not do to the last owner, and make a new one.
		list, _ := e.s.List(ctx, e.mchid)
		if err := e.s.DisableByStaff(ctx, "staff:li.wei", e.mchid, list[0].Name); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.AddOwner(ctx, "staff:li.wei", merchantuser.NewUser{MchID: e.mchid, Name: "eve", Password: password}); err != nil {
			t.Errorf("a new owner once the last was disabled: %v", err)
		}
	})
}

// TestOwnersAddUsers: owners add users of every role, owners and
// developers always with a second factor and others when asked; no other
// role adds users; names, roles and passwords are checked.
func TestOwnersAddUsers(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		owner := e.owner(t, "ann").User
		for _, c := range []struct {
			name string
			role merchantuser.Role
			totp bool
			want bool
		}{
			{"fin", merchantuser.Finance, false, false},
			{"dev", merchantuser.Developer, false, true},
			{"sup", merchantuser.Support, true, true},
			{"own", merchantuser.Owner, false, true},
		} {
			en, err := e.s.Add(ctx, owner, merchantuser.NewUser{Name: c.name, Role: c.role, Password: password, TOTP: c.totp})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if en.User.TOTP != c.want || (en.TOTPSecret != "") != c.want || en.User.MchID != e.mchid || en.User.CreatedBy != owner.Actor() {
				t.Errorf("%s: %+v, want a second factor %v", c.name, en, c.want)
			}
		}
		fin, _ := e.s.Get(ctx, e.mchid, "fin")
		if _, err := e.s.Add(ctx, fin, merchantuser.NewUser{Name: "x", Role: merchantuser.Support, Password: password}); fenfu.ErrorCode(err) != fenfu.Forbidden ||
			!strings.Contains(fenfu.AsError(err).Remedy, "owner") {
			t.Errorf("finance adding a user: %v", err)
		}
		for field, n := range map[string]merchantuser.NewUser{
			"name":     {Name: "Bad Name", Role: merchantuser.Support, Password: password},
			"role":     {Name: "ok", Role: "cashier", Password: password},
			"password": {Name: "ok", Role: merchantuser.Support, Password: "short"},
		} {
			if _, err := e.s.Add(ctx, owner, n); fenfu.AsError(err).Field != field {
				t.Errorf("a bad %s: %v", field, err)
			}
		}
		if _, err := e.s.Add(ctx, owner, merchantuser.NewUser{Name: "fin", Role: merchantuser.Support, Password: password}); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Errorf("a name taken: %v", err)
		}
	})
}

// TestLogin: a user logs in with its merchant, name, password and, if it
// has one, the current TOTP code, which works once; wrong logins lock the
// user after the limit; each login and refused login is in the audit log
// under the user; logout and disabling end sessions.
func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		en := e.owner(t, "ann")
		owner := en.User
		code := e.code(t, en)
		sess, err := e.s.Login(ctx, e.mchid, "ann", password, code, "10.0.0.9:1234")
		if err != nil || len(sess.Token) < 40 || sess.User.Name != "ann" || sess.User.Role != merchantuser.Owner {
			t.Fatalf("login: %+v, %v", sess, err)
		}
		if u, err := e.s.Authenticate(ctx, sess.Token); err != nil || u.Actor() != owner.Actor() {
			t.Fatalf("authenticate: %+v, %v", u, err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, code, "10.0.0.9:1234"); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("the same code again: %v", err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, "", "10.0.0.9:1234"); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("an owner without a code: %v", err)
		}
		if _, err := e.s.Add(ctx, owner, merchantuser.NewUser{Name: "fin", Role: merchantuser.Finance, Password: password}); err != nil {
			t.Fatal(err)
		}
		fin, err := e.s.Login(ctx, e.mchid, "fin", password, "", "10.0.0.9:1234")
		if err != nil {
			t.Fatalf("a finance user without a second factor: %v", err)
		}
		// Another merchant's number with the right name and password is a
		// wrong login.
		if _, err := e.s.Login(ctx, "1900000000", "fin", password, "", "10.0.0.9:1234"); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("another merchant number: %v", err)
		}
		for i := range 5 {
			if _, err := e.s.Login(ctx, e.mchid, "fin", "not the password", "", "10.0.0.9:1234"); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong password %d: %v", i+1, err)
			}
		}
		if _, err := e.s.Login(ctx, e.mchid, "fin", password, "", "10.0.0.9:1234"); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
			t.Errorf("the right password once locked: %v", err)
		}
		entries, err := audit.List(ctx, e.core, audit.Filter{TargetKind: merchantuser.TargetKind})
		if err != nil {
			t.Fatal(err)
		}
		logins, refused := 0, 0
		for _, x := range entries {
			switch x.Action {
			case audit.ActionLogin:
				logins++
				if !strings.HasPrefix(x.Actor, "merchant_user:"+e.mchid+"/") {
					t.Errorf("a login recorded as %q", x.Actor)
				}
			case audit.ActionLoginRefused:
				refused++
			}
		}
		if logins != 2 || refused != 7 {
			t.Errorf("the audit log has %d logins and %d refused, want 2 and 7: %+v", logins, refused, entries)
		}
		if err := e.s.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Authenticate(ctx, sess.Token); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("a session after logout: %v", err)
		}
		if err := e.s.Disable(ctx, owner, "fin"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Authenticate(ctx, fin.Token); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("a disabled user's session: %v", err)
		}
		if err := e.s.Disable(ctx, owner, "fin"); fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "already disabled") {
			t.Errorf("disabling a disabled user: %v", err)
		}
		if entries, err := audit.List(ctx, e.core, audit.Filter{Action: merchantuser.ActionDisable, TargetID: "merchant_user:" + e.mchid + "/fin"}); err != nil || len(entries) != 1 ||
			entries[0].Target.ID != "merchant_user:"+e.mchid+"/fin" || len(entries[0].Detail) != 0 {
			t.Errorf("the audit log's disables: %+v, %v", entries, err)
		}
		if err := e.s.Disable(ctx, owner, "ann"); fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "only owner") {
			t.Errorf("disabling the last owner: %v", err)
		}
		e.clock.Advance(9 * time.Hour)
		e.clock.Advance(time.Minute)
		s2, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), "10.0.0.9:1234")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(login.DefaultLimits().SessionTTL)
		if _, err := e.s.Authenticate(ctx, s2.Token); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("an expired session: %v", err)
		}
	})
}

// TestLoginLimitedPerSource: one address's failed logins are counted
// whichever users they name, known or not: at the limit the address is
// refused, the right password too, with when to try again, and the lock
// is in the audit log once; another address is not refused, a right login
// does not count against its address, and the window's end frees it.
func TestLoginLimitedPerSource(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.s.Limits.Sources = login.Sources{SourceFailures: 3, SourceWindow: 15 * time.Minute}
		en := e.owner(t, "ann")
		const from = "10.0.0.9:1234"
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), from); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"bob", "cat", "ann"} {
			if _, err := e.s.Login(ctx, e.mchid, name, "Summer2026!pass", "", from); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong login %d: %v", i+1, err)
			}
		}
		e.clock.Advance(30 * time.Second)
		_, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), "10.0.0.9:5678")
		if fe := fenfu.AsError(err); fe == nil || fe.Code != fenfu.FrequencyLimited || !strings.Contains(fe.Message, "10:15") ||
			!strings.Contains(fe.Remedy, "another network") {
			t.Errorf("the right login from the address refused: %v, want FREQUENCY_LIMITED until 10:15", err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), "10.0.0.10:1234"); err != nil {
			t.Errorf("from another address: %v", err)
		}
		entries, err := audit.List(ctx, e.core, audit.Filter{TargetKind: "login source"})
		if err != nil || len(entries) != 1 || entries[0].Target.ID != "10.0.0.9" || entries[0].Action != audit.ActionLoginRefused {
			t.Errorf("the address's lock in the audit log: %+v, %v", entries, err)
		}
		e.clock.Advance(15 * time.Minute)
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), from); err != nil {
			t.Errorf("from the address once its window ended: %v", err)
		}
	})
}

// TestRoles: what each role may do, as the README's table says.
func TestRoles(t *testing.T) {
	for _, c := range []struct {
		role merchantuser.Role
		p    merchantuser.Permission
		want bool
	}{
		{merchantuser.Owner, merchantuser.Users, true},
		{merchantuser.Finance, merchantuser.Refund, true},
		{merchantuser.Support, merchantuser.Refund, false},
		{merchantuser.Developer, merchantuser.Refund, false},
		{merchantuser.Developer, merchantuser.Keys, true},
		{merchantuser.Finance, merchantuser.Keys, false},
		{merchantuser.Support, merchantuser.Complaints, true},
		{merchantuser.Support, merchantuser.Orders, true},
		{merchantuser.Support, merchantuser.Resend, false},
		{merchantuser.Developer, merchantuser.Resend, true},
		{merchantuser.Finance, merchantuser.Users, false},
	} {
		if got := c.role.Can(c.p); got != c.want {
			t.Errorf("%s can %s: %v, want %v", c.role, c.p, got, c.want)
		}
	}
	for _, g := range merchantuser.Grants {
		if !merchantuser.Owner.Can(g.Permission) {
			t.Errorf("owners lack %s", g.Permission)
		}
	}
}

// TestStart: a node started again under its name forgets the attempts in
// flight its killed process left on a user's count, so the user logs in
// at once instead of being refused as one login too many at once.
func TestStart(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		en := e.owner(t, "ann")
		lim := login.DefaultLimits()
		killed := &login.Counter{DB: e.core, Clock: e.clock, Node: "till-1"}
		for range lim.LockoutFailures {
			if tr, err := killed.Take(ctx, en.User.Actor(), lim.LockoutFailures, lim.LockoutWindow); err != nil || tr.Locked {
				t.Fatalf("an attempt in flight of the killed process: %+v, %v", tr, err)
			}
		}
		if n, err := e.s.Start(ctx, "till-1"); err != nil || n != lim.LockoutFailures {
			t.Fatalf("started again: forgot %d, %v; want the %d attempts of its previous process", n, err, lim.LockoutFailures)
		}
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), "10.0.0.9:1234"); err != nil {
			t.Errorf("a login once the node forgot its attempts in flight: %v", err)
		}
	})
}

// TestPasswordHashUpgrade: a password hashed by the first scheme
// (PBKDF2-SHA256) still logs in, and its hash is replaced by an argon2id
// one on that login.
func TestPasswordHashUpgrade(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		en := e.owner(t, "ann")
		salt := []byte("sixteen byte sal")
		key, _ := pbkdf2.Key(sha256.New, password, salt, 20000, 32)
		old := "pbkdf2-sha256$20000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
		if _, err := e.core.Exec(ctx, `UPDATE merchant_users SET password_hash = $1 WHERE id = $2`, old, en.User.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), ""); err != nil {
			t.Fatalf("login against the old hash: %v", err)
		}
		if h, err := e.core.Strings(ctx, `SELECT password_hash FROM merchant_users WHERE id = $1`, en.User.ID); err != nil || len(h) != 1 || !strings.HasPrefix(h[0], "$argon2id$") {
			t.Fatalf("hash after login = %q, %v; want argon2id", h, err)
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), ""); err != nil {
			t.Errorf("login against the upgraded hash: %v", err)
		}
	})
}
