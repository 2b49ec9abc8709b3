package merchantuser_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/merchantuser"
)

// users makes the merchant's owner ann, and bo (finance) and cy
// (support), and logs ann in.
func (e env) users(t *testing.T) (merchantuser.User, merchantuser.Enrollment) {
	t.Helper()
	ctx := context.Background()
	en := e.owner(t, "ann")
	sess, err := e.s.Login(ctx, e.mchid, "ann", password, e.code(t, en), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []merchantuser.NewUser{{Name: "bo", Role: merchantuser.Finance, Password: password},
		{Name: "cy", Role: merchantuser.Support, Password: password}} {
		if _, err := e.s.Add(ctx, sess.User, n); err != nil {
			t.Fatal(err)
		}
	}
	return sess.User, en
}

// audited is the audit log's entries of action, in order.
func (e env) audited(t *testing.T, action string) []audit.Entry {
	t.Helper()
	entries, err := audit.List(context.Background(), e.core, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestSetRole: an owner changes a user's role, which ends the user's
// sessions and is audited; a role that needs a second factor makes the
// user enrol one; the last owner who can log in keeps the role, and only
// an owner changes roles.
func TestSetRole(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		ann, _ := e.users(t)
		bo, err := e.s.Login(ctx, e.mchid, "bo", password, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetRole(ctx, bo.User, "cy", merchantuser.Finance); fenfu.ErrorCode(err) != fenfu.Forbidden {
			t.Errorf("finance changing a role: %v, want FORBIDDEN", err)
		}
		if err := e.s.SetRole(ctx, ann, "ann", merchantuser.Finance); fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "only owner") {
			t.Errorf("the last owner demoting itself: %v", err)
		}
		if err := e.s.SetRole(ctx, ann, "bo", "admin"); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("an unknown role: %v", err)
		}
		if err := e.s.SetRole(ctx, ann, "bo", merchantuser.Developer); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Authenticate(ctx, bo.Token); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("bo's session after its role changed: %v", err)
		}
		u, _ := e.s.Get(ctx, e.mchid, "bo")
		if u.Role != merchantuser.Developer || !u.TOTPEnrol || u.TOTP {
			t.Errorf("bo after it became a developer: %+v", u)
		}
		// Another owner, and then ann may step down.
		if err := e.s.SetRole(ctx, ann, "cy", merchantuser.Owner); err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetRole(ctx, ann, "ann", merchantuser.Support); err != nil {
			t.Errorf("an owner stepping down beside another: %v", err)
		}
		got := e.audited(t, merchantuser.ActionRole) // the newest first
		if len(got) != 3 || got[2].Actor != "merchant_user:"+e.mchid+"/ann" || got[2].Target.ID != "merchant_user:"+e.mchid+"/bo" ||
			!strings.Contains(string(got[2].Detail), `"from":"finance"`) || !strings.Contains(string(got[2].Detail), `"role":"developer"`) {
			t.Errorf("the audit log of role changes: %+v", got)
		}
	})
}

