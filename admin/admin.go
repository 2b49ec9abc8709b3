// Package admin serves the platform staff's HTTP API under /admin/: the
// onboarding review queue and decisions, deposits, activation, departures,
// risk screening and the imports behind it, the gray release of credit
// pay (rollout percentage, A/B report, exposure funnel), the display rules of credit pay, the complaints escalated to
// staff, support tickets and their SLA lanes, risk control (the monitoring rules, the queue of alerts and
// holds, backtests and the overview of the three levels), inspectors'
// checks of the marks under any merchant's codes, the charts of the
// platform's figures (as JSON and SVG), the clock of a sandbox deployment,
// which staff advance, merchants' first owners in the merchant portal,
// and staff accounts and the access policy themselves. A request carries
// the bearer token of a staff member's session (POST /admin/login) or
// personal API token; every route names the permission it needs (Routes), every
// recorded decision names the member, and every answer's personal data is
// masked for those the policy does not let see it. Every request, done or
// refused, is recorded in the audit log of the store its data lives in,
// which staff read at GET /admin/audit.
package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/figures"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/retention"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// API is the staff API.
type API struct {
	Onboard   *onboard.Service
	Merchants *merchant.Service
	Pay       *pay.Service
	Settle    *settle.Service
	// Risk, if set, serves risk control: rules, queue, backtests.
	Risk *risk.Engine
	// Display, if set, serves the display rules of credit pay, which risk
	// staff change.
	Display *display.Store
	// Repay, if set, serves consumers' credit: repayments, accounts and
	// statements.
	Repay *repay.Service
	// Consumers, if set, serves the lookup of consumers by phone or id.
	Consumers *consumer.Service
	// Access authenticates staff and holds the policy; without it every
	// request is refused.
	Access *access.Service
	// Unmaskings records each field shown in the clear by POST
	// /admin/unmask; Access when nil.
	Unmaskings access.Recorder
	Log        *slog.Logger
	Clock      fenfu.Clock
	// Background runs work that outlives its request, such as a settlement
	// run; serve waits for it at shutdown, and cancels its ctx first.
	Background func(func(ctx context.Context))
	// Complaints, if set, serves the escalated complaints of the fast lane.
	Complaints *complaint.Service
	// SandboxClock is the clock of a deployment with --sandbox-clock,
	// which staff advance; nil without it.
	SandboxClock *sandbox.Clock
	// Audit, if set, records every request, done or refused, in the audit
	// log of the store its data lives in, and serves GET /admin/audit.
	Audit *audit.Stores
	// Retention, if set, serves legal holds.
	Retention *retention.Service
	// Codes, if set, verifies the marks under any merchant's codes.
	Codes *qr.Checker
	// Figures, if set, serves the charts of the platform's figures.
	Figures *figures.Service
	// Tickets, if set, serves support tickets and their SLA lanes.
	Tickets *ticket.Service
	// Bills, if set, lists and serves the merchants' bills, and checks a
	// settlement against them.
	Bills *bill.Service
	// Keys, if set, shows the platform keys and their rotation.
	Keys *keyring.Keyring
	// Notifications, if set, shows the backlog of merchants'
	// notifications.
	Notifications *notify.Events
	// MerchantUsers, if set, makes merchants' owners in the merchant
	// portal.
	MerchantUsers *merchantuser.Service
}

// Route is one staff route and the permission it needs ("" for any
// staff member who is logged in).
type Route = route.Route[access.Permission, handler]

// Table is the staff routes.
type Table = route.Table[access.Permission, handler]

