package pay

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
)

// Offer is an installment count a merchant offers on an order, and who
// bears its fee: WeChat Pay's subsidy_plan{subsidy_installment_num,
// subsidy_percent}.
type Offer struct {
	Count int
	// MerchantPays is subsidy_percent 100: interest-free for the consumer.
	MerchantPays bool
}

// Plans are the settings of installment plans: the fee rate by count,
// the statement calendar and what an early payoff does with the fee of
// installments not yet due.
type Plans struct {
	Rates    credit.Rates
	Calendar credit.Calendar
	Payoff   credit.EarlyPayoff
}

// DefaultPlans are the default settings.
func DefaultPlans() Plans {
	return Plans{Rates: credit.DefaultRates(), Calendar: credit.DefaultCalendar, Payoff: credit.PayoffWaived}
}

func (s *Service) plans() Plans {
	if s.Plans.Rates == nil {
		return DefaultPlans()
	}
	return s.Plans
}

// terms are the repayment terms of an offer: in full for a count of 1,
// otherwise at the count's rate with the fee borne as offered.
func (p Plans) terms(x Offer) credit.Terms {
	if x.Count <= 1 {
		return credit.Terms{Installments: 1, Calendar: p.Calendar}
	}
	payer := credit.ConsumerPays
	if x.MerchantPays {
		payer = credit.MerchantPays
	}
	return credit.Terms{Installments: x.Count, FeePayer: payer, Rate: p.Rates[x.Count], Calendar: p.Calendar}
}

// checkOffers validates the offers of a create request.
func checkOffers(offers []Offer) error {
	seen := map[int]bool{}
	for _, o := range offers {
		if !credit.ValidCount(o.Count) {
			return fenfu.FieldError("subsidy_info.subsidy_detail.subsidy_plan.subsidy_installment_num",
				"subsidy_installment_num must be 3, 6 or 12, not %d", o.Count)
		}
		if seen[o.Count] {
			return fenfu.FieldError("subsidy_info.subsidy_detail.subsidy_plan.subsidy_installment_num",
				"subsidy_installment_num %d is offered twice", o.Count)
		}
		seen[o.Count] = true
	}
	return nil
}

// formatOffers writes offers as stored: "3:0,6:100", by count.
func formatOffers(offers []Offer) string {
	sorted := slices.Clone(offers)
	slices.SortFunc(sorted, func(a, b Offer) int { return a.Count - b.Count })
	parts := make([]string, len(sorted))
	for i, o := range sorted {
		pct := 0
		if o.MerchantPays {
			pct = 100
		}
		parts[i] = fmt.Sprintf("%d:%d", o.Count, pct)
	}
	return strings.Join(parts, ",")
}

// parseOffers reads stored offers.
func parseOffers(s string) []Offer {
	if s == "" {
		return nil
	}
	var out []Offer
	for _, p := range strings.Split(s, ",") {
		n, pct, _ := strings.Cut(p, ":")
		count, _ := strconv.Atoi(n)
		out = append(out, Offer{Count: count, MerchantPays: pct == "100"})
	}
	return out
}

// OfferOf returns the order's offer of n installments.
func (o Order) OfferOf(n int) (Offer, bool) {
	for _, x := range o.Offers {
		if x.Count == n {
			return x, true
		}
	}
	return Offer{}, false
}

// Choice is one way to repay an order on credit, as the cashier shows it:
// in full, or in installments with what each costs.
type Choice struct {
	Installments int       `json:"installment_number"`
	MerchantPays bool      `json:"interest_free"`
	Fee          fenfu.Fen `json:"fee"`          // what the consumer pays on top of the amount
	FirstPeriod  fenfu.Fen `json:"first_period"` // the first installment, which takes the rounding remainder
	PerPeriod    fenfu.Fen `json:"per_period"`   // every later installment
	Total        fenfu.Fen `json:"total"`        // amount and fee
	FirstDue     string    `json:"first_due"`    // the first due day, Asia/Shanghai
}

// Choices returns the ways the order can be repaid, in full first, for a
// payment now; only in full if the merchant offers no installments.
func (s *Service) Choices(o Order) []Choice {
	cfg := s.plans()
	now := s.Clock.Now()
	choice := func(x Offer) Choice {
		t := cfg.terms(x)
		consumerFee := t.ConsumerFee(o.Total)
		sched := t.Schedule(o.Total, consumerFee, now)
		c := Choice{Installments: x.Count, MerchantPays: x.MerchantPays, Fee: consumerFee, Total: o.Total + consumerFee,
			FirstPeriod: sched[0].Principal + sched[0].Fee, FirstDue: sched[0].DueOn}
		c.PerPeriod = c.FirstPeriod
		if x.Count > 1 {
			c.PerPeriod = sched[1].Principal + sched[1].Fee
		}
		return c
	}
	out := []Choice{choice(Offer{Count: 1})}
	for _, x := range o.Offers {
		out = append(out, choice(x))
	}
	return out
}

// terms returns the repayment terms of paying o in n installments (0 or 1:
// in full), or the reason they cannot be chosen.
func (s *Service) terms(o Order, n int) (credit.Terms, error) {
	cfg := s.plans()
	if n <= 1 {
		return cfg.terms(Offer{Count: 1}), nil
	}
	x, ok := o.OfferOf(n)
	if !ok {
		offered := "none"
		if len(o.Offers) > 0 {
			offered = formatOffers(o.Offers)
		}
		e := fenfu.FieldError("installment_number", "the merchant does not offer %d installments on this order (offered: %s)", n, offered)
		e.Remedy = "Choose one of the offered counts, or pay in full."
		return credit.Terms{}, e
	}
	return cfg.terms(x), nil
}
