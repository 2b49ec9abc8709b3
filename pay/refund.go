package pay

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
)

// RefundStatus is a refund's status, as the protocol's.
type RefundStatus string

// Refund statuses.
const (
	RefundProcessing RefundStatus = "PROCESSING"
	RefundSuccess    RefundStatus = "SUCCESS"
	RefundAbnormal   RefundStatus = "ABNORMAL"
	RefundClosed     RefundStatus = "CLOSED"
)

// refunds is the refund state machine. A balance refund is written
// SUCCESS at once; a credit refund is PROCESSING until the credit store
// has returned the credit.
var refunds = db.Machine[RefundStatus]{Table: "refunds", Column: "status", Allowed: map[RefundStatus][]RefundStatus{
	RefundProcessing: {RefundSuccess},
}}

// RefundRequest asks to refund part or all of a paid order.
type RefundRequest struct {
	MchID         string
	TransactionID string // one of TransactionID and OutTradeNo
	OutTradeNo    string
	OutRefundNo   string
	Reason        string
	NotifyURL     string
	Refund        fenfu.Fen // amount to refund, fen
	Total         fenfu.Fen // the order's total, as the merchant believes it
	Currency      string
}

// RefundRecord is a refund as stored.
type RefundRecord struct {
	ID          string // refund_id
	MchID       string
	OutRefundNo string
	OrderID     string
	Amount      fenfu.Fen
	Fee         fenfu.Fen // the part of the order's fee the refund returns
	PlanFee     fenfu.Fen // the part of the merchant-borne installment fee it returns
	Reason      string
	Status      RefundStatus
	CreatedAt   time.Time
	SuccessAt   time.Time
	Order       Order
}

func (r *RefundRequest) validate() error {
	if err := texts([][2]string{{"transaction_id", r.TransactionID}, {"out_trade_no", r.OutTradeNo}, {"out_refund_no", r.OutRefundNo},
		{"reason", r.Reason}, {"notify_url", r.NotifyURL}, {"amount.currency", r.Currency}}); err != nil {
		return err
	}
	switch {
	case r.TransactionID == "" && r.OutTradeNo == "":
		return fenfu.FieldError("out_trade_no", "one of transaction_id and out_trade_no is required")
	case !outRefundNoRE.MatchString(r.OutRefundNo):
		return fenfu.FieldError("out_refund_no", "out_refund_no must be 1 to 64 characters of 0-9, A-Z, a-z, _, -, |, *, @")
	case utf8.RuneCountInString(r.Reason) > 80:
		return fenfu.FieldError("reason", "reason must be at most 80 characters")
	case r.Refund <= 0 || r.Refund > MaxTotal:
		return fenfu.FieldError("amount.refund", "amount.refund must be a positive number of fen, at most %d", int64(MaxTotal))
	case r.Total <= 0 || r.Total > MaxTotal:
		return fenfu.FieldError("amount.total", "amount.total must be the order's total in fen, at most %d", int64(MaxTotal))
	case r.Currency != "" && r.Currency != "CNY":
		return fenfu.FieldError("amount.currency", "amount.currency must be CNY")
	case r.NotifyURL != "":
		// as an order's: a refund's notification is delivered the same way
		return merchant.CheckNotifyURL("notify_url", r.NotifyURL)
	}
	return nil
}

