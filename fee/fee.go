// Package fee prices payments: the tiered credit-pay schedule of SPEC §3,
// chosen by the merchant's credit-pay volume in the calendar month so far
// (before the payment), merchant discounts bounded by each tier's floor,
// and the share of a fee a refund returns. Everything is integer: rates
// are parts per million, amounts fen, and rounding (half up, to the fen)
// happens in one place, Apply. The package is pure: no I/O.
package fee

import (
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
)

// PPM is a rate in parts per million: 0.60 % is 6000.
type PPM int64

// Percent formats a rate as WeChat bills do, e.g. "0.70%".
func (r PPM) Percent() string {
	return fmt.Sprintf("%d.%02d%%", r/10000, (r%10000)/100)
}

// Tier is one band of a schedule.
type Tier struct {
	Name string
	// UpTo is the highest month-to-date volume, in fen, that falls in the
	// tier (inclusive); 0 means no upper bound.
	UpTo  fenfu.Fen
	Base  PPM // base rate
	Tech  PPM // technical service fee
	Floor PPM // no discount takes the combined rate below this
}

// Combined is the tier's rate before any discount.
func (t Tier) Combined() PPM { return t.Base + t.Tech }

// Schedule is a fee schedule: tiers in ascending order of volume.
type Schedule []Tier

// CreditPay is the default credit-pay schedule (SPEC §3): up to ¥500,000
// of month-to-date volume 0.60 % + 0.10 % (floor 0.50 %); up to
// ¥2,000,000 0.55 % + 0.08 % (floor 0.40 %); above, 0.50 % + 0.05 %
// (floor 0.30 %).
var CreditPay = Schedule{
	{Name: "tier1", UpTo: 500_000_00, Base: 6000, Tech: 1000, Floor: 5000},
	{Name: "tier2", UpTo: 2_000_000_00, Base: 5500, Tech: 800, Floor: 4000},
	{Name: "tier3", Base: 5000, Tech: 500, Floor: 3000},
}

// Ordinary is the default schedule of ordinary (balance) payments: one
// tier, 0.38 %, floor 0.20 %.
var Ordinary = Schedule{
	{Name: "ordinary", Base: 3800, Floor: 2000},
}

// Validate checks a schedule is usable: tiers ascending, the last
// unbounded, rates non-negative with floors at most the combined rate.
func (s Schedule) Validate() error {
	if len(s) == 0 {
		return fmt.Errorf("fee: a schedule needs at least one tier")
	}
	for i, t := range s {
		if t.Base < 0 || t.Tech < 0 || t.Floor < 0 || t.Floor > t.Combined() {
			return fmt.Errorf("fee: tier %s: rates must be non-negative and the floor at most base + tech", t.Name)
		}
		last := i == len(s)-1
		if last != (t.UpTo == 0) {
			return fmt.Errorf("fee: only the last tier is unbounded")
		}
		if i > 0 && !last && t.UpTo <= s[i-1].UpTo {
			return fmt.Errorf("fee: tiers must ascend")
		}
	}
	return nil
}

// TierFor returns the tier a payment falls in, given the merchant's
// volume in the calendar month before it.
func (s Schedule) TierFor(monthToDate fenfu.Fen) Tier {
	for _, t := range s {
		if t.UpTo == 0 || monthToDate <= t.UpTo {
			return t
		}
	}
	return s[len(s)-1]
}

// Quote is the fee of one payment, as recorded with it.
type Quote struct {
	Tier string // the tier's name
	Rate PPM    // the rate applied, after discount and floor
	Fee  fenfu.Fen
}

// Price quotes a payment of amount fen at a merchant whose month-to-date
// volume before it is monthToDate, with a discount (ppm off the combined
// rate; 0 for none) that never takes the rate below the tier's floor.
func (s Schedule) Price(amount, monthToDate fenfu.Fen, discount PPM) Quote {
	t := s.TierFor(monthToDate)
	rate := t.Combined() - max(discount, 0)
	if rate < t.Floor {
		rate = t.Floor
	}
	return Quote{Tier: t.Name, Rate: rate, Fee: Apply(amount, rate)}
}

// Apply returns amount × rate rounded half up to the fen, for amounts of
// either sign (a negative amount rounds half away from zero).
func Apply(amount fenfu.Fen, rate PPM) fenfu.Fen {
	p := amount * fenfu.Fen(rate)
	if p >= 0 {
		return (p + 500_000) / 1_000_000
	}
	return -((-p + 500_000) / 1_000_000)
}

