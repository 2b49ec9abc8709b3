package aggregate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// TestCodeOrdersAreReadThroughTheirIndex: listing and counting a code's
// orders (pay.OrdersOfCode's WHERE mchid = ? AND aggregate_code = ?,
// newest first) is read through an index of the code's orders on the
// default store, not by reading every order the merchant ever had and
// sorting them: a till's code of a merchant with a million orders lists
// its ten newest at once. The migration's index is partial, of the
// orders whose aggregate_code is not empty, and SQLite cannot use it for
// `aggregate_code = ?`, which does not imply that.
func TestCodeOrdersAreReadThroughTheirIndex(t *testing.T) {
	w := newWorld(t, db.SQLite)
	ctx := t.Context()
	c := w.code(t, aggregate.NewCode{Label: "Till 3"})
	for i := range 300 {
		if _, err := w.orders.CreateNative(ctx, pay.NativeOrder{MchID: w.shop.MchID, AppID: w.shop.AppID, Description: "Noodles",
			OutTradeNo: fmt.Sprintf("ORDER-%06d", i), NotifyURL: "https://shop.example/n", Total: 100}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := w.svc.Order(ctx, c.Token, "c_alice", w.svc.Nonce(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.DB.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id FROM orders WHERE mchid = $1 AND aggregate_code = $2 ORDER BY created_at DESC, id DESC LIMIT 10 OFFSET 0`,
		`SELECT COUNT(*) FROM orders WHERE mchid = $1 AND aggregate_code = $2`,
	} {
		rows, err := w.svc.DB.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, w.shop.MchID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused any
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "aggregate_code=?") {
			t.Errorf("%s\nis planned as %q: every order of the merchant is read, not the code's", q, p)
		}
	}
	if list, n, err := w.svc.Orders(ctx, w.shop.MchID, c.ID, 10, 0); err != nil || n != 3 || len(list) != 3 {
		t.Fatalf("the code's orders: %d, %d, %v", len(list), n, err)
	}
}
