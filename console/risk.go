package console

import (
	"encoding/json"
	"github.com/fenfu/fenfu/route"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/risk"
)

// Risk control's pages: the queue of alerts and holds and their actions,
// the rule set with its versions and switches, the overview of the three
// levels, backtests (with what shadow rules would have done), and the
// complaints escalated to staff.

func (c *Console) riskPages(mux route.Mux) {
	mux.Handle("GET /console/risk/queue", c.page(c.riskQueue))
	mux.Handle("GET /console/risk/queue/{id}", c.page(c.riskItem))
	mux.Handle("POST /console/risk/queue/{id}/{action}", c.action(c.riskAct))
	mux.Handle("GET /console/risk/rules", c.page(c.riskRules))
	mux.Handle("POST /console/risk/rules/{name}/{switch}", c.action(c.riskSwitch))
	mux.Handle("GET /console/risk/overview", c.page(c.riskOverview))
	mux.Handle("GET /console/risk/backtest", c.page(c.backtestForm))
	mux.Handle("POST /console/risk/backtest", c.action(c.backtest))
	mux.Handle("GET /console/complaints", c.page(c.complaints))
	mux.Handle("GET /console/complaints/{id}", c.page(c.complaint))
	mux.Handle("POST /console/complaints/{id}/notes", c.action(c.complaintNote))
	mux.Handle("POST /console/complaints/{id}/resolve", c.action(c.complaintResolve))
}

// queueAnswer is GET /admin/risk/queue's answer.
type queueAnswer struct {
	State risk.QueueState `json:"state"`
	Items []risk.Item     `json:"items"`
	Next  string          `json:"next"`
}

type riskQueuePage struct {
	States []risk.QueueState
	Items  []risk.Item
	Listing
}

func (c *Console) riskQueue(r *http.Request, v *view) error {
	v.Title, v.Active = "risk-queue", "/console/risk/queue"
	call := admin.Call{Route: "GET /admin/risk/queue", Query: v.filters("state", "decision", "mchid")}
	if v.Query.Get("format") == "csv" {
		return v.export("risk-queue.csv", []string{"attempt_id", "order_id", "mchid", "consumer_id", "channel", "amount", "decision",
			"state", "rules", "created_at"}, call, func(raw json.RawMessage) ([][]string, string, error) {
			var p queueAnswer
			err := json.Unmarshal(raw, &p)
			var rows [][]string
			for _, it := range p.Items {
				rows = append(rows, []string{it.AttemptID, it.OrderID, it.MchID, it.ConsumerID, it.Channel, fenfu.Yuan(it.Amount),
					string(it.Decision), string(it.State), rules(it.Matched), stamp(it.CreatedAt)})
			}
			return rows, p.Next, err
		})
	}
	d := &riskQueuePage{States: []risk.QueueState{risk.Open, risk.Acknowledged, risk.Released, risk.Refunded}}
	v.Data = d
	var out queueAnswer
	if err := v.do(call, &out); err != nil {
		return err
	}
	d.Items, d.Listing = out.Items, v.Listing(out.Next)
	return nil
}

