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
	"github.com/fenfu/fenfu/pay"
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
	// Rows per statement: a few dozen keep pay.LoadPaid's statements cheap.
	const batch = 64
	for done := 0; done < d.Orders; {
		n := min(batch, d.Orders-done)
		orders := make([]pay.Paid, 0, n)
		for i := range n {
			seq := done + i
			id := fmt.Sprintf("4200%s%010d", strings.ReplaceAll(d.Date, "-", "")+"000000", seq)
			o := pay.Paid{ID: id, MchID: d.MchIDs[seq%len(d.MchIDs)], OutTradeNo: "B" + id, Total: fenfu.Fen(rng.IntN(100_000) + 100)}
			sched := fee.CreditPay
			o.Channel = pay.ChannelCredit
			if rng.IntN(100) >= d.CreditPct {
				o.Channel, sched = pay.ChannelBalance, fee.Ordinary
			}
			o.Fee = sched.Price(o.Total, 0, 0)
			o.PaidAt = day.Add(time.Duration(rng.Int64N(int64(24*time.Hour - time.Hour))))
			if rng.IntN(100) < d.RefundPct {
				o.RefundID, o.Refund, o.RefundedAt = "5030"+id[4:]+"0", o.Total/2, o.PaidAt.Add(30*time.Minute)
				o.RefundFee = fee.RefundFee(o.Fee.Fee, o.Total, 0, o.Refund)
			}
			orders = append(orders, o)
		}
		err := core.Update(ctx, func(tx *db.Tx) error { return pay.LoadPaid(ctx, tx, orders) })
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
