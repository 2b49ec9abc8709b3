package db

import "context"

// MigrateBefore applies the store's migrations older than module's
// version, leaving the store as the release before it left it.
func MigrateBefore(ctx context.Context, d *DB, module string, version int) ([]string, error) {
	return d.migrate(ctx, func(m string, v int) bool { return m == module && v >= version })
}
