package settle

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
)

// FeeStatement is a merchant's fees of a month, as its settlements took
// them: per business day and channel, what its payments were charged,
// the installment fees it bore, what its refunds returned of both, and
// the fees net of what was returned; with the month's totals.
type FeeStatement struct {
	MchID string   `json:"mchid"`
	Month string   `json:"month"` // YYYY-MM
	Days  []FeeDay `json:"days"`
	Total FeeDay   `json:"total"` // Date and Channel empty
}

// FeeDay is one settlement's fees.
type FeeDay struct {
	Date            string    `json:"settle_date"`
	Channel         string    `json:"channel"`
	Payments        int       `json:"payments"`
	PaymentAmount   fenfu.Fen `json:"payment_amount"`
	Fees            fenfu.Fen `json:"fees"`             // charged on the payments
	InstallmentFees fenfu.Fen `json:"installment_fees"` // borne on interest-free installments
	Refunds         int       `json:"refunds"`
	RefundedFees    fenfu.Fen `json:"refunded_fees"` // fees and installment fees the refunds returned
	Net             fenfu.Fen `json:"net_fees"`      // Fees + InstallmentFees − RefundedFees
}

func (d *FeeDay) add(x Settlement) {
	d.Payments += x.Payments
	d.PaymentAmount += x.PaymentAmount
	d.Fees += x.PaymentFees
	d.InstallmentFees += x.PlanFees
	d.Refunds += x.Refunds
	d.RefundedFees += x.RefundFees + x.RefundPlanFees
	d.Net = d.Fees + d.InstallmentFees - d.RefundedFees
}

// FeeStatement returns a merchant's fee statement of a month (YYYY-MM,
// Asia/Shanghai business days), from its settlements: a day not yet
// settled is not in it.
func (s *Service) FeeStatement(ctx context.Context, mchid, month string) (FeeStatement, error) {
	first, err := time.ParseInLocation("2006-01", month, fenfu.Shanghai)
	if err != nil || first.Format("2006-01") != month {
		return FeeStatement{}, fenfu.FieldError("month", "month must be YYYY-MM, not %q", month)
	}
	list, err := s.List(ctx, Filter{MchID: mchid, From: first.Format(time.DateOnly), To: first.AddDate(0, 1, -1).Format(time.DateOnly)})
	if err != nil {
		return FeeStatement{}, err
	}
	st := FeeStatement{MchID: mchid, Month: month, Days: []FeeDay{}}
	for _, x := range list {
		d := FeeDay{Date: x.Date, Channel: x.Channel}
		d.add(x)
		st.Days = append(st.Days, d)
		st.Total.add(x)
	}
	return st, nil
}
