// Package credit owns consumers' credit lines in the credit store: the
// limit, what is used and the rating, and the capture and refund of credit
// payments with their ledger postings. The credit store is the source of
// truth for credit money; the order in the core store only names the
// payment attempt that moved it.
package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// Ratings, best first.
var Ratings = []string{"A", "B", "C", "D"}

// ValidRating reports whether r is one of Ratings.
func ValidRating(r string) bool {
	for _, x := range Ratings {
		if r == x {
			return true
		}
	}
	return false
}

// Line is a consumer's credit line.
type Line struct {
	ConsumerID string    `json:"consumer_id"`
	Limit      fenfu.Fen `json:"credit_limit"`
	Used       fenfu.Fen `json:"credit_used"`
	// Frozen is what the consumer's confirmed service orders hold of the
	// line until they are completed, cancelled or expire (credit holds).
	Frozen    fenfu.Fen `json:"credit_frozen"`
	Available fenfu.Fen `json:"credit_available"`
	Rating    string    `json:"rating"`
	State     LineState `json:"state"`
}

// available is what the line can still draw, the limit less what is used
// and what holds keep frozen: nothing while it is frozen or closed.
func (l Line) available() fenfu.Fen {
	if l.State != LineActive {
		return 0
	}
	return max(l.Limit-l.Used-l.Frozen, 0)
}

// AttemptState is what became of a payment attempt in the credit store.
// An attempt is written in its final state, once: capture and recovery's
// fence race to insert it, and the first wins.
type AttemptState string

// Attempt states.
const (
	Captured AttemptState = "CAPTURED" // the attempt moved money
	Void     AttemptState = "VOID"     // the attempt was fenced off by recovery and can never capture
)

// ErrVoided is returned by Capture for an attempt that recovery fenced off.
var ErrVoided = errors.New("credit: payment attempt was voided")

// ErrNoLine is returned when the consumer has no credit line.
var ErrNoLine = errors.New("credit: consumer has no credit line")

// Account returns the ledger account of a consumer's credit receivable.
func Account(consumerID string) ledger.Account {
	return ledger.AccountOf(ledger.ConsumerCredit, consumerID)
}

// Open creates a consumer's credit line; opening an existing line changes
// nothing.
func Open(ctx context.Context, tx *db.Tx, consumerID string, limit fenfu.Fen, rating string) error {
	if limit < 0 {
		return fenfu.FieldError("credit_limit", "credit limit must not be negative")
	}
	if !ValidRating(rating) {
		return fenfu.FieldError("rating", "rating must be one of A, B, C, D, not %q", rating)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO credit_lines (consumer_id, credit_limit, used, rating, created_at, updated_at)
		VALUES ($1, $2, 0, $3, $4, $4) ON CONFLICT DO NOTHING`, consumerID, limit, rating, db.Micros(tx.Now)); err != nil {
		return fmt.Errorf("credit: open line: %w", err)
	}
	return ledger.Open(ctx, tx, Account(consumerID))
}

// Get returns a consumer's credit line, or ErrNoLine.
func Get(ctx context.Context, d *db.DB, consumerID string) (Line, error) {
	l := Line{ConsumerID: consumerID}
	err := d.QueryRowContext(ctx, `SELECT credit_limit, used, frozen, rating, state FROM credit_lines WHERE consumer_id = $1`, consumerID).
		Scan(&l.Limit, &l.Used, &l.Frozen, &l.Rating, &l.State)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNoLine
	}
	if err != nil {
		return l, fmt.Errorf("credit: get line: %w", err)
	}
	l.Available = l.available()
	return l, nil
}

// Payment is a capture of a consumer's credit line for an order.
type Payment struct {
	AttemptID  string
	OrderID    string
	MchID      string
	ConsumerID string
	Amount     fenfu.Fen
	// Schedule prices the payment (default fee.CreditPay); Discount is
	// the merchant's discount off the combined rate.
	Schedule fee.Schedule
	Discount fee.PPM
	// Terms are how the consumer repays it; the zero value is pay in full.
	Terms Terms
	// HoldID, when set, is the hold the payment captures: the hold is
	// released and the amount drawn in the same transaction, without the
	// line's room, state or overdue checks, since the amount was committed
	// when the hold froze it (captureHold).
	HoldID string
}

// VolumeShards is how many rows keep a merchant's month-to-date volume.
const VolumeShards = 16

// Month returns the calendar month, in Asia/Shanghai, a time falls in.
func Month(t time.Time) string { return t.In(fenfu.Shanghai).Format("2006-01") }

// MonthToDate returns a merchant's credit-pay volume in the month so far.
func MonthToDate(ctx context.Context, tx *db.Tx, mchid string, now time.Time) (fenfu.Fen, error) {
	var v fenfu.Fen
	err := tx.QueryRowContext(ctx, monthToDate, mchid, Month(now)).Scan(&v)
	return v, err
}

const monthToDate = `SELECT COALESCE(SUM(volume), 0) FROM fee_volume WHERE mchid = $1 AND month = $2`

// Ahead sends, on PostgreSQL, what a credit payment of p reads after its
// line's Lock with the Lock itself, in its round trip (db.Tx.Ahead): the
// consumer's standing (StandingOf, with the run counted since runSince)
// and the merchant's volume in the month (MonthToDate, which Capture
// prices the fee by). Call it before Lock; the reads see what they would
// see run after it. On SQLite it does nothing.
func Ahead(tx *db.Tx, p Payment, runSince time.Time) {
	if tx.Engine != db.Postgres {
		return
	}
	q, args := standing(p.ConsumerID, tx.Now, runSince)
	tx.Ahead(q, args...)
	tx.Ahead(monthToDate, p.MchID, Month(tx.Now))
}

func shardOf(attempt string) int {
	h := fnv.New32a()
	h.Write([]byte(attempt))
	return int(h.Sum32() % VolumeShards)
}

// addVolume adds amount to a merchant's volume for month in one shard.
func addVolume(ctx context.Context, tx *db.Tx, mchid, month string, shard int, amount fenfu.Fen) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO fee_volume (mchid, month, shard, volume) VALUES ($1, $2, $3, $4)
		ON CONFLICT (mchid, month, shard) DO UPDATE SET volume = fee_volume.volume + EXCLUDED.volume`,
		mchid, month, shard, amount)
	return err
}

