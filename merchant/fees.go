package merchant

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
)

// MaxDiscount bounds a discount; the tier floors bound the rate it leaves.
const MaxDiscount = fee.PPM(10000)

// DiscountAt returns the merchant's credit-pay discount in force at t:
// ppm off the combined rate, which fee.Price never lets below the tier's
// floor.
func (m Merchant) DiscountAt(t time.Time) fee.PPM {
	if m.FeeDiscountUntil.IsZero() || t.Before(m.FeeDiscountUntil) {
		return m.FeeDiscount
	}
	return 0
}

// SetDiscount gives a merchant a credit-pay discount (a negotiated rate or
// a campaign) of discount ppm off the combined rate until until (zero: no
// end). A discount of 0 removes it.
func (s *Service) SetDiscount(ctx context.Context, mchid string, discount fee.PPM, until time.Time) error {
	if discount < 0 || discount > MaxDiscount {
		return fenfu.FieldError("discount", "the discount is 0 to %d ppm (0 to %s) off the combined rate", MaxDiscount, MaxDiscount.Percent())
	}
	end := int64(0)
	if !until.IsZero() {
		end = db.Micros(until)
	}
	return s.update(ctx, mchid, `fee_discount = $1, fee_discount_until = $2`, int64(discount), end)
}
