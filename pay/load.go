package pay

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
)

// Paid is an order as the payment path leaves it once paid, with at most
// one refund, for loading many at once.
type Paid struct {
	ID, MchID, OutTradeNo string
	Channel               Channel
	Total                 fenfu.Fen
	Fee                   fee.Quote
	PaidAt                time.Time
	// The payer and the payment attempt; "c" and "a" if empty, which
	// do not prove.
	ConsumerID, AttemptID string
	// A refund of part of the order, made at RefundedAt, returning
	// RefundFee of the fee; none if Refund is 0.
	RefundID   string
	Refund     fenfu.Fen
	RefundFee  fenfu.Fen
	RefundedAt time.Time
}

// LoadPaid writes paid orders (and their refunds) in the caller's core
// transaction, in a statement or two, as the payment path would have left
// them: state, channel, payer, attempt, fee, rate and tier. It writes no
// ledger postings and enqueues no notifications: it loads generated days
// for the benchmarks, which post them (and capture the credit orders in
// the credit store) themselves when their stores must prove. Keep a call to a few
// dozen orders: SQLite resolves $N parameters by a linear search, so a
// statement's cost grows with the square of its parameters.
func LoadPaid(ctx context.Context, tx *db.Tx, orders []Paid) error {
	if len(orders) == 0 {
		return nil
	}
	var q, rq strings.Builder
	args := make([]any, 0, len(orders)*17)
	var rargs []any
	q.WriteString(`INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach, notify_url, limit_pay,
		total, currency, params_hash, state, channel, consumer_id, attempt_id, refunded, refund_count, created_at, expires_at,
		updated_at, paid_at, fee, fee_rate, fee_tier) VALUES `)
	rq.WriteString(`INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url, params_hash, status,
		created_at, success_at, fee, channel) VALUES `)
	for i, o := range orders {
		state, count := Success, 0
		if o.Refund > 0 {
			state, count = Refund, 1
			if len(rargs) > 0 {
				rq.WriteByte(',')
			}
			k := len(rargs)
			fmt.Fprintf(&rq, "($%d,$%d,$%d,$%d,$%d,'','','',$%d,$%d,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10)
			at := db.Micros(o.RefundedAt)
			rargs = append(rargs, o.RefundID, o.MchID, "R"+o.OutTradeNo, o.ID, o.Refund, string(RefundSuccess), at, at, o.RefundFee,
				string(o.Channel))
		}
		if i > 0 {
			q.WriteByte(',')
		}
		k := len(args)
		fmt.Fprintf(&q, "($%d,$%d,$%d,'wxbench','NATIVE','Goods','','https://shop.example/n','',$%d,'CNY','',$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)",
			k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10, k+11, k+12, k+13, k+14, k+15, k+16, k+17)
		p := db.Micros(o.PaidAt)
		payer, attempt := o.ConsumerID, o.AttemptID
		if payer == "" {
			payer = "c"
		}
		if attempt == "" {
			attempt = "a"
		}
		args = append(args, o.ID, o.MchID, o.OutTradeNo, o.Total, string(state), string(o.Channel), payer, attempt, o.Refund, count,
			p, p+int64(time.Hour/time.Microsecond), p, p, o.Fee.Fee, int64(o.Fee.Rate), o.Fee.Tier)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return err
	}
	if len(rargs) > 0 {
		if _, err := tx.ExecContext(ctx, rq.String(), rargs...); err != nil {
			return err
		}
	}
	return nil
}
