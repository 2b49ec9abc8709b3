package pay

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/risk"
)

// Client is what the payer's side says about a payment, when it says it:
// the client's address and a device id. Risk rules read them.
type Client struct {
	IP     string
	Device string
	// atCounter: the payment comes from a merchant's till with the
	// consumer's payment code, not from the consumer on fenfu's pages, so
	// a risk decision asking for the payer's confirmation stops it.
	atCounter bool
}

// errConfirm stops a code payment a risk rule wants its payer to confirm.
var errConfirm = errors.New("pay: the payer must confirm the payment")

// stopsFor reports whether the outcome stops a payment by client c
// before money moves: a rejection, or a request for the payer's
// confirmation of a payment the payer is not confirming.
func stopsFor(out risk.Outcome, c Client) bool {
	return out.Decision == risk.Reject || (c.atCounter && out.AsksConfirmation())
}

// stopped is the error of a payment stopped by its outcome.
func stopped(out risk.Outcome) error {
	if out.Decision == risk.Reject {
		return rejected(out)
	}
	return errConfirm
}

var deviceRE = regexp.MustCompile(`^[0-9A-Za-z._:\-]{1,64}$`)

// Check validates a client's fields: an address must be an IP address, a
// device id 1 to 64 letters, digits, '.', '_', ':' or '-'.
func (c Client) Check() error { return checkPayer("client_ip", c.IP, "device_id", c.Device) }

// checkPayer is Client.Check of what a request says about the payer's
// side, under the request's own field names.
func checkPayer(ipField, ip, deviceField, device string) error {
	if ip != "" && net.ParseIP(ip) == nil {
		return fenfu.FieldError(ipField, "%s must be an IP address", ipField)
	}
	if device != "" && !deviceRE.MatchString(device) {
		return fenfu.FieldError(deviceField, "%s must be 1 to 64 letters, digits, '.', '_', ':' or '-'", deviceField)
	}
	return nil
}

// Risk is how payments are evaluated by the risk engine.
type Risk struct {
	Engine *risk.Engine
	// RunWindow is the window a run of payments by one instrument at one
	// merchant is counted in (default 10 minutes).
	RunWindow time.Duration
	// HoldFor is how long a risk hold keeps a payment out of settlement
	// (default 48 hours).
	HoldFor time.Duration
	// Industry returns a merchant's industry; nil: none is known.
	Industry func(ctx context.Context, mchid string) (string, error)

	mu        sync.Mutex
	merchants map[string]merchantFacts
}

// merchantFacts are the merchant's features, kept for merchantTTL: they
// change slowly, and reading them on every payment would cost a refund
// aggregate per payment.
type merchantFacts struct {
	industry   string
	ageDays    int
	refundRate float64
	at         time.Time
}

const (
	merchantTTL  = time.Minute
	refundPeriod = 30 * 24 * time.Hour
)

func (r *Risk) runWindow() time.Duration {
	if r.RunWindow > 0 {
		return r.RunWindow
	}
	return 10 * time.Minute
}

// DefaultHoldFor is how long a risk hold lasts when Risk.HoldFor is not
// set (SPEC §4).
const DefaultHoldFor = 48 * time.Hour

func (s *Service) holdLength() time.Duration {
	if s.Risk != nil && s.Risk.HoldFor > 0 {
		return s.Risk.HoldFor
	}
	return DefaultHoldFor
}

// hold is a risk hold to place on an order when it is marked paid: for
// how long from the payment, and why. The zero hold places none.
type hold struct {
	For    time.Duration
	Reason string
}

func (s *Service) holdOf(out risk.Outcome) hold {
	if out.Decision != risk.Hold {
		return hold{}
	}
	return hold{For: s.holdLength(), Reason: risk.HoldReason(out.HoldRules())}
}

// merchantFacts returns a merchant's features, from the cache when fresh.
func (s *Service) merchantFacts(ctx context.Context, m merchant.Merchant) (merchantFacts, error) {
	now := s.Clock.Now()
	r := s.Risk
	r.mu.Lock()
	f, ok := r.merchants[m.MchID]
	r.mu.Unlock()
	if ok && now.Sub(f.at) < merchantTTL {
		return f, nil
	}
	f = merchantFacts{at: now, ageDays: int(now.Sub(m.CreatedAt) / (24 * time.Hour))}
	if r.Industry != nil {
		var err error
		if f.industry, err = r.Industry(ctx, m.MchID); err != nil {
			return f, err
		}
	}
	var paid, refunded fenfu.Fen
	if err := s.Core.QueryRowContext(ctx, `SELECT COALESCE(SUM(total), 0), COALESCE(SUM(refunded), 0) FROM orders
		WHERE mchid = $1 AND paid_at >= $2 AND state IN `+paidStates, m.MchID, db.Micros(now.Add(-refundPeriod))).Scan(&paid, &refunded); err != nil {
		return f, fenfu.Internal("pay.merchantFacts", err)
	}
	if paid > 0 {
		f.refundRate = float64(refunded) / float64(paid)
	}
	r.mu.Lock()
	if r.merchants == nil {
		r.merchants = map[string]merchantFacts{}
	}
	r.merchants[m.MchID] = f
	r.mu.Unlock()
	return f, nil
}