// Routes is the one table of the staff routes and the permission each
// needs; Register serves them, and the README's table lists them.
func (a *API) Routes() Table {
	rs := Table{
		{Pattern: "POST /admin/logout", Permission: "", Handle: a.logout},
		{Pattern: "GET /admin/me", Permission: "", Handle: a.me},
		{Pattern: "POST /admin/tokens", Permission: "", Handle: a.createOwnToken},
		{Pattern: "POST /admin/tokens/{id}/revoke", Permission: "", Handle: a.revokeToken},
		{Pattern: "GET /admin/policy", Permission: "", Handle: a.policy},
		{Pattern: "POST /admin/policy", Permission: access.PolicyAdmin, Handle: a.grant},
		{Pattern: "POST /admin/policy/revoke", Permission: access.PolicyAdmin, Handle: a.removeGrant},
		{Pattern: "GET /admin/staff", Permission: access.StaffAdmin, Handle: a.staffList},
		{Pattern: "POST /admin/staff", Permission: access.StaffAdmin, Handle: a.staffAdd},
		{Pattern: "POST /admin/staff/{name}/disable", Permission: access.StaffAdmin, Handle: a.staffDisable},
		{Pattern: "GET /admin/staff/{name}/tokens", Permission: access.StaffAdmin, Handle: a.staffTokens},
		{Pattern: "POST /admin/staff/{name}/tokens", Permission: access.StaffAdmin, Handle: a.staffCreateToken},
		{Pattern: "GET /admin/unmaskings", Permission: access.StaffAdmin, Handle: a.unmaskings},
		{Pattern: "POST /admin/unmask", Permission: access.Unmask, Handle: a.unmask},
		{Pattern: "GET /admin/applications", Permission: access.Onboarding, Handle: a.queue},
		{Pattern: "GET /admin/applications/{id}", Permission: access.Onboarding, Handle: a.get},
		{Pattern: "GET /admin/applications/{id}/documents/{sha256}", Permission: access.Onboarding, Handle: a.document},
		{Pattern: "POST /admin/applications/{id}/review", Permission: access.Onboarding, Handle: a.review},
		{Pattern: "POST /admin/applications/{id}/deposit", Permission: access.Onboarding, Handle: a.deposit},
		{Pattern: "POST /admin/applications/{id}/activate", Permission: access.Onboarding, Handle: a.activate},
		{Pattern: "POST /admin/applications/{id}/close", Permission: access.Onboarding, Handle: a.close},
		{Pattern: "POST /admin/merchants/{mchid}/rollout", Permission: access.Onboarding, Handle: a.rollout},
		{Pattern: "GET /admin/merchants/{mchid}/ab-report", Permission: access.Onboarding, Handle: a.abReport},
		{Pattern: "GET /admin/merchants/{mchid}/exposure-funnel", Permission: access.Onboarding, Handle: a.exposureFunnel},
		{Pattern: "GET /admin/merchants/{mchid}/verification", Permission: access.Onboarding, Handle: a.verification},
		{Pattern: "POST /admin/merchants/{mchid}/discount", Permission: access.Onboarding, Handle: a.discount},
		{Pattern: "POST /admin/rescreen", Permission: access.RiskList, Handle: a.rescreen},
		{Pattern: "POST /admin/risk-list", Permission: access.RiskList, Handle: a.importRiskList},
		{Pattern: "POST /admin/history", Permission: access.RiskList, Handle: a.importHistory},
		{Pattern: "GET /admin/settlements", Permission: access.Settlements, Handle: a.settlements},
		{Pattern: "POST /admin/settlements/run", Permission: access.Settlements, Handle: a.runSettlement},
		{Pattern: "GET /admin/settlements/batches", Permission: access.Settlements, Handle: a.batchStatus},
		{Pattern: "GET /admin/settlements/{id}/check", Permission: access.Settlements, Handle: a.checkSettlement},
		{Pattern: "GET /admin/settlement-exceptions", Permission: access.Settlements, Handle: a.exceptions},
		{Pattern: "GET /admin/settlement-exceptions/{id}", Permission: access.Settlements, Handle: a.exception},
		{Pattern: "POST /admin/settlement-exceptions/{id}/resolve", Permission: access.Settlements, Handle: a.resolveException},
		{Pattern: "POST /admin/orders/{id}/hold", Permission: access.RiskQueue, Handle: a.hold},
		{Pattern: "POST /admin/orders/{id}/release", Permission: access.RiskQueue, Handle: a.release},
		{Pattern: "GET /admin/sandbox/clock", Permission: access.Sandbox, Handle: a.sandboxClock},
		{Pattern: "GET /admin/qrcodes/verify", Permission: access.QRVerify, Handle: a.verifyCode},
		{Pattern: "POST /admin/sandbox/clock/advance", Permission: access.Sandbox, Handle: a.advanceClock},
	}
	if a.Complaints != nil {
		rs = append(rs,
			Route{Pattern: "GET /admin/complaints", Permission: access.Complaints, Handle: a.complaints},
			Route{Pattern: "GET /admin/complaints/{id}", Permission: access.Complaints, Handle: a.complaint},
			Route{Pattern: "POST /admin/complaints/{id}/notes", Permission: access.Complaints, Handle: a.complaintNote},
			Route{Pattern: "POST /admin/complaints/{id}/resolve", Permission: access.Complaints, Handle: a.resolveComplaint})
	}
	if a.Tickets != nil {
		rs = append(rs,
			Route{Pattern: "GET /admin/tickets", Permission: access.Complaints, Handle: a.tickets},
			Route{Pattern: "GET /admin/tickets/{id}", Permission: access.Complaints, Handle: a.ticket},
			Route{Pattern: "POST /admin/tickets/escalate", Permission: access.Complaints, Handle: a.escalateTickets},
			Route{Pattern: "GET /admin/tickets/{id}/attachments/{attachment_id}", Permission: access.Complaints, Handle: a.ticketAttachment},
			Route{Pattern: "POST /admin/tickets/{id}/replies", Permission: access.Complaints, Handle: a.ticketReply},
			Route{Pattern: "POST /admin/tickets/{id}/assign", Permission: access.Complaints, Handle: a.assignTicket},
			Route{Pattern: "POST /admin/tickets/{id}/resolve", Permission: access.Complaints, Handle: a.resolveTicket},
			Route{Pattern: "POST /admin/tickets/{id}/close", Permission: access.Complaints, Handle: a.closeTicket},
			Route{Pattern: "GET /admin/ticket-lanes", Permission: access.Complaints, Handle: a.ticketLanes},
			Route{Pattern: "POST /admin/ticket-lanes/{type}", Permission: access.Complaints, Handle: a.changeLane})
	}
	if a.MerchantUsers != nil {
		rs = append(rs,
			Route{Pattern: "POST /admin/merchants/{mchid}/users", Permission: access.Onboarding, Handle: a.addMerchantOwner},
			Route{Pattern: "GET /admin/merchants/{mchid}/users", Permission: access.Onboarding, Handle: a.merchantUsers},
			Route{Pattern: "POST /admin/merchants/{mchid}/users/{name}/disable", Permission: access.Onboarding, Handle: a.disableMerchantUser})
	}
	if a.Retention != nil {
		rs = append(rs,
			Route{Pattern: "POST /admin/legal-holds", Permission: access.Retention, Handle: a.placeHold},
			Route{Pattern: "GET /admin/legal-holds", Permission: access.Retention, Handle: a.legalHolds},
			Route{Pattern: "POST /admin/legal-holds/{id}/release", Permission: access.Retention, Handle: a.releaseHold})
	}
	if a.Risk != nil {
		rs = append(rs,
			Route{Pattern: "GET /admin/risk/overview", Permission: access.RiskRules, Handle: a.riskOverview},
			Route{Pattern: "GET /admin/risk/rules", Permission: access.RiskRules, Handle: a.riskRules},
			Route{Pattern: "GET /admin/risk/versions", Permission: access.RiskRules, Handle: a.riskVersions},
			Route{Pattern: "POST /admin/risk/rules", Permission: access.RiskRules, Handle: a.riskAddRule},
			Route{Pattern: "POST /admin/risk/rules/{name}", Permission: access.RiskRules, Handle: a.riskChangeRule},
			Route{Pattern: "POST /admin/risk/rules/{name}/{switch}", Permission: access.RiskRules, Handle: a.riskSwitchRule},
			Route{Pattern: "POST /admin/risk/backtest", Permission: access.RiskRules, Handle: a.riskBacktest},
			Route{Pattern: "GET /admin/risk/queue", Permission: access.RiskQueue, Handle: a.riskQueue},
			Route{Pattern: "GET /admin/risk/queue/{id}", Permission: access.RiskQueue, Handle: a.riskItem},
			Route{Pattern: "POST /admin/risk/queue/{id}/{action}", Permission: access.RiskQueue, Handle: a.riskAct})
	}
	if a.Display != nil {
		rs = append(rs,
			Route{Pattern: "GET /admin/display/rules", Permission: access.RiskRules, Handle: a.displayRules},
			Route{Pattern: "GET /admin/display/versions", Permission: access.RiskRules, Handle: a.displayVersions},
			Route{Pattern: "POST /admin/display/rules", Permission: access.RiskRules, Handle: a.displayChange})
	}
	if a.Audit != nil {
		rs = append(rs, Route{Pattern: "GET /admin/audit", Permission: access.Audit, Handle: a.auditLog})
	}
	if a.Figures != nil {
		rs = append(rs, a.chartRoutes()...)
	}
	if a.Bills != nil {
		rs = append(rs,
			Route{Pattern: "GET /admin/bills", Permission: access.Settlements, Handle: a.bills},
			Route{Pattern: "GET /admin/bills/file", Permission: access.Settlements, Handle: a.billFile})
	}
	if a.Keys != nil {
		rs = append(rs, Route{Pattern: "GET /admin/keys", Permission: access.Keys, Handle: a.platformKeys})
	}
	if a.Notifications != nil {
		rs = append(rs, Route{Pattern: "GET /admin/notifications/backlog", Permission: access.Notify, Handle: a.backlog})
	}
	if a.Repay != nil {
		rs = append(rs,
			Route{Pattern: "POST /admin/consumers/{id}/repayments", Permission: access.Credit, Handle: a.repayment},
			Route{Pattern: "GET /admin/consumers/{id}/credit", Permission: access.Consumers, Handle: a.creditAccount},
			Route{Pattern: "POST /admin/consumers/{id}/line", Permission: access.CreditLines, Handle: a.changeLine},
			Route{Pattern: "GET /admin/consumers/{id}/line/changes", Permission: access.Consumers, Handle: a.lineChanges},
			Route{Pattern: "POST /admin/credit/overdue", Permission: access.Credit, Handle: a.runOverdue},
			Route{Pattern: "GET /admin/consumers/{id}/statements/{month}", Permission: access.Consumers, Handle: a.statement})
	}
	if a.Consumers != nil {
		rs = append(rs, Route{Pattern: "GET /admin/consumers", Permission: access.Consumers, Handle: a.consumerLookup})
	}
	return rs
}

