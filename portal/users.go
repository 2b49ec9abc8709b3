package portal

import (
	"context"
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
}

func (p *Portal) usersPage(ctx context.Context, c *call, en *merchantuser.Enrollment) error {
	list, err := p.Users.List(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	// The notice of a user just disabled names a disabled user of the
	// merchant's, never the link's text.
	notice := ""
	if name := c.r.URL.Query().Get("disabled"); name != "" && en == nil {
		for _, u := range list {
			if u.Name == name && u.Disabled {
				notice = word(c.lang, "user-disabled") + u.Name
			}
		}
	}
	return c.page("users", "users", usersView{Users: list, Roles: merchantuser.Roles, Enrolled: en}, notice)
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
