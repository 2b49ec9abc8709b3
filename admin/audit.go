package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/mask"
)

// creditRoutes are the staff routes whose data lives in the credit store:
// consumers' credit (accounts, repayments, lines, statements, overdue),
// risk control (rules, queue, backtests, the chart of the rules'
// decisions) and complaints. Every other route is recorded in the core
// store's chain.
var creditRoutes = []string{"/admin/consumers/", "/admin/credit/", "/admin/risk/", "/admin/complaints", "/admin/charts/risk"}

// storeOf names the store whose audit log a request is recorded in: the
// store its data lives in. GET /admin/audit reads the log it asks for and
// is recorded there.
func storeOf(r *http.Request) string {
	path := routePath(r)
	if path == "/admin/audit" && r.URL.Query().Get("store") == "credit" {
		return "credit"
	}
	for _, p := range creditRoutes {
		if strings.HasPrefix(path, p) {
			return "credit"
		}
	}
	return "core"
}

// routePath is the path of the request's route pattern, without its
// method: "/admin/applications/{id}".
func routePath(r *http.Request) string {
	return r.Pattern[strings.IndexByte(r.Pattern, ' ')+1:]
}

// maxAuditQuery bounds the query string an entry keeps.
const maxAuditQuery = 1024

// record appends the request to its chain after it was served: the actor
// (a request refused before naming one is logged, not chained), the route
// pattern as the action, the path values, the query, the result and the
// body's reason or change_reason if it has one. The services commit their
// own transactions, so the entry commits right after the request's
// writes, in a transaction of its own; it is written even if the client
// has gone.
func (a *API) record(r *http.Request, c *call, err error) error {
	if a.Audit == nil || r.Pattern == "" {
		return nil
	}
	if c == nil {
		// Refused before naming a staff member: no one's access to
		// record, and anyone may send such requests without end, so
		// they go to the log, not into the chain.
		a.Log.Warn("staff request refused before authentication", "route", r.Pattern, "source", fenfu.Source(r.RemoteAddr))
		return nil
	}
	e := audit.Entry{Actor: "unauthenticated", Action: r.Pattern}
	detail := map[string]any{"status": http.StatusOK, "code": "OK"}
	if err != nil {
		fe := fenfu.AsError(err)
		detail["status"], detail["code"] = fe.Code.HTTPStatus(), fe.Code
	}
	if c != nil {
		e.Actor = c.Staff
		var body struct {
			Reason       string `json:"reason"`
			ChangeReason string `json:"change_reason"`
		}
		if json.Unmarshal(c.Body, &body) == nil {
			e.Reason = body.ChangeReason // a rule's own reason is part of the rule
			if e.Reason == "" {
				e.Reason = body.Reason
			}
		}
	}
	path := map[string]string{}
	for _, seg := range strings.Split(routePath(r), "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			path[name] = r.PathValue(name)
			if e.Target.ID == "" {
				e.Target.ID = path[name]
			}
			continue
		}
		if e.Target.ID == "" && seg != "" {
			e.Target.Kind = seg // the collection before the first wildcard, or the last
		}
	}
	if len(path) > 0 {
		detail["path"] = path
	}
	if q := maskedQuery(r); q != "" {
		if len(q) > maxAuditQuery {
			q = q[:maxAuditQuery]
		}
		detail["query"] = q
	}
	e.Detail = audit.Detail(detail)
	_, rerr := audit.Record(context.WithoutCancel(r.Context()), a.Audit.Of(storeOf(r)), e)
	return rerr
}

// maskedQuery is the request's query as the audit log keeps it: a value
// of a parameter that carries personal data (a consumer looked up by
// ?phone=) masked, as the answer masks it, for the log outlives them.
func maskedQuery(r *http.Request) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return r.URL.RawQuery
	}
	masked := false
	for k, vs := range q {
		if f := mask.Field("", k); f != nil {
			for i := range vs {
				vs[i], masked = f(vs[i]), true
			}
		}
	}
	if !masked {
		return r.URL.RawQuery
	}
	return strings.ReplaceAll(q.Encode(), "%2A", "*") // 138****8000 reads as it is shown

}

// auditLog answers GET /admin/audit: a store's audit entries, newest
// first. ?store=core|credit (default core) &actor= &action= (a route
// pattern, as "POST /admin/consumers/{id}/line", or login, unmask, …)
// &target_kind= &target_id= &from= &to= (RFC 3339) &limit= (1 to 500,
// default 50) &offset=.
func (a *API) auditLog(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	store := q.Get("store")
	if store == "" {
		store = "core"
	}
	d := a.Audit.Of(store)
	if d == nil {
		return nil, fenfu.FieldError("store", "store is core or credit")
	}
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), TargetKind: q.Get("target_kind"), TargetID: q.Get("target_id")}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(t.name); s != "" {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, fenfu.FieldError(t.name, "%s must be RFC 3339", t.name)
			}
			*t.to = v
		}
	}
	var err error
	if f.Limit, f.Offset, err = complaint.Page(q, audit.MaxLimit, audit.DefaultLimit); err != nil {
		return nil, err
	}
	head, err := audit.HeadOf(ctx, d)
	if err != nil {
		return nil, err
	}
	list, err := audit.List(ctx, d, f)
	if err != nil {
		return nil, err
	}
	return map[string]any{"store": d.Name, "head": head, "entries": list}, nil
}
