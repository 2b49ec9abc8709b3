package settle

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// DefaultHold is how long a risk hold delays a payment's settlement
// (SPEC §4).
const DefaultHold = 48 * time.Hour

// Hold keeps a paid, unsettled order out of settlement until until, for
// reason. Batches of business days that end before until leave it; the
// first batch after takes it, as does any batch after Release.
func (s *Service) Hold(ctx context.Context, orderID string, until time.Time, reason string) error {
	if reason == "" {
		return fenfu.FieldError("reason", "a hold needs a reason")
	}
	return s.setHold(ctx, orderID, db.Micros(until), reason)
}

// Release lifts an order's hold; the next batch settles it.
func (s *Service) Release(ctx context.Context, orderID string) error {
	return s.setHold(ctx, orderID, 0, "")
}

func (s *Service) setHold(ctx context.Context, orderID string, until int64, reason string) error {
	res, err := s.Core.Exec(ctx, `UPDATE orders SET hold_until = $1, hold_reason = $2
		WHERE id = $3 AND state IN ('SUCCESS', 'REFUND') AND settlement_id = ''`, until, reason, orderID)
	if err != nil {
		return fenfu.Internal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var state, settlement string
		err := s.Core.QueryRowContext(ctx, `SELECT state, settlement_id FROM orders WHERE id = $1`, orderID).Scan(&state, &settlement)
		switch {
		case err != nil:
			return fenfu.Errorf(fenfu.OrderNotExist, "order %s does not exist", orderID)
		case settlement != "":
			return fenfu.Errorf(fenfu.InvalidRequest, "order %s is already settled (%s)", orderID, settlement)
		default:
			return fenfu.Errorf(fenfu.InvalidRequest, "order %s is not paid (state %s); only paid orders are held", orderID, state)
		}
	}
	return nil
}
