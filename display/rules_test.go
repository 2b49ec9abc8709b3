package display_test

import (
	"errors"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/display"
)

// TestDecideTable: the display rules at each boundary, and the precedence
// of the package doc.
func TestDecideTable(t *testing.T) {
	set := &display.RuleSet{Version: 3, Rules: display.Defaults()}
	line := func(rating string, avail fenfu.Fen) *display.Line {
		return &display.Line{Rating: rating, Available: avail}
	}
	known := func(amount fenfu.Fen, l *display.Line) display.Facts {
		return display.Facts{Amount: amount, HasAmount: true, CreditAllowed: true, BalanceAllowed: true, Consumer: "c1",
			Cohort: "credit", Line: l, Balance: 100_00}
	}
	with := func(f display.Facts, edit func(*display.Facts)) display.Facts { edit(&f); return f }
	for _, tc := range []struct {
		name                 string
		facts                display.Facts
		shown, usable, first bool
		reason               display.Code
		blocked, rank        display.Code
	}{
		{"¥9.99 hides credit", known(999, line("A", 10000)), false, false, false, display.AmountBelowMin, "", ""},
		{"¥10.00 shows credit", known(1000, line("A", 10000)), true, true, true, display.AmountAtLeastMin, "", display.RatingFirst},
		{"rating A is first", known(5000, line("A", 10000)), true, true, true, display.AmountAtLeastMin, "", display.RatingFirst},
		{"rating B is first", known(5000, line("B", 10000)), true, true, true, display.AmountAtLeastMin, "", display.RatingFirst},
		{"rating C is not first", known(5000, line("C", 10000)), true, true, false, display.AmountAtLeastMin, "", display.RatingNotFirst},
		{"rating D is not first", known(5000, line("D", 10000)), true, true, false, display.AmountAtLeastMin, "", display.RatingNotFirst},
		{"first of the day shows ¥5", with(known(500, line("C", 10000)), func(f *display.Facts) { f.FirstToday = true }),
			true, true, false, display.FirstOfDay, "", display.RatingNotFirst},
		{"frozen line shown, not usable", known(5000, &display.Line{Rating: "A", Frozen: true, Paused: errors.New("x")}),
			true, false, false, display.AmountAtLeastMin, display.LineFrozen, display.RatingNotFirst},
		{"overdue line shown, not usable", known(5000, &display.Line{Rating: "A", Available: 10000, Overdue: true}),
			true, false, false, display.AmountAtLeastMin, display.LineOverdue, display.RatingNotFirst},
		{"short line shown, not usable", known(5000, line("A", 4999)),
			true, false, false, display.AmountAtLeastMin, display.LineShort, display.RatingNotFirst},
		{"limit_pay no_credit beats first of day", with(known(500, line("A", 10000)), func(f *display.Facts) { f.FirstToday, f.CreditAllowed = true, false }),
			false, false, false, display.LimitPayNoCredit, "", ""},
		{"merchant credit off", with(known(5000, line("A", 10000)), func(f *display.Facts) {
			f.MerchantCredit = fenfu.Errorf(fenfu.NoAuth, "suspended")
		}), false, false, false, display.MerchantCreditOff, "", ""},
		{"control cohort beats first of day", with(known(5000, line("A", 10000)), func(f *display.Facts) { f.FirstToday, f.Control = true, true }),
			false, false, false, display.CohortControl, "", ""},
		{"a risk rule rejecting", with(known(5000, line("A", 10000)), func(f *display.Facts) { f.RiskReject = "too much today" }),
			false, false, false, display.Risk, "", ""},
		{"unknown consumer ¥10", display.Facts{Amount: 1000, HasAmount: true, CreditAllowed: true, BalanceAllowed: true},
			true, true, false, display.AmountAtLeastMin, "", display.NoConsumer},
		{"unknown consumer ¥9.99", display.Facts{Amount: 999, HasAmount: true, CreditAllowed: true, BalanceAllowed: true},
			false, false, false, display.AmountBelowMin, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := set.Decide(tc.facts)
			c := d.Credit()
			if c.Shown != tc.shown || c.Usable != tc.usable || c.First != tc.first || c.Reason.Code != tc.reason || c.Reason.Message == "" {
				t.Fatalf("credit %+v, want shown %v usable %v first %v reason %s", c, tc.shown, tc.usable, tc.first, tc.reason)
			}
			if got := code(c.Blocked); got != tc.blocked {
				t.Errorf("blocked %s, want %s", got, tc.blocked)
			}
			if got := code(c.Rank); tc.shown && got != tc.rank {
				t.Errorf("rank %s, want %s", got, tc.rank)
			}
			if c.Blocked != nil && c.Blocked.Next == "" {
				t.Errorf("blocked without a next step: %+v", c.Blocked)
			}
			// The order of the channels is the decision's: credit first
			// only when it is first; hidden channels last.
			shown := d.Shown()
			if tc.first != (len(shown) > 0 && shown[0].Name == "credit") {
				t.Errorf("shown channels %+v, credit first = %v", shown, tc.first)
			}
			if len(shown) != 1+btoi(tc.shown) || d.Version != 3 {
				t.Errorf("shown %d channels, version %d", len(shown), d.Version)
			}
		})
	}
}

// TestRulesAreSettings: the numbers are the rule set's, not constants.
func TestRulesAreSettings(t *testing.T) {
	set := &display.RuleSet{Rules: display.Rules{MinAmount: 500, FirstRating: "C", FirstOfDay: false}}
	f := display.Facts{Amount: 500, HasAmount: true, CreditAllowed: true, BalanceAllowed: true, Consumer: "c1",
		Line: &display.Line{Rating: "C", Available: 1000}}
	if c := set.Decide(f).Credit(); !c.Shown || !c.First {
		t.Fatalf("min_amount ¥5, first_rating C: %+v", c)
	}
	f.Amount, f.FirstToday = 499, true
	if c := set.Decide(f).Credit(); c.Shown || c.Reason.Code != display.AmountBelowMin {
		t.Fatalf("first_of_day off: %+v", c)
	}
	for _, bad := range []display.Rules{{MinAmount: -1, FirstRating: "B"}, {MinAmount: 1000, FirstRating: "E"}, {FirstRating: ""}} {
		if err := bad.Check(); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%+v: %v, want PARAM_ERROR", bad, err)
		}
	}
}

func code(r *display.Reason) display.Code {
	if r == nil {
		return ""
	}
	return r.Code
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