// draw adds amount to what a consumer has used of its line if the line
// takes it: active, with room for it, and nothing of the consumer
// overdue. It reports false, and changes nothing, if not or if there is
// no line; refuseDraw then says why. The checks ride on the draw's own
// statement, so a payment that passes them costs no read of its own.
func draw(ctx context.Context, tx *db.Tx, consumerID string, amount fenfu.Fen) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE credit_lines SET used = used + $1, updated_at = $2
		WHERE consumer_id = $3 AND used + frozen + $1 <= credit_limit AND state = $4 AND NOT EXISTS (SELECT 1 FROM credit_installments i
		WHERE i.consumer_id = $3 AND i.state = $5)`, amount, db.Micros(tx.Now), consumerID, string(LineActive), string(InstallmentOverdue))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Capture draws p.Amount on the consumer's line and posts it to the ledger
// with its fee, in the caller's transaction: the consumer owes the amount,
// the merchant is owed the amount less the fee, the platform earns the
// fee. It creates the payment's repayment plan by p.Terms, with its
// installment fee owed by the consumer or paid out of the merchant's
// pending settlement. The fee follows the schedule's tier for the merchant's volume in
// the month before this payment. Capturing an attempt twice is a no-op; an
// attempt that recovery voided fails with ErrVoided. A short line fails
// with NOT_ENOUGH; a frozen line, or a consumer with something overdue,
// with RULE_LIMIT (refuseDraw). It returns the fee the payment was charged.
func Capture(ctx context.Context, tx *db.Tx, p Payment) (fee.Quote, error) {
	mtd, err := MonthToDate(ctx, tx, p.MchID, tx.Now)
	if err != nil {
		return fee.Quote{}, fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
	}
	sched := p.Schedule
	if sched == nil {
		sched = fee.CreditPay
	}
	q := sched.Price(p.Amount, mtd, p.Discount)
	if tx.Engine == db.Postgres && p.HoldID == "" {
		return captureOne(ctx, tx, p, q)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_payments (attempt_id, order_id, state, mchid, consumer_id, amount, created_at,
		fee, fee_rate, fee_tier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (attempt_id) DO NOTHING`,
		p.AttemptID, p.OrderID, string(Captured), p.MchID, p.ConsumerID, p.Amount, db.Micros(tx.Now), q.Fee, int64(q.Rate), q.Tier)
	if err != nil {
		return q, fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return capturedAgain(ctx, tx, p.AttemptID)
	}
	if p.HoldID != "" {
		if err := captureHold(ctx, tx, p); err != nil {
			return q, err
		}
	} else {
		drawn, err := draw(ctx, tx, p.ConsumerID, p.Amount)
		if err != nil {
			return q, fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
		}
		if !drawn {
			return q, refuseDraw(ctx, tx, p.ConsumerID, p.Amount)
		}
	}
	if err := addVolume(ctx, tx, p.MchID, Month(tx.Now), shardOf(p.AttemptID), p.Amount); err != nil {
		return q, fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
	}
	return q, post(ctx, tx, p, q)
}

