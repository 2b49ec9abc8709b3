package risk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/metrics"
)

// Engine evaluates payments against the newest rule set it has loaded
// from the credit store, and records its decisions there. Each node has
// one; Refresh (run every few seconds by Watch) picks up a version another
// node made.
type Engine struct {
	DB      *db.DB // the credit store
	Clock   fenfu.Clock
	Metrics *metrics.Registry // nil: no metrics

	newest db.Newest[RuleSet]
}

// querier is a transaction or a store: what reads run on.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Seed makes rule-set version 1 of rules if the store has no rule set
// yet: the default rules on a new store. It is safe to run on every
// start, by any number of nodes.
func (e *Engine) Seed(ctx context.Context, rules []Rule) error {
	set := &RuleSet{Version: 1, Rules: rules, Actor: "fenfu", Reason: "the default rules"}
	if err := set.compile(); err != nil {
		return err
	}
	err := e.DB.Update(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM risk_rule_sets`).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := insertSet(ctx, tx, set) // another node may have seeded it first
		return err
	})
	if err != nil {
		return fenfu.Internal("risk.Seed", err)
	}
	return nil
}

// insertSet stores a new version, and reports false, storing nothing, if
// the version exists: another node made it first.
func insertSet(ctx context.Context, tx *db.Tx, set *RuleSet) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO risk_rule_sets (version, created_at, actor, reason) VALUES ($1, $2, $3, $4)
		ON CONFLICT (version) DO NOTHING`, set.Version, db.Micros(tx.Now), set.Actor, set.Reason)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	for i, r := range set.Rules {
		if _, err := tx.ExecContext(ctx, `INSERT INTO risk_rules (version, position, name, channels, expr, decision, reason, message, enabled, shadow)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, set.Version, i, r.Name, strings.Join(r.Channels, ","), r.Expr,
			string(r.Decision), r.Reason, r.Message, db.Flag(r.Enabled), db.Flag(r.Shadow)); err != nil {
			return false, err
		}
	}
	set.CreatedAt = tx.Now
	return true, nil
}

// errChanged is a change that lost the race for its version number.
var errChanged = errors.New("risk: the rules changed meanwhile")

// latest returns the newest version in the store, 0 if none.
func latest(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM risk_rule_sets`).Scan(&v)
	return v, err
}

// load reads and compiles one version.
func load(ctx context.Context, q querier, version int) (*RuleSet, error) {
	set := &RuleSet{Version: version}
	var at int64
	err := q.QueryRowContext(ctx, `SELECT created_at, actor, reason FROM risk_rule_sets WHERE version = $1`, version).
		Scan(&at, &set.Actor, &set.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fenfu.Errorf(fenfu.ResourceNotExists, "no rule set version %d", version)
	}
	if err != nil {
		return nil, err
	}
	set.CreatedAt = db.Time(at)
	set.Rules, err = db.All(ctx, q, func(row db.Scanner) (r Rule, err error) {
		var channels string
		var enabled, shadow int
		err = row.Scan(&r.Name, &channels, &r.Expr, &r.Decision, &r.Reason, &r.Message, &enabled, &shadow)
		r.Channels, r.Enabled, r.Shadow = strings.Split(channels, ","), enabled == 1, shadow == 1
		return r, err
	}, `SELECT name, channels, expr, decision, reason, message, enabled, shadow FROM risk_rules WHERE version = $1 ORDER BY position`, version)
	if err != nil {
		return nil, err
	}
	if err := set.compile(); err != nil {
		return nil, fmt.Errorf("risk: stored rule set %d: %w", version, err)
	}
	return set, nil
}

// Version returns a stored rule set.
func (e *Engine) Version(ctx context.Context, version int) (*RuleSet, error) {
	set, err := load(ctx, e.DB, version)
	if err != nil {
		return nil, fenfu.Op("risk.Version", err)
	}
	return set, nil
}

// Current returns the rule set the engine evaluates with, loading the
// newest one on first use. An empty set (version 0) allows everything.
func (e *Engine) Current(ctx context.Context) (*RuleSet, error) {
	return e.newest.Current(ctx, e.source())
}

// Refresh loads the newest rule set if the store has one newer than the
// engine's, and reports whether it did.
func (e *Engine) Refresh(ctx context.Context) (bool, error) {
	ok, err := e.newest.Refresh(ctx, e.source())
	if err != nil {
		return false, fenfu.Internal("risk.Refresh", err)
	}
	return ok, nil
}

// source reads the rule sets of the engine's store.
func (e *Engine) source() db.Source[RuleSet] {
	return db.Source[RuleSet]{
		Latest: func(ctx context.Context) (int, error) { return latest(ctx, e.DB) },
		Load: func(ctx context.Context, v int) (*RuleSet, error) {
			if v == 0 {
				return &RuleSet{}, nil
			}
			return load(ctx, e.DB, v)
		}}
}

// Watch refreshes the rule set every interval until ctx ends, so a new
// version reaches this node within that interval, without a restart.
func (e *Engine) Watch(ctx context.Context, every time.Duration, log func(error)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := e.Refresh(ctx); err != nil && ctx.Err() == nil && log != nil {
			log(err)
		}
	}
}

