package risk

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu/db"
)

// Record is a risk record retention may purge: a payment attempt's
// decision, with its queue item and the actions on it if it had one, last
// acted on at At.
type Record struct {
	AttemptID  string
	OrderID    string
	MchID      string
	ConsumerID string
	At         time.Time
}

// ExpiredRecords returns up to limit decisions last acted on (decided, or
// their queue item moved) before t and not awaiting staff, after the
// attempt id after, in id order.
func ExpiredRecords(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]Record, error) {
	rows, err := d.QueryContext(ctx, `SELECT d.attempt_id, d.order_id, d.mchid, d.consumer_id, COALESCE(q.updated_at, d.created_at)
		FROM risk_decisions d LEFT JOIN risk_queue q ON q.attempt_id = d.attempt_id
		WHERE COALESCE(q.updated_at, d.created_at) < $1 AND COALESCE(q.state, '') <> $2 AND d.attempt_id > $3
		ORDER BY `+d.ByteOrder("d.attempt_id")+` LIMIT `+fmt.Sprint(limit), db.Micros(t), string(Open), after)
	if err != nil {
		return nil, fmt.Errorf("risk: expired records: %w", err)
	}
	out, err := db.Collect(rows, func(row db.Scanner) (r Record, err error) {
		var at int64
		err = row.Scan(&r.AttemptID, &r.OrderID, &r.MchID, &r.ConsumerID, &at)
		r.At = db.Time(at)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("risk: expired records: %w", err)
	}
	return out, nil
}

// PurgeRecords deletes the risk records of the attempts ids in the
// caller's transaction: their actions, queue items and decisions. It
// returns how many decisions it deleted.
func PurgeRecords(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	for _, q := range []string{`DELETE FROM risk_actions WHERE attempt_id IN (` + ph + `)`, `DELETE FROM risk_queue WHERE attempt_id IN (` + ph + `)`} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("risk: purge records: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM risk_decisions WHERE attempt_id IN (`+ph+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("risk: purge records: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