// Register adds the staff routes to mux: POST /admin/login, which needs
// no token, and the table of Routes.
func (a *API) Register(mux route.Mux) {
	// A login is recorded in the audit log by access, with why it was
	// refused.
	mux.Handle("POST /admin/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.login(r)
		a.write(w, r, t, err)
	}))
	a.Routes().Register(mux, a.staff)
}

type call struct {
	*http.Request
	// Staff names the acting member in recorded actions, "staff:<name>".
	Staff string
	Who   access.Staff
	// Policy is the policy as read for this request.
	Policy access.Policy
	// Clear is whether the member sees personal data in the clear.
	Clear bool
	Body  []byte
	// token is the session or API token the member was named by: the
	// Authorization header's, or the one an in-process call passed.
	token string
}

type handler func(ctx context.Context, c *call) (any, error)

const maxBody = 8 << 20 // CSV imports

// answer records a request in the audit log and writes serve's answer or
// error as JSON.
func (a *API) answer(serve func(r *http.Request) (any, *call, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, c, err := serve(r)
		if aerr := a.record(r, c, err); aerr != nil {
			a.Log.Error("admin request not recorded in the audit log", "path", r.URL.Path, "error", aerr)
			if r.Method == http.MethodGet && err == nil {
				out, err = nil, aerr // a read no one can trace is not answered
			}
		}
		a.write(w, r, out, err)
	})
}