// RefundFee is the part of a payment's fee that a refund returns: the fee
// in proportion to what has been refunded in all, minus what earlier
// refunds returned. Computed on the running total, so however a payment
// is refunded in parts, refunding all of it returns exactly its fee.
func RefundFee(fee, amount, refundedBefore, refund fenfu.Fen) fenfu.Fen {
	if amount <= 0 {
		return 0
	}
	share := func(refunded fenfu.Fen) fenfu.Fen { return roundDiv(fee*refunded, amount) }
	return share(refundedBefore+refund) - share(refundedBefore)
}

// roundDiv is n ÷ d rounded half up, for n ≥ 0 and d > 0.
func roundDiv(n, d fenfu.Fen) fenfu.Fen { return (2*n + d) / (2 * d) }

// ParsePercent parses a rate written as a percentage with at most four
// decimals, "0.38%" or "0.38", into ppm.
func ParsePercent(s string) (PPM, error) {
	v, err := fenfu.ParseDecimal(strings.TrimSuffix(strings.TrimSpace(s), "%"), 4)
	if err != nil || v < 0 || v > 1_000_000 {
		return 0, fmt.Errorf("fee: %q is not a percentage from 0 to 100 such as 0.38%%", s)
	}
	return PPM(v), nil
}

// Flat is a one-tier schedule at rate, for ordinary payments.
func Flat(name string, rate PPM) Schedule {
	return Schedule{{Name: name, Base: rate}}
}

// ParseSchedule parses a schedule written as its tiers separated by ";",
// each "UPTO:BASE+TECH/FLOOR" with UPTO the highest month-to-date volume
// in yuan (empty for the last, unbounded tier) and the rates percentages,
// as "500000:0.60+0.10/0.50;2000000:0.55+0.08/0.40;:0.50+0.05/0.30" (the
// default credit-pay schedule). Tiers are named tier1, tier2, … in order;
// the schedule must Validate.
func ParseSchedule(s string) (Schedule, error) {
	bad := func(format string, args ...any) (Schedule, error) {
		return nil, fmt.Errorf("fee: schedule %q: "+format+"; write tiers as UPTO:BASE+TECH/FLOOR separated by ';', as %q",
			append(append([]any{s}, args...), CreditPay.String())...)
	}
	if strings.TrimSpace(s) == "" {
		return bad("empty")
	}
	parts := strings.Split(s, ";")
	if len(parts) > 16 {
		return bad("at most 16 tiers")
	}
	var out Schedule
	for i, p := range parts {
		upto, rates, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			return bad("tier %d has no ':'", i+1)
		}
		t := Tier{Name: fmt.Sprintf("tier%d", i+1)}
		if upto = strings.TrimSpace(upto); upto != "" {
			v, err := fenfu.ParseYuan(upto)
			if err != nil || v <= 0 {
				return bad("tier %d: %q is not a volume in yuan", i+1, upto)
			}
			t.UpTo = v
		}
		combined, floor, ok := strings.Cut(rates, "/")
		base, tech, ok2 := strings.Cut(combined, "+")
		if !ok || !ok2 {
			return bad("tier %d: rates must read BASE+TECH/FLOOR", i+1)
		}
		for _, r := range []struct {
			dst *PPM
			src string
		}{{&t.Base, base}, {&t.Tech, tech}, {&t.Floor, floor}} {
			v, err := ParsePercent(r.src)
			if err != nil {
				return bad("tier %d: %v", i+1, err)
			}
			*r.dst = v
		}
		out = append(out, t)
	}
	if err := out.Validate(); err != nil {
		return bad("%v", err)
	}
	return out, nil
}

// String writes the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, t := range s {
		upto := ""
		if t.UpTo > 0 {
			upto = strings.TrimSuffix(fenfu.Yuan(t.UpTo), ".00")
		}
		pct := func(r PPM) string { // as many decimals as the rate has, at least two
			frac := strings.TrimRight(fmt.Sprintf("%04d", r%10000), "0")
			return fmt.Sprintf("%d.%s", r/10000, (frac + "00")[:max(2, len(frac))])
		}
		parts[i] = upto + ":" + pct(t.Base) + "+" + pct(t.Tech) + "/" + pct(t.Floor)
	}
	return strings.Join(parts, ";")
}
