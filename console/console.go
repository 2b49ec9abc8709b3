// Package console serves the platform staff's web console under
// /console/: the login (password and TOTP), and pages for the review of
// merchants' applications, risk control, consumers, finance, engineering
// and support, in Chinese and English, at a phone's width and a desk's.
//
// The console is another door to the same decisions as the staff API
// (package admin): every page reads, and every form acts, through the
// staff route that serves it (admin.API.Do), so the same permission from
// the same policy allows it, the same service function decides, the same
// masking hides personal data and the same audit entry names the staff
// member. The console decides only how a page looks; its navigation
// offers what the member's policy grants (admin.API.Permission of each
// page's route), and a page the policy refuses answers the refusal.
//
// The session is the staff member's session token in an HttpOnly,
// SameSite=Strict cookie (fenfu_staff, Path /console/). A form is
// accepted only from the console's own origin (web.SameOrigin) and with
// the session's form token (web.FormToken): SameSite and Origin cover the
// browsers that honour them, and the token covers a request without an
// Origin, which SameOrigin lets through for non-browser clients.
package console

import (
	"bytes"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/web"
)

// Console is the staff's web console.
type Console struct {
	// Admin serves the staff routes every page goes through.
	Admin *admin.API
	// Access logs staff in and out, on its own clock (the system's).
	Access *access.Service
	Log    *slog.Logger
	// Clock is the clock pages go by (a sandbox's, which may be moved
	// ahead), never the sessions'.
	Clock fenfu.Clock
	// PublicURL is the address staff reach fenfu at, whose origin forms
	// may come from besides the request's host; nil for none.
	PublicURL func() string
}

// session is the console's session cookie: a staff session token.
var session = web.Session{Name: "fenfu_staff", Path: "/console/", Prefix: "fss_"}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed console.css
var stylesheet []byte

// Register adds the console's pages to mux, under /console/.
func (c *Console) Register(mux route.Mux) {
	mux.Handle("GET /console/console.css", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(stylesheet)
	}))
	mux.Handle("GET /console/login", http.HandlerFunc(c.loginPage))
	mux.Handle("POST /console/login", http.HandlerFunc(c.login))
	mux.Handle("POST /console/logout", c.action(c.logout))
	// The home page, and any other address under /console/: a page that
	// is not there.
	mux.Handle("/console/", c.page(func(r *http.Request, v *view) error {
		if r.URL.Path == "/console/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			return c.home(r, v)
		}
		return errNoPage(r)
	}))
	c.merchantPages(mux)
	c.riskPages(mux)
	c.consumerPages(mux)
	c.financePages(mux)
	c.engineeringPages(mux)
	c.supportPages(mux)
	c.chartPages(mux)
}

// errNoPage is the answer to an address the console has no page at.
func errNoPage(r *http.Request) error {
	return fenfu.Errorf(fenfu.ResourceNotExists, "the console has no page at %s %s", r.Method, r.URL.Path)
}

// view is what every page's template gets: the page's language, the
// member and their navigation, the form token, the script nonce, and the
// page's own data.
type view struct {
	Lang   catalog.Lang
	Member admin.Member
	Nav    []section
	// Active is the path of the navigation item the page is under.
	Active string
	// Title is the page's heading, a word key, and the name of its
	// template unless Page names another.
	Title, Page string
	// Form is the session's form token every form carries.
	Form  string
	Nonce string
	// Switch is the address of the page in the other language.
	Switch string
	// Notice says what the last action did, a word key; "" for none.
	Notice string
	// Problem is why the page could not show what was asked.
	Problem *web.Problem
	// Query is the request's query, for filters and paging links.
	Query url.Values
	Data  any

	r     *http.Request
	w     http.ResponseWriter
	token string
	c     *Console
	// answered is set by a page that wrote its own answer (a download).
	answered bool
}

// do serves a staff route for the page's member (admin.API.Do).
func (v *view) do(call admin.Call, out any) error {
	return v.c.Admin.Do(v.r, v.token, call, out)
}

// allows reports whether the member's policy lets them use route.
func (v *view) allows(route string) bool {
	perm, ok := v.c.Admin.Permission(route)
	return ok && v.Member.Allows(perm)
}

// may is nil if the member's policy lets them use route, else the
// refusal the route answers (403): for a page that shows a form before
// it calls its route, so that the form of a route the member may not use
// is refused as the route would be.
func (v *view) may(route string) error {
	perm, ok := v.c.Admin.Permission(route)
	if !ok {
		return fenfu.Internal("console.may", errors.New("no staff route "+route))
	}
	if !v.Member.Allows(perm) {
		v.c.Log.Warn("console page refused", "path", v.r.URL.Path, "staff", v.Member.Name, "permission", perm)
		return v.Member.Forbidden(perm)
	}
	return nil
}

// page serves a page for a logged-in member: h fills the view, whose
// "content" template (named by the view's Title's page) is rendered in
// the layout. Without a session the browser goes to the login page; an
// error h returns is shown as the page's problem with its status.
func (c *Console) page(h func(r *http.Request, v *view) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.start(w, r)
		if !ok {
			return
		}
		if err := h(r, v); err != nil {
			v.Problem = web.ProblemOf(v.Lang, err)
			switch v.Problem.Code {
			case fenfu.Unauthenticated:
				c.toLogin(w, r)
				return
			case fenfu.ParamError, fenfu.InvalidRequest:
				// The page stays, its filters there to be put right.
			default:
				// Refused or missing: the page says so and nothing else.
				if _, back := v.Data.(string); !back {
					v.Data = nil
				}
				v.Title, v.Page = "problem", ""
			}
		}
		if v.answered && v.Problem == nil {
			return // h answered itself: a download
		}
		c.render(w, v)
	})
}

