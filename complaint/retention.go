package complaint

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Disputes returns, for each of the orders that had a complaint, when
// its last complaint closed (the merchant completed it or staff resolved
// it), or the zero time while one is still open: retention keeps a
// disputed order's details until the dispute is closed and its own period
// has passed.
func (s *Service) Disputes(ctx context.Context, orders []pay.Expired) (pay.Disputes, error) {
	out := pay.Disputes{}
	if len(orders) == 0 {
		return out, nil
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	ph, args := db.In(ids, 0)
	rows, err := s.Credit.QueryContext(ctx, `SELECT transaction_id, state, completed_at, resolved_at FROM complaints
		WHERE transaction_id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("complaint: disputes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var state State
		var completed, resolved int64
		if err := rows.Scan(&id, &state, &completed, &resolved); err != nil {
			return nil, fmt.Errorf("complaint: disputes: %w", err)
		}
		out.Add(id, state != Processed, db.Time(max(completed, resolved)))
	}
	return out, rows.Err()
}
