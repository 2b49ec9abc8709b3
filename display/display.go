package display

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/risk"
)

// Service decides the display of an order's or a merchant's channels to a
// consumer from the facts it reads, and records the exposure.
type Service struct {
	Rules *Store
	Pay   *pay.Service
	// Repay, if set, says why a line is paused (frozen, overdue); without
	// it a frozen line is still seen, overdue ones are not.
	Repay *repay.Service
	Clock fenfu.Clock
	// Consumers, if set, reads the consumers the exposure API resolves.
	Consumers *consumer.Service
	// Tokens, if set, seals market_exposure_token values; without it the
	// transactions exposure API issues none and the cashier takes none.
	Tokens *Tokens
}

// New returns a display service over the core store of p.
func New(p *pay.Service, r *repay.Service, clock fenfu.Clock) *Service {
	return &Service{Rules: &Store{DB: p.Core}, Pay: p, Repay: r, Clock: clock}
}

// Resolve returns the consumer a merchant names, or nil if it names none
// fenfu may tell it about. A consumer is resolved only if it already has
// a paid order at the merchant, a relationship the merchant knows: by the
// openid fenfu revealed to the merchant as a paid order's payer under
// appid, else by the phone_number_hash of its phone (consumer.PhoneHash)
// when one of the merchant's orders was paid by that consumer. Anyone
// else, and a forgotten consumer, is decided as an unknown consumer: the answers for a consumer who
// never paid the merchant are those for a phone that is no consumer's, so
// the exposure API tells a merchant neither which phones are fenfu's
// consumers nor when they pay elsewhere.
func (s *Service) Resolve(ctx context.Context, mchid, appid, openid, phoneHash string) (*consumer.Consumer, error) {
	if s.Consumers == nil {
		return nil, nil
	}
	id := ""
	var err error
	if openid != "" {
		if id, err = s.Pay.ConsumerByOpenID(ctx, mchid, appid, openid); err != nil {
			return nil, err
		}
		// Retention clears a forgotten consumer's openids from the orders;
		// one forgotten otherwise is no one either.
		if id != "" {
			remembered, err := s.Consumers.Remembered(ctx, []string{id})
			if err != nil {
				return nil, fenfu.Internal("display.Resolve", err)
			}
			if len(remembered) == 0 {
				id = ""
			}
		}
	}
	if id == "" && phoneHash != "" {
		// A forgotten consumer has no phone hash to be found by.
		if id, err = s.Consumers.ByPhoneHash(ctx, phoneHash); err != nil {
			return nil, fenfu.Internal("display.Resolve", err)
		}
		if id != "" {
			paid, err := s.Pay.PaidAt(ctx, mchid, id)
			if err != nil {
				return nil, err
			}
			if !paid {
				id = ""
			}
		}
	}
	if id == "" {
		return nil, nil
	}
	c, err := s.Consumers.Get(ctx, id)
	if fenfu.ErrorCode(err) == fenfu.ResourceNotExists {
		return nil, nil
	}
	return &c, err
}

// Ask is what an exposure is asked about: an order (nil for the instal
// exposure API), its merchant, and the consumer if known.
type Ask struct {
	Order    *pay.Order
	Merchant merchant.Merchant
	Consumer *consumer.Consumer
	Surface  string
}

// Exposed is a decision and the exposure recorded for it, which carries
// the consumer's cohort.
type Exposed struct {
	Decision
	Exposure pay.Exposure
}

