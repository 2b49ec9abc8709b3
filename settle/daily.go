package settle

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// MaxDailyDays bounds the business days Daily reports on.
const MaxDailyDays = 92

// DayTotal is what one business day's batch of a channel settled, over
// every merchant.
type DayTotal struct {
	Date          string    `json:"settle_date"`
	Channel       string    `json:"channel"` // credit or ordinary
	Merchants     int       `json:"merchants"`
	Payments      int       `json:"payments"`
	PaymentAmount fenfu.Fen `json:"payment_amount"`
	Refunds       int       `json:"refunds"`
	RefundAmount  fenfu.Fen `json:"refund_amount"`
	// Fees are the fees kept, net of those refunds returned, with the
	// installment fees merchants bore.
	Fees fenfu.Fen `json:"fees"`
	// Net is what moved to the merchants' settlement accounts.
	Net fenfu.Fen `json:"net"`
}

// Daily totals the settlements of each business day from from to to
// (YYYY-MM-DD, inclusive, at most MaxDailyDays), by channel, in day
// order. It reads settlements by their (batch_date, channel, mchid) key
// and sums them in the store: one index range scan of the period's
// settlements, one row per day and channel.
func (s *Service) Daily(ctx context.Context, from, to string) ([]DayTotal, error) {
	f, err := Day(from)
	if err != nil {
		return nil, fenfu.FieldError("from", "from must be a date like 2026-11-27")
	}
	t, err := Day(to)
	if err != nil {
		return nil, fenfu.FieldError("to", "to must be a date like 2026-11-27")
	}
	switch days := int(t.Sub(f)/(24*time.Hour)) + 1; {
	case days < 1:
		return nil, fenfu.FieldError("to", "to must not be before from")
	case days > MaxDailyDays:
		return nil, fenfu.FieldError("from", "daily settlement figures cover at most %d days; narrow from and to", MaxDailyDays)
	}
	rows, err := s.Core.QueryContext(ctx, `SELECT batch_date, channel, COUNT(*), SUM(payments), SUM(payment_amount), SUM(refunds),
		SUM(refund_amount), SUM(payment_fees - refund_fees + plan_fees - refund_plan_fees), SUM(net)
		FROM settlements WHERE batch_date >= $1 AND batch_date <= $2 GROUP BY batch_date, channel ORDER BY batch_date, channel`, from, to)
	if err != nil {
		return nil, fenfu.Internal("settle.Daily", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (d DayTotal, err error) {
		err = r.Scan(&d.Date, &d.Channel, &d.Merchants, &d.Payments, &d.PaymentAmount, &d.Refunds, &d.RefundAmount, &d.Fees, &d.Net)
		d.Channel = pay.Channel(d.Channel).Name()
		return d, err
	})
	if err != nil {
		return nil, fenfu.Internal("settle.Daily", err)
	}
	return out, nil
}
