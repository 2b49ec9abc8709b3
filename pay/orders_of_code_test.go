package pay_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// TestOrdersOfCodeAreReadThroughTheirIndex: listing and counting an
// aggregate code's orders (OrdersOfCode's own queries) is planned through
// the index of the codes' orders (core 0038), not by reading every order
// the merchant ever had and sorting them: a till's code of a merchant
// with a million orders lists its ten newest at once. The index is
// partial, of the orders made from a code; on PostgreSQL the plan is the
// generic one a prepared statement comes to, which knows no code.
func TestOrdersOfCodeAreReadThroughTheirIndex(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			e := newEnv(t, engine)
			ctx := t.Context()
			for i := range 300 {
				e.order(t, fmt.Sprintf("ORDER-%06d", i), 100)
			}
			var made []string
			for i, code := range []string{"agg_till3", "agg_till3", "agg_table12", "agg_till3"} {
				r := e.native(fmt.Sprintf("AGG-ORDER-%d", i), 100)
				r.AggregateCode = code
				o, err := e.pay.CreateNative(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				if code == "agg_till3" {
					made = append([]string{o.OutTradeNo}, made...)
				}
				e.clock.Advance(time.Second)
			}
			list, n, err := e.pay.OrdersOfCode(ctx, e.m.MchID, "agg_till3", 10, 0)
			var got []string
			for _, o := range list {
				got = append(got, o.OutTradeNo)
			}
			if err != nil || n != 3 || strings.Join(got, " ") != strings.Join(made, " ") {
				t.Fatalf("the code's orders: %v of %d, %v; want %v, newest first", got, n, err, made)
			}
			for _, q := range pay.OrdersOfCodeSQL(engine) {
				if p := dbtest.Plan(t, e.pay.Core, q, e.m.MchID, "agg_till3", 10, 0); !strings.Contains(p, "orders_aggregate_code") {
					t.Errorf("%s\nis planned as\n%s\nnot through the index of the codes' orders", q, p)
				}
			}
		})
	}
}
