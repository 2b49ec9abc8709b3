package pay

import (
	"context"
	"database/sql"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// The order states that hold money a merchant is owed: paid, with or
// without refunds. Written into SQL from the states themselves, as
// literals, so the engines can match the partial indexes built on them.
const paidStates = "('" + string(Success) + "', '" + string(Refund) + "')"

// The channels and the in-flight state as SQL literals, for the same reason.
const (
	sqlCredit  = "'" + string(ChannelCredit) + "'"
	sqlBalance = "'" + string(ChannelBalance) + "'"
	sqlPaying  = "'" + string(Paying) + "'"
	sqlRefund  = "'" + string(Refund) + "'"
)

// UnsettledMerchants lists, in mchid order, the merchants with paid orders
// of a channel paid before end and not held past it, or successful refunds
// made before end, that no settlement has taken yet.
//
// It skips from merchant to merchant: each step asks each index of
// unsettled rows for the first qualifying row after the last merchant
// found, so the list costs a few rows a merchant, not a read of every
// unsettled order (whose hold only the row knows).
func UnsettledMerchants(ctx context.Context, core *db.DB, channel Channel, end time.Time) ([]string, error) {
	var ids []string
	for after := ""; ; {
		var order, refund sql.NullString
		err := core.QueryRowContext(ctx, `SELECT (SELECT mchid FROM orders WHERE settlement_id = '' AND state IN `+paidStates+`
			AND channel = $1 AND mchid > $3 AND paid_at < $2 AND hold_until < $2 ORDER BY mchid LIMIT 1),
			(SELECT mchid FROM refunds WHERE settlement_id = '' AND status = '`+string(RefundSuccess)+`' AND channel = $1
			AND mchid > $3 AND created_at < $2 ORDER BY mchid LIMIT 1)`, string(channel), db.Micros(end), after).Scan(&order, &refund)
		if err != nil {
			return nil, fenfu.Internal("pay.UnsettledMerchants", err)
		}
		switch {
		case order.Valid && refund.Valid:
			after = min(order.String, refund.String)
		case order.Valid:
			after = order.String
		case refund.Valid:
			after = refund.String
		default:
			return ids, nil
		}
		ids = append(ids, after)
	}
}

// Settled is what a settlement took: a merchant's payments and refunds of
// a channel, with their fees, and apart from them the installment fees the
// merchant bore (PlanFees) and the shares of them its refunds returned.
type Settled struct {
	Payments       int
	PaymentAmount  fenfu.Fen
	PaymentFees    fenfu.Fen
	PlanFees       fenfu.Fen
	Refunds        int
	RefundAmount   fenfu.Fen
	RefundFees     fenfu.Fen
	RefundPlanFees fenfu.Fen
}

// Net is what the settlement owes the merchant: payments less their fees
// and installment fees, less refunds net of the fees they returned.
func (t Settled) Net() fenfu.Fen {
	return (t.PaymentAmount - t.PaymentFees - t.PlanFees) - (t.RefundAmount - t.RefundFees - t.RefundPlanFees)
}

// MarkSettled marks, in the caller's core transaction, the merchant's
// unsettled paid orders of a channel paid before end and not held past
// it, and its unsettled successful refunds made before end, as taken by
// settlementID, and returns their totals.
//
// Each UPDATE returns the amounts of the rows it marks, so the totals cost
// no second read of rows the update has just written. On SQLite the
// updates are OR FAIL: a multi-row UPDATE that may abort keeps a statement
// journal of every page it changes, one page per order (the orders of a
// merchant are scattered through the table), to undo the statement alone;
// here a failure fails the whole transaction, which undoes it anyway.
func MarkSettled(ctx context.Context, tx *db.Tx, settlementID, mchid string, channel Channel, end time.Time) (Settled, error) {
	var t Settled
	at := db.Micros(end)
	update := "UPDATE"
	if tx.Engine == db.SQLite {
		update = "UPDATE OR FAIL"
	}
	sum := func(q string, n *int, amount, fees, planFees *fenfu.Fen) error {
		rows, err := tx.QueryContext(ctx, q, settlementID, mchid, string(channel), at)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, f, p fenfu.Fen
			if err := rows.Scan(&a, &f, &p); err != nil {
				return err
			}
			*n++
			*amount += a
			*fees += f
			*planFees += p
		}
		return rows.Err()
	}
	if err := sum(update+` orders SET settlement_id = $1
		WHERE mchid = $2 AND channel = $3 AND settlement_id = '' AND state IN `+paidStates+`
		AND paid_at < $4 AND hold_until < $4 RETURNING total, fee, plan_fee`, &t.Payments, &t.PaymentAmount, &t.PaymentFees, &t.PlanFees); err != nil {
		return t, err
	}
	if err := sum(update+` refunds SET settlement_id = $1
		WHERE mchid = $2 AND channel = $3 AND settlement_id = '' AND status = '`+string(RefundSuccess)+`' AND created_at < $4
		RETURNING amount, fee, plan_fee`, &t.Refunds, &t.RefundAmount, &t.RefundFees, &t.RefundPlanFees); err != nil {
		return t, err
	}
	return t, nil
}

// SettlementOf returns the settlement that took a merchant's order, or ""
// while it is unsettled; ORDER_NOT_EXIST if there is no such order.
func SettlementOf(ctx context.Context, core *db.DB, mchid, outTradeNo string) (string, error) {
	o, err := getBy(ctx, core, `mchid = $1 AND out_trade_no = $2`, mchid, outTradeNo)
	return o.SettlementID, err
}

// Hold keeps a paid, unsettled order out of settlement until until, for
// reason; a zero until releases it. Batches of business days that end
// before until leave it; the first batch after takes it.
func Hold(ctx context.Context, core *db.DB, orderID string, until time.Time, reason string) error {
	res, err := core.Exec(ctx, `UPDATE orders SET hold_until = $1, hold_reason = $2
		WHERE id = $3 AND state IN `+paidStates+` AND settlement_id = ''`, db.Micros(until), reason, orderID)
	if err != nil {
		return fenfu.Internal("pay.Hold", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	o, err := getBy(ctx, core, `id = $1`, orderID)
	switch {
	case err != nil:
		return err
	case o.SettlementID != "":
		return fenfu.Errorf(fenfu.InvalidRequest, "order %s is already settled (%s)", orderID, o.SettlementID)
	default:
		return fenfu.Errorf(fenfu.InvalidRequest, "order %s is not paid (state %s); only paid orders are held", orderID, o.State)
	}
}

// CountPaid counts a merchant's orders of a channel paid in [from, to).
func CountPaid(ctx context.Context, core *db.DB, mchid string, channel Channel, from, to time.Time) (int, error) {
	var n int
	if err := core.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE mchid = $1 AND channel = $2
		AND state IN `+paidStates+` AND paid_at >= $3 AND paid_at < $4`, mchid, string(channel), db.Micros(from), db.Micros(to)).Scan(&n); err != nil {
		return 0, fenfu.Internal("pay.CountPaid", err)
	}
	return n, nil
}
