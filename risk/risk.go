// Package risk owns fenfu's real-time transaction monitoring and fund
// freezing (SPEC §4, levels two and three; level one, admission
// screening, is onboarding's): the versioned rule sets, each rule an
// expression over a payment's features, the decision recorded for every
// evaluated payment attempt with the rules it matched and the features it
// read, and the risk queue of alerts and holds with every staff action on
// them. Its tables live in the credit store. A credit payment is decided
// inside the credit store's capture transaction (Engine.Decide takes the
// caller's transaction), so the decision, the counters it read and the
// capture commit together or not at all.
package risk

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/fenfu/fenfu"
)

// Decision is what a rule, or a payment's evaluation, decides.
type Decision string

// Decisions, from the mildest to the strictest.
const (
	Allow Decision = "ALLOW" // the payment goes through
	Alert Decision = "ALERT" // the payment goes through; an alert enters the risk queue
	// Confirm asks the payer to confirm the payment with their PIN. A
	// payment the consumer makes on fenfu's own pages (the cashier) is
	// confirmed already, and goes through as with ALLOW; a code payment a
	// merchant's till sends waits for its consumer (USERPAYING) whatever
	// else the payment matched, and is decided again when the consumer
	// confirms.
	Confirm Decision = "CONFIRM"
	Hold    Decision = "HOLD"   // the payment goes through; its settlement is held, and it enters the risk queue
	Reject  Decision = "REJECT" // the payment fails with RULE_LIMIT and the payer's message
)

// Decisions lists the decisions, mildest first.
var Decisions = []Decision{Allow, Alert, Confirm, Hold, Reject}

// strictness orders decisions: the strictest decision of the rules a
// payment matches is the payment's.
func (d Decision) strictness() int { return slices.Index(Decisions, d) }

// ParseDecision accepts a decision's name in either case.
func ParseDecision(s string) (Decision, error) {
	d := Decision(strings.ToUpper(s))
	if !slices.Contains(Decisions, d) {
		return "", fenfu.FieldError("decision", "decision must be allow, alert, confirm, hold or reject, not %q", s)
	}
	return d, nil
}

// UnmarshalText reads a decision in either case; a rule's check refuses
// one that is not a decision.
func (d *Decision) UnmarshalText(b []byte) error {
	*d = Decision(strings.ToUpper(string(b)))
	return nil
}

// Queued reports whether a payment so decided enters the risk queue.
func (d Decision) Queued() bool { return d == Alert || d == Hold }

// Channels a rule may apply to: the payment channels' names.
const (
	Credit  = "credit"
	Balance = "balance"
)

// Features are what a rule's expression reads, by the names in their expr
// tags. Amounts are in fen. Credit-line figures and the consumer's credit
// history are those before this payment, read under the consumer's line
// lock, so concurrent payments of one consumer see each other.
type Features struct {
	Amount      int64  `expr:"amount" json:"amount"`
	Channel     string `expr:"channel" json:"channel"`
	Hour        int    `expr:"hour" json:"hour"`                   // Asia/Shanghai, 0–23
	MinuteOfDay int    `expr:"minute_of_day" json:"minute_of_day"` // Asia/Shanghai, 0–1439
	Weekday     int    `expr:"weekday" json:"weekday"`             // 0 is Sunday
	ConsumerID  string `expr:"consumer" json:"consumer"`
	Rating      string `expr:"rating" json:"rating"`
	CreditLimit int64  `expr:"credit_limit" json:"credit_limit"`
	Available   int64  `expr:"available" json:"available"`
	// PaidToday and PaidMonth are the consumer's credit payments captured
	// earlier in the Asia/Shanghai day and month.
	PaidToday int64 `expr:"paid_today" json:"paid_today"`
	PaidMonth int64 `expr:"paid_month" json:"paid_month"`
	// Run counts this payment and the instrument's payments just before
	// it at the same merchant within the run window; a payment elsewhere
	// ends a run.
	Run int `expr:"run" json:"run"`
	// Overdue is whether the consumer has an installment unpaid after its
	// due day; OverdueDays how many days ago the earliest of them was due.
	Overdue         bool    `expr:"overdue" json:"overdue"`
	OverdueDays     int     `expr:"overdue_days" json:"overdue_days"`
	FirstToday      bool    `expr:"first_today" json:"first_today"`
	MchID           string  `expr:"mchid" json:"mchid"`
	Industry        string  `expr:"industry" json:"industry"`
	MerchantAgeDays int     `expr:"merchant_age_days" json:"merchant_age_days"`
	RefundRate      float64 `expr:"refund_rate" json:"refund_rate"` // refunded ÷ paid over the last 30 days
	// ClientIP is the payer's address as the cashier saw it, else as the
	// merchant's order gave it (scene_info.payer_client_ip); DeviceID the
	// payer's device id the cashier was given; Terminal the merchant's
	// terminal the order names (scene_info.device_id).
	ClientIP string `expr:"ip" json:"ip"`
	DeviceID string `expr:"device" json:"device"`
	Terminal string `expr:"terminal" json:"terminal,omitempty"`
}

