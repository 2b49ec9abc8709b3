package db_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestOrdersLayoutUpgrade: orders written before core migration 58 keep
// every column through it, and their refunds keep them. On SQLite the
// table is rebuilt clustered by (mchid, created_at, id), so a scan of the
// table meets a merchant's orders together in the order they were made,
// however the merchants' traffic interleaved; id is still unique and the
// refunds' foreign key still enforced. PostgreSQL's table is left as it was.
func TestOrdersLayoutUpgrade(t *testing.T) {
	// Three merchants' orders as traffic interleaves them, ids in no
	// merchant's order, one paid and settled, one refunded.
	var made, before []string
	order := func(t *testing.T, ctx context.Context, d *db.DB, i int) {
		t.Helper()
		mchid := fmt.Sprint("m", 3-i%3)
		id := fmt.Sprintf("o%02d", (i*7)%12+12*(i/12))
		made = append(made, id)
		exec(t, ctx, d, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
			notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, paid_at, settlement_id)
			VALUES ($1, $2, $3, 'app', 'NATIVE', $4, '', 'https://n.example/', '', $5, 'CNY', 'h', 'SUCCESS', $6, $7, $6, $6, $8)`,
			id, mchid, "t"+id, "goods "+id, 100+i, 1000+i, 9000+i, map[bool]string{true: "S1"}[i == 4])
	}
	dump := func(t *testing.T, ctx context.Context, d *db.DB) []string {
		t.Helper()
		rows, err := d.QueryContext(ctx, `SELECT * FROM orders ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range dbtest.Rows(t, rows) {
			out = append(out, fmt.Sprint(r...))
		}
		return out
	}
	upgrade(t, 58, func(t *testing.T, ctx context.Context, d *db.DB) {
		made = nil
		for i := range 12 {
			order(t, ctx, d, i)
		}
		exec(t, ctx, d, `INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url, params_hash, status, created_at)
			VALUES ('r1', 'm2', 'tr1', 'o07', 10, '', '', 'h', 'SUCCESS', 2000)`)
		before = dump(t, ctx, d)
	}, func(t *testing.T, ctx context.Context, d *db.DB) {
		var applied int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE module = 'core' AND version = 58`).Scan(&applied); err != nil || applied != 1 {
			t.Fatalf("core migration 58 applied %d times, %v", applied, err)
		}
		if after := dump(t, ctx, d); !slices.Equal(after, before) {
			t.Fatalf("orders after the upgrade:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
		}
		var refund string
		if err := d.QueryRowContext(ctx, `SELECT o.id FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = 'r1'`).Scan(&refund); err != nil || refund != "o07" {
			t.Fatalf("the refund's order: %q, %v", refund, err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
			notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at)
			VALUES ('o03', 'm9', 'other', 'app', 'NATIVE', '', '', '', '', 1, 'CNY', 'h', 'NOTPAY', 1, 2, 1)`); err == nil {
			t.Error("a second order with an id taken was accepted: id is no longer unique")
		}
		if d.Engine != db.SQLite {
			return
		}
		if _, err := d.Exec(ctx, `INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url, params_hash, status, created_at)
			VALUES ('r2', 'm2', 'tr2', 'none', 10, '', '', 'h', 'SUCCESS', 2000)`); err == nil {
			t.Error("a refund of no order was accepted: the foreign key is gone")
		}
		// Orders made after it, merchants interleaved again, go to their
		// merchant's place.
		for i := 12; i < 18; i++ {
			order(t, ctx, d, i)
		}
		// The table's own order: a scan that reads a column no index
		// holds (limit_pay, empty) and may not read an index.
		stored, err := d.Strings(ctx, `SELECT mchid || ' ' || created_at || limit_pay FROM orders NOT INDEXED`)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(stored) || len(stored) != len(made) {
			t.Errorf("the table stores its rows as %v: not by merchant and time", stored)
		}
	})
}
