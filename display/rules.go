// Package display decides whether and how credit pay (分付) and balance
// are shown for an order, or for a merchant, to a consumer (SPEC §6), and
// records each showing as an exposure. The rules are data: a versioned
// rule set in the core store that risk staff change without a restart
// (Seed, Current, Refresh, Change, Versions, as risk's rule sets).
// The cashier page, its JSON and the WeChat Pay exposure API
// (POST /v3/pay/instal/exposure, POST /v3/pay/transactions/exposure) all
// ask Decide, so they say the same, each channel with a stable reason.
//
// Precedence, for the credit channel, first match wins:
//
//  1. Hard constraints hide credit, whatever else holds: the order's
//     limit_pay (LIMIT_PAY_NO_CREDIT), the merchant's credit pay not
//     active or suspended (MERCHANT_CREDIT_OFF), the consumer in the
//     control cohort of the gray release (COHORT_CONTROL).
//  2. The risk engine: a credit payment of this amount by this consumer
//     that the current risk rules would reject hides credit (RISK). It is
//     evaluated read-only; no decision is recorded.
//  3. The consumer's first transaction of the Asia/Shanghai day (no order
//     paid since 00:00:00, a reversed code payment not counted) shows
//     credit, even below min_amount (FIRST_OF_DAY), when first_of_day is
//     on.
//  4. The amount: credit is shown at min_amount or more
//     (AMOUNT_AT_LEAST_MIN), hidden below it (AMOUNT_BELOW_MIN).
//
// Credit that is shown may still not be usable: the line frozen or closed
// (LINE_FROZEN), something overdue (LINE_OVERDUE), or less available than
// the amount, or with no amount known, nothing available (LINE_SHORT);
// the channel says so with the next step. Shown
// and usable credit is listed first for a consumer rated first_rating or
// better (RATING_FIRST), after balance otherwise (RATING_NOT_FIRST). An
// unknown consumer (not logged in, or not resolved by the exposure API) is
// decided without the consumer's rules (no cohort, risk, first of day,
// line or rating) and balance is listed first (NO_CONSUMER).
package display

import (
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
)

// Rules are the display rules' settings.
type Rules struct {
	// MinAmount is the least total, in fen, at which credit is shown by
	// default (1000: ¥10).
	MinAmount fenfu.Fen `json:"min_amount"`
	// FirstRating is the lowest rating whose consumers get credit listed
	// first ("B": A and B).
	FirstRating string `json:"first_rating"`
	// FirstOfDay shows credit on the consumer's first transaction of the
	// Asia/Shanghai day, even below MinAmount.
	FirstOfDay bool `json:"first_of_day"`
}

// Defaults are the display rules of SPEC §6.
func Defaults() Rules { return Rules{MinAmount: 1000, FirstRating: "B", FirstOfDay: true} }

// Ratings are the consumers' credit ratings, best first.
var Ratings = []string{"A", "B", "C", "D"}

// Check refuses rules that cannot be applied, naming the field.
func (r Rules) Check() error {
	if r.MinAmount < 0 || r.MinAmount > 100_000_000 {
		return fenfu.FieldError("min_amount", "min_amount is in fen, from 0 to 100000000 (¥1,000,000)")
	}
	if rank(r.FirstRating) < 0 {
		return fenfu.FieldError("first_rating", "first_rating is one of A, B, C, D, not %q", r.FirstRating)
	}
	return nil
}

// rank is a rating's place, 0 the best; -1 for none.
func rank(rating string) int {
	for i, r := range Ratings {
		if strings.EqualFold(r, rating) {
			return i
		}
	}
	return -1
}

// Code is a stable reason code of a display decision.
type Code string

// Reasons a channel is shown or hidden, usable or not, first or not.
const (
	LimitPayNoCredit  Code = "LIMIT_PAY_NO_CREDIT"
	LimitPayNoBalance Code = "LIMIT_PAY_NO_BALANCE"
	MerchantCreditOff Code = "MERCHANT_CREDIT_OFF"
	CohortControl     Code = "COHORT_CONTROL"
	Risk              Code = "RISK"
	FirstOfDay        Code = "FIRST_OF_DAY"
	AmountAtLeastMin  Code = "AMOUNT_AT_LEAST_MIN"
	AmountBelowMin    Code = "AMOUNT_BELOW_MIN"
	NoAmount          Code = "NO_AMOUNT" // the instal exposure API: no order, so no amount rule
	BalanceShown      Code = "BALANCE"
	LineFrozen        Code = "LINE_FROZEN"
	LineOverdue       Code = "LINE_OVERDUE"
	LineShort         Code = "LINE_SHORT"
	BalanceShort      Code = "BALANCE_SHORT"
	RatingFirst       Code = "RATING_FIRST"
	RatingNotFirst    Code = "RATING_NOT_FIRST"
	NoConsumer        Code = "NO_CONSUMER"
)

