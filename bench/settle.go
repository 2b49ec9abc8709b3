package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// SettleRun is what `fenfu bench settle` measured of one settlement run:
// `fenfu settle` over a generated day, as a child process.
type SettleRun struct {
	Label     string  `json:"label"`
	Engine    string  `json:"engine"`
	Orders    int     `json:"orders"`
	Merchants int     `json:"merchants"`
	Generate  float64 `json:"generate_seconds"`
	Seconds   float64 `json:"settle_seconds"` // the whole process: open, batches, bills
	CPU       float64 `json:"settle_cpu_seconds"`
	PeakRSS   int64   `json:"settle_peak_rss_bytes"`
	PeakHeap  uint64  `json:"settle_peak_heap_bytes"`
	Rerun     float64 `json:"rerun_seconds"`
	Batches   float64 `json:"batch_seconds"` // the batches alone, without rendering bills
	Bills     int     `json:"bills"`
	BillTime  float64 `json:"bill_seconds"`
	// BatchCPU and BillCPU are fenfu settle's CPU time over the batches
	// and over the bills, user and system: on a busy machine, steadier
	// than their wall times.
	BatchCPU float64         `json:"batch_cpu_seconds"`
	BillCPU  float64         `json:"bill_cpu_seconds"`
	Results  []settle.Result `json:"results"`
}

// VerifyRun is what `fenfu bench verify` measured of `fenfu verify` over
// a generated, provable day, as a child process.
type VerifyRun struct {
	Label     string  `json:"label"`
	Engine    string  `json:"engine"`
	Orders    int     `json:"orders"`
	Merchants int     `json:"merchants"`
	Generate  float64 `json:"generate_seconds"`
	Seconds   float64 `json:"verify_seconds"` // the whole process: open, proofs
	CPU       float64 `json:"verify_cpu_seconds"`
	PeakRSS   int64   `json:"verify_peak_rss_bytes"`
	Proved    string  `json:"proved"` // what fenfu verify said
	// ChainPositions are the positions of each store's ledger chain
	// that fenfu verify checked (after sealing what was sealable), by
	// store; absent in runs made before the chain existed.
	ChainPositions map[string]int64 `json:"chain_positions,omitempty"`
}

// SettlementDay describes a business day of paid orders generated for the
// settlement benchmark.
type SettlementDay struct {
	Date      string   // YYYY-MM-DD
	MchIDs    []string // the merchants, provisioned by the caller
	Orders    int      // paid orders, spread over the merchants and the day
	CreditPct int      // percentage paid on credit; the rest ordinary
	RefundPct int      // percentage refunded in part the same day
	// Credit is the credit store. When it is set the day is provable:
	// the generator also writes what the payment path would have, so
	// `fenfu verify` proves it (see GenerateSettlementDay).
	Credit *db.DB
	// Consumers pay the orders, in runs of a few; 0 chooses one per 200
	// orders, at most 5,000. Only a provable day has consumers.
	Consumers int
}

// consumerRun is how many consecutive orders one consumer pays, so that a
// batch of orders changes a few lines and balances, not one per order.
const consumerRun = 16

// maxTotal bounds a generated order's total.
const maxTotal = 100_100