// write writes an answer or error as JSON, or a File (a chart, a
// document, a bill) as itself.
func (a *API) write(w http.ResponseWriter, r *http.Request, out any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err != nil {
		e := fenfu.AsError(err)
		if l := e.LogLevel(); l > slog.LevelInfo {
			a.Log.Log(r.Context(), l, "admin request failed", "path", r.URL.Path, "code", e.Code, "error", err.Error())
		}
		w.WriteHeader(e.Code.HTTPStatus())
		_ = json.NewEncoder(w).Encode(map[string]string{"code": string(e.Code), "message": e.Message, "remedy": e.Remedy, "help": catalog.Href(e.Code)})
		return
	}
	if f, ok := out.(File); ok {
		f.ServeHTTP(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

// staff serves a route: the request's bearer token names the member,
// the policy must allow the route's permission, and the answer is masked
// unless the policy lets the member see personal data. The call is nil
// if the request was refused before it named its member.
func (a *API) staff(rt Route) http.Handler {
	return a.answer(func(r *http.Request) (any, *call, error) {
		return a.serveStaff(r, bearer(r), rt)
	})
}

// bearer is the token of the request's Authorization: Bearer header, ""
// for none.
func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return tok
}

// serveStaff serves a request of the member of token to a route: the
// policy must allow the route's permission, and the answer is masked
// unless the policy lets the member see personal data. The call is nil
// if the request was refused before it named its member.
func (a *API) serveStaff(r *http.Request, token string, rt Route) (any, *call, error) {
	c, err := a.authorize(r, token, rt)
	if err != nil {
		return nil, c, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, c, fenfu.Errorf(fenfu.ParamError, "the request body is too large or unreadable")
	}
	c.Body = body
	out, err := rt.Handle(r.Context(), c)
	if err != nil || c.Clear || out == nil {
		return out, c, err
	}
	if _, ok := out.(File); ok {
		return out, c, nil // a file is the record itself; its route's permission is its mask
	}
	masked, err := mask.JSON(out)
	if err != nil {
		return nil, c, fenfu.Internal("admin.mask", err)
	}
	return masked, c, nil
}

// authorize names the member of token and checks the policy gives them
// the route's permission. The call is nil if no member is named; a
// member refused the route is named in it.
func (a *API) authorize(r *http.Request, token string, rt Route) (*call, error) {
	m, err := a.Member(r.Context(), token)
	if err != nil {
		return nil, err
	}
	c := &call{Request: r, Staff: m.Actor(), Who: m.Staff, Policy: m.Policy, Clear: m.Clear, token: token}
	if err := rt.Check(m.Allows, m.Forbidden); err != nil {
		a.Log.Warn("admin request refused", "path", r.URL.Path, "staff", m.Name, "permission", rt.Permission)
		return c, err
	}
	return c, nil
}

func decode(c *call, v any) error {
	if len(c.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		return fenfu.Errorf(fenfu.ParamError, "the body is not the expected JSON: %v", err)
	}
	return nil
}

// queue lists applications for review, oldest submission first:
// ?state= (in_review by default) &industry= &from= &to= (business days,
// YYYY-MM-DD, inclusive) &q= (a merchant's name or mchid) &after= (the
// next cursor of the page before) &limit= (1 to 200, default 50).
func (a *API) queue(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	f := onboard.Filter{State: onboard.State(q.Get("state")), Industry: q.Get("industry"), Search: q.Get("q")}
	var err error
	if f.From, f.To, err = days(q); err != nil {
		return nil, err
	}
	if f.Keyset, err = page(q); err != nil {
		return nil, err
	}
	list, next, err := a.Onboard.List(ctx, f)
	if err != nil {
		return nil, err
	}
	if f.State == "" {
		f.State = onboard.InReview
	}
	return map[string]any{"state": f.State, "applications": list, "next": next}, nil
}

func (a *API) get(ctx context.Context, c *call) (any, error) {
	if c.Clear {
		return a.Onboard.GetClear(ctx, c.PathValue("id"))
	}
	return a.Onboard.Get(ctx, c.PathValue("id"))
}

// document answers one of an application's uploaded documents, the file
// itself: an image or a PDF.
func (a *API) document(ctx context.Context, c *call) (any, error) {
	f, err := a.Onboard.Document(ctx, c.PathValue("id"), c.PathValue("sha256"))
	if err != nil {
		return nil, err
	}
	return File{Name: f.Filename, ContentType: f.ContentType, Data: f.Data}, nil
}

func (a *API) review(ctx context.Context, c *call) (any, error) {
	var in struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Onboard.Review(ctx, c.PathValue("id"), in.Decision, c.Staff, in.Reason)
}

func (a *API) deposit(ctx context.Context, c *call) (any, error) {
	var in struct {
		Ref string `json:"ref"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Onboard.PayDeposit(ctx, c.PathValue("id"), in.Ref, c.Staff)
}

func (a *API) activate(ctx context.Context, c *call) (any, error) {
	return a.Onboard.Activate(ctx, c.PathValue("id"), c.Staff)
}

func (a *API) close(ctx context.Context, c *call) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Reason == "" {
		return nil, fenfu.FieldError("reason", "say why the merchant leaves")
	}
	return a.Onboard.Close(ctx, c.PathValue("id"), c.Staff, in.Reason)
}

func (a *API) rescreen(ctx context.Context, c *call) (any, error) {
	return a.Onboard.Rescreen(ctx)
}

func (a *API) importRiskList(ctx context.Context, c *call) (any, error) {
	src := c.URL.Query().Get("source")
	if src == "" {
		src = "admin upload by " + c.Staff
	}
	return a.Onboard.ImportRiskList(ctx, strings.NewReader(string(c.Body)), src)
}

func (a *API) rollout(ctx context.Context, c *call) (any, error) {
	var in struct {
		Percent *int `json:"percent"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Percent == nil {
		return nil, fenfu.FieldError("percent", "percent is required (0 to 100)")
	}
	if err := a.Merchants.SetRollout(ctx, c.PathValue("mchid"), *in.Percent); err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "credit_rollout": *in.Percent}, nil
}

// abReport compares the gray release's cohorts over cashier views in
// [from, to) (RFC 3339; default the last 7 days).
func (a *API) abReport(ctx context.Context, c *call) (any, error) {
	from, to, err := a.period(c)
	if err != nil {
		return nil, err
	}
	cohorts, err := a.Pay.ABReport(ctx, c.PathValue("mchid"), from, to)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "from": from, "to": to, "cohorts": cohorts}, nil
}

// exposureFunnel counts a merchant's exposures in [from, to) (RFC 3339;
// default the last 7 days) by the display reason that decided credit, and
// how many were paid, and paid on credit.
func (a *API) exposureFunnel(ctx context.Context, c *call) (any, error) {
	from, to, err := a.period(c)
	if err != nil {
		return nil, err
	}
	steps, err := a.Pay.Funnel(ctx, c.PathValue("mchid"), from, to)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "from": from, "to": to, "reasons": steps}, nil
}

