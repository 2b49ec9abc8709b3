package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/risk"
)

// riskFlags are the flags each risk command takes, and which of them it
// requires: who acts is recorded, and every change and action carries its
// reason.
var riskFlags = map[string]struct{ takes, required []string }{
	"rules":    {[]string{"version"}, nil},
	"versions": {nil, nil},
	"add":      {[]string{"name", "channels", "expr", "decision", "reason", "message", "shadow", "disabled", "why", "staff"}, []string{"name", "expr", "decision", "reason", "why", "staff"}},
	"change":   {[]string{"name", "channels", "expr", "decision", "reason", "message", "shadow", "disabled", "why", "staff"}, []string{"name", "expr", "decision", "reason", "why", "staff"}},
	"enable":   {[]string{"name", "why", "staff"}, []string{"name", "why", "staff"}},
	"disable":  {[]string{"name", "why", "staff"}, []string{"name", "why", "staff"}},
	"queue":    {[]string{"state"}, nil},
	"show":     {[]string{"id"}, []string{"id"}},
	"ack":      {[]string{"id", "reason", "staff"}, []string{"id", "reason", "staff"}},
	"release":  {[]string{"id", "reason", "staff"}, []string{"id", "reason", "staff"}},
	"refund":   {[]string{"id", "reason", "staff"}, []string{"id", "reason", "staff"}},
	"backtest": {[]string{"version", "from", "to", "json"}, []string{"version", "from", "to"}},
	"overview": {[]string{"days"}, nil},
}

