package pay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// feesBackfill names the backfill that gave credit orders and refunds
// written before orders carried their fee the fee the credit store
// recorded for them.
const feesBackfill = "credit-fees-on-orders"

// payoutsBackfill names the backfill that paid to their consumers'
// balances what refunds succeeded before payouts existed owed them back.
const payoutsBackfill = "credit-overpaid-payouts"

// Backfill runs the data backfills this store has not had yet, and
// reports how many rows they changed. Every command runs it at start; it
// is safe to run on several nodes at once.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	n := 0
	for _, b := range []struct {
		name string
		run  func(context.Context) (int, error)
		// every: run at every start, not once: a node of an older release
		// may still be finishing refunds without their payouts while
		// upgraded nodes start (the sweep reads only refunds that owe
		// something back, which are few).
		every bool
	}{{feesBackfill, s.backfillFees, false}, {payoutsBackfill, s.backfillPayouts, true}} {
		var one int
		err := s.Core.QueryRowContext(ctx, `SELECT 1 FROM backfills WHERE name = $1`, b.name).Scan(&one)
		if err == nil && !b.every {
			continue
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, err
		}
		changed, err := b.run(ctx)
		n += changed
		if err != nil {
			return n, err
		}
		if _, err := s.Core.Exec(ctx, `INSERT INTO backfills (name, done_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			b.name, db.Micros(s.Clock.Now())); err != nil {
			return n, fmt.Errorf("pay: record backfill %s: %w", b.name, err)
		}
	}
	return n, nil
}

// backfillFees gives credit orders and refunds written before orders
// carried their fee the fee the credit store recorded.
func (s *Service) backfillFees(ctx context.Context) (int, error) {
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
	return n, nil
}

// backfillPayouts pays what each successful refund owes its consumer back
// and was never paid: refunds that succeeded before payouts existed. A
// payout another node posted meanwhile is left as it is.
func (s *Service) backfillPayouts(ctx context.Context) (int, error) {
	n := 0
	err := credit.ScanOwedBack(ctx, s.Credit, func(o credit.OwedBack) error {
		var status RefundStatus
		err := s.Core.QueryRowContext(ctx, `SELECT status FROM refunds WHERE id = $1`, o.RefundID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && status != RefundSuccess) {
			return nil // not the core's yet: its success pays it
		}
		if err != nil {
			return err
		}
		err = s.Core.Update(ctx, func(tx *db.Tx) error { return ledger.Post(ctx, tx, payout(o)) })
		switch {
		case errors.Is(err, ledger.ErrDuplicate):
			return nil
		case err != nil:
			return err
		}
		n++
		return nil
	})
	return n, err
}
