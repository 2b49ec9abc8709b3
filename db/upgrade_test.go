package db_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestNotifyOutboxUpgrade: a store that kept notification state on its
// orders and refunds (before core migration 13) keeps every event when it
// moves to the outbox: pending ones stay due, delivered and failed ones
// keep their state and attempts, and rows that never had a notification
// get none.
func TestNotifyOutboxUpgrade(t *testing.T) {
	upgrade(t, 13, func(t *testing.T, ctx context.Context, d *db.DB) {
		order := func(id, state string, attempts int, at int64) {
			t.Helper()
			exec(t, ctx, d, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
				notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, paid_at,
				notify_state, notify_attempts, notify_at)
				VALUES ($1, 'm1', $1, 'wx', 'NATIVE', 'd', '', 'https://m.example/n', '', 100, 'CNY', '', 'SUCCESS', 1, 2, 3, 4,
				$2, $3, $4)`, id, state, attempts, at)
		}
		order("4200A", "PENDING", 2, 5_000_000)
		order("4200B", "DELIVERED", 1, 0)
		order("4200C", "", 0, 0) // never notified
		exec(t, ctx, d, `INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url, params_hash,
			status, created_at, success_at, notify_state, notify_attempts, notify_at)
			VALUES ('5030A', 'm1', 'r1', '4200A', 50, '', 'https://m.example/r', '', 'SUCCESS', 6, 7, 'FAILED', 16, 0)`)
	}, func(t *testing.T, ctx context.Context, d *db.DB) {
		type row struct {
			kind, mchid, url, state string
			attempts                int
			due                     int64
		}
		got := map[string]row{}
		rows, err := d.QueryContext(ctx, `SELECT ref, kind, mchid, notify_url, state, attempts, due_at FROM notify_outbox`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			var r row
			if err := rows.Scan(&ref, &r.kind, &r.mchid, &r.url, &r.state, &r.attempts, &r.due); err != nil {
				t.Fatal(err)
			}
			got[ref] = r
		}
		want := map[string]row{
			"4200A": {"transaction", "m1", "https://m.example/n", "PENDING", 2, 5_000_000},
			"4200B": {"transaction", "m1", "https://m.example/n", "DELIVERED", 1, 0},
			"5030A": {"refund", "m1", "https://m.example/r", "FAILED", 16, 0},
		}
		if len(got) != len(want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		for ref, w := range want {
			if got[ref] != w {
				t.Errorf("%s: %+v, want %+v", ref, got[ref], w)
			}
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("orders after the upgrade: %d, %v", n, err)
		}
		if _, err := d.Exec(ctx, `UPDATE orders SET notify_state = 'X'`); err == nil {
			t.Error("orders still have notify_state after the upgrade")
		}
	})
}

// upgrade runs on each engine an upgrade of a core store from the
// release before core migration version: write puts that release's rows
// in, the store migrates up, and check reads what became of them.
func upgrade(t *testing.T, version int, write, check func(t *testing.T, ctx context.Context, d *db.DB)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d, _ := oldCore(t, ctx, engine, version, fenfu.SystemClock{})
			write(t, ctx, d)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			check(t, ctx, d)
		})
	}
}

// oldCore is a new core store on engine, closed when the test ends, as
// the release before core migration version left it, and its DSN.
func oldCore(t *testing.T, ctx context.Context, engine db.Engine, version int, clock fenfu.Clock) (*db.DB, string) {
	t.Helper()
	dsn := dbtest.DSN(t, engine, "core")
	d, err := db.Open(ctx, "core", dsn, clock, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := db.MigrateBefore(ctx, d, "core", version); err != nil {
		t.Fatal(err)
	}
	return d, dsn
}

// exec runs a statement that writes a test's rows, failing the test if
// it fails.
func exec(t *testing.T, ctx context.Context, d *db.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Exec(ctx, q, args...); err != nil {
		t.Fatal(err)
	}
}
