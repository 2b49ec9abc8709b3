// Package portal serves the merchant portal under /portal/: the web pages
// a merchant's own users (package merchantuser) work in — orders with
// search and their refunds, the day's bills, the notification delivery
// log with resend, settlements and fee statements, keys and the notify
// URL, the sandbox test report, the gray release and its A/B report,
// complaints to answer, tickets to the platform, and the merchant's
// users. It is another door to the paths the merchant API takes, never a
// second one: a refund is pay.Refund, a bill bill.Service.Get, a resend
// notify.Events.Resend, keys merchant's own functions, a ticket
// ticket.Service's. Pages are html/template with embedded
// templates and CSS and no script, in Chinese and English (catalog.Lang),
// usable on a phone and a desktop; forms are refused from other sites
// (web.SameOrigin) and the session cookie is SameSite=Strict. Every
// request of a logged-in user, done or refused, is recorded once in the
// core store's audit log under the user: a read as it is answered (a
// bill's download with the bill's hash), never answered if it cannot be
// recorded, and a change with its outcome.
package portal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

//go:embed templates/*.html templates/portal.css
var templates embed.FS

// Session is the portal's session cookie: sent to /portal/ only.
var Session = web.Session{Name: "fenfu_merchant", Path: "/portal/"}

// Portal serves the merchant portal.
type Portal struct {
	Users     *merchantuser.Service
	Merchants *merchant.Service
	Pay       *pay.Service
	Bills     *bill.Service
	Settle    *settle.Service
	Events    *notify.Events
	// Sandbox, if set, serves the sandbox test report.
	Sandbox *sandbox.Service
	// Complaints, if set, serves the complaints to answer.
	Complaints *complaint.Service
	// Tickets, if set, serves the merchant's tickets to the platform.
	Tickets *ticket.Service
	// Doctor, if set, checks the merchant's integration (fenfu doctor):
	// the one the merchant API's GET /v3/fenfu/doctor runs, so a
	// merchant's runs share one budget.
	Doctor *doctor.Doctor
	Clock  fenfu.Clock
	Log    *slog.Logger
	// PublicURL, if set, is the base URL merchants reach fenfu at (behind
	// a reverse proxy, another host than the one fenfu sees): forms posted
	// from its origin are the portal's own.
	PublicURL func() string
}

// Route is one portal route and the permission it needs ("" for any
// user who is logged in).
type Route = route.Route[merchantuser.Permission, handler]

// Table is the portal's routes.
type Table = route.Table[merchantuser.Permission, handler]

// handler serves a request of a logged-in user who holds the route's
// permission. It writes its answer, or returns the error the page shows.
type handler func(ctx context.Context, c *call) error

