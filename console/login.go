package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/web"
)

// loginForm is the login page's data.
type loginForm struct {
	Next, Name string
}

// loginPage shows the login form: name, password and the TOTP code of
// the authenticator app enrolled when the account was made.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	web.RememberLang(w, r)
	v := &view{Lang: web.LangOf(r), Title: "login", Switch: switchTo(r), Query: r.URL.Query(), r: r, c: c,
		Notice: noticeOf(r.URL.Query().Get("done")),
		Data:   loginForm{Next: safeNext(r.URL.Query().Get("next"))}}
	c.render(w, v)
}

// login checks the form's name, password and TOTP code with
// access.Service.Login, which counts wrong logins, locks a name after too
// many and records each login in the audit log, and starts the session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !web.SameOrigin(r, c.PublicURL) {
		c.crossSite(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.crossSite(w, r)
		return
	}
	name, next := r.PostForm.Get("name"), safeNext(r.PostForm.Get("next"))
	tok, err := c.Access.Login(r.Context(), name, r.PostForm.Get("password"), r.PostForm.Get("totp"), r.RemoteAddr)
	if err != nil {
		v := &view{Lang: web.LangOf(r), Title: "login", Switch: switchTo(r), Query: url.Values{}, r: r, c: c,
			Data: loginForm{Next: next, Name: name}}
		v.Problem = web.ProblemOf(v.Lang, err)
		c.render(w, v)
		return
	}
	// The cookie lasts as the session does, on the clock the session was
	// made on (the system's): a sandbox's clock, which pages go by, may be
	// days ahead of the one the browser keeps.
	session.Start(w, r, tok.Token, tok.ExpiresAt.Sub(c.Access.Clock.Now()).Truncate(time.Second))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session in the store through POST /admin/logout, which
// records it in the audit log under the member, and clears its cookie.
func (c *Console) logout(r *http.Request, v *view) (string, error) {
	if err := v.do(admin.Call{Route: "POST /admin/logout"}, nil); err != nil {
		return "", err
	}
	session.End(v.w, r)
	return "/console/login?done=logout", nil
}