// captureOne is the rest of Capture of a payment without a hold on
// PostgreSQL, its three writes in one statement, one round trip instead of
// three: the payment row; the draw on the line, only if the row is new;
// the merchant's volume, only if the line took the draw. It fails as
// Capture does and returns the fee charged (the first capture's, for a
// capture again).
func captureOne(ctx context.Context, tx *db.Tx, p Payment, q fee.Quote) (fee.Quote, error) {
	if err := postAhead(ctx, tx, p, q); err != nil {
		return q, err
	}
	var inserted, drawn int
	err := tx.QueryRowContext(ctx, `WITH p AS (INSERT INTO credit_payments (attempt_id, order_id, state, mchid, consumer_id, amount,
		created_at, fee, fee_rate, fee_tier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (attempt_id) DO NOTHING RETURNING 1),
	d AS (UPDATE credit_lines SET used = used + $6, updated_at = $7
		WHERE consumer_id = $5 AND used + frozen + $6 <= credit_limit AND state = $11 AND NOT EXISTS (SELECT 1 FROM credit_installments i
		WHERE i.consumer_id = $5 AND i.state = $12) AND EXISTS (SELECT 1 FROM p) RETURNING 1),
	v AS (INSERT INTO fee_volume (mchid, month, shard, volume) SELECT $4::text, $13::text, $14::integer, $6::bigint WHERE EXISTS (SELECT 1 FROM d)
		ON CONFLICT (mchid, month, shard) DO UPDATE SET volume = fee_volume.volume + EXCLUDED.volume RETURNING 1)
	SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM d) + 0 * (SELECT count(*) FROM v)`,
		p.AttemptID, p.OrderID, string(Captured), p.MchID, p.ConsumerID, p.Amount, db.Micros(tx.Now), q.Fee, int64(q.Rate), q.Tier,
		string(LineActive), string(InstallmentOverdue), Month(tx.Now), shardOf(p.AttemptID)).Scan(&inserted, &drawn)
	if err != nil {
		return q, fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
	}
	if inserted == 0 {
		return capturedAgain(ctx, tx, p.AttemptID)
	}
	if drawn == 0 {
		return q, refuseDraw(ctx, tx, p.ConsumerID, p.Amount)
	}
	return q, post(ctx, tx, p, q)
}

// capturedAgain is Capture of an attempt whose payment row exists: the fee
// it was charged, or ErrVoided if recovery voided it.
func capturedAgain(ctx context.Context, tx *db.Tx, attemptID string) (fee.Quote, error) {
	state, q, err := attemptState(ctx, tx, attemptID)
	if err != nil {
		return q, err
	}
	if state == Void {
		return q, ErrVoided
	}
	return q, nil
}

// post is the rest of Capture once the line took the payment: its ledger
// posting with fee q, and its repayment plan.
func post(ctx context.Context, tx *db.Tx, p Payment, q fee.Quote) error {
	if err := ledger.Post(ctx, tx, paymentTxn(p, q)); err != nil {
		return err
	}
	return createPlan(ctx, tx, p)
}

// paymentTxn is the ledger transaction of payment p with fee q.
func paymentTxn(p Payment, q fee.Quote) ledger.Txn {
	return ledger.Txn{Kind: "payment", Ref: p.OrderID,
		Entries: ledger.PaymentEntries(Account(p.ConsumerID), p.MchID, p.Amount, q.Fee, FeeAccount)}
}