// start names the request's member from its session, or sends the
// browser to log in.
func (c *Console) start(w http.ResponseWriter, r *http.Request) (*view, bool) {
	web.RememberLang(w, r)
	l := web.LangOf(r)
	tok := session.Token(r)
	if tok == "" {
		c.toLogin(w, r)
		return nil, false
	}
	m, err := c.Admin.Member(r.Context(), tok)
	if err != nil {
		if fenfu.ErrorCode(err) == fenfu.Unauthenticated {
			session.End(w, r)
			c.toLogin(w, r)
			return nil, false
		}
		v := &view{Lang: l, r: r, c: c, Query: r.URL.Query(), Switch: switchTo(r)}
		v.Problem = web.ProblemOf(l, err)
		c.render(w, v)
		return nil, false
	}
	v := &view{Lang: l, Member: m, Form: web.FormToken(tok), Nonce: web.Nonce(), Switch: switchTo(r), Query: r.URL.Query(),
		Notice: noticeOf(r.URL.Query().Get("done")), r: r, w: w, token: tok, c: c}
	v.Nav = c.nav(v)
	return v, true
}

// action serves a form's POST for a logged-in member: from the console's
// origin, with the session's form token, or refused; h acts and answers
// where the browser goes next (a 303 to a page, with ?done= saying what
// was done).
func (c *Console) action(h func(r *http.Request, v *view) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !web.SameOrigin(r, c.PublicURL) {
			c.crossSite(w, r)
			return
		}
		tok := session.Token(r)
		if tok == "" {
			c.toLogin(w, r)
			return
		}
		if !web.ValidForm(r, tok) {
			c.crossSite(w, r)
			return
		}
		v, ok := c.start(w, r)
		if !ok {
			return
		}
		next, err := h(r, v)
		switch {
		case err != nil:
			v.Problem = web.ProblemOf(v.Lang, err)
			v.Title, v.Page = "problem", ""
			v.Data = backTo(r)
			c.render(w, v)
		case next == "":
			c.render(w, v) // h filled a page to show once, such as a field unmasked
		default:
			http.Redirect(w, r, next, http.StatusSeeOther)
		}
	})
}

// crossSite refuses a form another site sent, or one without its
// session's form token.
func (c *Console) crossSite(w http.ResponseWriter, r *http.Request) {
	c.Log.Warn("console form refused: not from the console's own pages", "path", r.URL.Path, "origin", r.Header.Get("Origin"),
		"source", fenfu.Source(r.RemoteAddr))
	e := fenfu.Errorf(fenfu.NoAuth, "the form did not come from this console's own pages, or its page is from an earlier session")
	e.Remedy = "Open the page again from the console and send the form from there."
	v := &view{Lang: web.LangOf(r), Title: "problem", Switch: switchTo(r), r: r, c: c, Query: url.Values{}}
	v.Problem = web.ProblemOf(v.Lang, e)
	v.Problem.Status = http.StatusForbidden
	c.render(w, v)
}

// toLogin sends the browser to the login page, to come back to the page
// it asked for.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/console/"
	}
	http.Redirect(w, r, "/console/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// backTo is where a failed form's page offers to go back to: the page
// the form was on.
func backTo(r *http.Request) string {
	if ref, err := url.Parse(r.Referer()); err == nil && strings.HasPrefix(ref.Path, "/console/") {
		return ref.RequestURI()
	}
	return "/console/"
}

// safeNext is a login's next page: a console page (web.Within), or the
// home page.
func safeNext(next string) string {
	if web.Within(next, "/console/") {
		return next
	}
	return "/console/"
}

// switchTo is the address of the page r shows in the other language.
func switchTo(r *http.Request) string {
	u := &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.Method != http.MethodGet {
		u = &url.URL{Path: "/console/"}
	}
	q := u.Query()
	q.Set("lang", string(web.OtherLang(web.LangOf(r))))
	u.RawQuery = q.Encode()
	return u.String()
}

// render writes the view's page.
func (c *Console) render(w http.ResponseWriter, v *view) {
	name := v.Title
	if v.Page != "" {
		name = v.Page
	}
	if v.Problem != nil && (v.Data == nil || name == "") {
		name, v.Title = "problem", "problem"
	}
	t, ok := pages[v.Lang][name]
	if !ok {
		c.Log.Error("console page has no template", "page", name)
		v.Problem = web.ProblemOf(v.Lang, fenfu.Internal("console.render", errors.New("no template "+name)))
		name, v.Title = "problem", "problem"
		t = pages[v.Lang][name]
	}
	nonce := v.Nonce
	if nonce == "" {
		nonce = web.Nonce()
		v.Nonce = nonce
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.Log.Error("console page not rendered", "page", name, "error", err)
		if name == "problem" {
			http.Error(w, "the console could not show this page", http.StatusInternalServerError)
			return
		}
		v.Title, v.Data, v.Problem = "problem", nil, web.ProblemOf(v.Lang, fenfu.Internal("console.render", err))
		c.render(w, v)
		return
	}
	w.Header().Set("Content-Security-Policy", web.SheetPolicy(nonce))
	w.Header().Set("Cache-Control", "no-store")
	web.PageHeaders(w)
	status := http.StatusOK
	if v.Problem != nil {
		status = v.Problem.Status
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// home is the console's first page: who the member is and what their
// policy lets them do.
func (c *Console) home(r *http.Request, v *view) error {
	v.Title, v.Active, v.Data = "home", "/console/", v.Member.Policy.Of(v.Member.Staff)
	return nil
}

// stamp is a time as the console prints it, in Beijing time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(fenfu.Shanghai).Format("2006-01-02 15:04")
}
