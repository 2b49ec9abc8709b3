package pay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/paycode"
)

// Micropay is the trade_type of a code payment (付款码支付): the
// merchant's till scans the consumer's payment code and sends it with
// the order.
const Micropay = "MICROPAY"

// Code payment defaults, each a setting (Counter).
const (
	// DefaultNoPINLimit: a code payment above ¥1,000 waits for its
	// consumer's PIN, as WeChat Pay's do.
	DefaultNoPINLimit fenfu.Fen = 1000_00
	// DefaultConfirmWithin is how long a code payment waits for its
	// consumer to confirm it. WeChat Pay's tills poll a waiting order
	// every 5 to 10 seconds for 30 seconds and then reverse it; the
	// consumer gets twice that, and an order not confirmed by then
	// becomes PAYERROR, as WeChat's does when the consumer cancels.
	DefaultConfirmWithin = time.Minute
	// DefaultReverseWindow: WeChat Pay reverses orders up to 7 days old.
	DefaultReverseWindow = 7 * 24 * time.Hour
	// MinTimeExpire is the least time ahead a code payment's time_expire
	// may be, as WeChat Pay's (最短失效时间间隔需大于1分钟): an order that
	// lapses sooner leaves its consumer no time to confirm it.
	MinTimeExpire = time.Minute
)

// Counter are the settings of code payments.
type Counter struct {
	NoPINLimit    fenfu.Fen     // above it a payment waits for the consumer's PIN; 0: DefaultNoPINLimit
	ConfirmWithin time.Duration // how long a payment waits for it; 0: DefaultConfirmWithin
	ReverseWindow time.Duration // how old an order may be reversed; 0: DefaultReverseWindow
}

func (c Counter) noPINLimit() fenfu.Fen {
	if c.NoPINLimit > 0 {
		return c.NoPINLimit
	}
	return DefaultNoPINLimit
}

func (c Counter) confirmWithin() time.Duration {
	if c.ConfirmWithin > 0 {
		return c.ConfirmWithin
	}
	return DefaultConfirmWithin
}

func (c Counter) reverseWindow() time.Duration {
	if c.ReverseWindow > 0 {
		return c.ReverseWindow
	}
	return DefaultReverseWindow
}

// CodeOrder is a code payment a merchant's till sends: an order and the
// consumer's payment code.
type CodeOrder struct {
	MchID       string
	AppID       string
	Description string
	OutTradeNo  string
	Attach      string
	GoodsTag    string
	LimitPay    []string
	Total       fenfu.Fen
	Currency    string
	TimeExpire  time.Time // zero: DefaultConfirmWithin (Counter) from now
	API         string    // "v3" (default) or "v2"
	Scene       Scene
	// AuthCode is the payment code the till scanned.
	AuthCode string
	// Installments is the count the consumer chose at the counter (fenfu's
	// installment extension): 0 or 1 pays in full; 3, 6 or 12 pays a
	// credit payment in installments, the consumer bearing the fee.
	Installments int
}

// InstallmentField is the request field of the installment count chosen
// at the counter, in error messages.
const InstallmentField = "installment_info.selected_installment_number"

// native is the order's fields as a Native order's, which are validated
// and hashed alike.
func (r CodeOrder) native() NativeOrder {
	n := NativeOrder{MchID: r.MchID, AppID: r.AppID, Description: r.Description, OutTradeNo: r.OutTradeNo, TimeExpire: r.TimeExpire,
		Attach: r.Attach, GoodsTag: r.GoodsTag, LimitPay: r.LimitPay, Total: r.Total, Currency: r.Currency, API: r.API, Scene: r.Scene,
		counter: true}
	if r.Installments > 1 {
		n.Offers = []Offer{{Count: r.Installments}}
	}
	return n
}

// validate checks what a code payment has besides its order's fields,
// which admit checks.
func (r CodeOrder) validate() error {
	if !paycode.Valid(r.AuthCode) {
		e := fenfu.Errorf(fenfu.AuthCodeError, "auth_code must be the 18 digits of a payment code, beginning 10 to 15")
		e.Field = "auth_code"
		return e
	}
	if r.Installments < 0 || (r.Installments > 1 && !credit.ValidCount(r.Installments)) {
		e := fenfu.FieldError(InstallmentField, "the installment count must be 3, 6 or 12 (or 1, in full), not %d", r.Installments)
		e.Remedy = "Offer the consumer 3, 6 or 12 installments, or pay in full."
		return e
	}
	return nil
}