// Change makes a new rule-set version from the newest one by edit, made
// by actor for reason, and returns it; the engine uses it at once, other
// nodes at their next Refresh. A set whose rules do not check is refused
// with an error naming the problem.
func (e *Engine) Change(ctx context.Context, actor, reason string, edit func([]Rule) ([]Rule, error)) (*RuleSet, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fenfu.FieldError("reason", "say why the rules change; it is recorded with the version")
	}
	var set *RuleSet
	err := e.DB.Update(ctx, func(tx *db.Tx) error {
		v, err := latest(ctx, tx)
		if err != nil {
			return err
		}
		var rules []Rule
		if v > 0 {
			cur, err := load(ctx, tx, v)
			if err != nil {
				return err
			}
			rules = cur.Rules
		}
		before := append([]Rule(nil), rules...)
		rules, err = edit(rules)
		if err != nil {
			return err
		}
		set = &RuleSet{Version: v + 1, Rules: rules, Actor: actor, Reason: reason}
		if err := set.compile(); err != nil {
			return err
		}
		made, err := insertSet(ctx, tx, set)
		if err == nil && !made {
			return errChanged
		}
		if err != nil {
			return err
		}
		// The change and its audit entry commit together, whoever makes it.
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionRuleChange,
			Target: audit.Target{Kind: "risk rule set", ID: strconv.Itoa(set.Version)}, Reason: reason,
			Detail: audit.Detail(map[string]any{"version": set.Version, "rules": changed(before, rules)})})
		return err
	})
	var fe *fenfu.Error
	switch {
	case errors.As(err, &fe):
		return nil, fe
	case errors.Is(err, errChanged):
		return nil, fenfu.Errorf(fenfu.InvalidRequest, "the rules changed meanwhile; look at the new version and try again")
	case err != nil:
		return nil, fenfu.Internal("risk.Change", err)
	}
	e.newest.Use(set, set.Version)
	return set, nil
}

// Versions lists the stored rule-set versions, newest first, without their
// rules.
func (e *Engine) Versions(ctx context.Context) ([]RuleSet, error) {
	out, err := db.All(ctx, e.DB, func(r db.Scanner) (s RuleSet, err error) {
		var at int64
		err = r.Scan(&s.Version, &at, &s.Actor, &s.Reason)
		s.CreatedAt = db.Time(at)
		return s, err
	}, `SELECT version, created_at, actor, reason FROM risk_rule_sets ORDER BY version DESC LIMIT 100`)
	if err != nil {
		return nil, fenfu.Internal("risk.Versions", err)
	}
	return out, nil
}

// Payment names the payment attempt being decided.
type Payment struct {
	AttemptID  string
	OrderID    string
	MchID      string
	ConsumerID string
	Channel    string // credit or balance
	Amount     fenfu.Fen
	// Committed marks the capture of an amount the consumer committed
	// before the service was delivered (a confirmed service order): it
	// is not refused, so a rule that would reject it holds it instead,
	// for staff to review in the queue.
	Committed bool
}

