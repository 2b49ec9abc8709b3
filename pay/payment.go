package pay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/risk"
)

// OrderForToken checks a QR token and returns its order. The token's
// merchant and amount must match the order's.
func (s *Service) OrderForToken(ctx context.Context, token string) (Order, error) {
	p, err := s.Tokens.Parse(token, s.Clock.Now())
	if err != nil {
		return Order{}, err
	}
	o, err := s.Get(ctx, p.OrderID)
	if err != nil {
		return Order{}, err
	}
	if o.MchID != p.MchID || o.Total != p.Total {
		return Order{}, fenfu.Errorf(fenfu.ParamError, "the payment code does not match its order")
	}
	return o, nil
}

// OrderAhead returns ctx carrying the read of the order behind token,
// which OrderForToken makes, for the core store to send with the next read
// it runs for ctx (db.DB.Ahead): a caller that reads something else first
// (the cashier, its consumer's session) reads both in one round trip on
// PostgreSQL. A token that does not check carries nothing.
func (s *Service) OrderAhead(ctx context.Context, token string) context.Context {
	if s.Core.Engine != db.Postgres {
		return ctx // no round trips to save: spare the token's second check
	}
	p, err := s.Tokens.Parse(token, s.Clock.Now())
	if err != nil {
		return ctx
	}
	return s.Core.Ahead(ctx, `SELECT `+orderCols+` FROM orders WHERE id = $1`, p.OrderID)
}

// TotalForToken checks a QR token and returns the amount it was signed
// for, without reading its order: the amount OrderForToken requires the
// order to have.
func (s *Service) TotalForToken(token string) (fenfu.Fen, error) {
	p, err := s.Tokens.Parse(token, s.Clock.Now())
	if err != nil {
		return 0, err
	}
	return p.Total, nil
}

// Allowed reports whether the order lets the consumer pay with channel,
// by its limit_pay.
func (o Order) Allowed(channel Channel) bool {
	switch channel {
	case ChannelCredit:
		return !slices.Contains(o.LimitPay, "no_credit") && !slices.Contains(o.LimitPay, "balance_only")
	case ChannelBalance:
		return !slices.Contains(o.LimitPay, "no_balance")
	}
	return false
}

// Pay pays the order behind a QR token as the consumer, on credit or from
// balance. It returns the paid order, or an error with a code the cashier
// shows: NOT_ENOUGH, ORDERPAID, ORDER_CLOSED, USERPAYING, RULE_LIMIT.
func (s *Service) Pay(ctx context.Context, token, consumerID string, channel Channel) (Order, error) {
	return s.PayFrom(ctx, token, consumerID, channel, Client{})
}

// PayFrom is Pay with what the client says about itself, which risk rules
// read. A payment a rule rejects fails with RULE_LIMIT and the rule's
// message for the payer, and the order stays payable by another channel.
func (s *Service) PayFrom(ctx context.Context, token, consumerID string, channel Channel, c Client) (Order, error) {
	return s.PayIn(ctx, token, consumerID, channel, c, 0)
}

// PayIn is PayFrom in installments: a credit payment repaid in n
// installments, one of the counts the order offers, or in full for 0 or
// 1. A count the order does not offer fails with PARAM_ERROR.
func (s *Service) PayIn(ctx context.Context, token, consumerID string, channel Channel, c Client, installments int) (Order, error) {
	if err := c.Check(); err != nil {
		return Order{}, err
	}
	o, err := s.OrderForToken(ctx, token)
	if err != nil {
		return Order{}, err
	}
	return s.payOrder(ctx, o, consumerID, channel, c, installments)
}

