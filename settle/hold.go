package settle

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

// DefaultHold is how long a risk hold delays a payment's settlement
// (SPEC §4).
const DefaultHold = pay.DefaultHoldFor

// HoldLength is how long a hold lasts when its length is not given: the
// service's HoldFor, or DefaultHold.
func (s *Service) HoldLength() time.Duration {
	if s.HoldFor > 0 {
		return s.HoldFor
	}
	return DefaultHold
}

// Hold keeps a paid, unsettled order out of settlement until until, for
// reason. Batches of business days that end before until leave it; the
// first batch after takes it, as does any batch after Release.
func (s *Service) Hold(ctx context.Context, orderID string, until time.Time, reason string) error {
	if reason == "" {
		return fenfu.FieldError("reason", "a hold needs a reason")
	}
	return pay.Hold(ctx, s.Core, orderID, until, reason)
}

// Release lifts an order's hold; the next batch settles it.
func (s *Service) Release(ctx context.Context, orderID string) error {
	return pay.Hold(ctx, s.Core, orderID, time.Time{}, "")
}
