package db

import (
	"context"
	"fmt"
)

// PostgreSQL's transaction ids (xid8, 64-bit, never wrapping), for
// readers that order rows by the transaction that wrote them, as the
// ledger's chain orders ledger_txns by their commit_order column, whose
// DEFAULT is the writing transaction's id. Kept here, with the rest of
// what differs between the engines. SQLite has one writer and no such ids.

// FinishedBelow returns the xmin of the snapshot of the statement it runs,
// in q (a transaction, or d's pool when q is nil): the oldest transaction
// id still running in the cluster, or the next one to be assigned if none
// is. Every transaction with a smaller id has committed or aborted, its
// rows visible to this snapshot and any later one, and no transaction can
// take a smaller id any more.
func (d *DB) FinishedBelow(ctx context.Context, tx *Tx) (int64, error) {
	return d.xactID(ctx, tx, `SELECT `+FinishedBelowSQL)
}

// FinishedBelowSQL is FinishedBelow as a PostgreSQL expression, for a
// statement that reads the horizon together with the rows below it, in
// the one snapshot.
const FinishedBelowSQL = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

// NextXact returns the xmax of a new snapshot: every transaction that
// committed before the call has a smaller id.
func (d *DB) NextXact(ctx context.Context) (int64, error) {
	return d.xactID(ctx, nil, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`)
}

func (d *DB) xactID(ctx context.Context, tx *Tx, q string) (int64, error) {
	if d.Engine != Postgres {
		return 0, fmt.Errorf("db: %s store: transaction ids are PostgreSQL's", d.Name)
	}
	var id int64
	var err error
	if tx != nil {
		err = tx.QueryRowContext(ctx, q).Scan(&id)
	} else {
		err = d.QueryRowContext(ctx, q).Scan(&id)
	}
	return id, err
}
