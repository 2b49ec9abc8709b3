package risk

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// MaxDailySpan bounds the period RuleDays reports on.
const MaxDailySpan = 92 * 24 * time.Hour

// RuleDay is what one rule decided on the payments of one business day
// (Asia/Shanghai) that it ran on: those of its channels, while it was
// enabled in the rule set that decided them.
type RuleDay struct {
	Day  string `json:"day"` // 2006-01-02
	Rule string `json:"rule"`
	// Evaluated counts the payments the rule ran on; Pass those it let
	// through (it did not match, or matched as allow or confirm), Review
	// those it sent to the risk queue (alert or hold), Reject those it
	// refused. Pass + Review + Reject = Evaluated.
	Evaluated int `json:"evaluated"`
	Pass      int `json:"pass"`
	Review    int `json:"review"`
	Reject    int `json:"reject"`
	// Shadow counts the payments the rule matched while in shadow, as
	// review or reject: what it would have stopped. They are in Pass.
	Shadow int `json:"shadow"`
}

// RuleDays counts, for each business day from from's to to's (at most
// MaxDailySpan) and each rule, the payments it passed, sent to review and
// rejected. The decisions are read by risk_decisions_created and grouped
// in the store by day, rule-set version, channel, decision and matched
// rules, so it costs one index range scan of the period's decisions; the
// rule sets of the versions met say which rules ran.
func (e *Engine) RuleDays(ctx context.Context, from, to time.Time) ([]RuleDay, error) {
	from, to = fenfu.DayStart(from), fenfu.DayStart(to.Add(-time.Microsecond)).AddDate(0, 0, 1)
	if to.Sub(from) > MaxDailySpan {
		return nil, fenfu.FieldError("from", "daily risk figures cover at most %d days; narrow from and to", int(MaxDailySpan/(24*time.Hour)))
	}
	rows, err := e.DB.QueryContext(ctx, `SELECT (created_at - $1) / `+dayMicros+`, version, channel, matched, COUNT(*)
		FROM risk_decisions WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2, 3, 4`, db.Micros(from), db.Micros(to))
	if err != nil {
		return nil, fenfu.Internal("risk.RuleDays", err)
	}
	type group struct {
		day     int64
		version int
		channel string
		matched []Match
		n       int
	}
	groups, err := db.Collect(rows, func(r db.Scanner) (g group, err error) {
		var matched string
		if err := r.Scan(&g.day, &g.version, &g.channel, &matched, &g.n); err != nil {
			return g, err
		}
		return g, json.Unmarshal([]byte(matched), &g.matched)
	})
	if err != nil {
		return nil, fenfu.Internal("risk.RuleDays", err)
	}
	sets := map[int]*RuleSet{}
	type key struct {
		day  int64
		rule string
	}
	days := map[key]*RuleDay{}
	for _, g := range groups {
		set, ok := sets[g.version]
		if !ok {
			if set, err = load(ctx, e.DB, g.version); err != nil {
				return nil, fenfu.Op("risk.RuleDays", err)
			}
			sets[g.version] = set
		}
		matched := map[string]Match{}
		for _, m := range g.matched {
			matched[m.Rule] = m
		}
		for _, r := range set.Rules {
			if !r.Enabled || !r.applies(g.channel) {
				continue
			}
			k := key{g.day, r.Name}
			d := days[k]
			if d == nil {
				d = &RuleDay{Day: from.AddDate(0, 0, int(g.day)).Format(time.DateOnly), Rule: r.Name}
				days[k] = d
			}
			d.Evaluated += g.n
			m, hit := matched[r.Name]
			stops := hit && (m.Decision.Queued() || m.Decision == Reject)
			switch {
			case stops && m.Shadow:
				d.Shadow += g.n
				d.Pass += g.n
			case stops && m.Decision == Reject:
				d.Reject += g.n
			case stops:
				d.Review += g.n
			default:
				d.Pass += g.n
			}
		}
	}
	out := make([]RuleDay, 0, len(days))
	for _, d := range days {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day < out[j].Day
		}
		return out[i].Rule < out[j].Rule
	})
	return out, nil
}

// dayMicros is a day in the stores' microseconds, as SQL: a business day
// in Asia/Shanghai, which keeps no daylight saving time.
const dayMicros = "86400000000"
