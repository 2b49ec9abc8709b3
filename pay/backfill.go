package pay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
)

// feesBackfill names the backfill that gave credit orders and refunds
// written before orders carried their fee the fee the credit store
// recorded for them.
const feesBackfill = "credit-fees-on-orders"

// Backfill runs the data backfills this store has not had yet, and
// reports how many rows they changed. Every command runs it at start; it
// is safe to run on several nodes at once.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	var one int
	err := s.Core.QueryRowContext(ctx, `SELECT 1 FROM backfills WHERE name = $1`, feesBackfill).Scan(&one)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	n := 0
	// Orders, in id order, 500 at a time.
	for last := ""; ; {
		rows, err := s.Core.QueryContext(ctx, `SELECT id, attempt_id FROM orders WHERE channel = `+sqlCredit+`
			AND state IN `+paidStates+` AND fee_rate = 0 AND id > $1 ORDER BY id LIMIT 500`, last)
		if err != nil {
			return n, err
		}
		var ids, attempts []string
		for rows.Next() {
			var id, attempt string
			if err := rows.Scan(&id, &attempt); err != nil {
				rows.Close()
				return n, err
			}
			ids, attempts = append(ids, id), append(attempts, attempt)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		if len(ids) == 0 {
			break
		}
		for i, id := range ids {
			q, ok, err := credit.CapturedFee(ctx, s.Credit, attempts[i])
			if err != nil {
				return n, err
			}
			if !ok || q.Rate == 0 {
				continue // verify reports a missing capture
			}
			if _, err := s.Core.Exec(ctx, `UPDATE orders SET fee = $1, fee_rate = $2, fee_tier = $3 WHERE id = $4 AND fee_rate = 0`,
				q.Fee, int64(q.Rate), q.Tier, id); err != nil {
				return n, err
			}
			n++
		}
		last = ids[len(ids)-1]
	}
	// Credit refunds, whose fee share the credit store computed.
	for last := ""; ; {
		ids, err := s.Core.Strings(ctx, `SELECT id FROM refunds WHERE channel = `+sqlCredit+` AND fee = 0 AND id > $1 ORDER BY id LIMIT 500`, last)
		if err != nil {
			return n, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			_, back, ok, err := credit.RefundAmount(ctx, s.Credit, id)
			if err != nil {
				return n, err
			}
			if !ok || back == 0 {
				continue
			}
			if _, err := s.Core.Exec(ctx, `UPDATE refunds SET fee = $1 WHERE id = $2 AND fee = 0`, back, id); err != nil {
				return n, err
			}
			n++
		}
		last = ids[len(ids)-1]
	}
	if _, err := s.Core.Exec(ctx, `INSERT INTO backfills (name, done_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		feesBackfill, db.Micros(s.Clock.Now())); err != nil {
		return n, fmt.Errorf("pay: record backfill: %w", err)
	}
	return n, nil
}