// postAhead sends post's postings with the capture's statement, right
// after it, in its round trip (ledger.Ahead), with the fee-due account a
// consumer-borne installment fee is posted to opened before it. The
// postings are then made whatever the capture's answer, which is safe:
// a capture the line refuses, or of an attempt recovery voided, rolls the
// transaction back, and a capture again of a captured attempt finds its
// postings made, so they write nothing.
func postAhead(ctx context.Context, tx *db.Tx, p Payment, q fee.Quote) error {
	ledger.Ahead(tx, paymentTxn(p, q))
	ft, payer, ok := planFeeTxn(p)
	if !ok {
		return nil
	}
	if payer == ConsumerPays {
		if err := ledger.Open(ctx, tx, FeeDueAccount(p.ConsumerID)); err != nil {
			return err
		}
	}
	ledger.Ahead(tx, ft)
	return nil
}

// FeeAccount is the platform's fee income from credit payments.
var FeeAccount = ledger.AccountOf(ledger.PlatformFee, "credit")

// VoidAttempt fences off an attempt that has not captured, so it never can,
// and returns the attempt's final state: Captured (with the fee it was
// charged) if it had already captured, otherwise Void.
func VoidAttempt(ctx context.Context, tx *db.Tx, p Payment) (AttemptState, fee.Quote, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO credit_payments (attempt_id, order_id, state, mchid, consumer_id, amount, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (attempt_id) DO NOTHING`,
		p.AttemptID, p.OrderID, string(Void), p.MchID, p.ConsumerID, db.Micros(tx.Now)); err != nil {
		return "", fee.Quote{}, fmt.Errorf("credit: void %s: %w", p.AttemptID, err)
	}
	return attemptState(ctx, tx, p.AttemptID)
}

func attemptState(ctx context.Context, tx *db.Tx, attemptID string) (AttemptState, fee.Quote, error) {
	var state AttemptState
	var q fee.Quote
	var rate int64
	if err := tx.QueryRowContext(ctx, `SELECT state, fee, fee_rate, fee_tier FROM credit_payments WHERE attempt_id = $1`, attemptID).
		Scan(&state, &q.Fee, &rate, &q.Tier); err != nil {
		return "", q, fmt.Errorf("credit: attempt %s: %w", attemptID, err)
	}
	q.Rate = fee.PPM(rate)
	return state, q, nil
}

// Refund is the return of part or all of a captured credit payment.
type Refund struct {
	RefundID  string
	AttemptID string
	OrderID   string
	MchID     string
	Amount    fenfu.Fen
	// Fee is the part of the payment's fee the refund returns, as the core
	// store computed it when it accepted the refund (fee.RefundFee over the
	// order's refunds in the order they were accepted).
	Fee fenfu.Fen
	// PlanFee is, likewise, the part of a merchant-borne installment fee
	// the refund returns to the merchant.
	PlanFee fenfu.Fen
}

// ApplyRefund takes r.Amount off the payment's plan, returns what it takes
// off the unpaid principal to the consumer's credit line and posts it with
// the fee it returns, in the caller's transaction. The plan's unpaid
// installments are recomputed (refundPlan). It returns what the refund
// owes the consumer back, which the core store pays to its balance.
// Applying a refund twice is a no-op that reports applied false and owes
// nothing: OwedBackOf reads what the first application owed.
func ApplyRefund(ctx context.Context, tx *db.Tx, r Refund) (owed OwedBack, applied bool, err error) {
	if r.Fee < 0 || r.Fee > r.Amount {
		return owed, false, fmt.Errorf("credit: refund %s: fee %d out of range", r.RefundID, r.Fee)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_refunds (refund_id, order_id, attempt_id, amount, created_at, fee)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (refund_id) DO NOTHING`,
		r.RefundID, r.OrderID, r.AttemptID, r.Amount, db.Micros(tx.Now), r.Fee)
	if err != nil {
		return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return owed, false, nil
	}
	var consumerID string
	err = tx.QueryRowContext(ctx, `UPDATE credit_payments SET refunded = refunded + $1
		WHERE attempt_id = $2 AND state = $3 AND refunded + $1 <= amount RETURNING consumer_id`,
		r.Amount, r.AttemptID, string(Captured)).Scan(&consumerID)
	if errors.Is(err, sql.ErrNoRows) {
		return owed, false, fenfu.Errorf(fenfu.NotEnough, "refund exceeds the credit payment's refundable amount")
	}
	if err != nil {
		return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
	}
	// The line first, then the plan: the order a repayment takes them in,
	// so the two never wait on each other.
	if _, _, err := Lock(ctx, tx, consumerID); err != nil {
		return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
	}
	pr, err := refundPlan(ctx, tx, r.AttemptID, r.RefundID, r.Amount, r.PlanFee)
	if err != nil {
		return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_lines SET used = used - $1, updated_at = $2 WHERE consumer_id = $3`,
		pr.Principal, db.Micros(tx.Now), consumerID); err != nil {
		return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
	}
	if pr.Overpaid > 0 || pr.Fee > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE credit_refunds SET overpaid = $1, plan_fee = $2, plan_fee_overpaid = $3 WHERE refund_id = $4`,
			pr.Overpaid, pr.Fee, pr.FeeOverpaid, r.RefundID); err != nil {
			return owed, false, fmt.Errorf("credit: refund %s: %w", r.RefundID, err)
		}
		if pr.Overpaid > 0 || pr.FeeOverpaid > 0 {
			if err := ledger.Open(ctx, tx, OverpaidAccount(consumerID)); err != nil {
				return owed, false, err
			}
		}
	}
	if pr.Fee > 0 {
		if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "installment_fee_refund", Ref: r.RefundID, Entries: planRefundEntries(pr)}); err != nil {
			return owed, false, err
		}
	}
	// The refund returns its share of the fee: the merchant gives back the
	// amount less that share, the platform the share. What the consumer
	// had already repaid of the purchase is owed back to it.
	if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "refund", Ref: r.RefundID,
		Entries: refundEntries(consumerID, r.MchID, r.Amount, pr.Overpaid, r.Fee)}); err != nil {
		return owed, false, err
	}
	return OwedBack{RefundID: r.RefundID, ConsumerID: consumerID, Amount: pr.Overpaid + pr.FeeOverpaid}, true, nil
}