// payOrder pays o as the consumer: the one payment path of every door.
func (s *Service) payOrder(ctx context.Context, o Order, consumerID string, channel Channel, c Client, installments int) (Order, error) {
	if channel != ChannelCredit && channel != ChannelBalance {
		return Order{}, fenfu.FieldError("channel", "channel must be credit or balance")
	}
	if !o.Allowed(channel) {
		return Order{}, fenfu.Errorf(fenfu.RuleLimit, "the merchant does not accept %s payment for this order", channel)
	}
	switch {
	case installments < 0:
		return Order{}, fenfu.FieldError("installment_number", "installment_number must not be negative")
	case installments > 1 && channel != ChannelCredit:
		return Order{}, fenfu.FieldError("installment_number", "installments are for credit payments only")
	}
	if o.State != NotPay {
		return Order{}, stateError(o, s.Clock.Now(), Success)
	}
	if channel == ChannelCredit {
		m, err := s.Merchants.Get(ctx, o.MchID)
		if err != nil {
			return Order{}, err
		}
		if err := m.CreditAllowed(); err != nil {
			return Order{}, err
		}
		if m.Cohort(consumerID) != merchant.CohortCredit {
			e := fenfu.Errorf(fenfu.RuleLimit, "this merchant does not offer you credit pay yet")
			e.Remedy = "Pay from balance; the merchant is rolling credit pay out gradually."
			return Order{}, e
		}
		t, err := s.terms(o, installments)
		if err != nil {
			return Order{}, err
		}
		return s.payCredit(ctx, o, m, consumerID, c, t, "")
	}
	return s.payBalance(ctx, o, consumerID, c)
}

// claim moves an order out of NOTPAY for a consumer's attempt, to PAYING
// (a credit payment, whose capture follows in the credit store) or
// straight to SUCCESS (a balance payment, with its fee and any risk hold),
// in one statement. The order must not have expired, and must still be of
// the total the payment was read with: a PAYSCORE order's total is set
// anew by a retried completion, and the capture is of the total read.
// The payer's openid under the order's appid is stored with the payer, so
// the exposure API can resolve an openid the merchant was shown back to
// the consumer.
func claim(to State, o Order, channel Channel, consumerID, openid, attempt string, paidAt, now int64, q fee.Quote, h hold, installments int, planFee fenfu.Fen) (string, []any, error) {
	return orders.SQL(db.Move[State]{From: []State{NotPay}, To: to,
		Set: ", channel = $1, consumer_id = $2, attempt_id = $3, paid_at = $4, updated_at = $5, fee = $6, fee_rate = $7, fee_tier = $8" +
			", hold_until = $10, hold_reason = $11, installments = $12, plan_fee = $13, payer_openid = $15",
		Where: "id = $9 AND expires_at > $5 AND total = $14",
		Args: []any{string(channel), consumerID, attempt, paidAt, now, q.Fee, int64(q.Rate), q.Tier, o.ID, h.until(paidAt), h.Reason,
			installments, planFee, o.Total, openid}})
}

// place sets the hold on an order paid at paidAt, as the payment stored
// it.
func (h hold) place(o *Order, paidAt time.Time) {
	o.HoldReason = h.Reason
	if u := h.until(db.Micros(paidAt)); u > 0 {
		o.HoldUntil = db.Time(u)
	}
}

// until is the stored hold_until of a hold on a payment made at paidAt
// (micros): 0 for none.
func (h hold) until(paidAt int64) int64 {
	if h.For <= 0 {
		return 0
	}
	return paidAt + h.For.Microseconds()
}

// payInTx moves an order straight from NOTPAY to SUCCESS for a balance
// payment with its fee and risk hold, and makes its notification due, in
// the caller's transaction. It fails with the reason when the order is no
// longer payable.
func (s *Service) payInTx(ctx context.Context, tx *db.Tx, o Order, consumerID, attempt string, q fee.Quote, h hold) error {
	now := db.Micros(tx.Now)
	sqlText, args, err := claim(Success, o, ChannelBalance, consumerID, s.openID(o.AppID, consumerID), attempt, now, now, q, h, 0, 0)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, sqlText, args...)
	if err != nil {
		return err
	}
	if err := s.claimed(ctx, res, o); err != nil {
		return err
	}
	if o.NotifyURL == "" { // a code payment: the till queries it, as WeChat's tills do
		return nil
	}
	return notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: o.ID, MchID: o.MchID, NotifyURL: o.NotifyURL})
}