// hash is the Native hash of the order with the code and the installment
// count: a till resending the same request gets the same order.
func (r CodeOrder) hash() string {
	n := r.native()
	n.GoodsTag += "\x00" + login.TokenHash(r.AuthCode) // the code's hash only, as the store keeps codes
	return n.hash()
}

// AwaitingConfirmation reports whether the order is a code payment
// waiting for its consumer to confirm it with their PIN: unpaid, with the
// consumer its code named (no other order keeps a consumer while unpaid).
// Its trade_state is USERPAYING.
func (o Order) AwaitingConfirmation() bool {
	return o.State == NotPay && o.ConsumerID != "" && o.TradeType == Micropay
}

// asked is the installment count the consumer chose at the counter.
func (o Order) asked() int {
	if len(o.Offers) == 1 {
		return o.Offers[0].Count
	}
	return 0
}

// keepPayer is the SQL value a released order's column takes: a code
// payment's keeps the payer its code named, others are cleared.
func keepPayer(column string) string {
	return "CASE WHEN trade_type = '" + Micropay + "' THEN " + column + " ELSE '' END"
}

// waiting is the error of a code payment left waiting for its consumer:
// USERPAYING, as WeChat Pay answers.
func (s *Service) waiting(o Order) error {
	e := fenfu.Errorf(fenfu.UserPaying, "需要用户输入支付密码: the consumer confirms the payment with their PIN on their phone")
	e.Remedy = "Query the order every 5 seconds until it is SUCCESS or PAYERROR; reverse it if it is still USERPAYING after " +
		s.Counter.confirmWithin().String() + "."
	return e
}

