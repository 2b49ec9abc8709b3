package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu/db"
)

// ExpiredLog returns up to limit notification events whose last delivery
// attempt was logged before t, after the event id after, in id order.
func ExpiredLog(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]db.Aged, error) {
	out, err := d.QueryAged(ctx, `SELECT event_id, mchid, MAX(at) FROM notify_log WHERE event_id > $1 GROUP BY event_id, mchid
		HAVING MAX(at) < $2 ORDER BY `+d.ByteOrder("event_id")+` LIMIT `+fmt.Sprint(limit), after, db.Micros(t))
	if err != nil {
		return nil, fmt.Errorf("notify: expired log: %w", err)
	}
	return out, nil
}

// PurgeLog deletes the delivery attempts of the events ids in the
// caller's transaction and returns how many it deleted.
func PurgeLog(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	return db.Delete(ctx, tx, "notify_log", "event_id", ids)
}