// claimed explains a claim that changed no row.
func (s *Service) claimed(ctx context.Context, res sql.Result, o Order) error {
	if n, _ := res.RowsAffected(); n == 0 {
		cur, err := s.Get(ctx, o.ID)
		if err != nil {
			return err
		}
		if cur.State == NotPay && cur.Total != o.Total {
			return totalChanged(cur, o.Total)
		}
		return stateError(cur, s.Clock.Now(), Success)
	}
	return nil
}

// totalChanged explains a payment of total refused because its order is
// now of another: a service order's completion retried with another
// total_amount while this one was paying.
func totalChanged(cur Order, total fenfu.Fen) error {
	e := fenfu.Errorf(fenfu.InvalidRequest, "order %s is now of %s yuan, not the %s yuan this request paid: another completion changed it",
		cur.OutTradeNo, fenfu.Yuan(cur.Total), fenfu.Yuan(total))
	e.Remedy = "Query the service order, and complete it once with its final total_amount."
	return e
}

func (s *Service) payBalance(ctx context.Context, o Order, consumerID string, c Client) (_ Order, err error) {
	defer func() { s.count(ChannelBalance, err) }()
	attempt := s.IDs.New(fenfu.AttemptID, s.Clock.Now())
	var h hold
	if s.Risk != nil {
		m, err := s.Merchants.Get(ctx, o.MchID)
		if err != nil {
			return Order{}, fenfu.Op("pay.payBalance", err)
		}
		f, err := s.features(ctx, o, m, consumerID, ChannelBalance, c)
		if err != nil {
			return Order{}, fenfu.Op("pay.payBalance", err)
		}
		out, err := s.decideBalance(ctx, o, consumerID, attempt, f)
		if err != nil {
			return Order{}, fenfu.Internal("pay.payBalance", err)
		}
		if stopsFor(out, c) {
			return Order{}, stopped(out)
		}
		h = s.holdOf(out)
	}
	// An ordinary payment's fee is priced by the ordinary schedule and
	// posted with it: the merchant is owed the amount less the fee.
	q := s.Fees.ordinary().Price(o.Total, 0, 0)
	var paidAt time.Time
	err = s.Core.Update(ctx, func(tx *db.Tx) error {
		paidAt = db.Time(db.Micros(tx.Now))
		if err := s.payInTx(ctx, tx, o, consumerID, attempt, q, h); err != nil {
			return err
		}
		entries := ledger.PaymentEntries(consumer.BalanceAccount(consumerID), o.MchID, o.Total, q.Fee, OrdinaryFeeAccount)
		err := ledger.Post(ctx, tx, ledger.Txn{Kind: "payment", Ref: o.ID, Entries: entries})
		switch {
		case errors.Is(err, ledger.ErrInsufficient):
			return fenfu.Errorf(fenfu.NotEnough, "balance is short of %s yuan", fenfu.Yuan(o.Total))
		case errors.Is(err, ledger.ErrNoAccount):
			return fenfu.Errorf(fenfu.ResourceNotExists, "no consumer %s", consumerID)
		}
		return err
	})
	if err != nil {
		return Order{}, fenfu.Op("pay.payBalance", err)
	}
	// The order is what the claim wrote; no need to read it back.
	o.State, o.Channel, o.ConsumerID, o.AttemptID = Success, ChannelBalance, consumerID, attempt
	o.PaidAt, o.UpdatedAt, o.Fee = paidAt, paidAt, q
	h.place(&o, paidAt)
	return o, nil
}