// Routes is the one table of the portal's routes and the permission each
// needs; Register serves them.
func (p *Portal) Routes() Table {
	rs := Table{
		{Pattern: "GET /portal/orders", Permission: merchantuser.Orders, Handle: p.orders},
		{Pattern: "GET /portal/orders.csv", Permission: merchantuser.Orders, Handle: p.ordersCSV},
		{Pattern: "GET /portal/orders/{transaction_id}", Permission: merchantuser.Orders, Handle: p.order},
		{Pattern: "POST /portal/orders/{transaction_id}/refunds", Permission: merchantuser.Refund, Handle: p.refund},
		{Pattern: "GET /portal/bills", Permission: merchantuser.Bills, Handle: p.bills},
		{Pattern: "GET /portal/bills/download", Permission: merchantuser.Bills, Handle: p.downloadBill},
		{Pattern: "GET /portal/notifications", Permission: merchantuser.Notifications, Handle: p.notifications},
		{Pattern: "POST /portal/notifications/{event_id}/resend", Permission: merchantuser.Resend, Handle: p.resend},
		{Pattern: "GET /portal/settlements", Permission: merchantuser.Settlements, Handle: p.settlements},
		{Pattern: "GET /portal/settlements.csv", Permission: merchantuser.Settlements, Handle: p.settlementsCSV},
		{Pattern: "GET /portal/fees", Permission: merchantuser.Settlements, Handle: p.fees},
		{Pattern: "GET /portal/keys", Permission: merchantuser.Keys, Handle: p.keys},
		{Pattern: "POST /portal/keys", Permission: merchantuser.Keys, Handle: p.addKey},
		{Pattern: "POST /portal/keys/{serial}/retire", Permission: merchantuser.Keys, Handle: p.retireKey},
		{Pattern: "POST /portal/keys/apiv3", Permission: merchantuser.Keys, Handle: p.rotateAPIv3Key},
		{Pattern: "POST /portal/notify-url", Permission: merchantuser.Keys, Handle: p.setNotifyURL},
		{Pattern: "GET /portal/rollout", Permission: merchantuser.ABReport, Handle: p.rollout},
		{Pattern: "POST /portal/rollout", Permission: merchantuser.Rollout, Handle: p.setRollout},
		{Pattern: "GET /portal/users", Permission: merchantuser.Users, Handle: p.users},
		{Pattern: "POST /portal/users", Permission: merchantuser.Users, Handle: p.addUser},
		{Pattern: "POST /portal/users/{name}/disable", Permission: merchantuser.Users, Handle: p.disableUser},
		{Pattern: "POST /portal/users/{name}/role", Permission: merchantuser.Users, Handle: p.setUserRole},
		{Pattern: "POST /portal/users/{name}/password", Permission: merchantuser.Users, Handle: p.resetUserPassword},
		{Pattern: "POST /portal/users/{name}/totp", Permission: merchantuser.Users, Handle: p.resetUserTOTP},
		{Pattern: "GET /portal/account", Handle: p.account},
		{Pattern: "POST /portal/account/password", Handle: p.changePassword},
		{Pattern: "POST /portal/account/totp", Handle: p.startTOTP},
		{Pattern: "POST /portal/account/totp/confirm", Handle: p.confirmTOTP},
	}
	if p.Sandbox != nil {
		rs = append(rs, Route{Pattern: "GET /portal/sandbox", Permission: merchantuser.Sandbox, Handle: p.sandboxReport})
	}
	if p.Complaints != nil {
		rs = append(rs,
			Route{Pattern: "GET /portal/complaints", Permission: merchantuser.Complaints, Handle: p.complaints},
			Route{Pattern: "GET /portal/complaints/{id}", Permission: merchantuser.Complaints, Handle: p.complaint},
			Route{Pattern: "POST /portal/complaints/{id}/response", Permission: merchantuser.Complaints, Handle: p.respond},
			Route{Pattern: "POST /portal/complaints/{id}/complete", Permission: merchantuser.Complaints, Handle: p.complete})
	}
	if p.Doctor != nil {
		rs = append(rs,
			Route{Pattern: "GET /portal/doctor", Permission: merchantuser.Keys, Handle: p.doctorForm},
			Route{Pattern: "POST /portal/doctor", Permission: merchantuser.Keys, Handle: p.runDoctor})
	}
	if p.Tickets != nil {
		rs = append(rs,
			Route{Pattern: "GET /portal/tickets", Permission: merchantuser.Tickets, Handle: p.tickets},
			Route{Pattern: "POST /portal/tickets", Permission: merchantuser.Tickets, Handle: p.openTicket},
			Route{Pattern: "GET /portal/tickets/{id}", Permission: merchantuser.Tickets, Handle: p.ticket},
			Route{Pattern: "POST /portal/tickets/{id}/replies", Permission: merchantuser.Tickets, Handle: p.replyTicket},
			Route{Pattern: "GET /portal/tickets/{id}/attachments/{attachment_id}", Permission: merchantuser.Tickets, Handle: p.ticketFile})
	}
	return rs
}

