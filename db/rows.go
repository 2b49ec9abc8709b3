package db

import (
	"context"
	"database/sql"
)

// Scanner is what a row is read from: *sql.Rows and *sql.Row both are,
// so a store's scanX(row Scanner) reads one row or each of a query's.
type Scanner = interface{ Scan(dest ...any) error }

// Querier runs a query: a *DB (on its reader pool), a *Tx, or the
// *sql.DB or *sql.Tx under them.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Collect reads every row of rows with scan, in order, and closes rows.
// It returns the rows read (empty, not nil, when there are none), or the
// first error of a scan or of reading rows.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	out := []T{}
	if err := Each(rows, scan, func(x T) error {
		out = append(out, x)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// Each reads the rows of rows with scan and calls fn with each, in order,
// then closes rows: for a read too long to hold, as a proof streams a
// store. It stops at the first error of a scan, of fn or of reading
// rows, and returns it.
func Each[T any](rows *sql.Rows, scan func(Scanner) (T, error), fn func(T) error) error {
	defer rows.Close()
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(x); err != nil {
			return err
		}
	}
	return rows.Err()
}

// All runs the query q on db and collects its rows with scan.
func All[T any](ctx context.Context, db Querier, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}