// Outcomes of a payment attempt, as fenfu_payments_total counts them.
const (
	OutcomeSuccess  = "success"  // paid
	OutcomeDeclined = "declined" // refused for the payer's, the order's or the merchant's reasons: NOT_ENOUGH, RULE_LIMIT, ORDERPAID, …
	OutcomeConfirm  = "confirm"  // waits for the payer to confirm with the PIN (a CONFIRM risk rule)
	OutcomeFailed   = "failed"   // a system error: fenfu answered SYSTEM_ERROR, and Recover settles an attempt left in flight
)

// count counts a payment attempt in fenfu_payments_total by channel and
// outcome.
func (s *Service) count(channel Channel, err error) {
	if s.Metrics == nil {
		return
	}
	outcome := OutcomeFailed
	var e *fenfu.Error
	switch {
	case err == nil:
		outcome = OutcomeSuccess
	case errors.Is(err, errConfirm):
		outcome = OutcomeConfirm
	case errors.As(err, &e) && e.LogLevel() <= slog.LevelInfo:
		outcome = OutcomeDeclined
	}
	s.Metrics.Add("fenfu_payments_total", 1, "channel", string(channel), "outcome", outcome)
}

// MetricsHelp sets the help text of the payment metrics.
func MetricsHelp(r *metrics.Registry) {
	r.Help("fenfu_payments_total", "Payment attempts made on this node, by channel (credit, balance) and outcome "+
		"(success; declined: refused for the payer's, order's or merchant's reasons; confirm: waits for the payer's PIN; failed: a system error).")
}

// OrdinaryFeeAccount is the platform's fee income from ordinary payments.
var OrdinaryFeeAccount = ledger.AccountOf(ledger.PlatformFee, "ordinary")

// payCredit pays o on the consumer's credit. holdID, when set, is the
// service order's hold the payment captures (CompleteServiceOrder); the
// risk engine holds such a capture for review where a rule would reject
// it (risk.Payment.Committed).
func (s *Service) payCredit(ctx context.Context, o Order, m merchant.Merchant, consumerID string, c Client, t credit.Terms, holdID string) (_ Order, err error) {
	defer func() { s.count(ChannelCredit, err) }()
	discount := m.DiscountAt(s.Clock.Now())
	var f risk.Features
	if s.Risk != nil {
		var err error
		if f, err = s.features(ctx, o, m, consumerID, ChannelCredit, c); err != nil {
			return Order{}, fenfu.Op("pay.payCredit", err)
		}
	}
	now := s.Clock.Now()
	attempt := s.IDs.New(fenfu.AttemptID, now)
	q0, args, err := claim(Paying, o, ChannelCredit, consumerID, s.openID(o.AppID, consumerID), attempt, 0, db.Micros(now), fee.Quote{}, hold{}, t.Installments, t.MerchantFee(o.Total))
	if err != nil {
		return Order{}, fenfu.Internal("pay.payCredit", err)
	}
	res, err := s.Core.Exec(ctx, q0, args...)
	if err != nil {
		return Order{}, fenfu.Internal("pay.payCredit", err)
	}
	if err := s.claimed(ctx, res, o); err != nil {
		return Order{}, fenfu.Op("pay.payCredit", err)
	}
	if h := s.beforeCapture; h != nil {
		if err := h(o.ID); err != nil {
			return Order{}, err
		}
	}
	p := credit.Payment{AttemptID: attempt, OrderID: o.ID, MchID: o.MchID, ConsumerID: consumerID, Amount: o.Total,
		Discount: discount, Schedule: s.Fees.credit(), Terms: t, HoldID: holdID}
	var q fee.Quote
	var out risk.Outcome
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		out = risk.Outcome{}
		if s.Risk != nil {
			var err error
			if out, err = s.decideCredit(ctx, tx, p, f); err != nil {
				return err
			}
			if stopsFor(out, c) {
				// The decision must stay on record, so the transaction
				// commits: with the attempt fenced off, so neither a retry
				// nor recovery can ever capture it.
				_, _, err := credit.VoidAttempt(ctx, tx, p)
				return err
			}
		}
		var err error
		q, err = credit.Capture(ctx, tx, p)
		return err
	})
	if err == nil && stopsFor(out, c) {
		if err := s.release(ctx, o.ID, attempt); err != nil {
			// Recovery releases it: the attempt is void.
			return Order{}, fenfu.Internal("pay.payCredit", err)
		}
		return Order{}, stopped(out)
	}
	if err != nil {
		var de *fenfu.Error
		if errors.As(err, &de) || errors.Is(err, credit.ErrVoided) {
			// The credit transaction surely rolled back: release the order.
			if rerr := s.release(ctx, o.ID, attempt); rerr != nil {
				return Order{}, fenfu.Internal("pay.payCredit", rerr)
			}
			if de != nil {
				return Order{}, de
			}
		}
		// Outcome unknown (the commit may have landed): leave the order
		// PAYING for Recover, which settles it either way.
		return Order{}, fenfu.Internal("pay.payCredit", err)
	}
	if h := s.afterCreditCommit; h != nil {
		if err := h(o.ID); err != nil {
			return Order{}, err
		}
	}
	h := s.holdOf(out)
	paidAt, done, err := s.complete(ctx, o.ID, attempt, q, h, &o)
	if err != nil {
		return Order{}, fenfu.Internal("pay.payCredit", err)
	}
	if !done { // recovery completed it first
		return s.Get(ctx, o.ID)
	}
	o.State, o.Channel, o.ConsumerID, o.AttemptID = Success, ChannelCredit, consumerID, attempt
	o.PaidAt, o.UpdatedAt, o.Installments, o.PlanFee = paidAt, paidAt, t.Installments, t.MerchantFee(o.Total)
	o.Fee = q
	h.place(&o, paidAt)
	return o, nil
}