// Clock sets the time features from t, in Asia/Shanghai.
func (f *Features) Clock(t time.Time) {
	l := t.In(fenfu.Shanghai)
	f.Hour, f.MinuteOfDay, f.Weekday = l.Hour(), l.Hour()*60+l.Minute(), int(l.Weekday())
}

// Rule is one monitoring rule.
type Rule struct {
	Name     string   `json:"name"`
	Channels []string `json:"channels"` // credit, balance
	Expr     string   `json:"expr"`
	Decision Decision `json:"decision"`
	Reason   string   `json:"reason"`  // shown to staff
	Message  string   `json:"message"` // shown to the payer when the rule rejects
	Enabled  bool     `json:"enabled"`
	// Shadow records what the rule would decide without acting on it.
	Shadow bool `json:"shadow"`
}

var ruleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// check validates a rule and compiles its expression.
func (r Rule) check() (*vm.Program, error) {
	switch {
	case !ruleNameRE.MatchString(r.Name):
		return nil, fenfu.FieldError("name", "a rule's name is 1 to 64 lowercase letters, digits, - or _, not %q", r.Name)
	case len(r.Channels) == 0:
		return nil, fenfu.FieldError("channels", "rule %s applies to no channel: name credit, balance or both", r.Name)
	case !slices.Contains(Decisions, r.Decision):
		return nil, fenfu.FieldError("decision", "rule %s: decision must be allow, alert, confirm, hold or reject, not %q", r.Name, r.Decision)
	case strings.TrimSpace(r.Reason) == "" || len(r.Reason) > 256:
		return nil, fenfu.FieldError("reason", "rule %s needs a reason for staff, up to 256 bytes", r.Name)
	case r.Decision == Reject && strings.TrimSpace(r.Message) == "":
		return nil, fenfu.FieldError("message", "rule %s rejects payments: give the message the payer sees", r.Name)
	case len(r.Message) > 256:
		return nil, fenfu.FieldError("message", "rule %s: the payer's message is at most 256 bytes", r.Name)
	case len(r.Expr) > 2048:
		return nil, fenfu.FieldError("expr", "rule %s: the expression is at most 2048 bytes", r.Name)
	}
	for _, c := range r.Channels {
		if c != Credit && c != Balance {
			return nil, fenfu.FieldError("channels", "rule %s: channel must be credit or balance, not %q", r.Name, c)
		}
	}
	p, err := expr.Compile(r.Expr, expr.Env(Features{}), expr.AsBool())
	if err != nil {
		e := fenfu.FieldError("expr", "rule %s: the expression does not compile: %s", r.Name, oneLine(err.Error()))
		e.Remedy = "Write a boolean expression over the features (amount, channel, hour, minute_of_day, weekday, consumer, rating, credit_limit, available, paid_today, paid_month, run, first_today, mchid, industry, merchant_age_days, refund_rate, ip, device, terminal); amounts are in fen."
		return nil, e
	}
	return p, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (r Rule) applies(channel string) bool { return slices.Contains(r.Channels, channel) }

// RuleSet is one version of the rules, compiled.
type RuleSet struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Actor     string    `json:"actor"`
	Reason    string    `json:"reason"`
	Rules     []Rule    `json:"rules"`
	programs  []*vm.Program
}

// NewRuleSet checks and compiles rules as a rule set of the version, as
// the engine does when it loads one.
func NewRuleSet(version int, rules []Rule) (*RuleSet, error) {
	s := &RuleSet{Version: version, Rules: rules}
	if err := s.compile(); err != nil {
		return nil, err
	}
	return s, nil
}

// compile checks every rule of the set and compiles it, once for the
// version.
func (s *RuleSet) compile() error {
	names := map[string]bool{}
	s.programs = make([]*vm.Program, len(s.Rules))
	for i, r := range s.Rules {
		if names[r.Name] {
			return fenfu.FieldError("name", "two rules are named %s", r.Name)
		}
		names[r.Name] = true
		p, err := r.check()
		if err != nil {
			return err
		}
		s.programs[i] = p
	}
	return nil
}

// Match is a rule a payment matched.
type Match struct {
	Rule     string   `json:"rule"`
	Decision Decision `json:"decision"`
	Shadow   bool     `json:"shadow,omitempty"`
}

