package settle_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// TestGeneratedDaySettlesAsTheAggregatesSay settles a generated business
// day (both channels, same-day refunds, some payments held) and checks each
// settlement against what aggregates over the orders and refunds, grouped
// by merchant and channel before the batch, say it must take: the totals
// the batch computed as it marked its rows are those of the rows it marked.
// A rerun changes nothing.
func TestGeneratedDaySettlesAsTheAggregatesSay(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			const date = "2026-11-20"
			end, err := settle.Day(date)
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, engine, end.Add(3*time.Hour), 5)
			var ids []string
			for _, m := range w.merchants {
				ids = append(ids, m.MchID)
			}
			if err := bench.GenerateSettlementDay(ctx, w.core, bench.SettlementDay{Date: date, MchIDs: ids, Orders: 3000,
				CreditPct: 70, RefundPct: 15}, nil); err != nil {
				t.Fatal(err)
			}
			// Hold a few payments past the day: the batch leaves them.
			held, err := w.core.Strings(ctx, `SELECT id FROM orders ORDER BY out_trade_no LIMIT 9`)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range held {
				if err := pay.Hold(ctx, w.core, id, end.Add(48*time.Hour), "review"); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]settle.Settlement{}
			at := db.Micros(end)
			rows, err := w.core.QueryContext(ctx, `SELECT mchid, channel, COUNT(*), SUM(total), SUM(fee), SUM(plan_fee) FROM orders
				WHERE settlement_id = '' AND state IN ('SUCCESS', 'REFUND') AND paid_at < $1 AND hold_until < $1 GROUP BY mchid, channel`, at)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var x settle.Settlement
				if err := rows.Scan(&x.MchID, &x.Channel, &x.Payments, &x.PaymentAmount, &x.PaymentFees, &x.PlanFees); err != nil {
					t.Fatal(err)
				}
				want[settle.ID(date, x.Channel, x.MchID)] = x
			}
			rows.Close()
			rows, err = w.core.QueryContext(ctx, `SELECT mchid, channel, COUNT(*), SUM(amount), SUM(fee), SUM(plan_fee) FROM refunds
				WHERE settlement_id = '' AND status = 'SUCCESS' AND created_at < $1 GROUP BY mchid, channel`, at)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var mchid, channel string
				var n int
				var amount, fees, planFees fenfu.Fen
				if err := rows.Scan(&mchid, &channel, &n, &amount, &fees, &planFees); err != nil {
					t.Fatal(err)
				}
				id := settle.ID(date, channel, mchid)
				x := want[id]
				x.Refunds, x.RefundAmount, x.RefundFees, x.RefundPlanFees = n, amount, fees, planFees
				want[id] = x
			}
			rows.Close()
			if len(want) != 2*len(ids) {
				t.Fatalf("the generated day has %d merchant-channels, want %d", len(want), 2*len(ids))
			}
			results, err := w.settle.Run(ctx, date)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.settle.List(ctx, settle.Filter{Date: date})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d settlements, want %d", len(got), len(want))
			}
			payments := 0
			for _, x := range got {
				e := want[x.ID]
				e.Net = (e.PaymentAmount - e.PaymentFees - e.PlanFees) - (e.RefundAmount - e.RefundFees - e.RefundPlanFees)
				if x.Payments != e.Payments || x.PaymentAmount != e.PaymentAmount || x.PaymentFees != e.PaymentFees ||
					x.PlanFees != e.PlanFees || x.Refunds != e.Refunds || x.RefundAmount != e.RefundAmount ||
					x.RefundFees != e.RefundFees || x.RefundPlanFees != e.RefundPlanFees || x.Net != e.Net || x.State != settle.Settled {
					t.Errorf("%s: settled %+v, the aggregates say %+v", x.ID, x, e)
				}
				// The rows marked with the settlement are those it counted.
				var n int
				var total fenfu.Fen
				if err := w.core.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(total), 0) FROM orders WHERE settlement_id = $1`, x.ID).Scan(&n, &total); err != nil {
					t.Fatal(err)
				}
				if n != x.Payments || total != x.PaymentAmount {
					t.Errorf("%s: %d orders of %s fen marked, settled %d of %s", x.ID, n, fenfu.Yuan(total), x.Payments, fenfu.Yuan(x.PaymentAmount))
				}
				payments += x.Payments
			}
			if payments != 3000-len(held) {
				t.Errorf("settled %d payments, want %d", payments, 3000-len(held))
			}
			var net fenfu.Fen
			for _, r := range results {
				net += r.Net
			}
			again, err := w.settle.Run(ctx, date)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range again {
				if !r.Already || r.Payments != 0 || r.Net != 0 {
					t.Errorf("the rerun settled again: %+v", r)
				}
			}
			var after int
			if err := w.core.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE settlement_id <> ''`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if after != payments {
				t.Errorf("after the rerun %d orders are settled, want %d", after, payments)
			}
			if net == 0 {
				t.Error("nothing moved")
			}
		})
	}
}