// complete marks a PAYING order paid by its captured attempt, with the fee
// the credit store charged and the risk hold its decision placed, and
// makes its notification due, in one transaction. It reports the payment
// time and whether this call made the change.
//
// The payment itself passes the order it read as o (recovery, which has
// not read it, passes nil): then, but for a service order's payment,
// the notification is made due with what o says and the COMMIT goes with
// the order's change (db.Tx.CommitNext), the whole transaction one round
// trip on PostgreSQL. The notification is made due even if recovery
// completed the order first, which is the same: recovery made it due too,
// under the same ref, and a ref is made due once.
func (s *Service) complete(ctx context.Context, orderID, attempt string, q fee.Quote, h hold, o *Order) (time.Time, bool, error) {
	var at time.Time
	done := false
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		at, done = db.Time(db.Micros(tx.Now)), false
		sqlText, args, err := orders.SQL(db.Move[State]{From: []State{Paying}, To: Success,
			Set:   ", paid_at = $1, updated_at = $1, fee = $2, fee_rate = $3, fee_tier = $4, hold_until = $7, hold_reason = $8",
			Where: "id = $5 AND attempt_id = $6", Returning: "mchid, notify_url, trade_type",
			Args: []any{db.Micros(at), q.Fee, int64(q.Rate), q.Tier, orderID, attempt, h.until(db.Micros(at)), h.Reason}})
		if err != nil {
			return err
		}
		sub := notify.Subject{Kind: notify.Transaction, ID: orderID}
		var tradeType string
		if o != nil && o.TradeType != TradePayScore {
			if o.NotifyURL != "" { // a code payment has no notification
				if err := notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: orderID, MchID: o.MchID, NotifyURL: o.NotifyURL}); err != nil {
					return err
				}
			}
			tx.CommitNext()
			err := tx.QueryRowContext(ctx, sqlText, args...).Scan(&sub.MchID, &sub.NotifyURL, &tradeType)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // recovery completed it first
			}
			done = err == nil
			return err
		}
		err = tx.QueryRowContext(ctx, sqlText, args...).Scan(&sub.MchID, &sub.NotifyURL, &tradeType)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // recovery, or the payment itself, completed it first
		}
		if err != nil {
			return err
		}
		done = true
		switch {
		case tradeType == TradePayScore:
			// A service order's payment is notified as WeChat Pay Score
			// does, by PAYSCORE.USER_PAID, with the service order DONE.
			return servicePaid(ctx, tx, orderID)
		case sub.NotifyURL == "": // a code payment has no notification
			return nil
		}
		return notify.Enqueue(ctx, tx, sub)
	})
	return at, done, err
}