// period is a report's ?from= and ?to= (RFC 3339), by default the last 7
// days.
func (a *API) period(c *call) (from, to time.Time, err error) {
	to = a.Clock.Now()
	from = to.AddDate(0, 0, -7)
	if s := c.URL.Query().Get("from"); s != "" {
		if from, err = time.Parse(time.RFC3339, s); err != nil {
			return from, to, fenfu.FieldError("from", "from must be RFC 3339")
		}
	}
	if s := c.URL.Query().Get("to"); s != "" {
		if to, err = time.Parse(time.RFC3339, s); err != nil {
			return from, to, fenfu.FieldError("to", "to must be RFC 3339")
		}
	}
	return from, to, nil
}

// verification reports a merchant's first days live, per day: orders
// created and paid by channel, success rate, time to pay.
// ?from=2026-11-27 (default: a week ago) &days=7.
func (a *API) verification(ctx context.Context, c *call) (any, error) {
	from := a.Clock.Now().AddDate(0, 0, -7)
	if s := c.URL.Query().Get("from"); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, fenfu.Shanghai)
		if err != nil {
			return nil, fenfu.FieldError("from", "from is a date like 2026-11-27")
		}
		from = t
	}
	days, _ := strconv.Atoi(c.URL.Query().Get("days"))
	stats, err := a.Pay.Verification(ctx, c.PathValue("mchid"), from, days)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "days": stats}, nil
}

func (a *API) importHistory(ctx context.Context, c *call) (any, error) {
	return onboard.ImportHistory(ctx, a.Onboard.DB, strings.NewReader(string(c.Body)), "admin upload by "+c.Staff)
}
