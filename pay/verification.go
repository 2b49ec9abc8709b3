package pay

import (
	"context"
	"sort"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// DayStats are a merchant's orders on one business day.
type DayStats struct {
	Day     string `json:"day"` // 2006-01-02, Asia/Shanghai
	Created int    `json:"created"`
	Paid    int    `json:"paid"`
	// PaidBy counts paid orders per channel (credit, balance).
	PaidBy map[string]int `json:"paid_by"`
	// SuccessRate is Paid ÷ Created.
	SuccessRate float64 `json:"success_rate"`
	// SecondsToPay are the p50 and p90 of the time from creating an order
	// to its payment.
	SecondsToPayP50 float64 `json:"seconds_to_pay_p50"`
	SecondsToPayP90 float64 `json:"seconds_to_pay_p90"`
}

// Verification reports a merchant's first days live: for each business
// day from `from`, orders created and paid by channel, the success rate
// and how long payment took — what production verification watches.
func (s *Service) Verification(ctx context.Context, mchid string, from time.Time, days int) ([]DayStats, error) {
	if days <= 0 || days > 90 {
		days = 7
	}
	start := from.In(fenfu.Shanghai)
	start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, fenfu.Shanghai)
	end := start.AddDate(0, 0, days)
	rows, err := s.Core.QueryContext(ctx, `SELECT created_at, paid_at, channel, state FROM orders
		WHERE mchid = $1 AND created_at >= $2 AND created_at < $3`, mchid, db.Micros(start), db.Micros(end))
	if err != nil {
		return nil, fenfu.Internal("pay.Verification", err)
	}
	defer rows.Close()
	out := make([]DayStats, days)
	waits := make([][]float64, days)
	for i := range out {
		out[i] = DayStats{Day: start.AddDate(0, 0, i).Format(time.DateOnly), PaidBy: map[string]int{}}
	}
	for rows.Next() {
		var created, paid int64
		var channel string
		var state State
		if err := rows.Scan(&created, &paid, &channel, &state); err != nil {
			return nil, fenfu.Internal("pay.Verification", err)
		}
		i := int(db.Time(created).In(fenfu.Shanghai).Sub(start).Hours() / 24)
		if i < 0 || i >= days {
			continue
		}
		out[i].Created++
		if state == Success || state == Refund {
			out[i].Paid++
			out[i].PaidBy[channel]++
			waits[i] = append(waits[i], db.Time(paid).Sub(db.Time(created)).Seconds())
		}
	}
	for i := range out {
		if out[i].Created > 0 {
			out[i].SuccessRate = float64(out[i].Paid) / float64(out[i].Created)
		}
		if w := waits[i]; len(w) > 0 {
			sort.Float64s(w)
			out[i].SecondsToPayP50 = w[(len(w)-1)/2]
			out[i].SecondsToPayP90 = w[(len(w)*9-1)/10]
		}
	}
	return out, rows.Err()
}