// Micropay pays a code payment: it creates the MICROPAY order and
// redeems the payment code in one core transaction, so a code sent by two
// tills at once pays one order and the other till is refused with
// AUTH_CODE_INVALID, leaving no order. It then pays the order with the
// code's consumer and channel through the payment path every order takes
// (risk, fees, ledger, settlement). A payment above the no-PIN limit, or
// one a risk rule wants confirmed (CONFIRM), waits for the consumer: the
// order is returned with USERPAYING, and Confirm pays it. A payment that
// fails once the code is spent (NOT_ENOUGH, RULE_LIMIT) leaves the order
// PAYERROR: the till needs a new code and a new out_trade_no.
//
// The same out_trade_no with the same parameters answers the order's
// state as it is now; with different ones OUT_TRADE_NO_USED.
func (s *Service) Micropay(ctx context.Context, r CodeOrder) (Order, error) {
	now := s.Clock.Now()
	if r.API == "" {
		r.API = "v3"
	}
	if err := r.validate(); err != nil {
		return Order{}, err
	}
	n := r.native()
	if err := s.admit(ctx, &n, now); err != nil {
		return Order{}, err
	}
	r.Currency = n.Currency
	hash := r.hash()
	if o, err := s.QueryByOutTradeNo(ctx, r.MchID, r.OutTradeNo); err == nil {
		return s.again(ctx, o, hash)
	} else if fenfu.ErrorCode(err) != fenfu.OrderNotExist {
		return Order{}, err
	}
	if !r.TimeExpire.IsZero() && r.TimeExpire.Before(now.Add(MinTimeExpire)) {
		// Checked once no order answers the request: a resend of an order
		// made earlier gets that order.
		e := fenfu.FieldError("time_expire", "time_expire must be at least %s from now", MinTimeExpire)
		e.Remedy = "Leave time_expire out, or set it a minute or more ahead: the consumer may need that long to confirm the payment."
		return Order{}, e
	}
	expires := now.Add(s.Counter.confirmWithin())
	if !r.TimeExpire.IsZero() && r.TimeExpire.Before(expires) {
		expires = r.TimeExpire
	}
	o := Order{ID: s.IDs.New(fenfu.TransactionID, now), MchID: r.MchID, OutTradeNo: r.OutTradeNo, AppID: r.AppID, TradeType: Micropay,
		Description: r.Description, Attach: r.Attach, LimitPay: r.LimitPay, Total: r.Total, Currency: r.Currency, State: NotPay,
		API: r.API, Scene: r.Scene, Offers: n.Offers}
	usedBy := "" // the order the code already paid, if it did
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		c, err := s.codes().Redeem(ctx, tx, r.AuthCode, o.ID)
		if err != nil {
			usedBy = c.OrderID
			return err
		}
		o.ConsumerID, o.Channel = c.ConsumerID, Channel(c.Channel)
		if !o.Allowed(o.Channel) {
			// Refused before anything is written: the code stays unused.
			e := fenfu.Errorf(fenfu.RuleLimit, "this order's limit_pay %v rules out the consumer's %s payment code", r.LimitPay, o.Channel.Name())
			e.Remedy = "Ask the consumer to switch the payment code's channel on their phone, and scan it again."
			return e
		}
		if o.Channel != ChannelCredit && r.Installments > 1 {
			e := fenfu.FieldError(InstallmentField, "installments are for credit payments, and the consumer's payment code pays from balance")
			e.Remedy = "Pay in full, or ask the consumer to show a 分付 (credit) payment code."
			return e
		}
		at := db.Micros(tx.Now)
		o.CreatedAt, o.UpdatedAt, o.ExpiresAt = db.Time(at), db.Time(at), db.Time(db.Micros(expires))
		res, err := tx.ExecContext(ctx, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
			notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, api, scene_device, scene_ip,
			installment_offer, channel, consumer_id, code_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, $10, $11, $12, $13, $14, $13, $15, $16, $17, $18, $19, $20, $21)
			ON CONFLICT (mchid, out_trade_no) DO NOTHING`,
			o.ID, o.MchID, o.OutTradeNo, o.AppID, Micropay, o.Description, o.Attach, strings.Join(o.LimitPay, ","), o.Total, o.Currency, hash,
			NotPay, at, db.Micros(expires), o.API, o.Scene.DeviceID, o.Scene.PayerClientIP, formatOffers(o.Offers), string(o.Channel), o.ConsumerID,
			s.codes().Hash(r.AuthCode))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRaced // the same out_trade_no won meanwhile; the code stays unused
		}
		return nil
	})
	if errors.Is(err, errRaced) {
		cur, err := s.QueryByOutTradeNo(ctx, r.MchID, r.OutTradeNo)
		if err != nil {
			return Order{}, err
		}
		return s.again(ctx, cur, hash)
	}
	if usedBy != "" && fenfu.ErrorCode(err) == fenfu.AuthCodeInvalid {
		// The code paid an order of this merchant under this out_trade_no:
		// the till resent its request while the first was being handled
		// (it found no order when it looked, and the first's transaction
		// committed before its redeem). It gets the first's answer, as a
		// resend after it does, not a refusal that has the cashier ask
		// for a new code while the first pays.
		if cur, gerr := s.QueryByID(ctx, r.MchID, usedBy); gerr == nil && cur.OutTradeNo == r.OutTradeNo {
			return s.again(ctx, cur, hash)
		}
	}
	if err != nil {
		return Order{}, fenfu.Op("pay.Micropay", err)
	}
	if o.Total > s.Counter.noPINLimit() {
		return o, s.waiting(o)
	}
	return s.payWaiting(ctx, o, Client{IP: r.Scene.PayerClientIP, atCounter: true})
}

// again answers a code payment sent again under its out_trade_no: with
// the order as it is now, if the parameters are the same.
func (s *Service) again(ctx context.Context, o Order, hash string) (Order, error) {
	var stored string
	if err := s.Core.QueryRowContext(ctx, `SELECT params_hash FROM orders WHERE id = $1`, o.ID).Scan(&stored); err != nil {
		return Order{}, fenfu.Internal("pay.Micropay", err)
	}
	if stored != hash || o.TradeType != Micropay {
		return Order{}, fenfu.Errorf(fenfu.OutTradeNoUsed, "out_trade_no %s was already used with different parameters", o.OutTradeNo)
	}
	return o, s.answer(o)
}

// answer is the error a code payment's request answers for the order's
// state: none once it is paid.
func (s *Service) answer(o Order) error {
	switch o.TradeState() {
	case Success, Refund:
		return nil
	case UserPaying:
		return s.waiting(o)
	case Revoked:
		return fenfu.Errorf(fenfu.OrderClosed, "order %s was reversed", o.OutTradeNo)
	}
	e := fenfu.Errorf(fenfu.TradeError, "order %s failed to pay (trade_state %s)", o.OutTradeNo, o.TradeState())
	e.Remedy = "Ask the consumer for a new payment code and send it under a new out_trade_no."
	return e
}

// payWaiting pays a code payment's order with its consumer and channel.
// A payment that fails for a reason of its own leaves the order
// PAYERROR; one that needs the consumer's confirmation leaves it waiting.
func (s *Service) payWaiting(ctx context.Context, o Order, c Client) (Order, error) {
	paid, err := s.payOrder(ctx, o, o.ConsumerID, o.Channel, c, o.asked())
	if err == nil {
		return paid, nil
	}
	if errors.Is(err, errConfirm) {
		return o, s.waiting(o)
	}
	var e *fenfu.Error
	if !errors.As(err, &e) || e.Err != nil {
		return o, err // the outcome may be unknown: Recover settles it, the till queries
	}
	switch e.Code {
	case fenfu.UserPaying, fenfu.OrderPaid, fenfu.OrderClosed:
		// Another payment of the order (the consumer confirming) or a
		// reverse came first: answer with what the order is now.
		cur, gerr := s.lapse(ctx)(s.Get(ctx, o.ID))
		if gerr != nil {
			return o, gerr
		}
		return cur, s.answer(cur)
	}
	if ferr := s.fail(ctx, o.ID); ferr != nil {
		return o, fenfu.Internal("pay.payWaiting", ferr)
	}
	o.State = PayError
	if e.Remedy == "" || e.Code == fenfu.NotEnough || e.Code == fenfu.RuleLimit {
		e2 := *e
		e2.Remedy = "The payment code is spent: ask the consumer for a new code (or another channel) and send it under a new out_trade_no."
		return o, &e2
	}
	return o, e
}

// fail moves a code payment's unpaid order to PAYERROR.
func (s *Service) fail(ctx context.Context, orderID string) error {
	q, args, err := orders.SQL(db.Move[State]{From: []State{NotPay}, To: PayError, Set: ", updated_at = $1",
		Where: "id = $2 AND trade_type = $3", Args: []any{db.Micros(s.Clock.Now()), orderID, Micropay}})
	if err != nil {
		return err
	}
	_, err = s.Core.Exec(ctx, q, args...)
	return err
}

// lapse returns a function that passes an order read through, moving a
// code payment its consumer did not confirm in time to PAYERROR first.
func (s *Service) lapse(ctx context.Context) func(Order, error) (Order, error) {
	return func(o Order, err error) (Order, error) {
		now := s.Clock.Now()
		if err != nil || o.TradeType != Micropay || !o.AwaitingConfirmation() || now.Before(o.ExpiresAt) {
			return o, err
		}
		q, args, err := orders.SQL(db.Move[State]{From: []State{NotPay}, To: PayError, Set: ", updated_at = $1",
			Where: "id = $2 AND expires_at <= $1", Args: []any{db.Micros(now), o.ID}})
		if err != nil {
			return o, fenfu.Internal("pay.lapse", err)
		}
		if _, err := s.Core.Exec(ctx, q, args...); err != nil {
			return o, fenfu.Internal("pay.lapse", err)
		}
		return getBy(ctx, s.Core, `id = $1`, o.ID)
	}
}

// lapseAll moves the code payments their consumers did not confirm in
// time to PAYERROR, as a read of each would, in batches, and returns how
// many: Recover runs it, so no order waits past its window unread.
func (s *Service) lapseAll(ctx context.Context) (int, error) {
	total := 0
	for {
		now := db.Micros(s.Clock.Now())
		q, args, err := orders.SQL(db.Move[State]{From: []State{NotPay}, To: PayError, Set: ", updated_at = $1",
			Where: "id IN (SELECT id FROM orders WHERE state = $2 AND consumer_id <> '' AND trade_type = $3 AND expires_at <= $1 LIMIT 500)",
			Args:  []any{now, string(NotPay), Micropay}})
		if err != nil {
			return total, err
		}
		res, err := s.Core.Exec(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("pay: lapse waiting code payments: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < 500 {
			return total, nil
		}
	}
}

// Waiting returns the code payment orderID for its own consumer to
// confirm: any other consumer is told it does not exist.
func (s *Service) Waiting(ctx context.Context, orderID, consumerID string) (Order, error) {
	o, err := s.lapse(ctx)(s.Get(ctx, orderID))
	if err != nil || o.TradeType != Micropay || consumerID == "" || o.ConsumerID != consumerID {
		return Order{}, fenfu.Errorf(fenfu.OrderNotExist, "no such payment of yours")
	}
	return o, nil
}

// Confirm pays a code payment waiting for its consumer, who has just
// entered their PIN (the caller checks it). It answers as the payment
// does: the paid order, or NOT_ENOUGH / RULE_LIMIT, which leave the order
// PAYERROR. An order no longer waiting answers ORDERPAID or ORDER_CLOSED.
func (s *Service) Confirm(ctx context.Context, orderID, consumerID string, c Client) (Order, error) {
	if err := c.Check(); err != nil {
		return Order{}, err
	}
	o, err := s.Waiting(ctx, orderID, consumerID)
	if err != nil {
		return Order{}, err
	}
	switch {
	case o.State == Success || o.State == Refund:
		return o, fenfu.Errorf(fenfu.OrderPaid, "this payment is already made")
	case o.State == Paying:
		return o, beingPaid()
	case !o.AwaitingConfirmation():
		e := fenfu.Errorf(fenfu.OrderClosed, "this payment can no longer be confirmed (%s)", o.TradeStateDesc())
		e.Remedy = "Ask the cashier to scan a new payment code."
		return o, e
	}
	c.atCounter = false // the consumer confirms it: a rule asking for confirmation has it
	paid, err := s.payWaiting(ctx, o, c)
	if fenfu.ErrorCode(err) == fenfu.UserPaying {
		// Another confirmation holds the payment: it is being made.
		return paid, beingPaid()
	}
	return paid, err
}

// beingPaid is Confirm's answer while another confirmation of the order
// is paying it: USERPAYING, wait. Told to ask for a new code instead, a
// consumer whose first confirmation then succeeds would pay twice.
func beingPaid() error {
	e := fenfu.Errorf(fenfu.UserPaying, "this payment is being made")
	e.Remedy = "Wait a few seconds and reload this page for its result; do not ask the cashier for a new payment code."
	return e
}

// Reversal is what a reverse did: whether the till must call it again.
type Reversal struct {
	Order Order
	// Recall is WeChat Pay's recall: true when the reverse could not be
	// completed now and must be called again.
	Recall bool
}

// Reverse reverses (撤销) a code payment: an unpaid, waiting or failed
// order becomes REVOKED and can never be paid; a paid one is refunded in
// full through the refund path and then reads as REVOKED. A reversed
// order reverses again without effect. An order past the reverse window
// fails with REVERSE_EXPIRE, one that is not a code payment with
// TRADE_ERROR; an order being paid answers USERPAYING with Recall.
func (s *Service) Reverse(ctx context.Context, mchid, transactionID, outTradeNo string) (Reversal, error) {
	var o Order
	var err error
	if transactionID != "" {
		o, err = s.QueryByID(ctx, mchid, transactionID)
	} else {
		if outTradeNo == "" {
			return Reversal{}, fenfu.FieldError("out_trade_no", "one of transaction_id and out_trade_no is required")
		}
		o, err = s.QueryByOutTradeNo(ctx, mchid, outTradeNo)
	}
	if err != nil {
		return Reversal{Recall: fenfu.ErrorCode(err) == fenfu.SystemError}, err
	}
	if o.TradeType != Micropay {
		e := fenfu.Errorf(fenfu.TradeError, "order %s is a %s order; only code payments are reversed", o.OutTradeNo, o.TradeType)
		e.Remedy = "Close an unpaid order, or refund a paid one."
		return Reversal{Order: o}, e
	}
	if o.TradeState() == Revoked {
		return Reversal{Order: o}, nil // reversing again changes nothing, inside the window or past it
	}
	if s.Clock.Now().Sub(o.CreatedAt) > s.Counter.reverseWindow() {
		return Reversal{Order: o}, fenfu.Errorf(fenfu.ReverseExpire, "order %s is older than the reverse window of %s", o.OutTradeNo,
			s.Counter.reverseWindow())
	}
	for range 3 { // a payment may land between the read and the move: read again
		switch o.State {
		case Revoked:
			return Reversal{Order: o}, nil
		case Closed:
			return Reversal{Order: o}, fenfu.Errorf(fenfu.OrderClosed, "order %s is closed", o.OutTradeNo)
		case Paying:
			e := fenfu.Errorf(fenfu.UserPaying, "order %s is being paid", o.OutTradeNo)
			e.Remedy = "Call reverse again in a few seconds."
			return Reversal{Order: o, Recall: true}, e
		case Success, Refund:
			return s.reversePaid(ctx, o)
		}
		q, args, err := orders.SQL(db.Move[State]{From: []State{NotPay, PayError}, To: Revoked, Set: ", closed_at = $1, updated_at = $1",
			Where: "id = $2", Args: []any{db.Micros(s.Clock.Now()), o.ID}})
		if err != nil {
			return Reversal{Recall: true}, fenfu.Internal("pay.Reverse", err)
		}
		res, err := s.Core.Exec(ctx, q, args...)
		if err != nil {
			return Reversal{Recall: true}, fenfu.Internal("pay.Reverse", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			o, err = s.Get(ctx, o.ID)
			return Reversal{Order: o}, err
		}
		if o, err = s.Get(ctx, o.ID); err != nil {
			return Reversal{Recall: true}, err
		}
	}
	return Reversal{Order: o, Recall: true}, fenfu.Errorf(fenfu.UserPaying, "order %s is changing; call reverse again", o.OutTradeNo)
}

// ReverseRefundNo is the out_refund_no of the refund a reverse makes.
func ReverseRefundNo(orderID string) string { return "REVERSE-" + orderID }

// reversePaid refunds what is left of a paid code payment through the
// refund path, then marks the order reversed. A reverse interrupted
// between the two answers Recall and, called again, finds the refund
// made (out_refund_no ReverseRefundNo) and only marks the order; a credit
// refund interrupted between the stores is finished by Recover.
func (s *Service) reversePaid(ctx context.Context, o Order) (Reversal, error) {
	if !o.ReversedAt.IsZero() {
		return Reversal{Order: o}, nil
	}
	// A partial refund of the merchant's may land between the read and the
	// reverse's refund, which then exceeds what is left: read the order
	// again and refund what is left now. The refund that failed wrote
	// nothing, so its out_refund_no is free for the smaller amount.
	for try := 0; ; try++ {
		left := o.Total - o.Refunded
		if left <= 0 {
			break
		}
		_, err := s.Refund(ctx, RefundRequest{MchID: o.MchID, TransactionID: o.ID, OutRefundNo: ReverseRefundNo(o.ID), Reason: "撤销",
			Refund: left, Total: o.Total})
		if err == nil {
			break
		}
		if fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			return Reversal{Order: o, Recall: fenfu.ErrorCode(err) == fenfu.SystemError}, err
		}
		cur, gerr := s.Get(ctx, o.ID)
		if gerr != nil {
			return Reversal{Order: o, Recall: true}, gerr
		}
		if cur.Refunded == o.Refunded {
			return Reversal{Order: o}, err // refused for a reason of its own
		}
		if try == 2 {
			return Reversal{Order: cur, Recall: true}, fenfu.Errorf(fenfu.UserPaying, "order %s is being refunded; call reverse again", o.OutTradeNo)
		}
		o = cur
	}
	q, args, err := orders.SQL(db.Move[State]{From: []State{Refund}, To: Refund, Set: ", reversed_at = $1, updated_at = $1",
		Where: "id = $2 AND reversed_at = 0 AND refunded = total", Args: []any{db.Micros(s.Clock.Now()), o.ID}})
	if err != nil {
		return Reversal{Order: o, Recall: true}, fenfu.Internal("pay.Reverse", err)
	}
	if _, err := s.Core.Exec(ctx, q, args...); err != nil {
		return Reversal{Order: o, Recall: true}, fenfu.Internal("pay.Reverse", err)
	}
	o, err = s.Get(ctx, o.ID)
	if err != nil {
		return Reversal{Order: o, Recall: true}, err
	}
	return Reversal{Order: o}, nil
}