// Register adds the portal's routes to mux: the login and logout, which
// need no session, and the table of Routes; /portal/ itself sends the
// user on to the first list its role may see, and any other /portal/
// address is the portal's 404 page.
func (p *Portal) Register(mux route.Mux) {
	mux.HandleFunc("GET /portal/login", p.loginPage)
	mux.HandleFunc("POST /portal/login", p.login)
	mux.HandleFunc("POST /portal/logout", p.logout)
	p.Routes().Register(mux, p.serve)
	mux.Handle("/portal/", p.serve(Route{Pattern: "/portal/", Handle: func(ctx context.Context, c *call) error {
		if c.r.URL.Path == "/portal/" && (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) {
			return p.home(ctx, c)
		}
		return fenfu.Errorf(fenfu.ResourceNotExists, "the merchant portal has no page at %s", c.r.URL.Path)
	}}))
}

// call is one request of a logged-in user.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	user merchantuser.User
	lang catalog.Lang
	p    *Portal
	// done is what a change did, or what a read answered (a bill's
	// hash), for the audit log's detail.
	done map[string]any
	// refused is the error the request was refused with, for the audit
	// log's outcome.
	refused error
}

// maxForm bounds a form's body: a public key's PEM is the largest.
const maxForm = 64 << 10

// serve serves a route: the session cookie names the user, the user's
// role must hold the route's permission, and a form must come from the
// portal's own pages. The request is recorded in the audit log under the
// user, once, whatever its outcome: a change after it is done, and a read
// as it is answered (tracedRead), with what its handler set by then, so
// a read no one can trace is not answered.
func (p *Portal) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		u, err := p.Users.Authenticate(ctx, Session.Token(r))
		if err != nil {
			if fenfu.ErrorCode(err) == fenfu.Unauthenticated {
				p.renderLogin(w, r, http.StatusUnauthorized, loginView{Next: nextOf(r)})
				return
			}
			p.fail(w, r, nil, err)
			return
		}
		c := &call{w: w, r: r, user: u, lang: web.LangOf(r), p: p}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		var read *tracedRead
		if !write {
			read = &tracedRead{ResponseWriter: w, record: func() error { return p.record(r, u, c.refused, c.done) },
				fail: func(err error) { p.fail(w, r, &u, err) }}
			c.w = read
		}
		handle := rt.Handle
		if write && !web.SameOrigin(r, p.PublicURL) {
			err = crossSite()
		} else if setupDue(u, rt.Permission) {
			// A user who must choose a password or enrol a second
			// factor is served its account page alone until it has.
			err = setupFirst()
			if !write {
				handle = func(_ context.Context, c *call) error { return c.redirect("/portal/account") }
				err = nil
			}
		} else if err = rt.Check(u.Can, u.Forbidden); err != nil {
			p.Log.Warn("portal request refused", "path", r.URL.Path, "merchant_user", u.Actor(), "permission", rt.Permission)
		} else if write {
			limit := int64(maxForm)
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				limit = maxUpload // a message's files
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if perr := r.ParseForm(); perr != nil {
				err = fenfu.Errorf(fenfu.ParamError, "the form is too large or unreadable")
			}
		}
		if err == nil {
			err = handle(ctx, c)
		}
		if err != nil {
			c.refused = err
			p.fail(c.w, r, &u, err)
		}
		if read != nil {
			read.answer() // a handler that wrote nothing answered 200
		}
		if write {
			if rerr := p.record(r, u, c.refused, c.done); rerr != nil {
				p.Log.Error("portal request not recorded in the audit log", "path", r.URL.Path, "error", rerr)
			}
		}
	})
}

// maxAuditQuery bounds the query string an entry keeps.
const maxAuditQuery = 1024

