package portal

import (
	"context"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/merchantuser"
)

// A user's own account page: its password, which it must choose after an
// owner reset it (merchantuser.ResetPassword), and the enrolment of a
// second factor after an owner cleared it (merchantuser.ResetTOTP). Its
// routes are every user's: they need no permission. While either is due
// (merchantuser.User.Setup) they are the only ones the portal serves it
// (setupDue).

// setupDue reports whether u is refused what needs p until it has chosen
// its password and enrolled its second factor: whatever needs a
// permission, all but its own account.
func setupDue(u merchantuser.User, p merchantuser.Permission) bool { return u.Setup() && p != "" }

// setupFirst is the refusal of a form of a user whose setup is due.
func setupFirst() error {
	e := fenfu.Errorf(fenfu.NoAuth, "choose your password and enrol your second factor first")
	e.Remedy = "Open your account page (/portal/account), choose a password and set up your authenticator, then try again."
	return e
}

// accountView is the account page's data: the factor being enrolled, if
// any, shown to its user alone.
type accountView struct {
	Enrolling *merchantuser.Enrollment
}

func (p *Portal) account(ctx context.Context, c *call) error {
	notice := ""
	switch c.r.URL.Query().Get("done") {
	case "password":
		notice = word(c.lang, "password-changed")
	case "totp":
		notice = word(c.lang, "totp-enrolled")
	}
	return p.accountPage(ctx, c, notice)
}

// accountPage shows the account page with a notice, and the second
// factor the user is enrolling if there is one.
func (p *Portal) accountPage(ctx context.Context, c *call, notice string) error {
	var v accountView
	if c.user.TOTPEnrol {
		en, ok, err := p.Users.PendingTOTP(ctx, c.user)
		if err != nil {
			return err
		}
		if ok {
			v.Enrolling = &en
		}
	}
	return c.page("account", "account", v, notice)
}

// fresh is the user as it is now, after a change to its own account.
func (p *Portal) fresh(ctx context.Context, c *call) error {
	u, err := p.Users.Authenticate(ctx, Session.Token(c.r))
	if err != nil {
		return err
	}
	c.user = u
	return nil
}

// changePassword sets the user's own password (merchantuser.ChangePassword),
// the new one typed twice.
func (p *Portal) changePassword(ctx context.Context, c *call) error {
	f := c.r.PostForm
	if f.Get("password") != f.Get("password2") {
		return c.again(ctx, fenfu.FieldError("password2", "the two new passwords differ"), p.account)
	}
	if err := p.Users.ChangePassword(ctx, c.user, f.Get("current"), f.Get("password")); err != nil {
		return c.again(ctx, err, p.account)
	}
	c.done = map[string]any{"password_changed": true}
	if err := p.fresh(ctx, c); err != nil {
		return err
	}
	if !c.user.Setup() {
		return c.redirect("/portal/account?done=password")
	}
	return p.accountPage(ctx, c, word(c.lang, "password-changed"))
}

// startTOTP makes the user a new second factor to enrol
// (merchantuser.StartTOTP), shown on the account page until confirmed.
func (p *Portal) startTOTP(ctx context.Context, c *call) error {
	if _, err := p.Users.StartTOTP(ctx, c.user); err != nil {
		return c.again(ctx, err, p.account)
	}
	return c.redirect("/portal/account")
}

// confirmTOTP ends the enrolment with a code of the new factor
// (merchantuser.ConfirmTOTP).
func (p *Portal) confirmTOTP(ctx context.Context, c *call) error {
	if err := p.Users.ConfirmTOTP(ctx, c.user, strings.TrimSpace(c.r.PostForm.Get("totp"))); err != nil {
		return c.again(ctx, err, p.account)
	}
	c.done = map[string]any{"totp_enrolled": true}
	return c.redirect("/portal/account?done=totp")
}
