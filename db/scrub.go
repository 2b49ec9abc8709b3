package db

import (
	"context"
	"fmt"
)

// Scrub rewrites a SQLite store so that no page of its file or WAL keeps
// the bytes of rows since changed or deleted: VACUUM copies every live
// row into fresh pages, and a TRUNCATE checkpoint empties the WAL. It
// runs once after data was sealed in place, so the clear values it
// replaced do not linger in free space. It holds the store's write lock
// for as long as the copy takes. On PostgreSQL it does nothing: dead
// tuples there are the operator's VACUUM FULL to reclaim.
func (d *DB) Scrub(ctx context.Context) error {
	if d.Engine != SQLite {
		return nil
	}
	for _, q := range []string{"VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("db: %s store: %s: %w", d.Name, q, err)
		}
	}
	return nil
}