func (r *RefundRequest) hash() string {
	h := sha256.New()
	for _, f := range []string{r.TransactionID, r.OutTradeNo, r.Reason, r.NotifyURL, fmt.Sprint(r.Refund), fmt.Sprint(r.Total)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Refund refunds part or all of a paid order. A retry with the same
// out_refund_no and parameters returns the first refund and refunds once; a
// refund that would take the order past its total fails with
// INVALID_REQUEST, as does a 51st refund or one more than a year after
// payment. A credit refund returns credit to the line; a balance refund
// returns money to the consumer's balance.
func (s *Service) Refund(ctx context.Context, r RefundRequest) (RefundRecord, error) {
	if err := r.validate(); err != nil {
		return RefundRecord{}, err
	}
	hash := r.hash()
	if rec, stored, err := s.refundBy(ctx, r.MchID, r.OutRefundNo); err == nil {
		if stored != hash {
			return rec, fenfu.Errorf(fenfu.InvalidRequest, "out_refund_no %s was already used with different parameters", r.OutRefundNo)
		}
		return s.finishRefund(ctx, rec)
	} else if fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		return RefundRecord{}, err
	}
	var o Order
	var err error
	if r.TransactionID != "" {
		o, err = s.QueryByID(ctx, r.MchID, r.TransactionID)
	} else {
		o, err = s.QueryByOutTradeNo(ctx, r.MchID, r.OutTradeNo)
	}
	if err != nil {
		if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
			return RefundRecord{}, fenfu.Errorf(fenfu.ResourceNotExists, "the order to refund does not exist")
		}
		return RefundRecord{}, err
	}
	if r.TransactionID != "" && r.OutTradeNo != "" && o.OutTradeNo != r.OutTradeNo {
		return RefundRecord{}, fenfu.FieldError("out_trade_no", "transaction_id and out_trade_no name different orders")
	}
	if r.Total != o.Total {
		return RefundRecord{}, fenfu.FieldError("amount.total", "amount.total %d does not equal the order's total %d", r.Total, o.Total)
	}
	if o.State != Success && o.State != Refund {
		return RefundRecord{}, fenfu.Errorf(fenfu.InvalidRequest, "order %s is not paid (trade_state %s)", o.OutTradeNo, o.TradeState())
	}
	now := s.Clock.Now()
	if now.Sub(o.PaidAt) > RefundWindow {
		return RefundRecord{}, fenfu.Errorf(fenfu.InvalidRequest, "order %s was paid more than a year ago and can no longer be refunded", o.OutTradeNo)
	}
	id := s.IDs.New(fenfu.RefundID, now)
	status := RefundProcessing
	if o.Channel == ChannelBalance {
		status = RefundSuccess
	}
	err = s.Core.Update(ctx, func(tx *db.Tx) error {
		successAt := int64(0)
		if status == RefundSuccess {
			successAt = db.Micros(tx.Now)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url,
			params_hash, status, created_at, success_at, channel)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (mchid, out_refund_no) DO NOTHING`,
			id, r.MchID, r.OutRefundNo, o.ID, r.Refund, r.Reason, r.NotifyURL, hash, string(status), db.Micros(tx.Now),
			successAt, string(o.Channel))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRaced
		}
		// A balance refund succeeds here: its notification falls due with it.
		if status == RefundSuccess && r.NotifyURL != "" {
			if err := notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Refund, ID: id, MchID: r.MchID, NotifyURL: r.NotifyURL}); err != nil {
				return err
			}
		}
		// RETURNING gives the running total and the fee the refund's fee
		// share is computed from, without reading the row again.
		var refundedAfter, paidFee, planFee fenfu.Fen
		q, args, err := orders.SQL(db.Move[State]{From: []State{Success, Refund}, To: Refund,
			Set:   ", refunded = refunded + $1, refund_count = refund_count + 1, updated_at = $2",
			Where: "id = $3 AND refunded + $1 <= total AND refund_count < $4", Returning: "refunded, fee, plan_fee",
			Args: []any{r.Refund, db.Micros(tx.Now), o.ID, MaxRefunds}})
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, q, args...).Scan(&refundedAfter, &paidFee, &planFee)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := getBy(ctx, tx, `id = $1`, o.ID)
			if err != nil {
				return err
			}
			if cur.RefundCount >= MaxRefunds {
				return fenfu.Errorf(fenfu.InvalidRequest, "order %s already has %d refunds, the most allowed", o.OutTradeNo, MaxRefunds)
			}
			return fenfu.Errorf(fenfu.InvalidRequest, "refund of %s yuan exceeds the refundable %s yuan",
				fenfu.Yuan(r.Refund), fenfu.Yuan(cur.Total-cur.Refunded))
		}
		// The refund returns its share of the order's fee, computed here,
		// where refunds of an order are serialised, for either channel; a
		// credit refund carries it to the credit store.
		feeBack := fee.RefundFee(paidFee, o.Total, refundedAfter-r.Refund, r.Refund)
		planBack := fee.RefundFee(planFee, o.Total, refundedAfter-r.Refund, r.Refund)
		if feeBack != 0 || planBack != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET fee = $1, plan_fee = $2 WHERE id = $3`, feeBack, planBack, id); err != nil {
				return err
			}
		}
		if o.Channel == ChannelBalance {
			entries := ledger.RefundEntries(consumer.BalanceAccount(o.ConsumerID), o.MchID, r.Refund, feeBack, OrdinaryFeeAccount)
			return ledger.Post(ctx, tx, ledger.Txn{Kind: "refund", Ref: id, Entries: entries})
		}
		return nil
	})
	if errors.Is(err, errRaced) {
		return s.Refund(ctx, r) // a concurrent identical request won; answer as a retry
	}
	if err != nil {
		return RefundRecord{}, fenfu.Op("pay.Refund", err)
	}
	rec, _, err := s.refundBy(ctx, r.MchID, r.OutRefundNo)
	if err != nil {
		return rec, err
	}
	return s.finishRefund(ctx, rec)
}

