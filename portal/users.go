package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/fenfu/fenfu/merchantuser"
)

// usersView is the merchant's users, and one just added with what it
// needs to log in, shown once.
type usersView struct {
	Users    []merchantuser.User
	Roles    []merchantuser.Role
	Enrolled *merchantuser.Enrollment
	// Reset is a user's temporary password just set, shown this once.
	Reset *resetView
}

// resetView is a temporary password and whose it is.
type resetView struct {
	Name, Password string
}

func (p *Portal) usersPage(ctx context.Context, c *call, en *merchantuser.Enrollment) error {
	return p.usersWith(ctx, c, usersView{Enrolled: en})
}

// usersDone are the notices of a change to a user, by the query's key
// that names the user.
var usersDone = []struct{ key, word string }{
	{"disabled", "user-disabled"}, {"role", "user-role-set"}, {"totp", "user-totp-reset"},
}

func (p *Portal) usersWith(ctx context.Context, c *call, v usersView) error {
	list, err := p.Users.List(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	// The notice of a change to a user names a user of the merchant's
	// (a disabled one, for a disabling), never the link's text.
	notice := ""
	if v.Enrolled == nil && v.Reset == nil && c.r.Method == http.MethodGet {
		for _, d := range usersDone {
			name := c.r.URL.Query().Get(d.key)
			for _, u := range list {
				if name != "" && u.Name == name && (u.Disabled == (d.key == "disabled")) {
					notice = word(c.lang, d.word) + u.Name
				}
			}
		}
	}
	v.Users, v.Roles = list, merchantuser.Roles
	return c.page("users", "users", v, notice)
}

func (p *Portal) users(ctx context.Context, c *call) error { return p.usersPage(ctx, c, nil) }

// addUser adds a user to the owner's merchant (merchantuser.Add), and
// shows its TOTP secret on this answer only.
func (p *Portal) addUser(ctx context.Context, c *call) error {
	f := c.r.PostForm
	en, err := p.Users.Add(ctx, c.user, merchantuser.NewUser{Name: strings.TrimSpace(f.Get("name")), Role: merchantuser.Role(f.Get("role")),
		Password: f.Get("password"), TOTP: f.Get("totp") == "1"})
	if err != nil {
		return c.again(ctx, err, p.users)
	}
	c.done = map[string]any{"user": en.User.Actor(), "role": en.User.Role}
	return p.usersPage(ctx, c, &en)
}

// disableUser disables a user of the owner's merchant
// (merchantuser.Disable), ending its sessions.
func (p *Portal) disableUser(ctx context.Context, c *call) error {
	name := c.r.PathValue("name")
	if err := p.Users.Disable(ctx, c.user, name); err != nil {
		return c.again(ctx, err, p.users)
	}
	return c.redirect("/portal/users?disabled=" + url.QueryEscape(name))
}

// setUserRole gives a user of the owner's merchant another role
// (merchantuser.SetRole), ending its sessions.
func (p *Portal) setUserRole(ctx context.Context, c *call) error {
	name, role := c.r.PathValue("name"), merchantuser.Role(c.r.PostForm.Get("role"))
	if err := p.Users.SetRole(ctx, c.user, name, role); err != nil {
		return c.again(ctx, err, p.users)
	}
	c.done = map[string]any{"user": merchantuser.User{MchID: c.user.MchID, Name: name}.Actor(), "role": role}
	return c.redirect("/portal/users?role=" + url.QueryEscape(name))
}

// resetUserPassword gives a user of the owner's merchant a temporary
// password (merchantuser.ResetPassword), ending its sessions, and shows it
// on this answer only: never in a link, the log or the audit log.
func (p *Portal) resetUserPassword(ctx context.Context, c *call) error {
	name := c.r.PathValue("name")
	temp, err := p.Users.ResetPassword(ctx, c.user, name)
	if err != nil {
		return c.again(ctx, err, p.users)
	}
	c.done = map[string]any{"user": merchantuser.User{MchID: c.user.MchID, Name: name}.Actor()}
	return p.usersWith(ctx, c, usersView{Reset: &resetView{Name: name, Password: temp}})
}

// resetUserTOTP clears a user's second factor (merchantuser.ResetTOTP),
// ending its sessions: it enrols a new one at its next login.
func (p *Portal) resetUserTOTP(ctx context.Context, c *call) error {
	name := c.r.PathValue("name")
	if err := p.Users.ResetTOTP(ctx, c.user, name); err != nil {
		return c.again(ctx, err, p.users)
	}
	c.done = map[string]any{"user": merchantuser.User{MchID: c.user.MchID, Name: name}.Actor()}
	return c.redirect("/portal/users?totp=" + url.QueryEscape(name))
}
