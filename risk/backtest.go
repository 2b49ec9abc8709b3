package risk

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Changed is a past payment a rule set would have decided otherwise.
type Changed struct {
	AttemptID string    `json:"attempt_id"`
	OrderID   string    `json:"order_id"`
	MchID     string    `json:"mchid"`
	Amount    fenfu.Fen `json:"amount"`
	At        time.Time `json:"at"`
	Was       Decision  `json:"was"`
	Would     Decision  `json:"would"`
	Matched   []Match   `json:"matched"`
}

// Backtest is what a rule-set version would have changed over a period.
type Backtest struct {
	Version  int                       `json:"version"`
	From     time.Time                 `json:"from"`
	To       time.Time                 `json:"to"`
	Payments int                       `json:"payments"`
	Was      map[Decision]int          `json:"was"`
	Would    map[Decision]int          `json:"would"`
	Moves    map[string]int            `json:"moves"` // "ALLOW→REJECT": count
	Changed  []Changed                 `json:"changed"`
	Amounts  map[Decision]fenfu.Fen    `json:"would_amounts"`
	Rules    map[string]map[string]int `json:"rule_matches"` // rule → "act"/"shadow" → count
}

// maxChanged bounds the changed payments a backtest lists; the counts
// cover them all.
const maxChanged = 1000

// Backtest replays rule-set version over the payments decided in
// [from, to), on the features recorded with each, and reports what it
// would have decided differently.
func (e *Engine) Backtest(ctx context.Context, version int, from, to time.Time) (Backtest, error) {
	set, err := load(ctx, e.DB, version)
	if err != nil {
		return Backtest{}, fenfu.Op("risk.Backtest", err)
	}
	b := Backtest{Version: version, From: from, To: to, Was: map[Decision]int{}, Would: map[Decision]int{}, Moves: map[string]int{},
		Changed: []Changed{}, Amounts: map[Decision]fenfu.Fen{}, Rules: map[string]map[string]int{}}
	rows, err := e.DB.QueryContext(ctx, `SELECT attempt_id, order_id, mchid, amount, decision, features, created_at FROM risk_decisions
		WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, attempt_id`, db.Micros(from), db.Micros(to))
	if err != nil {
		return b, fenfu.Internal("risk.Backtest", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Changed
		var features string
		var at int64
		if err := rows.Scan(&c.AttemptID, &c.OrderID, &c.MchID, &c.Amount, &c.Was, &features, &at); err != nil {
			return b, fenfu.Internal("risk.Backtest", err)
		}
		var f Features
		if err := json.Unmarshal([]byte(features), &f); err != nil {
			return b, fenfu.Internal("risk.Backtest", err)
		}
		out := set.Evaluate(&f)
		b.Payments++
		b.Was[c.Was]++
		b.Would[out.Decision]++
		b.Amounts[out.Decision] += c.Amount
		for _, m := range out.Matched {
			if b.Rules[m.Rule] == nil {
				b.Rules[m.Rule] = map[string]int{}
			}
			b.Rules[m.Rule][m.Mode()]++
		}
		if out.Decision == c.Was {
			continue
		}
		b.Moves[string(c.Was)+"→"+string(out.Decision)]++
		if len(b.Changed) < maxChanged {
			c.At, c.Would, c.Matched = db.Time(at), out.Decision, list(out.Matched)
			b.Changed = append(b.Changed, c)
		}
	}
	return b, rows.Err()
}

// Overview counts the risk queue by state and decision, and the decisions
// made since a time by outcome.
type Overview struct {
	Version   int                             `json:"rule_set_version"`
	Rules     int                             `json:"rules"`
	Since     time.Time                       `json:"since"`
	Decisions map[Decision]int                `json:"decisions"`
	Queue     map[QueueState]map[Decision]int `json:"queue"`
}

// Overview reports the current rule set, the decisions since since, and
// the queue.
func (e *Engine) Overview(ctx context.Context, since time.Time) (Overview, error) {
	o := Overview{Since: since, Decisions: map[Decision]int{}, Queue: map[QueueState]map[Decision]int{}}
	set, err := e.Current(ctx)
	if err != nil {
		return o, err
	}
	o.Version, o.Rules = set.Version, len(set.Rules)
	rows, err := e.DB.QueryContext(ctx, `SELECT decision, COUNT(*) FROM risk_decisions WHERE created_at >= $1 GROUP BY decision`, db.Micros(since))
	if err != nil {
		return o, fenfu.Internal("risk.Overview", err)
	}
	for rows.Next() {
		var d Decision
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			rows.Close()
			return o, fenfu.Internal("risk.Overview", err)
		}
		o.Decisions[d] = n
	}
	rows.Close()
	rows, err = e.DB.QueryContext(ctx, `SELECT state, decision, COUNT(*) FROM risk_queue GROUP BY state, decision`)
	if err != nil {
		return o, fenfu.Internal("risk.Overview", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s QueueState
		var d Decision
		var n int
		if err := rows.Scan(&s, &d, &n); err != nil {
			return o, fenfu.Internal("risk.Overview", err)
		}
		if o.Queue[s] == nil {
			o.Queue[s] = map[Decision]int{}
		}
		o.Queue[s][d] = n
	}
	return o, rows.Err()
}
