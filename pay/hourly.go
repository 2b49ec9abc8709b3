package pay

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// MaxHourlySpan bounds the period Hourly reports on: 14 days of hours.
const MaxHourlySpan = 14 * 24 * time.Hour

// HourStats are the orders created in one hour, across merchants, and
// how they ended.
type HourStats struct {
	Hour    time.Time `json:"hour"` // its start
	Created int       `json:"created"`
	// Paid counts the orders paid (SUCCESS, or REFUND: refunded or
	// reversed later, the payment still succeeded), by channel (credit,
	// ordinary), and PaidAmount their totals in fen.
	Paid       map[string]int       `json:"paid"`
	PaidAmount map[string]fenfu.Fen `json:"paid_amount"`
	// Unpaid counts the orders that ended without being paid, by how:
	// closed by the merchant, revoked (a code payment reversed before it
	// was paid), failed (a code payment refused, or not confirmed in
	// time), or expired (still unpaid after its time_expire).
	Unpaid map[string]int `json:"unpaid"`
	// Open counts the orders still open: unpaid and not yet expired, or
	// being paid. They are in neither side of the success rate.
	Open int `json:"open"`
	// SuccessRate is paid ÷ (paid + unpaid): of the orders created in the
	// hour that have ended, the share paid. It is null when none has.
	SuccessRate *float64 `json:"success_rate"`
}

// How an unpaid order ended, in HourStats.Unpaid.
const (
	EndedClosed  = "closed"
	EndedRevoked = "revoked"
	EndedFailed  = "failed"
	EndedExpired = "expired"
)

// Hourly counts the orders of every merchant created in each hour of
// [from, to) — from rounded down and to up to the hour, at most
// MaxHourlySpan apart — by outcome: paid, by channel; ended unpaid, by
// how; or still open. An unpaid order has expired when its time_expire is
// past at now. It reads the orders by orders_created and groups them in
// the store, so it costs one index range scan of the period's orders and
// answers a row per hour, channel and state.
func (s *Service) Hourly(ctx context.Context, from, to time.Time) ([]HourStats, error) {
	from, to = from.Truncate(time.Hour), to.Add(time.Hour-1).Truncate(time.Hour)
	if !to.After(from) {
		return nil, fenfu.FieldError("to", "to must be after from")
	}
	if to.Sub(from) > MaxHourlySpan {
		return nil, fenfu.FieldError("from", "hourly figures cover at most %d days; narrow from and to", int(MaxHourlySpan/(24*time.Hour)))
	}
	now := s.Clock.Now()
	rows, err := s.Core.QueryContext(ctx, `SELECT (created_at - $1) / `+hourMicros+`, channel, state,
		CASE WHEN state = '`+string(NotPay)+`' AND expires_at <= $3 THEN 1 ELSE 0 END, COUNT(*), COALESCE(SUM(total), 0)
		FROM orders WHERE created_at >= $1 AND created_at < $2
		GROUP BY 1, 2, 3, 4`,
		db.Micros(from), db.Micros(to), db.Micros(now))
	if err != nil {
		return nil, fenfu.Internal("pay.Hourly", err)
	}
	defer rows.Close()
	n := int(to.Sub(from) / time.Hour)
	out := make([]HourStats, n)
	for i := range out {
		out[i] = HourStats{Hour: from.Add(time.Duration(i) * time.Hour).In(fenfu.Shanghai), Paid: map[string]int{},
			PaidAmount: map[string]fenfu.Fen{}, Unpaid: map[string]int{}}
	}
	for rows.Next() {
		var h int64
		var channel string
		var state State
		var expired, count int
		var amount fenfu.Fen
		if err := rows.Scan(&h, &channel, &state, &expired, &count, &amount); err != nil {
			return nil, fenfu.Internal("pay.Hourly", err)
		}
		if h < 0 || h >= int64(n) {
			continue
		}
		st := &out[h]
		st.Created += count
		switch {
		case state == Success || state == Refund:
			name := Channel(channel).Name()
			st.Paid[name] += count
			st.PaidAmount[name] += amount
		case state == Closed:
			st.Unpaid[EndedClosed] += count
		case state == Revoked:
			st.Unpaid[EndedRevoked] += count
		case state == PayError:
			st.Unpaid[EndedFailed] += count
		case state == NotPay && expired == 1:
			st.Unpaid[EndedExpired] += count
		default:
			st.Open += count
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("pay.Hourly", err)
	}
	for i := range out {
		paid, unpaid := 0, 0
		for _, c := range out[i].Paid {
			paid += c
		}
		for _, c := range out[i].Unpaid {
			unpaid += c
		}
		if paid+unpaid > 0 {
			r := float64(paid) / float64(paid+unpaid)
			out[i].SuccessRate = &r
		}
	}
	return out, nil
}

// hourMicros is an hour in the stores' microseconds, as SQL.
const hourMicros = "3600000000"