// release returns a PAYING order to NOTPAY after its attempt failed. A
// code-payment order keeps its payer and channel, which its code named:
// it is again waiting for that consumer.
func (s *Service) release(ctx context.Context, orderID, attempt string) error {
	q, args, err := orders.SQL(db.Move[State]{From: []State{Paying}, To: NotPay,
		Set: ", channel = " + keepPayer("channel") + ", consumer_id = " + keepPayer("consumer_id") +
			", payer_openid = " + keepPayer("payer_openid") + ", attempt_id = '', installments = 0, plan_fee = 0, updated_at = $1", Where: "id = $2 AND attempt_id = $3",
		Args: []any{db.Micros(s.Clock.Now()), orderID, attempt}})
	if err != nil {
		return err
	}
	_, err = s.Core.Exec(ctx, q, args...)
	return err
}

// Recovered counts what Recover settled.
type Recovered struct {
	Completed int // payments found captured: orders marked paid
	Released  int // payments found never captured: orders released
	Refunds   int // refunds applied and marked successful
	Lapsed    int // code payments their consumers did not confirm in time: PAYERROR
}

// Recover settles payments and refunds interrupted between the two stores
// that are older than RecoverAfter. It is safe to run on any number of
// nodes at once and at any time.
func (s *Service) Recover(ctx context.Context) (Recovered, error) {
	var r Recovered
	after := s.RecoverAfter
	if after == 0 {
		after = DefaultRecoverAfter
	}
	cutoff := db.Micros(s.Clock.Now().Add(-after))
	type stuck struct{ id, attempt, mchid, consumer string }
	list, err := db.All(ctx, s.Core, func(row db.Scanner) (x stuck, err error) {
		err = row.Scan(&x.id, &x.attempt, &x.mchid, &x.consumer)
		return x, err
	}, `SELECT id, attempt_id, mchid, consumer_id FROM orders WHERE state = $1 AND updated_at < $2 ORDER BY updated_at LIMIT 1000`,
		string(Paying), cutoff)
	if err != nil {
		return r, err
	}
	for _, x := range list {
		var state credit.AttemptState
		var q fee.Quote
		var h hold
		err := s.Credit.Update(ctx, func(tx *db.Tx) error {
			var err error
			state, q, err = credit.VoidAttempt(ctx, tx, credit.Payment{AttemptID: x.attempt, OrderID: x.id, MchID: x.mchid, ConsumerID: x.consumer})
			if err != nil || state != credit.Captured {
				return err
			}
			// A captured payment its decision held is held when
			// recovery completes it, as the payment itself would have.
			h = hold{}
			held, reason, err := risk.HoldOf(ctx, tx, x.attempt)
			if held {
				h = hold{For: s.holdLength(), Reason: reason}
			}
			return err
		})
		if err != nil {
			return r, fmt.Errorf("pay: recover order %s: %w", x.id, err)
		}
		if state == credit.Captured {
			if _, _, err := s.complete(ctx, x.id, x.attempt, q, h, nil); err != nil {
				return r, err
			}
			r.Completed++
		} else {
			if err := s.release(ctx, x.id, x.attempt); err != nil {
				return r, err
			}
			r.Released++
		}
	}
	n, err := s.recoverRefunds(ctx, cutoff)
	r.Refunds = n
	if err != nil {
		return r, err
	}
	r.Lapsed, err = s.lapseAll(ctx)
	return r, err
}