// features are a payment's features that need no credit-store read.
func (s *Service) features(ctx context.Context, o Order, m merchant.Merchant, consumerID string, channel Channel, c Client) (risk.Features, error) {
	f := risk.Features{Amount: int64(o.Total), Channel: string(channel), ConsumerID: consumerID, MchID: o.MchID,
		ClientIP: c.IP, DeviceID: c.Device, Terminal: o.Scene.DeviceID}
	if f.ClientIP == "" { // the cashier did not see the payer; the merchant may have
		f.ClientIP = o.Scene.PayerClientIP
	}
	mf, err := s.merchantFacts(ctx, m)
	if err != nil {
		return f, err
	}
	f.Industry, f.MerchantAgeDays, f.RefundRate = mf.industry, mf.ageDays, mf.refundRate
	return f, nil
}

// decideCredit evaluates a credit payment in the caller's credit-store
// transaction. It takes the consumer's line lock first, so the day's and
// month's totals it reads include every payment of the consumer that
// committed before, and a concurrent payment of the consumer waits for
// this one's commit and then sees it.
func (s *Service) decideCredit(ctx context.Context, tx *db.Tx, p credit.Payment, f risk.Features) (risk.Outcome, error) {
	// What the decision and the capture read after the lock goes with
	// it, in its round trip, on PostgreSQL.
	credit.Ahead(tx, p, tx.Now.Add(-s.Risk.runWindow()))
	line, _, err := credit.Lock(ctx, tx, p.ConsumerID)
	if err != nil {
		return risk.Outcome{}, err
	}
	if err := s.creditFeatures(ctx, tx, &f, line, p.MchID, tx.Now); err != nil {
		return risk.Outcome{}, fenfu.Internal("pay.decideCredit", err)
	}
	if p.HoldID != "" {
		// A capture draws on its own hold: what the hold freezes is
		// available to it, as it is once the capture releases the hold.
		hold, err := credit.HoldOf(ctx, tx, p.HoldID)
		if err != nil {
			return risk.Outcome{}, fenfu.Internal("pay.decideCredit", err)
		}
		if hold.State == credit.HoldFrozen && hold.ConsumerID == p.ConsumerID {
			f.Available += int64(hold.Amount)
		}
	}
	return s.Risk.Engine.Decide(ctx, tx, risk.Payment{AttemptID: p.AttemptID, OrderID: p.OrderID, MchID: p.MchID,
		ConsumerID: p.ConsumerID, Channel: risk.Credit, Amount: p.Amount, Committed: p.HoldID != ""}, &f)
}

// decideBalance evaluates an ordinary (balance) payment before it is
// made. Its money moves in the core store, but risk records live in the
// credit store, where retention, the risk queue and backtests find every
// decision in one place, and a transaction never spans the two stores. So
// the decision commits first, in a credit transaction of its own: every
// balance payment that commits has its decision recorded, and a decision
// whose payment then fails (a short balance) stays as the record of an
// attempt that moved no money, which is what a decision is: one per
// attempt. A hold decided here is placed on the order in the same core
// transaction that marks it paid.
func (s *Service) decideBalance(ctx context.Context, o Order, consumerID, attempt string, f risk.Features) (risk.Outcome, error) {
	var out risk.Outcome
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		f.Clock(tx.Now)
		var err error
		out, err = s.Risk.Engine.Decide(ctx, tx, risk.Payment{AttemptID: attempt, OrderID: o.ID, MchID: o.MchID,
			ConsumerID: consumerID, Channel: risk.Balance, Amount: o.Total}, &f)
		return err
	})
	return out, err
}

// creditFeatures sets a credit payment's features of the consumer's line
// and credit history at now, read through q: the payment's transaction,
// or the credit store for a probe.
func (s *Service) creditFeatures(ctx context.Context, q interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}, f *risk.Features, line credit.Line, mchid string, now time.Time) error {
	h, od, err := credit.StandingOf(ctx, q, line.ConsumerID, mchid, now, now.Add(-s.Risk.runWindow()))
	if err != nil {
		return err
	}
	f.Overdue, f.OverdueDays = od.Amount > 0, od.Days
	f.Clock(now)
	f.Rating, f.CreditLimit, f.Available = line.Rating, int64(line.Limit), int64(line.Available)
	f.PaidToday, f.PaidMonth, f.FirstToday, f.Run = int64(h.Today), int64(h.Month), h.CountToday == 0, h.Run+1
	return nil
}