// record appends a request of u to the core store's audit log: the route
// pattern as the action, the merchant as the target, the path values,
// the query, the outcome (for a change, or a refusal) and what a change
// did.
func (p *Portal) record(r *http.Request, u merchantuser.User, err error, done map[string]any) error {
	if r.Pattern == "" {
		return nil
	}
	detail := map[string]any{}
	path := map[string]string{}
	for _, seg := range strings.Split(r.Pattern[strings.IndexByte(r.Pattern, ' ')+1:], "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok && name != "$}" {
			name = strings.TrimSuffix(name, "}")
			path[name] = r.PathValue(name)
		}
	}
	if len(path) > 0 {
		detail["path"] = path
	}
	if q := r.URL.RawQuery; q != "" {
		detail["query"] = q[:min(len(q), maxAuditQuery)]
	}
	if r.Method != http.MethodGet || err != nil {
		detail["status"], detail["code"] = http.StatusOK, "OK"
		if err != nil {
			e := fenfu.AsError(err)
			detail["status"], detail["code"] = e.Code.HTTPStatus(), e.Code
		}
	}
	for k, v := range done {
		detail[k] = v
	}
	return p.Users.Record(r.Context(), u, r.Pattern, audit.Target{Kind: "merchant", ID: u.MchID}, detail)
}

// saidError is a refusal whose message the portal's pages say in their
// own language, where the error's own is English.
type saidError struct {
	error
	text catalog.Text
}

func (s saidError) Unwrap() error { return s.error }

// said is err, shown on a page as text in the page's language.
func said(err error, text catalog.Text) error { return saidError{err, text} }

// problemOf is err as a page in l shows it (web.ProblemOf), in l's words
// where the portal has them (said).
func problemOf(l catalog.Lang, err error) *web.Problem {
	p := web.ProblemOf(l, err)
	var s saidError
	if p != nil && errors.As(err, &s) {
		p.Message, p.Detail = s.text.In(l), ""
	}
	return p
}

// crossSite is the refusal of a form another site sent.
func crossSite() error {
	e := fenfu.Errorf(fenfu.NoAuth, "cross-site requests to the merchant portal are refused")
	e.Remedy = "Use the forms of the merchant portal's own pages; a page of another site cannot act in it."
	return e
}

// nextOf is where a login sends the browser back to: the page a GET asked
// for, else the portal's first page.
func nextOf(r *http.Request) string {
	if r.Method == http.MethodGet && web.Within(r.URL.RequestURI(), "/portal/") {
		return r.URL.RequestURI()
	}
	return "/portal/"
}

// home sends the user on to the first list of the navigation its role
// may see.
func (p *Portal) home(ctx context.Context, c *call) error {
	if nav := p.nav(c.user); len(nav) > 0 {
		return c.redirect(nav[0].Href)
	}
	return c.user.Forbidden(merchantuser.Orders)
}

// loginView is the login page's data.
type loginView struct {
	Next, MchID, Name string
	Problem           *web.Problem
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := p.Users.Authenticate(r.Context(), Session.Token(r)); err == nil {
		http.Redirect(w, r, "/portal/", http.StatusSeeOther)
		return
	}
	next := r.URL.Query().Get("next")
	if !web.Within(next, "/portal/") {
		next = "/portal/"
	}
	p.renderLogin(w, r, http.StatusOK, loginView{Next: next})
}

