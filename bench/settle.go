package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/settle"
)

// SettleRun is what `fenfu bench settle` measured of one settlement run:
// `fenfu settle` over a generated day, as a child process.
type SettleRun struct {
	Label     string          `json:"label"`
	Engine    string          `json:"engine"`
	Orders    int             `json:"orders"`
	Merchants int             `json:"merchants"`
	Generate  float64         `json:"generate_seconds"`
	Seconds   float64         `json:"settle_seconds"` // the whole process: open, batches, bills
	CPU       float64         `json:"settle_cpu_seconds"`
	PeakRSS   int64           `json:"settle_peak_rss_bytes"`
	PeakHeap  uint64          `json:"settle_peak_heap_bytes"`
	Rerun     float64         `json:"rerun_seconds"`
	Batches   float64         `json:"batch_seconds"` // the batches alone, without rendering bills
	Bills     int             `json:"bills"`
	BillTime  float64         `json:"bill_seconds"`
	Results   []settle.Result `json:"results"`
}

// SettlementDay describes a business day of paid orders generated for the
// settlement benchmark.
type SettlementDay struct {
	Date      string   // YYYY-MM-DD
	MchIDs    []string // the merchants, provisioned by the caller
	Orders    int      // paid orders, spread over the merchants and the day
	CreditPct int      // percentage paid on credit; the rest ordinary
	RefundPct int      // percentage refunded in part the same day
}

// GenerateSettlementDay writes a day of paid orders (and same-day partial
// refunds) straight into the core store, in multi-row inserts of a few
// thousand rows per transaction, as the payment path would have left
// them: state, channel, fee, rate and tier, paid time within the day. It
// writes only what a settlement batch reads; the ledgers are not posted,
// so the generated store does not prove (see BENCHMARKS.md). It reports
// progress, in orders, to report (if not nil).
func GenerateSettlementDay(ctx context.Context, core *db.DB, d SettlementDay, report Progress) error {
	day, err := time.ParseInLocation(time.DateOnly, d.Date, fenfu.Shanghai)
	if err != nil {
		return err
	}
	if len(d.MchIDs) == 0 || d.Orders < 1 {
		return fmt.Errorf("bench: need merchants and orders")
	}
	rng := rand.New(rand.NewPCG(uint64(d.Orders), 7))
	// Rows per statement: SQLite resolves $N parameters by a linear
	// search, so a statement's cost grows with the square of its
	// parameters; a few hundred rows per statement stays cheap.
	const batch = 64
	for done := 0; done < d.Orders; {
		n := min(batch, d.Orders-done)
		var q strings.Builder
		var rq strings.Builder
		args := make([]any, 0, n*12)
		var rargs []any
		q.WriteString(`INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach, notify_url, limit_pay,
			total, currency, params_hash, state, channel, consumer_id, attempt_id, refunded, refund_count, created_at, expires_at,
			updated_at, paid_at, fee, fee_rate, fee_tier) VALUES `)
		rq.WriteString(`INSERT INTO refunds (id, mchid, out_refund_no, order_id, amount, reason, notify_url, params_hash, status,
			created_at, success_at, fee, channel) VALUES `)
		for i := range n {
			seq := done + i
			mchid := d.MchIDs[seq%len(d.MchIDs)]
			id := fmt.Sprintf("4200%s%010d", strings.ReplaceAll(d.Date, "-", "")+"000000", seq)
			total := fenfu.Fen(rng.IntN(100_000) + 100)
			channel, sched := "credit", fee.CreditPay
			if rng.IntN(100) >= d.CreditPct {
				channel, sched = "balance", fee.Ordinary
			}
			quote := sched.Price(total, 0, 0)
			paid := day.Add(time.Duration(rng.Int64N(int64(24*time.Hour - time.Hour))))
			state, refunded, refundCount := "SUCCESS", fenfu.Fen(0), 0
			if rng.IntN(100) < d.RefundPct {
				refunded, refundCount, state = total/2, 1, "REFUND"
				back := fee.RefundFee(quote.Fee, total, 0, refunded)
				if len(rargs) > 0 {
					rq.WriteByte(',')
				}
				k := len(rargs)
				fmt.Fprintf(&rq, "($%d,$%d,$%d,$%d,$%d,'','','','SUCCESS',$%d,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9)
				at := db.Micros(paid.Add(30 * time.Minute))
				rargs = append(rargs, "5030"+id[4:]+"0", mchid, "R"+id, id, refunded, at, at, back, channel)
			}
			if i > 0 {
				q.WriteByte(',')
			}
			k := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,'wxbench','NATIVE','Goods','','https://shop.example/n','',$%d,'CNY','',$%d,$%d,'c','a',$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)",
				k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10, k+11, k+12, k+13, k+14, k+15)
			p := db.Micros(paid)
			args = append(args, id, mchid, "B"+id, total, state, channel, refunded, refundCount, p, p+int64(time.Hour/time.Microsecond), p, p,
				quote.Fee, int64(quote.Rate), quote.Tier)
		}
		err := core.Update(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
			if len(rargs) > 0 {
				if _, err := tx.ExecContext(ctx, rq.String(), rargs...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bench: generate orders: %w", err)
		}
		done += n
		if report != nil {
			report(done, d.Orders)
		}
	}
	return nil
}
