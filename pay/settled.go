package pay

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fenfu/fenfu/db"
)

// SettledTotal is what the orders and refunds that name one settlement add
// up to, as settle's proof compares it with the settlement's record.
type SettledTotal struct {
	SettlementID string
	// Channel and MchID are those of every order and refund it took, or
	// "" when they are not all the same.
	Channel Channel
	MchID   string
	Settled
}

// SettledTotals streams the totals of the orders and refunds in core that
// name a settlement, one per settlement id, in settlement-id byte order
// (db.ByteOrder). It reads each table once, in the order of its
// settlement index, so its memory does not grow with the orders.
func SettledTotals(ctx context.Context, core *db.DB, fn func(SettledTotal) error) error {
	// The orders' and the refunds' totals, merged by settlement id.
	q := func(table, amount string) (*settledRows, error) {
		id := core.ByteOrder("settlement_id")
		rows, err := core.QueryContext(ctx, `SELECT settlement_id, COUNT(*), SUM(`+amount+`), SUM(fee), SUM(plan_fee),
			MIN(channel), MAX(channel), MIN(mchid), MAX(mchid) FROM `+table+`
			WHERE settlement_id <> '' GROUP BY settlement_id ORDER BY `+id)
		if err != nil {
			return nil, fmt.Errorf("pay: settled %s: %w", table, err)
		}
		r := &settledRows{rows: rows}
		return r, r.next()
	}
	orders, err := q("orders", "total")
	if orders != nil {
		defer orders.rows.Close()
	}
	if err != nil {
		return err
	}
	refunds, err := q("refunds", "amount")
	if refunds != nil {
		defer refunds.rows.Close()
	}
	if err != nil {
		return err
	}
	for orders.ok || refunds.ok {
		var t SettledTotal
		switch {
		case !refunds.ok || orders.ok && orders.t.SettlementID < refunds.t.SettlementID:
			t = orders.t
			err = orders.next()
		case !orders.ok || refunds.t.SettlementID < orders.t.SettlementID:
			t = refunds.t
			t.Refunds, t.RefundAmount, t.RefundFees, t.RefundPlanFees = t.Payments, t.PaymentAmount, t.PaymentFees, t.PlanFees
			t.Payments, t.PaymentAmount, t.PaymentFees, t.PlanFees = 0, 0, 0, 0
			err = refunds.next()
		default:
			t = orders.t
			r := refunds.t
			t.Refunds, t.RefundAmount, t.RefundFees, t.RefundPlanFees = r.Payments, r.PaymentAmount, r.PaymentFees, r.PlanFees
			if t.Channel != r.Channel {
				t.Channel = ""
			}
			if t.MchID != r.MchID {
				t.MchID = ""
			}
			if err = orders.next(); err == nil {
				err = refunds.next()
			}
		}
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// settledRows reads one table's totals per settlement, into the payment
// fields of t.
type settledRows struct {
	rows *sql.Rows
	ok   bool
	t    SettledTotal
}

func (r *settledRows) next() error {
	if r.ok = r.rows.Next(); !r.ok {
		return r.rows.Err()
	}
	var minChannel, maxChannel Channel
	var minMchID, maxMchID string
	r.t = SettledTotal{}
	if err := r.rows.Scan(&r.t.SettlementID, &r.t.Payments, &r.t.PaymentAmount, &r.t.PaymentFees, &r.t.PlanFees,
		&minChannel, &maxChannel, &minMchID, &maxMchID); err != nil {
		return err
	}
	if minChannel == maxChannel {
		r.t.Channel = minChannel
	}
	if minMchID == maxMchID {
		r.t.MchID = minMchID
	}
	return nil
}
