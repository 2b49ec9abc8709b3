// Package admin serves the platform staff's HTTP API under /admin/: the
// onboarding review queue and decisions, deposits, activation, departures,
// risk screening and the imports behind it, the gray release of credit
// pay (rollout percentage, A/B report), the complaints escalated to
// staff, and risk control: the monitoring rules, the queue of alerts and
// holds, backtests and the overview of the three levels; and the clock of
// a sandbox deployment, which staff advance. Requests carry
// the staff bearer token (admin_token in the data directory) and the
// staff member's name in X-Fenfu-Staff, which every recorded decision
// names. Every request, done or refused, is recorded in the audit log of
// the store its data lives in, which staff read at GET /admin/audit.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/retention"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/settle"
)

// API is the staff API.
type API struct {
	Onboard   *onboard.Service
	Merchants *merchant.Service
	Pay       *pay.Service
	Settle    *settle.Service
	// Risk, if set, serves risk control: rules, queue, backtests.
	Risk *risk.Engine
	// Repay, if set, serves consumers' credit: repayments, accounts and
	// statements.
	Repay *repay.Service
	Token string
	Log   *slog.Logger
	Clock fenfu.Clock
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
}

// Register adds the staff routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /admin/applications", a.staff(a.queue))
	mux.Handle("GET /admin/applications/{id}", a.staff(a.get))
	mux.Handle("POST /admin/applications/{id}/review", a.staff(a.review))
	mux.Handle("POST /admin/applications/{id}/deposit", a.staff(a.deposit))
	mux.Handle("POST /admin/applications/{id}/activate", a.staff(a.activate))
	mux.Handle("POST /admin/applications/{id}/close", a.staff(a.close))
	mux.Handle("POST /admin/rescreen", a.staff(a.rescreen))
	mux.Handle("POST /admin/risk-list", a.staff(a.importRiskList))
	mux.Handle("POST /admin/history", a.staff(a.importHistory))
	mux.Handle("POST /admin/merchants/{mchid}/rollout", a.staff(a.rollout))
	mux.Handle("GET /admin/merchants/{mchid}/ab-report", a.staff(a.abReport))
	mux.Handle("GET /admin/merchants/{mchid}/verification", a.staff(a.verification))
	mux.Handle("POST /admin/merchants/{mchid}/discount", a.staff(a.discount))
	mux.Handle("GET /admin/settlements", a.staff(a.settlements))
	mux.Handle("POST /admin/settlements/run", a.staff(a.runSettlement))
	mux.Handle("GET /admin/settlements/batches", a.staff(a.batchStatus))
	mux.Handle("POST /admin/orders/{id}/hold", a.staff(a.hold))
	mux.Handle("POST /admin/orders/{id}/release", a.staff(a.release))
	mux.Handle("GET /admin/settlement-exceptions", a.staff(a.exceptions))
	mux.Handle("GET /admin/settlement-exceptions/{id}", a.staff(a.exception))
	mux.Handle("POST /admin/settlement-exceptions/{id}/resolve", a.staff(a.resolveException))
	a.registerSandbox(mux)
	if a.Complaints != nil {
		a.registerComplaints(mux)
	}
	if a.Retention != nil {
		a.registerRetention(mux)
	}
	if a.Risk != nil {
		a.registerRisk(mux)
	}
	if a.Audit != nil {
		mux.Handle("GET /admin/audit", a.staff(a.auditLog))
	}
	if a.Repay != nil {
		mux.Handle("POST /admin/consumers/{id}/repayments", a.staff(a.repayment))
		mux.Handle("GET /admin/consumers/{id}/credit", a.staff(a.creditAccount))
		mux.Handle("POST /admin/consumers/{id}/line", a.staff(a.changeLine))
		mux.Handle("GET /admin/consumers/{id}/line/changes", a.staff(a.lineChanges))
		mux.Handle("POST /admin/credit/overdue", a.staff(a.runOverdue))
		mux.Handle("GET /admin/consumers/{id}/statements/{month}", a.staff(a.statement))
	}
}

type call struct {
	*http.Request
	Staff string
	Body  []byte
}

type handler func(ctx context.Context, c *call) (any, error)

const maxBody = 8 << 20 // CSV imports

func (a *API) staff(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, c, err := a.serve(r, h)
		if aerr := a.record(r, c, err); aerr != nil {
			a.Log.Error("admin request not recorded in the audit log", "path", r.URL.Path, "error", aerr)
			if r.Method == http.MethodGet && err == nil {
				out, err = nil, aerr // a read no one can trace is not answered
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			e := fenfu.AsError(err)
			if l := e.LogLevel(); l > slog.LevelInfo {
				a.Log.Log(r.Context(), l, "admin request failed", "path", r.URL.Path, "code", e.Code, "error", err.Error())
			}
			w.WriteHeader(e.Code.HTTPStatus())
			_ = json.NewEncoder(w).Encode(map[string]string{"code": string(e.Code), "message": e.Message, "remedy": e.Remedy})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}

// serve authenticates the request and runs h; the call is nil if the
// request was refused before it named its staff member.
func (a *API) serve(r *http.Request, h handler) (any, *call, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || a.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(a.Token)) != 1 {
		e := fenfu.Errorf(fenfu.SignError, "the staff API needs Authorization: Bearer <admin_token>")
		e.Remedy = "Use the token in the data directory's admin_token file."
		return nil, nil, e
	}
	staff := strings.TrimSpace(r.Header.Get("X-Fenfu-Staff"))
	if staff == "" || len(staff) > 64 {
		return nil, nil, fenfu.FieldError("X-Fenfu-Staff", "name the staff member acting in X-Fenfu-Staff; decisions are recorded under it")
	}
	c := &call{Request: r, Staff: "staff:" + staff}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, c, fenfu.Errorf(fenfu.ParamError, "the request body is too large or unreadable")
	}
	c.Body = body
	out, err := h(r.Context(), c)
	return out, c, err
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

func (a *API) queue(ctx context.Context, c *call) (any, error) {
	state := onboard.InReview
	if v := c.URL.Query().Get("state"); v != "" {
		var err error
		if state, err = onboard.ParseState(v); err != nil {
			return nil, err
		}
	}
	limit, _ := strconv.Atoi(c.URL.Query().Get("limit"))
	list, err := a.Onboard.Queue(ctx, state, limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"state": state, "applications": list}, nil
}

func (a *API) get(ctx context.Context, c *call) (any, error) {
	return a.Onboard.Get(ctx, c.PathValue("id"))
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
	to := a.Clock.Now()
	from := to.AddDate(0, 0, -7)
	if s := c.URL.Query().Get("from"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fenfu.FieldError("from", "from must be RFC 3339")
		}
		from = t
	}
	if s := c.URL.Query().Get("to"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fenfu.FieldError("to", "to must be RFC 3339")
		}
		to = t
	}
	cohorts, err := a.Pay.ABReport(ctx, c.PathValue("mchid"), from, to)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "from": from, "to": to, "cohorts": cohorts}, nil
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
