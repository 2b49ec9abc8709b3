package pay

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
)

// Trade is a payment or a refund as bills list them. A refund carries its
// order's fields with its own.
type Trade struct {
	At          int64 // microseconds: when the order was paid, or the refund made
	OrderID     string
	AppID       string
	OutTradeNo  string
	ConsumerID  string
	TradeType   string
	Channel     Channel
	Currency    string
	Description string
	Attach      string
	Amount      fenfu.Fen // the order's total, or the refund's amount
	Fee         fenfu.Fen // the fee charged, or the part a refund returned
	PlanFee     fenfu.Fen // the installment fee the merchant bore, or the part a refund returned
	Rate        fee.PPM   // the order's fee rate
	Tier        string    // the order's fee tier
	// A refund's own fields; empty for a payment.
	RefundID     string
	OutRefundNo  string
	RefundStatus RefundStatus
}

// TradeFilter selects a merchant's trades made in [From, To), of one
// channel or, with Channel "", both.
type TradeFilter struct {
	MchID    string
	Channel  Channel
	From, To time.Time
}

// where returns the filter's conditions on alias's columns (at being the
// time column), with its arguments.
func (f TradeFilter) where(alias, at string) (string, []any) {
	args := []any{f.MchID, db.Micros(f.From), db.Micros(f.To)}
	w := alias + "mchid = $1 AND " + alias + at + " >= $2 AND " + alias + at + " < $3"
	if f.Channel != "" {
		args = append(args, string(f.Channel))
		w += " AND " + alias + "channel = $" + strconv.Itoa(len(args))
	}
	return w, args
}

// Payments streams the merchant's paid orders (with or without refunds)
// paid in the filter's window, in time order.
func Payments(ctx context.Context, core *db.DB, f TradeFilter, fn func(Trade) error) error {
	where, args := f.where("", "paid_at")
	rows, err := core.QueryContext(ctx, `SELECT paid_at, appid, id, out_trade_no, consumer_id, trade_type, channel, currency,
		description, attach, total, fee, fee_rate, fee_tier, plan_fee FROM orders
		WHERE paid_at > 0 AND state IN `+paidStates+` AND `+where+` ORDER BY paid_at, id`, args...)
	if err != nil {
		return err
	}
	return db.Each(rows, func(r db.Scanner) (x Trade, err error) {
		err = r.Scan(&x.At, &x.AppID, &x.OrderID, &x.OutTradeNo, &x.ConsumerID, &x.TradeType, &x.Channel, &x.Currency,
			&x.Description, &x.Attach, &x.Amount, &x.Fee, &x.Rate, &x.Tier, &x.PlanFee)
		return x, err
	}, fn)
}

// Refunds streams the merchant's refunds of every status made in the
// filter's window, in time order, each with its order's fields.
func Refunds(ctx context.Context, core *db.DB, f TradeFilter, fn func(Trade) error) error {
	where, args := f.where("r.", "created_at")
	rows, err := core.QueryContext(ctx, `SELECT r.created_at, o.appid, o.id, o.out_trade_no, o.consumer_id, o.trade_type, o.channel,
		o.currency, o.description, o.attach, r.id, r.out_refund_no, r.status, r.amount, r.fee, o.fee_rate, o.fee_tier, r.plan_fee
		FROM refunds r JOIN orders o ON o.id = r.order_id WHERE `+where+` ORDER BY r.created_at, r.id`, args...)
	if err != nil {
		return err
	}
	return db.Each(rows, func(r db.Scanner) (x Trade, err error) {
		err = r.Scan(&x.At, &x.AppID, &x.OrderID, &x.OutTradeNo, &x.ConsumerID, &x.TradeType, &x.Channel, &x.Currency,
			&x.Description, &x.Attach, &x.RefundID, &x.OutRefundNo, &x.RefundStatus, &x.Amount, &x.Fee, &x.Rate, &x.Tier, &x.PlanFee)
		return x, err
	}, fn)
}

// PendingAt is what the merchant's pending settlement of a channel (or
// both, with "") held at the instant at: payments made before it, net of
// fees (and the installment fees the merchant bore), less successful
// refunds made before it, net of the fees they returned, of those not settled by then — unsettled now, or taken by one
// of settledSince, the settlements made at or after at.
func PendingAt(ctx context.Context, core *db.DB, mchid string, channel Channel, at time.Time, settledSince []string) (fenfu.Fen, error) {
	base := []any{mchid, db.Micros(at)}
	chWhere := ""
	if channel != "" {
		base = append(base, string(channel))
		chWhere = " AND channel = $3"
	}
	// Unsettled rows and rows taken by the given settlements are summed
	// apart, so each sum can use its own index.
	taken := []string{"settlement_id = ''"}
	args := [][]any{base}
	if len(settledSince) > 0 {
		more := append([]any(nil), base...)
		ph := make([]string, len(settledSince))
		for i, id := range settledSince {
			more = append(more, id)
			ph[i] = "$" + strconv.Itoa(len(more))
		}
		taken = append(taken, "settlement_id IN ("+strings.Join(ph, ", ")+")")
		args = append(args, more)
	}
	var total fenfu.Fen
	for i, t := range taken {
		var paid, refunded fenfu.Fen
		if err := core.QueryRowContext(ctx, `SELECT COALESCE(SUM(total - fee - plan_fee), 0) FROM orders WHERE mchid = $1 AND `+t+`
			AND state IN `+paidStates+` AND paid_at < $2`+chWhere, args[i]...).Scan(&paid); err != nil {
			return 0, err
		}
		if err := core.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount - fee - plan_fee), 0) FROM refunds WHERE mchid = $1 AND `+t+`
			AND status = '`+string(RefundSuccess)+`' AND created_at < $2`+chWhere, args[i]...).Scan(&refunded); err != nil {
			return 0, err
		}
		total += paid - refunded
	}
	return total, nil
}

// FeesBetween is the fees the merchant was charged on payments of a
// channel (or both, with "") made in [from, to), the installment fees it
// bore among them, less those successful refunds made then returned.
func FeesBetween(ctx context.Context, core *db.DB, mchid string, channel Channel, from, to time.Time) (fenfu.Fen, error) {
	f := TradeFilter{MchID: mchid, Channel: channel, From: from, To: to}
	var charged, returned fenfu.Fen
	where, args := f.where("", "paid_at")
	if err := core.QueryRowContext(ctx, `SELECT COALESCE(SUM(fee + plan_fee), 0) FROM orders WHERE paid_at > 0 AND state IN `+paidStates+`
		AND `+where, args...).Scan(&charged); err != nil {
		return 0, err
	}
	where, args = f.where("", "created_at")
	if err := core.QueryRowContext(ctx, `SELECT COALESCE(SUM(fee + plan_fee), 0) FROM refunds WHERE status = '`+string(RefundSuccess)+`'
		AND `+where, args...).Scan(&returned); err != nil {
		return 0, err
	}
	return charged - returned, nil
}

// SettledBy lists what a settlement took: the refs (order and refund ids) of
// the payments and refunds it settled, each with the Asia/Shanghai day
// whose bill lists it (a payment's by when it was paid, a refund's by
// when it was made).
func SettledBy(ctx context.Context, core *db.DB, settlementID string) (map[string]string, error) {
	out := map[string]string{}
	for _, q := range []string{`SELECT id, paid_at FROM orders WHERE settlement_id = $1`, `SELECT id, created_at FROM refunds WHERE settlement_id = $1`} {
		rows, err := core.QueryContext(ctx, q, settlementID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var at int64
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = db.Time(at).In(fenfu.Shanghai).Format(time.DateOnly)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