// login checks the form's merchant number, name, password and TOTP code
// (merchantuser.Login, which records it in the audit log) and starts the
// session.
func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
	v := loginView{Next: r.PostForm.Get("next"), MchID: strings.TrimSpace(r.PostForm.Get("mchid")), Name: strings.TrimSpace(r.PostForm.Get("name"))}
	if !web.Within(v.Next, "/portal/") {
		v.Next = "/portal/"
	}
	if !web.SameOrigin(r, p.PublicURL) {
		v.Problem = web.ProblemOf(web.LangOf(r), crossSite())
		p.renderLogin(w, r, http.StatusForbidden, v)
		return
	}
	sess, err := p.Users.Login(r.Context(), v.MchID, v.Name, r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("totp")), r.RemoteAddr)
	if err != nil {
		v.Problem = web.ProblemOf(web.LangOf(r), err)
		p.renderLogin(w, r, fenfu.AsError(err).Code.HTTPStatus(), v)
		return
	}
	// The cookie lasts as the session does, on the clock the session was
	// made on (the system's, in production): a test's or a sandbox's clock
	// may be far from the real one the browser keeps.
	Session.Start(w, r, sess.Token, sess.ExpiresAt.Sub(p.Users.Clock.Now()))
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// logout ends the session, on every node.
func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	if !web.SameOrigin(r, p.PublicURL) {
		p.renderLogin(w, r, http.StatusForbidden, loginView{Next: "/portal/", Problem: web.ProblemOf(web.LangOf(r), crossSite())})
		return
	}
	if tok := Session.Token(r); tok != "" {
		if u, err := p.Users.Authenticate(r.Context(), tok); err == nil {
			if err := p.Users.Logout(r.Context(), tok); err != nil {
				p.fail(w, r, &u, err)
				return
			}
			_ = p.record(r, u, nil, nil)
		}
	}
	Session.End(w, r)
	http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
}

// redirect sends the browser on to a page of the portal after a change
// (303 See Other), so a reload does not send the form again.
func (c *call) redirect(to string) error {
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
	return nil
}

// fail answers an error as the portal's error page, in the request's
// language, with the status of its code.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, u *merchantuser.User, err error) {
	e := fenfu.AsError(err)
	if l := e.LogLevel(); l > slog.LevelInfo {
		p.Log.Log(r.Context(), l, "portal request failed", "path", r.URL.Path, "code", e.Code, "error", err.Error())
	}
	v := view{Problem: problemOf(web.LangOf(r), err), Back: backOf(r)}
	if u != nil {
		v.User = *u
	}
	p.render(w, r, e.Code.HTTPStatus(), "error", v)
}

// backOf is the page an error page's link goes back to: the list the
// request's page belongs to.
func backOf(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/portal/"), "/", 3)
	switch {
	case len(parts) >= 2 && (parts[0] == "orders" || parts[0] == "complaints" || parts[0] == "tickets"):
		return "/portal/" + parts[0] + "/" + parts[1]
	case parts[0] != "":
		return "/portal/" + strings.TrimSuffix(parts[0], ".csv")
	}
	return "/portal/"
}

// view is what every page shows around its own data: the user and the
// navigation, the language switch, a notice of what was just done, a
// problem, and the link an error page goes back by.
type view struct {
	User    merchantuser.User
	Active  string
	Switch  string
	Notice  string
	Problem *web.Problem
	Back    string
	Data    any
	// Form is the form as sent, on a page shown again for it (again).
	Form url.Values
}

// Sent is the value of a form's field as it was sent, on a page shown
// again for the form; else def, what the form offers first.
func (v view) Sent(name, def string) string {
	if v.Form.Has(name) {
		return v.Form.Get(name)
	}
	return def
}

// navItem is an entry of the navigation, shown to the roles that hold
// its permission.
type navItem struct {
	Key, Href string
	perm      merchantuser.Permission
}

// navItems is the navigation, in the order of what merchants use most.
var navItems = []navItem{
	{"orders", "/portal/orders", merchantuser.Orders},
	{"bills", "/portal/bills", merchantuser.Bills},
	{"notifications", "/portal/notifications", merchantuser.Notifications},
	{"settlements", "/portal/settlements", merchantuser.Settlements},
	{"fees", "/portal/fees", merchantuser.Settlements},
	{"keys", "/portal/keys", merchantuser.Keys},
	{"doctor", "/portal/doctor", merchantuser.Keys},
	{"sandbox", "/portal/sandbox", merchantuser.Sandbox},
	{"rollout", "/portal/rollout", merchantuser.ABReport},
	{"complaints", "/portal/complaints", merchantuser.Complaints},
	{"tickets", "/portal/tickets", merchantuser.Tickets},
	{"users", "/portal/users", merchantuser.Users},
	{"account", "/portal/account", ""},
}

