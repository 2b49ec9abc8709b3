package db

import (
	"context"
	"fmt"
	"time"
)

// Scrub rewrites a SQLite store so that no page of its file or WAL keeps
// the bytes of rows since changed or deleted: VACUUM copies every live
// row into fresh pages, and a TRUNCATE checkpoint copies them back into
// the file and empties the WAL. It runs once after data was sealed in
// place, so the clear values it replaced do not linger in free space. It
// holds the store's write lock for as long as the copy takes. On
// PostgreSQL it does nothing: dead tuples there are the operator's VACUUM
// FULL to reclaim.
func (d *DB) Scrub(ctx context.Context) error {
	if d.Engine != SQLite {
		return nil
	}
	if _, err := d.W.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("db: %s store: VACUUM: %w", d.Name, err)
	}
	// The checkpoint reports busy, rather than waiting, while another
	// checkpoint (the background one) or a reader holds the WAL; it is
	// tried again until it has copied and emptied the whole WAL.
	for try := 0; ; try++ {
		var busy, logged, copied int
		if err := d.W.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &copied); err != nil {
			return fmt.Errorf("db: %s store: checkpoint: %w", d.Name, err)
		}
		if busy == 0 {
			return nil
		}
		if try == 1000 {
			return fmt.Errorf("db: %s store: the WAL stayed busy; the scrub did not finish", d.Name)
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