// TestResetPassword: an owner's reset gives the user a temporary
// password, shown once and kept only as a hash, which ends the user's
// sessions; the user logs in with it and is made to choose its own, which
// must differ; an owner does not reset its own.
func TestResetPassword(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		ann, _ := e.users(t)
		bo, err := e.s.Login(ctx, e.mchid, "bo", password, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ResetPassword(ctx, ann, "ann"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Errorf("an owner resetting its own password: %v", err)
		}
		if _, err := e.s.ResetPassword(ctx, bo.User, "cy"); fenfu.ErrorCode(err) != fenfu.Forbidden {
			t.Errorf("finance resetting a password: %v", err)
		}
		temp, err := e.s.ResetPassword(ctx, ann, "bo")
		if err != nil {
			t.Fatal(err)
		}
		if len(temp) < 20 {
			t.Errorf("temporary password %q", temp)
		}
		if _, err := e.s.Authenticate(ctx, bo.Token); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("bo's session after the reset: %v", err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "bo", password, "", ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("bo's old password after the reset: %v", err)
		}
		var stored string
		if err := e.core.QueryRowContext(ctx, `SELECT password_hash FROM merchant_users WHERE name = 'bo'`).Scan(&stored); err != nil ||
			strings.Contains(stored, temp) || !strings.HasPrefix(stored, "$argon2id$") {
			t.Errorf("the store keeps %q (%v)", stored, err)
		}
		s, err := e.s.Login(ctx, e.mchid, "bo", temp, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !s.User.PasswordChange {
			t.Errorf("bo logged in with the temporary password: %+v, want PasswordChange", s.User)
		}
		if err := e.s.ChangePassword(ctx, s.User, "", temp); fenfu.ErrorCode(err) != fenfu.ParamError || fenfu.AsError(err).Field != "password" {
			t.Errorf("keeping the temporary password: %v", err)
		}
		if err := e.s.ChangePassword(ctx, s.User, "", "bo's very own password"); err != nil {
			t.Fatal(err)
		}
		u, _ := e.s.Authenticate(ctx, s.Token)
		if u.PasswordChange {
			t.Errorf("bo after choosing its password: %+v", u)
		}
		if _, err := e.s.Login(ctx, e.mchid, "bo", temp, "", ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("the temporary password once changed: %v", err)
		}
		// Its own change, later, needs the current password.
		if err := e.s.ChangePassword(ctx, u, "wrong password!", "yet another password"); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("a change with a wrong current password: %v", err)
		}
		if err := e.s.ChangePassword(ctx, u, "bo's very own password", "bo's very own password"); fenfu.ErrorCode(err) != fenfu.ParamError ||
			fenfu.AsError(err).Field != "password" {
			t.Errorf("a change to the password it has: %v", err)
		}
		if err := e.s.ChangePassword(ctx, u, "bo's very own password", "yet another password"); err != nil {
			t.Error(err)
		}
		resets := e.audited(t, merchantuser.ActionResetPassword)
		changes := e.audited(t, merchantuser.ActionPassword)
		if len(resets) != 1 || resets[0].Target.ID != "merchant_user:"+e.mchid+"/bo" || len(changes) != 2 {
			t.Errorf("audited: resets %+v, changes %+v", resets, changes)
		}
		all, _ := audit.List(ctx, e.core, audit.Filter{})
		raw, _ := json.Marshal(all)
		if strings.Contains(string(raw), temp) {
			t.Error("the audit log holds the temporary password")
		}
	})
}

// TestResetTOTP: an owner's reset of a user's second factor ends its
// sessions; its next login takes the password alone and it enrols a new
// factor, confirmed by a code, after which its logins need a code again.
func TestResetTOTP(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		ann, _ := e.users(t)
		dev, err := e.s.Add(ctx, ann, merchantuser.NewUser{Name: "dev", Role: merchantuser.Developer, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.ResetTOTP(ctx, ann, "ann"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Errorf("an owner resetting its own second factor: %v", err)
		}
		if err := e.s.ResetTOTP(ctx, ann, "dev"); err != nil {
			t.Fatal(err)
		}
		s, err := e.s.Login(ctx, e.mchid, "dev", password, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !s.User.TOTPEnrol || s.User.TOTP {
			t.Errorf("dev after the reset: %+v", s.User)
		}
		if err := e.s.ConfirmTOTP(ctx, s.User, "123456"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Errorf("confirming before starting: %v", err)
		}
		en, err := e.s.StartTOTP(ctx, s.User)
		if err != nil {
			t.Fatal(err)
		}
		if again, ok, err := e.s.PendingTOTP(ctx, s.User); err != nil || !ok || again.TOTPSecret != en.TOTPSecret || again.TOTPURL != en.TOTPURL {
			t.Errorf("the pending factor shown again: %+v %v %v", again, ok, err)
		}
		// Until it is confirmed, a login takes the password alone.
		if _, err := e.s.Login(ctx, e.mchid, "dev", password, "", ""); err != nil {
			t.Errorf("a login while enrolling: %v", err)
		}
		if err := e.s.ConfirmTOTP(ctx, s.User, "000000"); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("a wrong code: %v", err)
		}
		if err := e.s.ConfirmTOTP(ctx, s.User, e.code(t, dev)); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("confirming with the old factor's code: %v", err)
		}
		if err := e.s.ConfirmTOTP(ctx, s.User, e.code(t, en)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Login(ctx, e.mchid, "dev", password, "", ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("a login without a code once enrolled: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		code, _ := totp.GenerateCode(en.TOTPSecret, e.clock.Now())
		u, err := e.s.Login(ctx, e.mchid, "dev", password, code, "")
		if err != nil || u.User.TOTPEnrol || !u.User.TOTP {
			t.Errorf("a login with the new factor: %+v %v", u.User, err)
		}
		if got := e.audited(t, merchantuser.ActionResetTOTP); len(got) != 1 || !strings.Contains(string(got[0].Detail), `"had_totp":true`) {
			t.Errorf("audited resets: %+v", got)
		}
		if got := e.audited(t, merchantuser.ActionEnrolTOTP); len(got) != 1 {
			t.Errorf("audited enrolments: %+v", got)
		}
	})
}
