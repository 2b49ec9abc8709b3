package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu/db"
)

// ExpiredCalls returns up to limit sandbox calls recorded before t, after
// the call id after, in id order.
func ExpiredCalls(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]db.Aged, error) {
	out, err := d.QueryAged(ctx, `SELECT id, mchid, at FROM sandbox_calls WHERE at < $1 AND id > $2
		ORDER BY `+d.ByteOrder("id")+` LIMIT `+fmt.Sprint(limit), db.Micros(t), after)
	if err != nil {
		return nil, fmt.Errorf("sandbox: expired calls: %w", err)
	}
	return out, nil
}

// PurgeCalls deletes the sandbox calls ids in the caller's transaction
// and returns how many it deleted.
func PurgeCalls(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	return db.Delete(ctx, tx, "sandbox_calls", "id", ids)
}
