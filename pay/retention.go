package pay

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu/db"
)

// Expired is an order whose trade details retention may anonymise: final
// (closed, expired unpaid, or paid with the payment and every refund
// settled) and last changed (created, paid, closed or refunded) at At.
type Expired struct {
	ID         string
	MchID      string
	OutTradeNo string
	ConsumerID string
	State      State
	At         time.Time
}

// ExpiredTrades returns up to limit orders not yet anonymised, final and
// last changed before t, after the order id after, in id order.
func (s *Service) ExpiredTrades(ctx context.Context, t time.Time, after string, limit int) ([]Expired, error) {
	core := s.Core
	rows, err := core.QueryContext(ctx, `SELECT o.id, o.mchid, o.out_trade_no, o.consumer_id, o.state, o.updated_at FROM orders o
		WHERE o.retained_at = 0 AND o.updated_at < $1 AND o.id > $2
		AND (o.state IN ($3, $6, $7) OR (o.state = $4 AND o.expires_at < $1)
		  OR (o.state IN `+paidStates+` AND o.settlement_id <> '' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id
		      AND (r.status <> $5 OR r.settlement_id = ''))))
		ORDER BY `+core.ByteOrder("o.id")+` LIMIT `+fmt.Sprint(limit),
		db.Micros(t), after, string(Closed), string(NotPay), string(RefundSuccess), string(Revoked), string(PayError))
	if err != nil {
		return nil, fmt.Errorf("pay: expired trades: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (tr Expired, err error) {
		var at int64
		err = r.Scan(&tr.ID, &tr.MchID, &tr.OutTradeNo, &tr.ConsumerID, &tr.State, &at)
		tr.At = db.Time(at)
		return tr, err
	})
	if err != nil {
		return nil, fmt.Errorf("pay: expired trades: %w", err)
	}
	return out, nil
}

// ForgetPayers clears, in the caller's transaction, the openids the
// consumers ids paid under (orders.payer_openid), so an openid a merchant
// kept names no one once its consumer is forgotten. Only a paid order's
// openid resolves, so only paid orders are read (orders_consumer_paid
// finds them). It returns how many orders it changed.
func ForgetPayers(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	res, err := tx.ExecContext(ctx, `UPDATE orders SET payer_openid = '' WHERE consumer_id IN (`+ph+`) AND paid_at > 0
		AND payer_openid <> ''`, args...)
	if err != nil {
		return 0, fmt.Errorf("pay: forget payers: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AnonymiseTrades blanks the trade details of the orders ids in the
// caller's transaction: the order's description, attach, notify_url,
// payer device and address and hold reason, its refunds' reasons and
// notify_url, which consumers saw its cashier, and, for a PAYSCORE order,
// its service order's attach, notify_url, items and cancel reason. What the books prove
// the order by (ids, merchant, consumer id, channel, attempt, state,
// amounts, fees, installments, settlement) stays, so fenfu verify proves
// it as before. An order already anonymised is left alone; it returns how
// many orders it changed.
func AnonymiseTrades(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 1)
	res, err := tx.ExecContext(ctx, `UPDATE orders SET description = '', attach = '', notify_url = '', scene_device = '', scene_ip = '',
		hold_reason = '', retained_at = $1 WHERE retained_at = 0 AND id IN (`+ph+`)`, append([]any{db.Micros(tx.Now)}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("pay: anonymise trades: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	ph, args = db.In(ids, 0)
	if _, err := tx.ExecContext(ctx, `UPDATE refunds SET reason = '', notify_url = '' WHERE order_id IN (`+ph+`)`, args...); err != nil {
		return 0, fmt.Errorf("pay: anonymise refunds: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM exposures WHERE order_id IN (`+ph+`)`, args...); err != nil {
		return 0, fmt.Errorf("pay: anonymise exposures: %w", err)
	}
	// A PAYSCORE order's service order carries the same details.
	if _, err := tx.ExecContext(ctx, `UPDATE service_orders SET attach = '', notify_url = '', post_payments = '', cancel_reason = ''
		WHERE payment_id IN (`+ph+`)`, args...); err != nil {
		return 0, fmt.Errorf("pay: anonymise service orders: %w", err)
	}
	return int(n), nil
}

// ExpiredServiceOrders returns up to limit service orders that ended
// without a payment — REVOKED, EXPIRED, or DONE for nothing — not yet
// anonymised and last changed before t, after the id after, in id order.
// Their details have no PAYSCORE order to be anonymised through
// (AnonymiseTrades): retention counts their period from their own end.
// An Expired's OutTradeNo is the service order's out_order_no.
func (s *Service) ExpiredServiceOrders(ctx context.Context, t time.Time, after string, limit int) ([]Expired, error) {
	core := s.Core
	rows, err := core.QueryContext(ctx, `SELECT id, mchid, out_order_no, consumer_id, updated_at FROM service_orders
		WHERE notify_url <> '' AND updated_at < $1 AND id > $2 AND (state IN ($3, $4) OR (state = $5 AND total_amount = 0))
		ORDER BY `+core.ByteOrder("id")+` LIMIT `+fmt.Sprint(limit),
		db.Micros(t), after, string(ServiceRevoked), string(ServiceExpired), string(ServiceDone))
	if err != nil {
		return nil, fmt.Errorf("pay: expired service orders: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (so Expired, err error) {
		var at int64
		err = r.Scan(&so.ID, &so.MchID, &so.OutTradeNo, &so.ConsumerID, &at)
		so.At = db.Time(at)
		return so, err
	})
	if err != nil {
		return nil, fmt.Errorf("pay: expired service orders: %w", err)
	}
	return out, nil
}

// AnonymiseServiceOrders blanks the details of the service orders ids
// (ended without a payment) in the caller's transaction, as
// AnonymiseTrades blanks a PAYSCORE order's: attach, notify_url, items
// and cancel reason. Ids, merchant, consumer id, state and amounts stay,
// so fenfu verify proves them as before; a service order already
// anonymised (its notify_url blank) is left alone. It returns how many it
// changed.
func AnonymiseServiceOrders(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	res, err := tx.ExecContext(ctx, `UPDATE service_orders SET attach = '', notify_url = '', post_payments = '', cancel_reason = ''
		WHERE notify_url <> '' AND id IN (`+ph+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("pay: anonymise service orders: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Disputes maps orders to when their last dispute closed, or to the zero
// time while one is still open.
type Disputes map[string]time.Time

// Add notes a dispute of the order id: open, or closed at closed. An open
// dispute outweighs every closed one, and a later close an earlier.
func (d Disputes) Add(id string, open bool, closed time.Time) {
	prev, seen := d[id]
	switch {
	case open:
		d[id] = time.Time{}
	case seen && prev.IsZero():
	case !seen || closed.After(prev):
		d[id] = closed
	}
}

// ExpiredExposures lists up to limit exposures without an order (the
// instal exposure API's answers, which name a consumer) made before t,
// after the id after. An exposure with an order goes with its order
// (AnonymiseTrades).
func ExpiredExposures(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]db.Aged, error) {
	out, err := d.QueryAged(ctx, `SELECT id, mchid, at FROM exposures WHERE order_id = '' AND id > $1 AND at < $2
		ORDER BY `+d.ByteOrder("id")+` LIMIT `+fmt.Sprint(limit), after, db.Micros(t))
	if err != nil {
		return nil, fmt.Errorf("pay: expired exposures: %w", err)
	}
	return out, nil
}

// PurgeExposures deletes the exposures ids in the caller's transaction
// and returns how many it deleted.
func PurgeExposures(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	return db.Delete(ctx, tx, "exposures", "id", ids)
}