// rejected is the error a payment rejected by a rule answers: RULE_LIMIT
// with the rule's message for the payer.
func rejected(out risk.Outcome) error {
	e := fenfu.Errorf(fenfu.RuleLimit, "%s", out.Message)
	e.Remedy = "Pay with another channel, or later; this order can still be paid."
	return e
}

// Resolved is a risk-queue item after a staff action, with the refund the
// action made, if any.
type Resolved struct {
	Item   risk.Item     `json:"item"`
	Refund *RefundRecord `json:"refund,omitempty"`
}

// Resolve performs a staff action on an alert or hold in the risk queue,
// then records it with who and why: acknowledge lets the payment stand;
// release lifts the hold so the next settlement batch takes the order;
// refund refunds what is left of the payment through the ordinary refund
// path (fees and ledger included), under out_refund_no RISK<order>, so a
// retried refund is the same refund.
func (s *Service) Resolve(ctx context.Context, id string, a risk.Action, actor, reason string) (Resolved, error) {
	if s.Risk == nil {
		return Resolved{}, fenfu.Errorf(fenfu.InvalidRequest, "risk control is not running")
	}
	e := s.Risk.Engine
	it, err := e.Item(ctx, id)
	if err != nil {
		return Resolved{}, err
	}
	if err := it.Check(a, reason); err != nil {
		return Resolved{}, err
	}
	var out Resolved
	switch a {
	case risk.Release:
		// Only the hold the decision placed is lifted: a hold joined or
		// replaced since (a complaint's, a staff member's) is its owner's
		// to lift.
		o, err := s.Get(ctx, it.OrderID)
		if err != nil {
			return Resolved{}, err
		}
		placed := risk.HoldReason(risk.Outcome{Matched: it.Matched}.HoldRules())
		switch {
		case o.HoldUntil.IsZero() || !o.HoldUntil.After(s.Clock.Now()):
			// ended or lifted already: nothing to lift
		case o.HoldReason != placed:
			e := fenfu.Errorf(fenfu.InvalidRequest, "order %s is held for %q now, not only by its risk decision", o.ID, o.HoldReason)
			e.Remedy = "Lift that hold where it was placed (a complaint's lifts when the complaint closes; a staff hold with settle release)."
			return Resolved{}, e
		default:
			if err := Hold(ctx, s.Core, it.OrderID, time.Time{}, ""); err != nil {
				return Resolved{}, err
			}
		}
	case risk.RefundIt:
		o, err := s.Get(ctx, it.OrderID)
		if err != nil {
			return Resolved{}, err
		}
		left := o.Total - o.Refunded
		if left <= 0 {
			return Resolved{}, fenfu.Errorf(fenfu.InvalidRequest, "order %s is already refunded in full", o.ID)
		}
		r, err := s.Refund(ctx, RefundRequest{MchID: o.MchID, TransactionID: o.ID, OutRefundNo: "RISK" + o.ID,
			Reason: "risk: " + reason, Refund: left, Total: o.Total, Currency: o.Currency})
		if err != nil {
			return Resolved{}, err
		}
		out.Refund = &r
	}
	out.Item, err = e.Act(ctx, it.AttemptID, a, actor, reason)
	return out, err
}

// ProbeCredit evaluates, read-only, whether the current risk rules would
// refuse a credit payment of order o by the consumer: the features are
// read as decideCredit reads them, but outside a payment, without the
// line's lock, and no decision is recorded or counted. With no risk
// engine nothing is refused.
func (s *Service) ProbeCredit(ctx context.Context, o Order, m merchant.Merchant, line credit.Line) (risk.Outcome, error) {
	if s.Risk == nil || s.Risk.Engine == nil {
		return risk.Outcome{Decision: risk.Allow}, nil
	}
	f, err := s.features(ctx, o, m, line.ConsumerID, ChannelCredit, Client{})
	if err != nil {
		return risk.Outcome{}, err
	}
	if err := s.creditFeatures(ctx, s.Credit, &f, line, o.MchID, s.Clock.Now()); err != nil {
		return risk.Outcome{}, fenfu.Internal("pay.ProbeCredit", err)
	}
	set, err := s.Risk.Engine.Current(ctx)
	if err != nil {
		return risk.Outcome{}, err
	}
	return set.Evaluate(&f), nil
}