// rules names the rules a decision matched, shadow ones marked.
func rules(ms []risk.Match) string {
	var names []string
	for _, m := range ms {
		n := m.Rule
		if m.Shadow {
			n += " (shadow)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

type riskItemPage struct {
	risk.Item
	// Actions are those the item's state allows, if the member may act.
	Actions []risk.Action
	Rules   string
}

func (c *Console) riskItem(r *http.Request, v *view) error {
	v.Title, v.Active = "risk-item", "/console/risk/queue"
	d := &riskItemPage{}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/risk/queue/{id}", Path: map[string]string{"id": r.PathValue("id")}}, &d.Item); err != nil {
		return err
	}
	d.Rules = rules(d.Matched)
	if v.allows("POST /admin/risk/queue/{id}/{action}") {
		d.Actions = d.Allowed()
	}
	return nil
}

// riskAct acknowledges, releases or refunds an alert or hold, with the
// reason recorded.
func (c *Console) riskAct(r *http.Request, v *view) (string, error) {
	id, action := r.PathValue("id"), r.PathValue("action")
	err := v.do(admin.Call{Route: "POST /admin/risk/queue/{id}/{action}", Path: map[string]string{"id": id, "action": action},
		Body: map[string]string{"reason": r.PostForm.Get("reason")}}, nil)
	if err != nil {
		return "", err
	}
	return "/console/risk/queue/" + url.PathEscape(id) + "?done=" + url.QueryEscape("risk-"+action), nil
}

type rulesPage struct {
	Set       risk.RuleSet
	Versions  []risk.RuleSet
	CanSwitch bool
}

func (c *Console) riskRules(r *http.Request, v *view) error {
	v.Title, v.Active = "risk-rules", "/console/risk/rules"
	d := &rulesPage{}
	v.Data = d
	call := admin.Call{Route: "GET /admin/risk/rules", Query: v.filters("version")}
	if err := v.do(call, &d.Set); err != nil {
		return err
	}
	var vs struct {
		Versions []risk.RuleSet `json:"versions"`
	}
	if err := v.do(admin.Call{Route: "GET /admin/risk/versions"}, &vs); err != nil {
		return err
	}
	d.Versions = vs.Versions
	d.CanSwitch = v.Query.Get("version") == "" && v.allows("POST /admin/risk/rules/{name}/{switch}")
	return nil
}

// riskSwitch enables, disables, shadows or unshadows a rule: a new
// rule-set version, with the reason recorded.
func (c *Console) riskSwitch(r *http.Request, v *view) (string, error) {
	name, sw := r.PathValue("name"), r.PathValue("switch")
	err := v.do(admin.Call{Route: "POST /admin/risk/rules/{name}/{switch}", Path: map[string]string{"name": name, "switch": sw},
		Body: map[string]string{"change_reason": r.PostForm.Get("change_reason")}}, nil)
	if err != nil {
		return "", err
	}
	return "/console/risk/rules?done=" + url.QueryEscape("rule-"+sw), nil
}

type overviewPage struct {
	Days     int
	Overview struct {
		Screening struct {
			From       time.Time               `json:"from"`
			To         time.Time               `json:"to"`
			Industries []onboard.IndustryStats `json:"industries"`
		} `json:"level_1_admission_screening"`
		Monitoring struct {
			Version   int                   `json:"rule_set_version"`
			Rules     int                   `json:"rules"`
			Since     time.Time             `json:"since"`
			Decisions map[risk.Decision]int `json:"decisions"`
		} `json:"level_2_transaction_monitoring"`
		Freezing struct {
			Queue map[risk.QueueState]map[risk.Decision]int `json:"queue"`
		} `json:"level_3_fund_freezing"`
	}
	Decisions []risk.Decision
}

func (c *Console) riskOverview(r *http.Request, v *view) error {
	v.Title, v.Active = "risk-overview", "/console/risk/overview"
	d := &overviewPage{Days: 1, Decisions: risk.Decisions}
	v.Data = d
	if n, err := strconv.Atoi(v.Query.Get("days")); err == nil {
		d.Days = n
	}
	return v.do(admin.Call{Route: "GET /admin/risk/overview", Query: v.filters("days")}, &d.Overview)
}

type backtestPage struct {
	Version  int
	From, To string
	Result   *risk.Backtest
	Versions []risk.RuleSet
}

// backtestForm asks for a rule-set version and a period, by default the
// current version over the last seven days.
func (c *Console) backtestForm(r *http.Request, v *view) error {
	v.Title, v.Active = "backtest", "/console/risk/backtest"
	now := c.Clock.Now().In(fenfu.Shanghai)
	d := &backtestPage{From: now.AddDate(0, 0, -7).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	v.Data = d
	var vs struct {
		Versions []risk.RuleSet `json:"versions"`
	}
	if err := v.do(admin.Call{Route: "GET /admin/risk/versions"}, &vs); err != nil {
		return err
	}
	d.Versions = vs.Versions
	for _, s := range vs.Versions {
		d.Version = max(d.Version, s.Version)
	}
	return nil
}

// backtest replays a rule-set version over the payments decided in a
// period (whole Beijing days) and shows what it would have changed,
// shadow rules' matches included.
func (c *Console) backtest(r *http.Request, v *view) (string, error) {
	if err := c.backtestForm(r, v); err != nil {
		return "", err
	}
	d := v.Data.(*backtestPage)
	d.From, d.To = r.PostForm.Get("from"), r.PostForm.Get("to")
	if s := r.PostForm.Get("version"); s != "" {
		d.Version, _ = strconv.Atoi(s)
	}
	from, err := time.ParseInLocation(time.DateOnly, d.From, fenfu.Shanghai)
	if err != nil {
		return "", fenfu.FieldError("from", "from is a date, YYYY-MM-DD")
	}
	to, err := time.ParseInLocation(time.DateOnly, d.To, fenfu.Shanghai)
	if err != nil {
		return "", fenfu.FieldError("to", "to is a date, YYYY-MM-DD")
	}
	var res risk.Backtest
	if err := v.do(admin.Call{Route: "POST /admin/risk/backtest", Body: map[string]any{"version": d.Version,
		"from": from.Format(time.RFC3339), "to": to.AddDate(0, 0, 1).Format(time.RFC3339)}}, &res); err != nil {
		return "", err
	}
	d.Result = &res
	return "", nil
}

type complaintsPage struct {
	Complaints []complaint.Complaint
	Listing
}

func (c *Console) complaints(r *http.Request, v *view) error {
	v.Title, v.Active = "complaints", "/console/complaints"
	call := admin.Call{Route: "GET /admin/complaints", Query: v.filters("mchid")}
	type answer struct {
		Complaints []complaint.Complaint `json:"complaints"`
		Next       string                `json:"next"`
	}
	if v.Query.Get("format") == "csv" {
		return v.export("complaints.csv", []string{"complaint_id", "mchid", "transaction_id", "amount", "problem_type", "state",
			"escalation", "complaint_time", "respond_by"}, call, func(raw json.RawMessage) ([][]string, string, error) {
			var p answer
			err := json.Unmarshal(raw, &p)
			var rows [][]string
			for _, x := range p.Complaints {
				rows = append(rows, []string{x.ID, x.MchID, x.TransactionID, fenfu.Yuan(x.Amount), x.ProblemType, string(x.State),
					string(x.Escalation), stamp(x.CreatedAt), stamp(x.RespondBy)})
			}
			return rows, p.Next, err
		})
	}
	d := &complaintsPage{}
	v.Data = d
	var out answer
	if err := v.do(call, &out); err != nil {
		return err
	}
	d.Complaints, d.Listing = out.Complaints, v.Listing(out.Next)
	return nil
}

type complaintPage struct {
	Complaint complaint.Complaint `json:"complaint"`
	History   []complaint.Entry   `json:"history"`
	CanAct    bool                `json:"-"`
}

func (c *Console) complaint(r *http.Request, v *view) error {
	v.Title, v.Active = "complaint", "/console/complaints"
	d := &complaintPage{}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/complaints/{id}", Path: map[string]string{"id": r.PathValue("id")}}, d); err != nil {
		return err
	}
	d.CanAct = d.Complaint.ResolvedAt.IsZero() && v.allows("POST /admin/complaints/{id}/resolve")
	return nil
}

func (c *Console) complaintNote(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if err := v.do(admin.Call{Route: "POST /admin/complaints/{id}/notes", Path: map[string]string{"id": id},
		Body: map[string]string{"note": r.PostForm.Get("note")}}, nil); err != nil {
		return "", err
	}
	return "/console/complaints/" + url.PathEscape(id) + "?done=complaint-note", nil
}

func (c *Console) complaintResolve(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if err := v.do(admin.Call{Route: "POST /admin/complaints/{id}/resolve", Path: map[string]string{"id": id},
		Body: map[string]string{"resolution": r.PostForm.Get("resolution")}}, nil); err != nil {
		return "", err
	}
	return "/console/complaints/" + url.PathEscape(id) + "?done=complaint-resolve", nil
}