// Decide evaluates the payment's features with the current rule set and
// records the decision in the caller's credit-store transaction; an alert
// or a hold enters the risk queue with it. Deciding an attempt twice
// records it once.
func (e *Engine) Decide(ctx context.Context, tx *db.Tx, p Payment, f *Features) (Outcome, error) {
	set, err := e.Current(ctx)
	if err != nil {
		return Outcome{}, err
	}
	start := time.Now()
	out := set.Evaluate(f)
	if p.Committed && out.Decision == Reject {
		out = out.committed()
	}
	e.observe(out, time.Since(start))
	if err := record(ctx, tx, p, f, out); err != nil {
		return out, fmt.Errorf("risk: record %s: %w", p.AttemptID, err)
	}
	return out, nil
}

func (e *Engine) observe(out Outcome, took time.Duration) {
	if e.Metrics == nil {
		return
	}
	e.Metrics.Observe("fenfu_risk_evaluation_seconds", took)
	e.Metrics.Add("fenfu_risk_payments_total", 1, "decision", string(out.Decision))
	for _, m := range out.Matched {
		e.Metrics.Add("fenfu_risk_rule_matches_total", 1, "rule", m.Rule, "decision", string(m.Decision), "mode", m.Mode())
	}
}

// MetricsHelp sets the help texts of the risk metrics, and the evaluation
// histogram's buckets: an evaluation takes microseconds.
func MetricsHelp(r *metrics.Registry) {
	r.SetBuckets("fenfu_risk_evaluation_seconds", []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2.5e-4, 1e-3})
	r.Help("fenfu_risk_evaluation_seconds", "Time to evaluate a payment's features against the rule set.")
	r.Help("fenfu_risk_payments_total", "Payments evaluated, by the decision acted on.")
	r.Help("fenfu_risk_rule_matches_total", "Rule matches, by rule, its decision and whether it acted or ran in shadow.")
}