// Mode is how the matched rule ran: "act", or "shadow" when it only
// recorded what it would decide. Metrics and backtests count by it.
func (m Match) Mode() string {
	if m.Shadow {
		return "shadow"
	}
	return "act"
}

// Outcome is a payment's evaluation: the decision it acts on (shadow
// rules never count), every rule that matched, and the staff reason and
// payer message of the strictest acting rule.
type Outcome struct {
	Version  int      `json:"version"`
	Decision Decision `json:"decision"`
	Matched  []Match  `json:"matched"`
	Reason   string   `json:"reason,omitempty"`
	Message  string   `json:"message,omitempty"`
}

// Evaluate runs the set's enabled rules for the channel over f. A rule
// whose expression fails at run time counts as not matched; the rules are
// checked when the set is made, so that does not happen for well-typed
// features.
func (s *RuleSet) Evaluate(f *Features) Outcome {
	out := Outcome{Version: s.Version, Decision: Allow}
	var machine vm.VM
	for i, r := range s.Rules {
		if !r.Enabled || !r.applies(f.Channel) {
			continue
		}
		v, err := machine.Run(s.programs[i], f)
		if err != nil || v != true {
			continue
		}
		out.Matched = append(out.Matched, Match{Rule: r.Name, Decision: r.Decision, Shadow: r.Shadow})
		if !r.Shadow && r.Decision.strictness() > out.Decision.strictness() {
			out.Decision, out.Reason, out.Message = r.Decision, r.Reason, r.Message
		}
	}
	return out
}

// Defaults are the numbers of the default rules (SPEC §4), each a setting.
type Defaults struct {
	RunLength  int           // payments in a row at one merchant that alert and hold
	RunWindow  time.Duration // the window a run is counted in
	DailyLimit fenfu.Fen     // credit per consumer per Asia/Shanghai day above which a payment is rejected
	NightFrom  time.Duration // Asia/Shanghai time of day the night starts
	NightTo    time.Duration // … and ends
	NightLimit fenfu.Fen     // a night credit payment above this is rejected
}

// DefaultDefaults are SPEC §4's numbers.
func DefaultDefaults() Defaults {
	return Defaults{RunLength: 3, RunWindow: 10 * time.Minute, DailyLimit: 50_000_00,
		NightFrom: 23 * time.Hour, NightTo: 2 * time.Hour, NightLimit: 5_000_00}
}

// Rules returns the default rules for the numbers: rule-set version 1.
func (d Defaults) Rules() []Rule {
	from, to := int(d.NightFrom/time.Minute), int(d.NightTo/time.Minute)
	night := fmt.Sprintf("minute_of_day >= %d && minute_of_day < %d", from, to)
	if from > to { // the night crosses midnight
		night = fmt.Sprintf("(minute_of_day >= %d || minute_of_day < %d)", from, to)
	}
	return []Rule{
		{Name: "same-instrument-run", Channels: []string{Credit}, Expr: fmt.Sprintf("run >= %d", d.RunLength), Decision: Hold,
			Reason:  fmt.Sprintf("the same instrument paid this merchant %d times in a row within %s", d.RunLength, d.RunWindow),
			Message: "This payment is under review; the merchant is paid once it clears.", Enabled: true},
		{Name: "daily-credit-limit", Channels: []string{Credit}, Expr: fmt.Sprintf("paid_today + amount > %d", d.DailyLimit), Decision: Reject,
			Reason:  fmt.Sprintf("credit payments over ¥%s in one Asia/Shanghai day", fenfu.Yuan(d.DailyLimit)),
			Message: fmt.Sprintf("Credit pay is limited to ¥%s a day. Pay from balance, or try again tomorrow.", fenfu.Yuan(d.DailyLimit)), Enabled: true},
		{Name: "night-large-credit", Channels: []string{Credit}, Expr: fmt.Sprintf("%s && amount > %d", night, d.NightLimit), Decision: Reject,
			Reason: fmt.Sprintf("a credit payment above ¥%s between %s and %s Asia/Shanghai", fenfu.Yuan(d.NightLimit), clock(d.NightFrom), clock(d.NightTo)),
			Message: fmt.Sprintf("Credit payments above ¥%s are not accepted between %s and %s. Pay from balance, or try again after %s.",
				fenfu.Yuan(d.NightLimit), clock(d.NightFrom), clock(d.NightTo), clock(d.NightTo)), Enabled: true},
	}
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Retention is how long risk records are kept (SPEC §5).
const RetentionYears = 3

// retainUntil is the date until which a risk record made at t is kept.
func retainUntil(t time.Time) time.Time { return t.AddDate(RetentionYears, 0, 0) }