// CapturedPayment is a captured attempt as recorded in the credit store.
type CapturedPayment struct {
	AttemptID  string
	OrderID    string
	MchID      string
	ConsumerID string
	Amount     fenfu.Fen
	Refunded   fenfu.Fen
	Fee        fenfu.Fen
	// Installments is the count of its plan: 1 in full; PlanFee the
	// installment fee its merchant bears.
	Installments int
	PlanFee      fenfu.Fen
}

// ScanCaptured calls fn for every captured payment in order-id byte order
// (db.ByteOrder). It is used to prove the two stores agree without loading
// either into memory.
func ScanCaptured(ctx context.Context, d *db.DB, fn func(CapturedPayment) error) error {
	rows, err := d.QueryContext(ctx, `SELECT p.attempt_id, p.order_id, p.mchid, p.consumer_id, p.amount, p.refunded, p.fee,
		COALESCE(c.installments, 1), CASE WHEN c.fee_payer = 'merchant' THEN c.fee ELSE 0 END FROM credit_payments p LEFT JOIN credit_plans c ON c.plan_id = p.attempt_id
		WHERE p.state = $1 ORDER BY `+d.ByteOrder("p.order_id"), string(Captured))
	if err != nil {
		return err
	}
	return db.Each(rows, func(r db.Scanner) (p CapturedPayment, err error) {
		err = r.Scan(&p.AttemptID, &p.OrderID, &p.MchID, &p.ConsumerID, &p.Amount, &p.Refunded, &p.Fee, &p.Installments, &p.PlanFee)
		return p, err
	}, fn)
}

// RefundAmount returns the amount of an applied credit refund and the fee
// it returned, and whether it was applied.
func RefundAmount(ctx context.Context, d *db.DB, refundID string) (amount, feeBack fenfu.Fen, applied bool, err error) {
	err = d.QueryRowContext(ctx, `SELECT amount, fee FROM credit_refunds WHERE refund_id = $1`, refundID).Scan(&amount, &feeBack)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	return amount, feeBack, err == nil, err
}

// OwedBack is what a refund owes its consumer back: the part of the
// refunded purchase, and of a consumer-borne installment fee, that the
// consumer had already repaid. The credit store keeps it in the
// consumer's overpaid account; the core store pays it to the consumer's
// balance when the refund succeeds.
type OwedBack struct {
	RefundID, ConsumerID string
	Amount               fenfu.Fen
}

const owedBackQuery = `SELECT r.refund_id, p.consumer_id, r.overpaid + r.plan_fee_overpaid FROM credit_refunds r
	JOIN credit_payments p ON p.attempt_id = r.attempt_id WHERE r.overpaid + r.plan_fee_overpaid > 0`