func record(ctx context.Context, tx *db.Tx, p Payment, f *Features, out Outcome) error {
	matched, err := json.Marshal(list(out.Matched))
	if err != nil {
		return err
	}
	features, err := json.Marshal(f)
	if err != nil {
		return err
	}
	now, keep := db.Micros(tx.Now), db.Micros(retainUntil(tx.Now))
	const insertDecision = `INSERT INTO risk_decisions (attempt_id, order_id, mchid, consumer_id, channel, amount, version,
		decision, matched, features, created_at, retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (attempt_id) DO NOTHING`
	args := []any{p.AttemptID, p.OrderID, p.MchID, p.ConsumerID, p.Channel, p.Amount, out.Version,
		string(out.Decision), string(matched), string(features), now, keep}
	if !out.Decision.Queued() {
		// Nothing depends on whether the decision is new: it goes with
		// the transaction's next statement (db.Tx.Later).
		return tx.Later(ctx, insertDecision, args...)
	}
	if tx.Engine == db.Postgres {
		// The decision and its queue item in one statement, the item only
		// if the decision is new, sent with the next statement.
		return tx.Later(ctx, `WITH d AS (`+insertDecision+` RETURNING attempt_id)
			INSERT INTO risk_queue (attempt_id, order_id, decision, state, created_at, updated_at, retain_until)
			SELECT $1, $2, $8, $13::text, $11, $11, $12 FROM d`, append(args, string(Open))...)
	}
	res, err := tx.ExecContext(ctx, insertDecision, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO risk_queue (attempt_id, order_id, decision, state, created_at, updated_at, retain_until)
		VALUES ($1, $2, $3, $4, $5, $5, $6)`, p.AttemptID, p.OrderID, string(out.Decision), string(Open), now, keep)
	return err
}

func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// HoldOf reports whether the attempt's recorded decision holds its
// settlement, and why, in the caller's credit-store transaction: recovery
// reads it when it completes a payment whose process died after the
// capture.
func HoldOf(ctx context.Context, tx *db.Tx, attemptID string) (held bool, reason string, err error) {
	var d Decision
	var matched string
	err = tx.QueryRowContext(ctx, `SELECT decision, matched FROM risk_decisions WHERE attempt_id = $1`, attemptID).Scan(&d, &matched)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil || d != Hold {
		return false, "", err
	}
	return true, holdReason(matched), nil
}

// holdReason is the hold_reason of a held order: the rules that held it.
func holdReason(matched string) string {
	var o Outcome
	_ = json.Unmarshal([]byte(matched), &o.Matched)
	return HoldReason(o.HoldRules())
}

// HoldReason is the hold reason recorded on an order held by rules.
func HoldReason(rules []string) string { return "risk: " + strings.Join(rules, ", ") }

// committed is a rejecting outcome of a committed capture as it acts: a
// hold, by the rules that rejected it.
func (o Outcome) committed() Outcome {
	o.Decision = Hold
	o.Matched = append([]Match(nil), o.Matched...)
	for i, m := range o.Matched {
		if m.Decision == Reject && !m.Shadow {
			o.Matched[i].Decision = Hold
		}
	}
	return o
}

// AsksConfirmation reports whether an acting rule the payment matched
// asks its payer to confirm it (CONFIRM), whatever the outcome's
// decision.
func (o Outcome) AsksConfirmation() bool {
	for _, m := range o.Matched {
		if m.Decision == Confirm && !m.Shadow {
			return true
		}
	}
	return false
}

// HoldRules names the acting hold rules of an outcome.
func (o Outcome) HoldRules() []string {
	var names []string
	for _, m := range o.Matched {
		if m.Decision == Hold && !m.Shadow {
			names = append(names, m.Rule)
		}
	}
	return names
}

// AddRule makes a new version with rule r added.
func (e *Engine) AddRule(ctx context.Context, actor, reason string, r Rule) (*RuleSet, error) {
	return e.Change(ctx, actor, reason, func(rules []Rule) ([]Rule, error) {
		if index(rules, r.Name) >= 0 {
			return nil, fenfu.Errorf(fenfu.InvalidRequest, "a rule named %s exists: change it instead", r.Name)
		}
		return append(rules, r), nil
	})
}

// ReplaceRule makes a new version with the rule of r's name replaced by r.
func (e *Engine) ReplaceRule(ctx context.Context, actor, reason string, r Rule) (*RuleSet, error) {
	return e.Change(ctx, actor, reason, func(rules []Rule) ([]Rule, error) {
		i := index(rules, r.Name)
		if i < 0 {
			return nil, fenfu.Errorf(fenfu.ResourceNotExists, "no rule named %s", r.Name)
		}
		rules[i] = r
		return rules, nil
	})
}

// EditRule makes a new version with the named rule changed by edit:
// enabled or disabled, put in or out of shadow mode.
func (e *Engine) EditRule(ctx context.Context, actor, reason, name string, edit func(*Rule)) (*RuleSet, error) {
	return e.Change(ctx, actor, reason, func(rules []Rule) ([]Rule, error) {
		i := index(rules, name)
		if i < 0 {
			return nil, fenfu.Errorf(fenfu.ResourceNotExists, "no rule named %s", name)
		}
		edit(&rules[i])
		return rules, nil
	})
}

// changed names the rules that after adds, drops or defines otherwise
// than before.
func changed(before, after []Rule) []string {
	was := map[string]string{}
	for _, r := range before {
		b, _ := json.Marshal(r)
		was[r.Name] = string(b)
	}
	names := []string{}
	for _, r := range after {
		b, _ := json.Marshal(r)
		if was[r.Name] != string(b) {
			names = append(names, r.Name)
		}
		delete(was, r.Name)
	}
	for name := range was {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func index(rules []Rule, name string) int {
	for i, r := range rules {
		if r.Name == name {
			return i
		}
	}
	return -1
}
