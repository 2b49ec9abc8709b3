package db_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu/db"
)

// TestSettlementExceptionsBecomeTickets: a store whose settlement
// exception requests kept their own status and due time (before core
// migration 41) gives each request a SETTLEMENT_DELAY ticket of its id:
// an open one stays open and due when it was, to be escalated; one
// resolved is a resolved ticket and one rejected a ticket closed without
// a fix, each answered when it was, with its answer in its history; the
// request keeps its day or order and its attachment.
func TestSettlementExceptionsBecomeTickets(t *testing.T) {
	upgrade(t, 41, func(t *testing.T, ctx context.Context, d *db.DB) {
		exec(t, ctx, d, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach, notify_url,
			limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, paid_at)
			VALUES ('4200A', 'm1', 'SHOP-0001', 'wx', 'NATIVE', 'd', '', 'https://m.example/n', '', 100, 'CNY', '', 'SUCCESS', 1, 2, 3, 4)`)
		for _, x := range []struct {
			id, date, no, status, resolution string
			resolved                         int64
		}{
			{"SE1", "2026-11-26", "", "OPEN", "", 0},
			{"SE2", "", "SHOP-0001", "RESOLVED", "paid — staff:amy", 5_000},
			{"SE3", "2026-11-25", "", "REJECTED", "nothing was due — staff:amy", 6_000},
		} {
			exec(t, ctx, d, `INSERT INTO settlement_exceptions (id, mchid, settle_date, out_trade_no, description, attachment_name,
				attachment, attachment_sha256, status, resolution, created_at, due_at, resolved_at)
				VALUES ($1, 'm1', $2, $3, 'late', 'a.csv', 'sealed', 'sum', $4, $5, 1000, 2000, $6)`,
				x.id, x.date, x.no, x.status, x.resolution, x.resolved)
		}
	}, func(t *testing.T, ctx context.Context, d *db.DB) {
		type row struct {
			typ, source, subject, description, txn, status, resolution string
			sla, due, first, escalateAt, resolved, closed, events      int64
		}
		want := map[string]row{
			"SE1": {"SETTLEMENT_DELAY", "MERCHANT", "Settlement exception: 2026-11-26", "late", "", "OPEN", "", 1000, 2000, 0, 2000, 0, 0, 1},
			"SE2": {"SETTLEMENT_DELAY", "MERCHANT", "Settlement exception: order SHOP-0001", "late", "4200A", "RESOLVED", "paid — staff:amy",
				1000, 2000, 5000, 0, 5000, 0, 2},
			"SE3": {"SETTLEMENT_DELAY", "MERCHANT", "Settlement exception: 2026-11-25", "late", "", "CLOSED", "nothing was due — staff:amy",
				1000, 2000, 6000, 0, 0, 6000, 2},
		}
		for id, w := range want {
			var r row
			if err := d.QueryRowContext(ctx, `SELECT type, source, subject, description, transaction_id, status, resolution, sla_us, due_at,
				first_response_at, escalate_at, resolved_at, closed_at, events FROM tickets WHERE id = $1`, id).Scan(&r.typ, &r.source,
				&r.subject, &r.description, &r.txn, &r.status, &r.resolution, &r.sla, &r.due, &r.first, &r.escalateAt, &r.resolved,
				&r.closed, &r.events); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if r != w {
				t.Errorf("%s became\n%+v\nwant\n%+v", id, r, w)
			}
		}
		var events, answers int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN body <> '' THEN 1 END) FROM ticket_events`).Scan(&events, &answers); err != nil ||
			events != 5 || answers != 2 {
			t.Errorf("%d events, %d with an answer: %v", events, answers, err)
		}
		var date, no, att string
		if err := d.QueryRowContext(ctx, `SELECT settle_date, out_trade_no, attachment FROM settlement_exceptions WHERE id = 'SE2'`).
			Scan(&date, &no, &att); err != nil || no != "SHOP-0001" || att != "sealed" {
			t.Errorf("the request keeps %q %q %q: %v", date, no, att, err)
		}
		if _, err := d.QueryContext(ctx, `SELECT status FROM settlement_exceptions`); err == nil {
			t.Error("the request still has a status of its own")
		}
	})
}