// OwedBackOf returns what an applied refund owes its consumer back; zero
// Amount if nothing (or if the refund was not applied).
func OwedBackOf(ctx context.Context, d *db.DB, refundID string) (OwedBack, error) {
	o := OwedBack{RefundID: refundID}
	err := d.QueryRowContext(ctx, owedBackQuery+` AND r.refund_id = $1`, refundID).Scan(&o.RefundID, &o.ConsumerID, &o.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return o, nil
	}
	return o, err
}

// ScanOwedBack calls fn for every refund that owes its consumer back, in
// refund-id byte order (db.ByteOrder), so the core store's payouts can be
// proved against them without loading either.
func ScanOwedBack(ctx context.Context, d *db.DB, fn func(OwedBack) error) error {
	rows, err := d.QueryContext(ctx, owedBackQuery+` ORDER BY `+d.ByteOrder("r.refund_id"))
	if err != nil {
		return err
	}
	return db.Each(rows, func(r db.Scanner) (o OwedBack, err error) {
		err = r.Scan(&o.RefundID, &o.ConsumerID, &o.Amount)
		return o, err
	}, fn)
}

// CapturedFee returns the fee a captured attempt was charged; ok is false
// if the attempt was never captured.
func CapturedFee(ctx context.Context, d *db.DB, attemptID string) (q fee.Quote, ok bool, err error) {
	var rate int64
	err = d.QueryRowContext(ctx, `SELECT fee, fee_rate, fee_tier FROM credit_payments WHERE attempt_id = $1 AND state = $2`,
		attemptID, string(Captured)).Scan(&q.Fee, &rate, &q.Tier)
	if errors.Is(err, sql.ErrNoRows) {
		return q, false, nil
	}
	if err != nil {
		return q, false, fmt.Errorf("credit: attempt %s: %w", attemptID, err)
	}
	q.Rate = fee.PPM(rate)
	return q, true, nil
}

// Lock takes the consumer's credit-line row lock for the rest of the
// caller's transaction and returns the line; ok is false if the consumer
// has none. Reads after it see every payment of the consumer that
// committed before it (PostgreSQL reads each statement at READ COMMITTED;
// SQLite has one writer), so concurrent payments of one consumer are
// decided one after the other, each on the other's total.
func Lock(ctx context.Context, tx *db.Tx, consumerID string) (l Line, ok bool, err error) {
	l.ConsumerID = consumerID
	err = tx.QueryRowContext(ctx, `UPDATE credit_lines SET updated_at = $1 WHERE consumer_id = $2 RETURNING credit_limit, used, frozen, rating, state`,
		db.Micros(tx.Now), consumerID).Scan(&l.Limit, &l.Used, &l.Frozen, &l.Rating, &l.State)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("credit: lock line: %w", err)
	}
	l.Available = l.available()
	return l, true, nil
}

// History is what a consumer paid on credit before a payment.
type History struct {
	Today, Month fenfu.Fen // captured since the start of the Asia/Shanghai day and month
	CountToday   int
	// Run counts the consumer's latest payments, newest first, made at
	// one merchant since the run window began, before a payment
	// elsewhere.
	Run int
}

// maxRun bounds how many recent payments a run is counted over.
const maxRun = 64

// StandingOf is HistoryOf and OverdueOf: what a payment's risk features
// read of the consumer, through q (a *db.Tx or a *db.DB). On PostgreSQL
// it reads them in one statement, one round trip instead of three, whose
// rows are, in order, the totals of the day and month, what is overdue,
// then the recent payments the run is counted over. SQLite, which has no
// round trips, runs the three statements, each cheaper than the one.
func StandingOf(ctx context.Context, q interface {
	rowQuerier
	db.Querier
}, consumerID, mchid string, now, runSince time.Time) (History, Overdue, error) {
	var h History
	var o Overdue
	if engineOf(q) != db.Postgres {
		h, err := HistoryOf(ctx, q, consumerID, mchid, now, runSince)
		if err != nil {
			return h, o, err
		}
		o, err = OverdueOf(ctx, q, consumerID, now)
		return h, o, err
	}
	sq, args := standing(consumerID, now, runSince)
	rows, err := q.QueryContext(ctx, sq, args...)
	if err != nil {
		return h, o, fmt.Errorf("credit: standing: %w", err)
	}
	defer rows.Close()
	running := true
	for rows.Next() {
		var part, c int
		var a, b fenfu.Fen
		var s, attempt string
		var at int64
		if err := rows.Scan(&part, &a, &b, &c, &s, &at, &attempt); err != nil {
			return h, o, fmt.Errorf("credit: standing: %w", err)
		}
		switch part {
		case 0:
			h.Today, h.Month, h.CountToday = a, b, c
		case 1:
			o.Amount, o.DueOn = a, s
		default:
			if running && s == mchid {
				h.Run++
			} else {
				running = false
			}
		}
	}
	if err := rows.Err(); err != nil {
		return h, o, fmt.Errorf("credit: standing: %w", err)
	}
	if o.DueOn != "" {
		o.Days, err = overdueDays(o.DueOn, now)
	}
	return h, o, err
}