// nav is the navigation u sees.
func (p *Portal) nav(u merchantuser.User) []navItem {
	var out []navItem
	for _, n := range navItems {
		if (n.Key == "sandbox" && p.Sandbox == nil) || (n.Key == "complaints" && p.Complaints == nil) || (n.Key == "tickets" && p.Tickets == nil) ||
			(n.Key == "doctor" && p.Doctor == nil) {
			continue
		}
		if !setupDue(u, n.perm) && ((n.perm == "" && !u.Disabled) || u.Can(n.perm)) {
			out = append(out, n)
		}
	}
	return out
}

// page renders a page of the user's: for a request refused for what it
// sent (again), the page with the problem and the form as it was sent,
// with the refusal's status.
func (c *call) page(name, active string, data any, notice string) error {
	v, status := view{User: c.user, Active: active, Notice: notice, Data: data}, http.StatusOK
	if c.refused != nil {
		v.Problem, v.Notice = problemOf(c.lang, c.refused), ""
		v.Form, status = c.r.URL.Query(), v.Problem.Status
		if c.r.Method == http.MethodPost {
			v.Form = c.r.PostForm
		}
	}
	c.p.render(c.w, c.r, status, name, v)
	return nil
}

// again answers a request refused for what it sent (400: a field at
// fault, or what the form asked refused) with page, the page its form is
// on, shown again with the problem above the form as it was sent, so
// nothing written is lost, where the error page would show only the
// problem. Any other refusal, or a page that cannot be shown, is err's
// error page.
func (c *call) again(ctx context.Context, err error, page handler) error {
	if err == nil || fenfu.AsError(err).Code.HTTPStatus() != http.StatusBadRequest {
		return err
	}
	if c.refused == nil {
		c.refused = err
	}
	if page(ctx, c) != nil {
		return err
	}
	return nil
}

// only is a list's page with nothing listed: the page a query refused
// for its filter is shown again as (again).
func (c *call) only(name, active string, data any) handler {
	return func(context.Context, *call) error { return c.page(name, active, data, "") }
}

// render writes a page: rendered whole first, so a template that fails
// answers an error, not half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	l := web.LangOf(r)
	v.Switch = switchTo(r, l)
	var b bytes.Buffer
	if err := pagesIn[l].ExecuteTemplate(&b, name, pageData{view: v, Nav: p.nav(v.User)}); err != nil {
		p.Log.Error("portal render", "template", name, "error", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	web.PageHeaders(w)
	web.RememberLang(w, r)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// pageData is what a template gets: the view and the navigation.
type pageData struct {
	view
	Nav []navItem
}

func (p *Portal) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	p.render(w, r, status, "login", view{Problem: v.Problem, Data: v})
}

// switchTo is the address of the language switch of the page r shows:
// the page's own GET address, its query kept, in the other language; a
// page shown for a form is at the form's address, which is no page, and
// switches at the page the form was on.
func switchTo(r *http.Request, l catalog.Lang) string {
	u := &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		u = &url.URL{Path: backOf(r)}
		if r.URL.Path == "/portal/login" {
			u.Path = "/portal/login"
		}
	}
	q := u.Query()
	q.Set("lang", string(web.OtherLang(l)))
	u.RawQuery = q.Encode()
	return u.String()
}

// pagesIn are the templates of each language.
var pagesIn = func() map[catalog.Lang]*template.Template {
	css, err := templates.ReadFile("templates/portal.css")
	if err != nil {
		panic(err)
	}
	out := map[catalog.Lang]*template.Template{}
	for _, l := range catalog.Langs {
		out[l] = template.Must(template.New("").Funcs(funcs(l, template.CSS(css))).ParseFS(templates, "templates/*.html"))
	}
	return out
}()