// Reason is a reason code, what it means for this decision, and for a
// channel shown but not usable, the consumer's next step.
type Reason struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Next    string `json:"next,omitempty"`
}

func because(c Code, format string, args ...any) Reason {
	return Reason{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Channel is the decision for one payment channel.
type Channel struct {
	Name   string `json:"name"` // credit or balance
	Shown  bool   `json:"shown"`
	Usable bool   `json:"usable"`
	First  bool   `json:"first"`
	// Reason is why the channel is shown or hidden.
	Reason Reason `json:"reason"`
	// Blocked is, for a channel shown but not usable, why, and the next
	// step.
	Blocked *Reason `json:"blocked,omitempty"`
	// Rank is, for credit shown, why it is listed first or not.
	Rank *Reason `json:"rank,omitempty"`
	// Paused is, for credit blocked by its line (LINE_FROZEN,
	// LINE_OVERDUE), the refusal a credit payment would answer, as the
	// decision read it; nil if it was not read (no repay service).
	Paused error `json:"-"`
}

// Decision is what to show: the channels in the order they are listed,
// hidden ones last, and the rule-set version that decided.
type Decision struct {
	Version  int       `json:"version"`
	Channels []Channel `json:"channels"`
	// Consumer is whether a consumer was known; without one the
	// consumer's rules were not applied.
	Consumer bool `json:"consumer"`
}

// Credit returns the credit channel's decision.
func (d Decision) Credit() Channel { return d.channel("credit") }

func (d Decision) channel(name string) Channel {
	for _, c := range d.Channels {
		if c.Name == name {
			return c
		}
	}
	return Channel{Name: name}
}

// Shown returns the channels shown, in their order.
func (d Decision) Shown() []Channel {
	var out []Channel
	for _, c := range d.Channels {
		if c.Shown {
			out = append(out, c)
		}
	}
	return out
}

// Line is what the decision reads of a known consumer's credit line.
type Line struct {
	Rating    string
	Available fenfu.Fen
	// Frozen is a line frozen or closed; Overdue, something of the
	// consumer overdue. Paused is the refusal a payment would answer.
	Frozen, Overdue bool
	Paused          error
}

// Facts are what a decision reads. A zero Consumer is an unknown consumer.
type Facts struct {
	// Amount is the order's total; HasAmount is false for the instal
	// exposure API, which asks for a merchant and a consumer only.
	Amount    fenfu.Fen
	HasAmount bool
	// CreditAllowed and BalanceAllowed are the order's limit_pay.
	CreditAllowed, BalanceAllowed bool
	// MerchantCredit is why the merchant's credit pay is off, nil if on.
	MerchantCredit error
	Consumer       string // the consumer's id, "" if unknown
	Cohort         string // the consumer's gray-release cohort
	Control        bool   // the consumer is in the control cohort
	// RiskReject is the risk rules' message for a credit payment they
	// would reject, "" if they would not.
	RiskReject string
	// FirstToday is whether the consumer has paid no order yet today;
	// Service.Decide reads it only while first_of_day is on.
	FirstToday bool
	Line       *Line // nil: no credit line
	Balance    fenfu.Fen
}

// Decide applies the rule set to the facts.
func (s *RuleSet) Decide(f Facts) Decision {
	d := Decision{Version: s.Version, Consumer: f.Consumer != ""}
	cr := s.credit(f)
	bal := Channel{Name: "balance", Shown: f.BalanceAllowed, Usable: f.BalanceAllowed,
		Reason: because(BalanceShown, "balance is offered for every order")}
	if !f.BalanceAllowed {
		bal.Reason = because(LimitPayNoBalance, "the merchant's order takes no balance payment (limit_pay)")
	} else if f.Consumer != "" && f.HasAmount && f.Balance < f.Amount {
		bal.Usable = false
		bal.Blocked = &Reason{Code: BalanceShort, Message: fmt.Sprintf("the balance %s is less than the amount %s", yuan(f.Balance),
			yuan(f.Amount)), Next: "choose credit, or top up the balance"}
	}
	if cr.First {
		d.Channels = []Channel{cr, bal}
	} else {
		d.Channels = []Channel{bal, cr}
	}
	// Hidden channels go last, whatever their rank.
	if !d.Channels[0].Shown && d.Channels[1].Shown {
		d.Channels[0], d.Channels[1] = d.Channels[1], d.Channels[0]
	}
	return d
}

func (s *RuleSet) credit(f Facts) Channel {
	c := Channel{Name: "credit"}
	switch {
	case !f.CreditAllowed:
		c.Reason = because(LimitPayNoCredit, "the merchant's order takes no credit payment (limit_pay no_credit)")
		return c
	case f.MerchantCredit != nil:
		c.Reason = because(MerchantCreditOff, "the merchant's credit pay is not on: %s", fenfu.AsError(f.MerchantCredit).Message)
		return c
	case f.Consumer == "":
		return s.unknown(f)
	case f.Control:
		c.Reason = because(CohortControl, "the merchant's gray release does not offer credit pay to this consumer yet")
		return c
	case f.RiskReject != "":
		c.Reason = because(Risk, "the risk rules would refuse this credit payment: %s", f.RiskReject)
		return c
	case f.FirstToday && s.FirstOfDay:
		c.Shown, c.Reason = true, because(FirstOfDay, "the consumer's first transaction of the day always shows credit")
	case !f.HasAmount:
		c.Shown, c.Reason = true, because(NoAmount, "no amount is known: the amount rule is left to the order")
	case f.Amount >= s.MinAmount:
		c.Shown, c.Reason = true, because(AmountAtLeastMin, "the amount %s is at least %s", yuan(f.Amount), yuan(s.MinAmount))
	default:
		c.Reason = because(AmountBelowMin, "the amount %s is below %s", yuan(f.Amount), yuan(s.MinAmount))
		return c
	}
	c.Usable = true
	switch l := f.Line; {
	case l == nil:
		c.Usable = false
		c.Blocked = &Reason{Code: LineShort, Message: "the consumer has no credit line", Next: "choose balance"}
	case l.Frozen:
		c.Usable = false
		c.Blocked = &Reason{Code: LineFrozen, Message: paused(l, "the credit line is frozen"), Next: "choose balance"}
		c.Paused = l.Paused
	case l.Overdue:
		c.Usable = false
		c.Blocked = &Reason{Code: LineOverdue, Message: paused(l, "something of the credit line is overdue"), Next: "repay what is overdue, or choose balance"}
		c.Paused = l.Paused
	case !f.HasAmount && l.Available <= 0:
		// Without an amount (the instal exposure API) only a line with
		// nothing available is known to be short.
		c.Usable = false
		c.Blocked = &Reason{Code: LineShort, Message: fmt.Sprintf("the credit available is %s", yuan(l.Available)),
			Next: "choose balance or repay"}
	case f.HasAmount && l.Available < f.Amount:
		c.Usable = false
		c.Blocked = &Reason{Code: LineShort, Message: fmt.Sprintf("the credit available %s is less than the amount %s", yuan(l.Available),
			yuan(f.Amount)), Next: "choose balance or repay"}
	}
	rating := ""
	if f.Line != nil {
		rating = f.Line.Rating
	}
	if r := rank(rating); r >= 0 && r <= rank(s.FirstRating) && c.Usable {
		c.First = true
		c.Rank = &Reason{Code: RatingFirst, Message: fmt.Sprintf("consumers rated %s or better see credit first", s.FirstRating)}
	} else {
		c.Rank = &Reason{Code: RatingNotFirst, Message: fmt.Sprintf("credit is listed first for consumers rated %s or better, and usable", s.FirstRating)}
	}
	return c
}

// unknown decides credit for an unknown consumer: the amount rule only,
// never first.
func (s *RuleSet) unknown(f Facts) Channel {
	c := Channel{Name: "credit", Rank: &Reason{Code: NoConsumer, Message: "no consumer is known: the consumer's rules (cohort, risk, first of day, line, rating) are not applied"}}
	switch {
	case !f.HasAmount:
		c.Shown, c.Usable, c.Reason = true, true, because(NoAmount, "no amount and no consumer are known")
	case f.Amount >= s.MinAmount:
		c.Shown, c.Usable, c.Reason = true, true, because(AmountAtLeastMin, "the amount %s is at least %s; no consumer is known", yuan(f.Amount), yuan(s.MinAmount))
	default:
		c.Reason = because(AmountBelowMin, "the amount %s is below %s; no consumer is known", yuan(f.Amount), yuan(s.MinAmount))
	}
	return c
}

func paused(l *Line, fallback string) string {
	if l.Paused != nil {
		return fenfu.AsError(l.Paused).Message
	}
	return fallback
}

func yuan(f fenfu.Fen) string { return "¥" + fenfu.Yuan(f) }