// Decide decides what to show for a, without recording it.
func (s *Service) Decide(ctx context.Context, a Ask) (Decision, string, error) {
	set, err := s.Rules.Current(ctx)
	if err != nil {
		return Decision{}, "", err
	}
	f := Facts{CreditAllowed: true, BalanceAllowed: true, MerchantCredit: a.Merchant.CreditAllowed()}
	if o := a.Order; o != nil {
		f.Amount, f.HasAmount = o.Total, true
		f.CreditAllowed, f.BalanceAllowed = o.Allowed(pay.ChannelCredit), o.Allowed(pay.ChannelBalance)
	}
	if c := a.Consumer; c != nil {
		f.Consumer, f.Balance = c.ID, c.Balance
		f.Cohort = a.Merchant.Cohort(c.ID)
		f.Control = f.Cohort == merchant.CohortControl
		// Only what could change the answer is read: credit hidden by the
		// order, the merchant or the cohort is hidden whatever the
		// consumer's day, line and risk, which a view of a merchant
		// without credit pay would otherwise read for nothing.
		if !f.CreditAllowed || f.MerchantCredit != nil || f.Control {
			return set.Decide(f), f.Cohort, nil
		}
		if set.FirstOfDay {
			if f.FirstToday, err = s.firstToday(ctx, c.ID); err != nil {
				return Decision{}, "", err
			}
		}
		if f.Line, err = s.line(ctx, c.Credit); err != nil {
			return Decision{}, "", err
		}
		if f.Line != nil {
			o := pay.Order{MchID: a.Merchant.MchID}
			if a.Order != nil {
				o = *a.Order
			}
			out, err := s.Pay.ProbeCredit(ctx, o, a.Merchant, c.Credit)
			if err != nil {
				return Decision{}, "", err
			}
			if out.Decision == risk.Reject {
				f.RiskReject = out.Message
			}
		}
	}
	return set.Decide(f), f.Cohort, nil
}

// viewID is the id of the exposure of an order's cashier viewed by
// consumerID (” for no one logged in) for reason: a view again under the
// same reason records nothing more.
func viewID(orderID, consumerID, reason string) string {
	if consumerID == "" {
		consumerID = "anon"
	}
	return "EXv_" + orderID + "_" + consumerID + "_" + reason
}

// Expose decides what to show for a and records the exposure.
func (s *Service) Expose(ctx context.Context, a Ask) (Exposed, error) {
	d, cohort, err := s.Decide(ctx, a)
	if err != nil {
		return Exposed{}, err
	}
	cr := d.Credit()
	x := pay.Exposure{Surface: a.Surface, MchID: a.Merchant.MchID, Cohort: cohort, Shown: cr.Shown, First: cr.First,
		Usable: cr.Usable, Reason: string(cr.Reason.Code), Version: d.Version}
	if a.Order != nil {
		x.OrderID = a.Order.ID
	}
	if a.Consumer != nil {
		x.ConsumerID = a.Consumer.ID
	}
	if a.Order != nil && a.Surface == pay.SurfaceCashier {
		// A view of the cashier is recorded once per order, viewer and
		// reason: reloads, and link previewers with no one logged in,
		// would inflate the funnel, which counts an order once per reason
		// and the A/B report a consumer once, and grow the table by a row
		// per page load. The id is the key; a view again records nothing
		// and names the first.
		x.ID = viewID(a.Order.ID, x.ConsumerID, x.Reason)
	}
	x, err = s.Pay.RecordExposure(ctx, x)
	return Exposed{Decision: d, Exposure: x}, err
}

// firstToday reports whether the consumer has paid no order since
// 00:00:00 Asia/Shanghai today.
func (s *Service) firstToday(ctx context.Context, consumerID string) (bool, error) {
	paid, err := s.Pay.PaidSince(ctx, consumerID, fenfu.DayStart(s.Clock.Now()))
	return !paid, err
}

// line is what the decision reads of a consumer's credit line; nil if it
// has none.
func (s *Service) line(ctx context.Context, l credit.Line) (*Line, error) {
	if l.Limit == 0 && l.State == "" {
		return nil, nil
	}
	out := &Line{Rating: l.Rating, Available: l.Available, Frozen: l.State == credit.LineFrozen || l.State == credit.LineClosed}
	if s.Repay != nil {
		err := s.Repay.Paused(ctx, l)
		if fenfu.ErrorCode(err) == fenfu.RuleLimit {
			out.Paused, out.Overdue = err, !out.Frozen
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}