var errRaced = errors.New("pay: raced with an identical request")

// OverpaidAccount is the core store's account of money the credit store
// owed consumers back from refunds of purchases they had already repaid,
// paid to their balances.
var OverpaidAccount = ledger.AccountOf(ledger.PlatformFunding, "credit-overpaid")

// payoutKind is the core ledger's transaction that pays what a refund owes
// its consumer back to its balance, under the refund's id.
const payoutKind = "credit_overpaid_payout"

func payout(o credit.OwedBack) ledger.Txn {
	return ledger.Txn{Kind: payoutKind, Ref: o.RefundID, Entries: payoutEntries(o)}
}

func payoutEntries(o credit.OwedBack) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(OverpaidAccount, o.Amount), ledger.Credit(consumer.BalanceAccount(o.ConsumerID), o.Amount)}
}

// finishRefund applies a PROCESSING credit refund in the credit store and
// marks it successful. If that fails the refund stays PROCESSING, which the
// protocol allows, and Recover finishes it.
func (s *Service) finishRefund(ctx context.Context, rec RefundRecord) (RefundRecord, error) {
	if rec.Status != RefundProcessing {
		return rec, nil
	}
	var owed credit.OwedBack
	var applied bool
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		owed, applied, err = credit.ApplyRefund(ctx, tx, credit.Refund{RefundID: rec.ID, AttemptID: rec.Order.AttemptID,
			OrderID: rec.OrderID, MchID: rec.MchID, Amount: rec.Amount, Fee: rec.Fee, PlanFee: rec.PlanFee})
		return err
	})
	if err != nil {
		s.logf("refund %s stays PROCESSING: credit store: %v", rec.ID, err)
		return rec, nil
	}
	if h := s.afterCreditCommit; h != nil {
		if err := h(rec.OrderID); err != nil {
			return rec, err
		}
	}
	// What the refund owes the consumer back (of a purchase it had already
	// repaid), as the credit store's commit fixed it: known from applying
	// it, or read when an earlier call applied it (a recovery, a race).
	if !applied {
		if owed, err = credit.OwedBackOf(ctx, s.Credit, rec.ID); err != nil {
			s.logf("refund %s stays PROCESSING: credit store: %v", rec.ID, err)
			return rec, nil
		}
	}
	if err := s.Core.Update(ctx, func(tx *db.Tx) error {
		// What the refund owes the consumer back is paid to its balance,
		// and the refund notification falls due, in the same transaction.
		q, args, err := refunds.SQL(db.Move[RefundStatus]{From: []RefundStatus{RefundProcessing}, To: RefundSuccess,
			Set: ", success_at = $1", Where: "id = $2", Returning: "notify_url", Args: []any{db.Micros(tx.Now), rec.ID}})
		if err != nil {
			return err
		}
		sub := notify.Subject{Kind: notify.Refund, ID: rec.ID, MchID: rec.MchID}
		err = tx.QueryRowContext(ctx, q, args...).Scan(&sub.NotifyURL)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // finished by another call
		}
		if err != nil {
			return err
		}
		if owed.Amount > 0 {
			if err := ledger.Post(ctx, tx, payout(owed)); err != nil {
				return err
			}
		}
		if sub.NotifyURL == "" {
			return nil // no notification asked for
		}
		return notify.Enqueue(ctx, tx, sub)
	}); err != nil {
		s.logf("refund %s stays PROCESSING: core store: %v", rec.ID, err)
		return rec, nil
	}
	r, _, err := s.refundBy(ctx, rec.MchID, rec.OutRefundNo)
	return r, err
}

