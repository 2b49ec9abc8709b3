package risk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/risk"
)

// defaults is the default rule set, compiled as the engine compiles it.
func defaults(t testing.TB) *risk.RuleSet {
	t.Helper()
	set, err := risk.NewRuleSet(1, risk.DefaultDefaults().Rules())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func at(h, m, s int) time.Time { return time.Date(2026, 11, 27, h, m, s, 0, fenfu.Shanghai) }

// TestDefaultRules: each default rule decides exactly at its boundary,
// and the strictest decision of several matches wins with every match
// recorded.
func TestDefaultRules(t *testing.T) {
	set := defaults(t)
	cases := []struct {
		name  string
		f     risk.Features
		at    time.Time
		want  risk.Decision
		rules []string
	}{
		{"an ordinary payment", risk.Features{Amount: 100_00, Run: 1}, at(12, 0, 0), risk.Allow, nil},
		{"¥50,000.00 in the day", risk.Features{Amount: 20_000_00, PaidToday: 30_000_00, Run: 1}, at(12, 0, 0), risk.Allow, nil},
		{"¥50,000.01 in the day", risk.Features{Amount: 20_000_01, PaidToday: 30_000_00, Run: 1}, at(12, 0, 0), risk.Reject, []string{"daily-credit-limit"}},
		{"22:59:59", risk.Features{Amount: 5_000_01, Run: 1}, at(22, 59, 59), risk.Allow, nil},
		{"23:00:00", risk.Features{Amount: 5_000_01, Run: 1}, at(23, 0, 0), risk.Reject, []string{"night-large-credit"}},
		{"23:00:00, ¥5,000.00", risk.Features{Amount: 5_000_00, Run: 1}, at(23, 0, 0), risk.Allow, nil},
		{"01:59:59", risk.Features{Amount: 5_000_01, Run: 1}, at(1, 59, 59), risk.Reject, []string{"night-large-credit"}},
		{"02:00:00", risk.Features{Amount: 5_000_01, Run: 1}, at(2, 0, 0), risk.Allow, nil},
		{"second in a row", risk.Features{Amount: 100_00, Run: 2}, at(12, 0, 0), risk.Allow, nil},
		{"third in a row", risk.Features{Amount: 100_00, Run: 3}, at(12, 0, 0), risk.Hold, []string{"same-instrument-run"}},
		{"all three", risk.Features{Amount: 50_000_00, PaidToday: 1, Run: 3}, at(0, 33, 0), risk.Reject,
			[]string{"same-instrument-run", "daily-credit-limit", "night-large-credit"}},
		{"a balance payment", risk.Features{Amount: 50_000_00, PaidToday: 50_000_00, Run: 3, Channel: risk.Balance}, at(0, 33, 0), risk.Allow, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.f.Channel == "" {
				c.f.Channel = risk.Credit
			}
			c.f.Clock(c.at)
			out := set.Evaluate(&c.f)
			var got []string
			for _, m := range out.Matched {
				got = append(got, m.Rule)
			}
			if out.Decision != c.want || strings.Join(got, ",") != strings.Join(c.rules, ",") {
				t.Fatalf("decision %s matching %v, want %s matching %v", out.Decision, got, c.want, c.rules)
			}
			if c.want == risk.Reject && out.Message == "" {
				t.Fatal("a rejection without a message for the payer")
			}
		})
	}
}

// TestRuleChecks: a rule that cannot run is refused with the problem
// named, field by field.
func TestRuleChecks(t *testing.T) {
	good := risk.Rule{Name: "r", Channels: []string{risk.Credit}, Expr: "amount > 1", Decision: risk.Alert, Reason: "why", Enabled: true}
	cases := []struct {
		name  string
		edit  func(*risk.Rule)
		field string
		says  string
	}{
		{"syntax", func(r *risk.Rule) { r.Expr = "amount >" }, "expr", "does not compile"},
		{"unknown feature", func(r *risk.Rule) { r.Expr = "amout > 1" }, "expr", "amout"},
		{"not a condition", func(r *risk.Rule) { r.Expr = "amount + 1" }, "expr", "does not compile"},
		{"bad name", func(r *risk.Rule) { r.Name = "Bad Name" }, "name", "lowercase"},
		{"no channel", func(r *risk.Rule) { r.Channels = nil }, "channels", "no channel"},
		{"bad channel", func(r *risk.Rule) { r.Channels = []string{"cash"} }, "channels", "cash"},
		{"bad decision", func(r *risk.Rule) { r.Decision = "BLOCK" }, "decision", "BLOCK"},
		{"no reason", func(r *risk.Rule) { r.Reason = " " }, "reason", "reason"},
		{"reject without message", func(r *risk.Rule) { r.Decision = risk.Reject }, "message", "message the payer sees"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			c.edit(&r)
			_, err := risk.NewRuleSet(2, []risk.Rule{r})
			e := fenfu.AsError(err)
			if err == nil || e.Code != fenfu.ParamError || e.Field != c.field || !strings.Contains(e.Message, c.says) {
				t.Fatalf("error = %v (field %q), want PARAM_ERROR on %s saying %q", err, e.Field, c.field, c.says)
			}
		})
	}
	if _, err := risk.NewRuleSet(2, []risk.Rule{good, good}); err == nil {
		t.Fatal("two rules of one name were accepted")
	}
}

// BenchmarkEvaluate is the evaluation of one payment with the default
// rules (target: 20 µs or less).
func BenchmarkEvaluate(b *testing.B) {
	set := defaults(b)
	f := risk.Features{Amount: 123_45, Channel: risk.Credit, PaidToday: 1_000_00, PaidMonth: 9_000_00, Run: 2, Rating: "B",
		CreditLimit: 100_000_00, Available: 90_000_00, MchID: "1900000001", ConsumerID: "C1"}
	f.Clock(at(12, 0, 0))
	b.ReportAllocs()
	for b.Loop() {
		if out := set.Evaluate(&f); out.Decision != risk.Allow {
			b.Fatal(out)
		}
	}
}