// cmdRisk runs risk control from the command line: the rules, the queue,
// backtests and the overview, on the stores directly, as the staff API
// does over HTTP.
func cmdRisk(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	f := riskFlags[sub]
	var name, channels, expr, decision, reason, message, why, staff, state, id, from, to string
	var version, days int
	var shadow, disabled, asJSON bool
	stringFlag(fs, f.takes, &name, "name", "the rule's name")
	stringFlag(fs, f.takes, &channels, "channels", "the channels the rule applies to: credit, balance or credit,balance (default credit)")
	stringFlag(fs, f.takes, &expr, "expr", "the rule's expression over the payment's features (amounts in fen)")
	stringFlag(fs, f.takes, &decision, "decision", "allow, alert, confirm, hold or reject")
	if sub == "add" || sub == "change" {
		stringFlag(fs, f.takes, &reason, "reason", "the reason staff see for the rule")
	} else {
		stringFlag(fs, f.takes, &reason, "reason", "why, recorded with the action")
	}
	stringFlag(fs, f.takes, &message, "message", "the message the payer sees when the rule rejects")
	stringFlag(fs, f.takes, &why, "why", "why the rules change, recorded with the new version")
	stringFlag(fs, f.takes, &staff, "staff", "the staff member acting")
	stringFlag(fs, f.takes, &state, "state", "OPEN (default), ACKNOWLEDGED, RELEASED, REFUNDED or all")
	stringFlag(fs, f.takes, &id, "id", "the order (transaction_id) or payment attempt")
	stringFlag(fs, f.takes, &from, "from", "the first day, YYYY-MM-DD (Asia/Shanghai)")
	stringFlag(fs, f.takes, &to, "to", "the last day, YYYY-MM-DD (Asia/Shanghai)")
	if slices.Contains(f.takes, "version") {
		fs.IntVar(&version, "version", 0, "the rule-set version (default: the current one)")
	}
	if slices.Contains(f.takes, "days") {
		fs.IntVar(&days, "days", 1, "days of decisions to count")
	}
	if slices.Contains(f.takes, "shadow") {
		fs.BoolVar(&shadow, "shadow", false, "run the rule in shadow mode: record what it would decide, do not act")
		fs.BoolVar(&disabled, "disabled", false, "add the rule disabled")
	}
	if slices.Contains(f.takes, "json") {
		fs.BoolVar(&asJSON, "json", false, "print the full report as JSON")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, f.required...); err != nil {
		return err
	}
	if sub == "backtest" && version < 1 {
		return e.usagef("--version must be a rule-set version, 1 or more")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	actor := "staff:" + staff
	rule := func() (risk.Rule, error) {
		d, err := risk.ParseDecision(decision)
		if err != nil {
			return risk.Rule{}, err
		}
		ch := []string{risk.Credit}
		if channels != "" {
			ch = strings.Split(channels, ",")
		}
		return risk.Rule{Name: name, Channels: ch, Expr: expr, Decision: d, Reason: reason, Message: message, Enabled: !disabled, Shadow: shadow}, nil
	}
	var out any
	switch sub {
	case "rules":
		if version > 0 {
			out, err = a.risk.Version(ctx, version)
		} else {
			out, err = a.risk.Current(ctx)
		}
	case "versions":
		var v []risk.RuleSet
		v, err = a.risk.Versions(ctx)
		out = list(v)
	case "add", "change": // risk records each change in the audit log
		var r risk.Rule
		if r, err = rule(); err == nil {
			if sub == "add" {
				out, err = a.risk.AddRule(ctx, actor, why, r)
			} else {
				out, err = a.risk.ReplaceRule(ctx, actor, why, r)
			}
		}
	case "enable", "disable":
		out, err = a.risk.EditRule(ctx, actor, why, name, func(r *risk.Rule) { r.Enabled = sub == "enable" })
	case "queue":
		s := risk.QueueState(strings.ToUpper(state))
		switch s {
		case "":
			s = risk.Open
		case "ALL":
			s = ""
		}
		out, _, err = a.risk.Queue(ctx, risk.QueueFilter{State: s})
	case "show":
		out, err = a.risk.Item(ctx, id)
	case "ack", "release", "refund":
		act := map[string]risk.Action{"ack": risk.Acknowledge, "release": risk.Release, "refund": risk.RefundIt}[sub]
		res, err := a.pay.Resolve(ctx, id, act, actor, reason)
		if err != nil {
			return err
		}
		rec := recordCLI(ctx, e, a.credit, actor, "risk queue "+sub, audit.Target{Kind: "order", ID: id}, reason,
			map[string]any{"os_user": cliActor("")})
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
		return rec
	case "backtest":
		var b risk.Backtest
		if b, err = backtest(ctx, a, version, from, to); err != nil {
			return err
		}
		if asJSON {
			return printJSON(e.stdout, b)
		}
		writeBacktest(e.stdout, b)
		return nil
	case "overview":
		out, err = a.risk.Overview(ctx, a.clock.Now().AddDate(0, 0, -max(days, 1)))
	}
	if err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

// backtest replays version over the Asia/Shanghai days from to to, both
// included.
func backtest(ctx context.Context, a *app, version int, from, to string) (risk.Backtest, error) {
	start, err := time.ParseInLocation(time.DateOnly, from, fenfu.Shanghai)
	if err != nil {
		return risk.Backtest{}, fenfu.FieldError("from", "--from is a date, YYYY-MM-DD")
	}
	last, err := time.ParseInLocation(time.DateOnly, to, fenfu.Shanghai)
	if err != nil || last.Before(start) {
		return risk.Backtest{}, fenfu.FieldError("to", "--to is a date, YYYY-MM-DD, not before --from")
	}
	return a.risk.Backtest(ctx, version, start, last.AddDate(0, 0, 1))
}

// writeBacktest prints what a backtest found.
func writeBacktest(w io.Writer, b risk.Backtest) {
	fmt.Fprintf(w, "rule set %d over %s to %s: %d payments\n", b.Version, b.From.In(fenfu.Shanghai).Format(time.DateOnly),
		b.To.In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly), b.Payments)
	for _, d := range risk.Decisions {
		fmt.Fprintf(w, "  %-6s was %6d  would be %6d  (%s yuan)\n", d, b.Was[d], b.Would[d], fenfu.Yuan(b.Amounts[d]))
	}
	changed := 0
	for _, move := range slices.Sorted(maps.Keys(b.Moves)) {
		fmt.Fprintf(w, "  %s: %d\n", move, b.Moves[move])
		changed += b.Moves[move]
	}
	fmt.Fprintf(w, "%d payments would have been decided otherwise\n", changed)
	for _, c := range b.Changed {
		rules := make([]string, 0, len(c.Matched))
		for _, m := range c.Matched {
			rules = append(rules, m.Rule)
		}
		fmt.Fprintf(w, "  %s  %s  %s  %s yuan  %s → %s  (%s)\n", c.At.In(fenfu.Shanghai).Format(time.DateTime), c.OrderID, c.MchID,
			fenfu.Yuan(c.Amount), c.Was, c.Would, strings.Join(rules, ", "))
	}
}
