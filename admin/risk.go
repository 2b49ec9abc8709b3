package admin

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/risk"
)

// riskOverview shows the three levels of risk control (SPEC §4):
// admission screening by onboarding over the last 30 days, the decisions
// of transaction monitoring over the last day, and the queue of alerts
// and holds. ?days=N widens both periods.
func (a *API) riskOverview(ctx context.Context, c *call) (any, error) {
	days := 1
	if s := c.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			return nil, fenfu.FieldError("days", "days is a whole number from 1 to 366")
		}
		days = n
	}
	now := a.Clock.Now()
	screenFrom := now.AddDate(0, 0, -max(days, 30))
	screening, err := a.Onboard.Report(ctx, screenFrom, now)
	if err != nil {
		return nil, err
	}
	monitoring, err := a.Risk.Overview(ctx, now.AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"level_1_admission_screening": map[string]any{"from": screenFrom, "to": now, "industries": screening},
		"level_2_transaction_monitoring": map[string]any{"rule_set_version": monitoring.Version, "rules": monitoring.Rules,
			"since": monitoring.Since, "decisions": monitoring.Decisions},
		"level_3_fund_freezing": map[string]any{"queue": monitoring.Queue},
	}, nil
}

// riskRules shows the current rule set, or ?version=N.
func (a *API) riskRules(ctx context.Context, c *call) (any, error) {
	if s := c.URL.Query().Get("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return nil, fenfu.FieldError("version", "version is a rule-set version, 1 or more")
		}
		return a.Risk.Version(ctx, v)
	}
	if _, err := a.Risk.Refresh(ctx); err != nil {
		return nil, err
	}
	return a.Risk.Current(ctx)
}

func (a *API) riskVersions(ctx context.Context, c *call) (any, error) {
	v, err := a.Risk.Versions(ctx)
	return map[string]any{"versions": v}, err
}

// ruleChange is the body of a rule change: the rule, and why it changes.
type ruleChange struct {
	risk.Rule
	Enabled *bool  `json:"enabled"`
	Why     string `json:"change_reason"`
}

func (a *API) ruleChange(c *call) (risk.Rule, string, error) {
	var in ruleChange
	if err := decode(c, &in); err != nil {
		return risk.Rule{}, "", err
	}
	in.Rule.Enabled = in.Enabled == nil || *in.Enabled // a new rule is on unless said otherwise
	return in.Rule, in.Why, nil
}

// riskAddRule adds a rule: {"name", "channels", "expr", "decision",
// "reason", "message", "enabled", "shadow", "change_reason"}.
func (a *API) riskAddRule(ctx context.Context, c *call) (any, error) {
	r, why, err := a.ruleChange(c)
	if err != nil {
		return nil, err
	}
	set, err := a.Risk.AddRule(ctx, c.Staff, why, r)
	if err == nil {
		a.Log.Info("risk rule added", "rule", r.Name, "version", set.Version, "staff", c.Staff)
	}
	return set, err
}

// riskChangeRule replaces the named rule with the body's.
func (a *API) riskChangeRule(ctx context.Context, c *call) (any, error) {
	r, why, err := a.ruleChange(c)
	if err != nil {
		return nil, err
	}
	r.Name = c.PathValue("name")
	set, err := a.Risk.ReplaceRule(ctx, c.Staff, why, r)
	if err == nil {
		a.Log.Info("risk rule changed", "rule", r.Name, "version", set.Version, "staff", c.Staff)
	}
	return set, err
}

// riskSwitchRule enables, disables, shadows or unshadows the named rule:
// {"change_reason"}.
func (a *API) riskSwitchRule(ctx context.Context, c *call) (any, error) {
	var in struct {
		Why string `json:"change_reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	edit, ok := map[string]func(*risk.Rule){
		"enable":   func(r *risk.Rule) { r.Enabled = true },
		"disable":  func(r *risk.Rule) { r.Enabled = false },
		"shadow":   func(r *risk.Rule) { r.Shadow = true },
		"unshadow": func(r *risk.Rule) { r.Shadow = false },
	}[c.PathValue("switch")]
	if !ok {
		return nil, fenfu.Errorf(fenfu.ParamError, "a rule is switched by enable, disable, shadow or unshadow")
	}
	set, err := a.Risk.EditRule(ctx, c.Staff, in.Why, c.PathValue("name"), edit)
	if err == nil {
		a.Log.Info("risk rule switched", "rule", c.PathValue("name"), "to", c.PathValue("switch"), "version", set.Version, "staff", c.Staff)
	}
	return set, err
}

// riskQueue lists alerts and holds, oldest first: ?state=OPEN (default;
// all for every state) &decision=ALERT|HOLD &mchid= &after= (the next
// cursor of the page before) &limit= (1 to 500, default 100).
func (a *API) riskQueue(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	f := risk.QueueFilter{State: risk.Open, Decision: risk.Decision(strings.ToUpper(q.Get("decision"))), MchID: q.Get("mchid")}
	if s := q.Get("state"); s != "" {
		f.State = risk.QueueState(strings.ToUpper(s))
		if s == "all" {
			f.State = ""
		}
	}
	var err error
	if f.Keyset, err = page(q); err != nil {
		return nil, err
	}
	items, next, err := a.Risk.Queue(ctx, f)
	if err != nil {
		return nil, err
	}
	return map[string]any{"state": f.State, "items": items, "next": next}, nil
}

func (a *API) riskItem(ctx context.Context, c *call) (any, error) {
	return a.Risk.Item(ctx, c.PathValue("id"))
}

// riskAct acknowledges, releases or refunds a queue item (by payment
// attempt or order): {"reason"}.
func (a *API) riskAct(ctx context.Context, c *call) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	act, err := risk.ParseAction(c.PathValue("action"))
	if err != nil {
		return nil, err
	}
	out, err := a.Pay.Resolve(ctx, c.PathValue("id"), act, c.Staff, in.Reason)
	if err == nil {
		a.Log.Info("risk queue action", "order", out.Item.OrderID, "action", act, "staff", c.Staff)
	}
	return out, err
}

// riskBacktest replays a rule-set version over the decisions of a period:
// {"version", "from", "to"} (RFC 3339).
func (a *API) riskBacktest(ctx context.Context, c *call) (any, error) {
	var in struct {
		Version int    `json:"version"`
		From    string `json:"from"`
		To      string `json:"to"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	from, err := time.Parse(time.RFC3339, in.From)
	if err != nil {
		return nil, fenfu.FieldError("from", "from must be RFC 3339")
	}
	to, err := time.Parse(time.RFC3339, in.To)
	if err != nil || !to.After(from) {
		return nil, fenfu.FieldError("to", "to must be RFC 3339, after from")
	}
	return a.Risk.Backtest(ctx, in.Version, from, to)
}