func (s *Service) refundBy(ctx context.Context, mchid, outRefundNo string) (RefundRecord, string, error) {
	return s.refundWhere(ctx, `mchid = $1 AND out_refund_no = $2`, mchid, outRefundNo)
}

// RefundByID returns a refund by refund_id, for the notification worker.
func (s *Service) RefundByID(ctx context.Context, id string) (RefundRecord, error) {
	r, _, err := s.refundWhere(ctx, `id = $1`, id)
	return r, err
}

func (s *Service) refundWhere(ctx context.Context, where string, args ...any) (RefundRecord, string, error) {
	var r RefundRecord
	var hash string
	var created, success int64
	err := s.Core.QueryRowContext(ctx, `SELECT id, mchid, out_refund_no, order_id, amount, fee, plan_fee, reason, status, params_hash, created_at, success_at
		FROM refunds WHERE `+where, args...).Scan(
		&r.ID, &r.MchID, &r.OutRefundNo, &r.OrderID, &r.Amount, &r.Fee, &r.PlanFee, &r.Reason, &r.Status, &hash, &created, &success)
	if errors.Is(err, sql.ErrNoRows) {
		return r, "", fenfu.Errorf(fenfu.ResourceNotExists, "refund does not exist")
	}
	if err != nil {
		return r, "", fenfu.Internal("pay.refundWhere", err)
	}
	r.CreatedAt, r.SuccessAt = db.Time(created), db.Time(success)
	r.Order, err = s.Get(ctx, r.OrderID)
	return r, hash, err
}

// RefundsOf returns an order's refunds, oldest first.
func (s *Service) RefundsOf(ctx context.Context, orderID string) ([]RefundRecord, error) {
	ids, err := s.Core.Strings(ctx, `SELECT id FROM refunds WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, fenfu.Internal("pay.RefundsOf", err)
	}
	var out []RefundRecord
	for _, id := range ids {
		r, err := s.RefundByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// QueryRefund returns a merchant's refund by out_refund_no.
func (s *Service) QueryRefund(ctx context.Context, mchid, outRefundNo string) (RefundRecord, error) {
	r, _, err := s.refundBy(ctx, mchid, outRefundNo)
	return r, err
}

func (s *Service) recoverRefunds(ctx context.Context, cutoff int64) (int, error) {
	keys, err := db.All(ctx, s.Core, func(r db.Scanner) (k [2]string, err error) {
		err = r.Scan(&k[0], &k[1])
		return k, err
	}, `SELECT mchid, out_refund_no FROM refunds WHERE status = $1 AND created_at < $2 ORDER BY created_at LIMIT 1000`,
		string(RefundProcessing), cutoff)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		rec, _, err := s.refundBy(ctx, k[0], k[1])
		if err != nil {
			return n, err
		}
		rec, err = s.finishRefund(ctx, rec)
		if err != nil {
			return n, err
		}
		if rec.Status == RefundSuccess {
			n++
		}
	}
	return n, nil
}