// standing is StandingOf's statement on PostgreSQL.
func standing(consumerID string, now, runSince time.Time) (string, []any) {
	day, month := fenfu.DayStart(now), fenfu.MonthStart(now)
	return `SELECT 0, COALESCE(SUM(CASE WHEN created_at >= $1 THEN amount ELSE 0 END), 0),
		COALESCE(SUM(amount), 0), COUNT(CASE WHEN created_at >= $1 THEN 1 END), '', 0, ''
		FROM credit_payments WHERE consumer_id = $2 AND state = '` + string(Captured) + `' AND created_at >= $3
	UNION ALL
	SELECT 1, COALESCE(SUM(principal - paid_principal + fee - paid_fee), 0), 0, 0, COALESCE(MIN(due_on), ''), 0, ''
		FROM credit_installments WHERE consumer_id = $2 AND state = $5
	UNION ALL
	SELECT * FROM (SELECT 2, 0, 0, 0, mchid, created_at, attempt_id FROM credit_payments
		WHERE consumer_id = $2 AND state = '` + string(Captured) + `' AND created_at >= $4
		ORDER BY created_at DESC, attempt_id DESC LIMIT ` + fmt.Sprint(maxRun) + `) r
	ORDER BY 1, 6 DESC, 7 DESC`,
		[]any{db.Micros(day), consumerID, db.Micros(month), db.Micros(runSince), string(InstallmentOverdue)}
}

// engineOf is the engine under q, a *db.Tx or a *db.DB; "" if neither.
func engineOf(q any) db.Engine {
	switch x := q.(type) {
	case *db.Tx:
		return x.Engine
	case *db.DB:
		return x.Engine
	}
	return ""
}

// historySQL are HistoryOf's two reads: the totals of the day ($1) and the
// month ($3) of a consumer ($2), then the merchants of the consumer's ($1)
// latest payments since $2, newest first. Both name the state in their text, not bound:
// SQLite's planner compares a bound value with the WHERE of the partial
// index credit_payments_captured, and a statement whose plan looked at a
// parameter's value is prepared again at every bind of it. The index holds
// every column they read, so they read no table row.
var historySQL = [2]string{
	`SELECT COALESCE(SUM(CASE WHEN created_at >= $1 THEN amount ELSE 0 END), 0),
		COALESCE(SUM(amount), 0), COUNT(CASE WHEN created_at >= $1 THEN 1 END)
		FROM credit_payments WHERE consumer_id = $2 AND state = '` + string(Captured) + `' AND created_at >= $3`,
	`SELECT mchid FROM credit_payments WHERE consumer_id = $1 AND state = '` + string(Captured) + `' AND created_at >= $2
		ORDER BY created_at DESC, attempt_id DESC LIMIT ` + fmt.Sprint(maxRun),
}

// HistoryOf reads a consumer's credit history before now in the caller's
// transaction: the totals of the day and month, and the run of payments at
// mchid since runSince. Take the line's Lock first; a read that decides
// nothing (the display rules' risk probe) may read the store itself.
func HistoryOf(ctx context.Context, tx interface {
	rowQuerier
	db.Querier
}, consumerID, mchid string, now, runSince time.Time) (History, error) {
	var h History
	day, month := fenfu.DayStart(now), fenfu.MonthStart(now)
	err := tx.QueryRowContext(ctx, historySQL[0],
		db.Micros(day), consumerID, db.Micros(month)).Scan(&h.Today, &h.Month, &h.CountToday)
	if err != nil {
		return h, fmt.Errorf("credit: history: %w", err)
	}
	rows, err := tx.QueryContext(ctx, historySQL[1], consumerID, db.Micros(runSince))
	if err != nil {
		return h, fmt.Errorf("credit: history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return h, fmt.Errorf("credit: history: %w", err)
		}
		if m != mchid {
			break
		}
		h.Run++
	}
	return h, rows.Err()
}