// GenerateSettlementDay writes a day of paid orders (and same-day partial
// refunds) straight into the core store, in multi-row inserts of a few
// thousand rows per transaction, as the payment path would have left
// them: state, channel, fee, rate and tier, paid time within the day.
// Without d.Credit it writes only what a settlement batch reads; the
// ledgers are not posted, so the generated store does not prove. With it,
// the day is provable: consumers with balances and credit lines long
// enough, each balance order's payment and refund postings in the core
// ledger, each credit order's captured payment and refund, line usage and
// postings in the credit store, built by the entry builders the proofs
// use. It reports progress, in orders, to report (if not nil).
func GenerateSettlementDay(ctx context.Context, core *db.DB, d SettlementDay, report Progress) error {
	day, err := time.ParseInLocation(time.DateOnly, d.Date, fenfu.Shanghai)
	if err != nil {
		return err
	}
	if len(d.MchIDs) == 0 || d.Orders < 1 {
		return fmt.Errorf("bench: need merchants and orders")
	}
	rng := rand.New(rand.NewPCG(uint64(d.Orders), 7))
	var consumers []string
	if d.Credit != nil {
		var err error
		if consumers, err = fundConsumers(ctx, core, d); err != nil {
			return err
		}
	}
	// Rows per statement: a few dozen keep pay.LoadPaid's statements cheap.
	const batch = 64
	for done := 0; done < d.Orders; {
		n := min(batch, d.Orders-done)
		orders := make([]pay.Paid, 0, n)
		for i := range n {
			seq := done + i
			id := fmt.Sprintf("4200%s%010d", strings.ReplaceAll(d.Date, "-", "")+"000000", seq)
			o := pay.Paid{ID: id, MchID: d.MchIDs[seq%len(d.MchIDs)], OutTradeNo: "B" + id, Total: fenfu.Fen(rng.IntN(maxTotal-100) + 100)}
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
			if consumers != nil {
				o.ConsumerID, o.AttemptID = consumers[seq/consumerRun%len(consumers)], "A"+id
			}
			orders = append(orders, o)
		}
		err := core.Update(ctx, func(tx *db.Tx) error {
			if err := pay.LoadPaid(ctx, tx, orders); err != nil {
				return err
			}
			if consumers == nil {
				return nil
			}
			return ledger.PostMany(ctx, tx, balancePostings(orders))
		})
		if err == nil && consumers != nil {
			err = d.Credit.Update(ctx, func(tx *db.Tx) error { return credit.LoadCaptured(ctx, tx, captured(orders)) })
		}
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

// fundConsumers loads the consumers of a provable day, each with a balance
// in the core store and a credit line in the credit store that cover every
// order it could pay, and returns their ids.
func fundConsumers(ctx context.Context, core *db.DB, d SettlementDay) ([]string, error) {
	n := d.Consumers
	if n < 1 {
		n = min(max(d.Orders/200, 1), 5000)
	}
	runs := (d.Orders + consumerRun - 1) / consumerRun
	most := fenfu.Fen((runs+n-1)/n*consumerRun) * maxTotal
	ids := make([]string, n)
	for lo := 0; lo < n; lo += 500 {
		hi := min(lo+500, n)
		cs := make([]consumer.Funded, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids[i] = fmt.Sprintf("CB%s%06d", strings.ReplaceAll(d.Date, "-", ""), i)
			cs = append(cs, consumer.Funded{ID: ids[i], Balance: most})
		}
		if err := core.Update(ctx, func(tx *db.Tx) error { return consumer.LoadFunded(ctx, tx, cs) }); err != nil {
			return nil, fmt.Errorf("bench: generate consumers: %w", err)
		}
		err := d.Credit.Update(ctx, func(tx *db.Tx) error {
			for _, id := range ids[lo:hi] {
				if err := credit.Open(ctx, tx, id, most, "A"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("bench: generate credit lines: %w", err)
		}
	}
	return ids, nil
}

// balancePostings returns the core ledger's payment and refund
// transactions of the balance orders, as the payment path posts them.
func balancePostings(orders []pay.Paid) []ledger.Txn {
	var txns []ledger.Txn
	for _, o := range orders {
		if o.Channel != pay.ChannelBalance {
			continue
		}
		payer := consumer.BalanceAccount(o.ConsumerID)
		txns = append(txns, ledger.Txn{Kind: "payment", Ref: o.ID,
			Entries: ledger.PaymentEntries(payer, o.MchID, o.Total, o.Fee.Fee, pay.OrdinaryFeeAccount)})
		if o.Refund > 0 {
			txns = append(txns, ledger.Txn{Kind: "refund", Ref: o.RefundID,
				Entries: ledger.RefundEntries(payer, o.MchID, o.Refund, o.RefundFee, pay.OrdinaryFeeAccount)})
		}
	}
	return txns
}

// captured returns the credit orders' captured payments and refunds.
func captured(orders []pay.Paid) []credit.Load {
	var ps []credit.Load
	for _, o := range orders {
		if o.Channel != pay.ChannelCredit {
			continue
		}
		ps = append(ps, credit.Load{AttemptID: o.AttemptID, OrderID: o.ID, MchID: o.MchID, ConsumerID: o.ConsumerID,
			Amount: o.Total, Fee: o.Fee, At: o.PaidAt, RefundID: o.RefundID, Refund: o.Refund, RefundFee: o.RefundFee,
			RefundedAt: o.RefundedAt})
	}
	return ps
}
