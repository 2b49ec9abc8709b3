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
type Route struct {
	Pattern    string
	Permission access.Permission
	handle     handler
}

// Routes is the one table of the staff routes and the permission each
// needs; Register serves them, and the README's table lists them.
func (a *API) Routes() []Route {
	rs := []Route{
		{"POST /admin/logout", "", a.logout},
		{"GET /admin/me", "", a.me},
		{"POST /admin/tokens", "", a.createOwnToken},
		{"POST /admin/tokens/{id}/revoke", "", a.revokeToken},
		{"GET /admin/policy", "", a.policy},
		{"POST /admin/policy", access.PolicyAdmin, a.grant},
		{"POST /admin/policy/revoke", access.PolicyAdmin, a.removeGrant},
		{"GET /admin/staff", access.StaffAdmin, a.staffList},
		{"POST /admin/staff", access.StaffAdmin, a.staffAdd},
		{"POST /admin/staff/{name}/disable", access.StaffAdmin, a.staffDisable},
		{"GET /admin/staff/{name}/tokens", access.StaffAdmin, a.staffTokens},
		{"POST /admin/staff/{name}/tokens", access.StaffAdmin, a.staffCreateToken},
		{"GET /admin/unmaskings", access.StaffAdmin, a.unmaskings},
		{"POST /admin/unmask", access.Unmask, a.unmask},
		{"GET /admin/applications", access.Onboarding, a.queue},
		{"GET /admin/applications/{id}", access.Onboarding, a.get},
		{"GET /admin/applications/{id}/documents/{sha256}", access.Onboarding, a.document},
		{"POST /admin/applications/{id}/review", access.Onboarding, a.review},
		{"POST /admin/applications/{id}/deposit", access.Onboarding, a.deposit},
		{"POST /admin/applications/{id}/activate", access.Onboarding, a.activate},
		{"POST /admin/applications/{id}/close", access.Onboarding, a.close},
		{"POST /admin/merchants/{mchid}/rollout", access.Onboarding, a.rollout},
		{"GET /admin/merchants/{mchid}/ab-report", access.Onboarding, a.abReport},
		{"GET /admin/merchants/{mchid}/exposure-funnel", access.Onboarding, a.exposureFunnel},
		{"GET /admin/merchants/{mchid}/verification", access.Onboarding, a.verification},
		{"POST /admin/merchants/{mchid}/discount", access.Onboarding, a.discount},
		{"POST /admin/rescreen", access.RiskList, a.rescreen},
		{"POST /admin/risk-list", access.RiskList, a.importRiskList},
		{"POST /admin/history", access.RiskList, a.importHistory},
		{"GET /admin/settlements", access.Settlements, a.settlements},
		{"POST /admin/settlements/run", access.Settlements, a.runSettlement},
		{"GET /admin/settlements/batches", access.Settlements, a.batchStatus},
		{"GET /admin/settlements/{id}/check", access.Settlements, a.checkSettlement},
		{"GET /admin/settlement-exceptions", access.Settlements, a.exceptions},
		{"GET /admin/settlement-exceptions/{id}", access.Settlements, a.exception},
		{"POST /admin/settlement-exceptions/{id}/resolve", access.Settlements, a.resolveException},
		{"POST /admin/orders/{id}/hold", access.RiskQueue, a.hold},
		{"POST /admin/orders/{id}/release", access.RiskQueue, a.release},
		{"GET /admin/sandbox/clock", access.Sandbox, a.sandboxClock},
		{"GET /admin/qrcodes/verify", access.QRVerify, a.verifyCode},
		{"POST /admin/sandbox/clock/advance", access.Sandbox, a.advanceClock},
	}
	if a.Complaints != nil {
		rs = append(rs,
			Route{"GET /admin/complaints", access.Complaints, a.complaints},
			Route{"GET /admin/complaints/{id}", access.Complaints, a.complaint},
			Route{"POST /admin/complaints/{id}/notes", access.Complaints, a.complaintNote},
			Route{"POST /admin/complaints/{id}/resolve", access.Complaints, a.resolveComplaint})
	}
	if a.Tickets != nil {
		rs = append(rs,
			Route{"GET /admin/tickets", access.Complaints, a.tickets},
			Route{"GET /admin/tickets/{id}", access.Complaints, a.ticket},
			Route{"POST /admin/tickets/escalate", access.Complaints, a.escalateTickets},
			Route{"GET /admin/tickets/{id}/attachments/{attachment_id}", access.Complaints, a.ticketAttachment},
			Route{"POST /admin/tickets/{id}/replies", access.Complaints, a.ticketReply},
			Route{"POST /admin/tickets/{id}/assign", access.Complaints, a.assignTicket},
			Route{"POST /admin/tickets/{id}/resolve", access.Complaints, a.resolveTicket},
			Route{"POST /admin/tickets/{id}/close", access.Complaints, a.closeTicket},
			Route{"GET /admin/ticket-lanes", access.Complaints, a.ticketLanes},
			Route{"POST /admin/ticket-lanes/{type}", access.Complaints, a.changeLane})
	}
	if a.MerchantUsers != nil {
		rs = append(rs,
			Route{"POST /admin/merchants/{mchid}/users", access.Onboarding, a.addMerchantOwner},
			Route{"GET /admin/merchants/{mchid}/users", access.Onboarding, a.merchantUsers},
			Route{"POST /admin/merchants/{mchid}/users/{name}/disable", access.Onboarding, a.disableMerchantUser})
	}
	if a.Retention != nil {
		rs = append(rs,
			Route{"POST /admin/legal-holds", access.Retention, a.placeHold},
			Route{"GET /admin/legal-holds", access.Retention, a.legalHolds},
			Route{"POST /admin/legal-holds/{id}/release", access.Retention, a.releaseHold})
	}
	if a.Risk != nil {
		rs = append(rs,
			Route{"GET /admin/risk/overview", access.RiskRules, a.riskOverview},
			Route{"GET /admin/risk/rules", access.RiskRules, a.riskRules},
			Route{"GET /admin/risk/versions", access.RiskRules, a.riskVersions},
			Route{"POST /admin/risk/rules", access.RiskRules, a.riskAddRule},
			Route{"POST /admin/risk/rules/{name}", access.RiskRules, a.riskChangeRule},
			Route{"POST /admin/risk/rules/{name}/{switch}", access.RiskRules, a.riskSwitchRule},
			Route{"POST /admin/risk/backtest", access.RiskRules, a.riskBacktest},
			Route{"GET /admin/risk/queue", access.RiskQueue, a.riskQueue},
			Route{"GET /admin/risk/queue/{id}", access.RiskQueue, a.riskItem},
			Route{"POST /admin/risk/queue/{id}/{action}", access.RiskQueue, a.riskAct})
	}
	if a.Display != nil {
		rs = append(rs,
			Route{"GET /admin/display/rules", access.RiskRules, a.displayRules},
			Route{"GET /admin/display/versions", access.RiskRules, a.displayVersions},
			Route{"POST /admin/display/rules", access.RiskRules, a.displayChange})
	}
	if a.Audit != nil {
		rs = append(rs, Route{"GET /admin/audit", access.Audit, a.auditLog})
	}
	if a.Figures != nil {
		rs = append(rs, a.chartRoutes()...)
	}
	if a.Bills != nil {
		rs = append(rs,
			Route{"GET /admin/bills", access.Settlements, a.bills},
			Route{"GET /admin/bills/file", access.Settlements, a.billFile})
	}
	if a.Keys != nil {
		rs = append(rs, Route{"GET /admin/keys", access.Keys, a.platformKeys})
	}
	if a.Notifications != nil {
		rs = append(rs, Route{"GET /admin/notifications/backlog", access.Notify, a.backlog})
	}
	if a.Repay != nil {
		rs = append(rs,
			Route{"POST /admin/consumers/{id}/repayments", access.Credit, a.repayment},
			Route{"GET /admin/consumers/{id}/credit", access.Consumers, a.creditAccount},
			Route{"POST /admin/consumers/{id}/line", access.CreditLines, a.changeLine},
			Route{"GET /admin/consumers/{id}/line/changes", access.Consumers, a.lineChanges},
			Route{"POST /admin/credit/overdue", access.Credit, a.runOverdue},
			Route{"GET /admin/consumers/{id}/statements/{month}", access.Consumers, a.statement})
	}
	if a.Consumers != nil {
		rs = append(rs, Route{"GET /admin/consumers", access.Consumers, a.consumerLookup})
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
	for _, r := range a.Routes() {
		mux.Handle(r.Pattern, a.staff(r.Permission, r.handle))
	}
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

// staff serves a route that needs perm: the request's bearer token names
// the member, the policy must allow perm, and the answer is masked unless
// the policy lets the member see personal data. The call is nil if the
// request was refused before it named its member.
func (a *API) staff(perm access.Permission, h handler) http.Handler {
	return a.answer(func(r *http.Request) (any, *call, error) {
		return a.serveStaff(r, bearer(r), perm, h)
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

// serveStaff serves a request of the member of token to a route that
// needs perm: the policy must allow perm, and the answer is masked unless
// the policy lets the member see personal data. The call is nil if the
// request was refused before it named its member.
func (a *API) serveStaff(r *http.Request, token string, perm access.Permission, h handler) (any, *call, error) {
	c, err := a.authorize(r, token, perm)
	if err != nil {
		return nil, c, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, c, fenfu.Errorf(fenfu.ParamError, "the request body is too large or unreadable")
	}
	c.Body = body
	out, err := h(r.Context(), c)
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
// perm. The call is nil if no member is named; a member refused perm is
// named in it.
func (a *API) authorize(r *http.Request, token string, perm access.Permission) (*call, error) {
	m, err := a.Member(r.Context(), token)
	if err != nil {
		return nil, err
	}
	c := &call{Request: r, Staff: m.Actor(), Who: m.Staff, Policy: m.Policy, Clear: m.Clear}
	if !m.Allows(perm) {
		a.Log.Warn("admin request refused", "path", r.URL.Path, "staff", m.Name, "permission", perm)
		return c, m.Policy.Forbidden(m.Staff, perm)
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
