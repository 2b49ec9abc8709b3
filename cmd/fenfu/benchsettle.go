package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/fenfu/fenfu/bench"
)

// cmdBenchSettle generates a business day of paid orders and measures
// `fenfu settle` over it as a child process: wall time, CPU and peak
// resident memory, then a rerun, which must change nothing.
func cmdBenchSettle(ctx context.Context, e *env, args []string) error {
	b := newDayBench(e, 1_000_000, "settle")
	provable := b.fs.Bool("provable", false, "also write the ledgers' postings and the credit store's payments, so fenfu verify proves the day")
	profile := b.fs.String("settle-cpuprofile", "", "have the first fenfu settle write a CPU profile to this file")
	if err := b.parse(e, args); err != nil {
		return err
	}
	// A million generated orders do not prove (without --provable they
	// have no ledger postings): they go to a temporary store unless one
	// is named.
	date, took, remove, err := b.generate(ctx, e, "fenfu-bench-settle-", "Settle bench", *provable)
	if err != nil {
		return err
	}
	defer remove()
	run := bench.SettleRun{Label: b.label, Engine: storeKind(b.cfg), Orders: b.orders, Merchants: b.merchants, Generate: took.Seconds()}
	settleDay := func(extra ...string) (childRun, settleOutput, error) {
		var out settleOutput
		c, err := runChild(ctx, b.cfg, e.stderr, append([]string{"settle", "--date", date, "--json"}, extra...)...)
		if err != nil {
			return c, out, err
		}
		if err := json.Unmarshal(c.out, &out); err != nil {
			return c, out, fmt.Errorf("fenfu settle answered %q: %w", c.out, err)
		}
		return c, out, nil
	}
	var extra []string
	if *profile != "" {
		extra = []string{"--cpuprofile", *profile}
	}
	c, first, err := settleDay(extra...)
	if err != nil {
		return err
	}
	run.Results, run.Bills, run.BillTime, run.PeakHeap = first.Results, first.Bills, first.BillSeconds, first.PeakHeap
	run.BatchCPU, run.BillCPU = first.BatchCPU, first.BillCPU
	for _, r := range run.Results {
		run.Batches += r.Seconds
	}
	run.Seconds, run.CPU, run.PeakRSS = c.wall.Seconds(), c.cpu.Seconds(), c.peakRSS
	c, again, err := settleDay()
	if err != nil {
		return err
	}
	for _, r := range again.Results {
		if !r.Already {
			return fmt.Errorf("the rerun of %s settled again: %+v", date, r)
		}
	}
	run.Rerun = c.wall.Seconds()
	settled := 0
	for _, r := range run.Results {
		settled += r.Payments
	}
	if settled != b.orders {
		return fmt.Errorf("settled %d of %d orders", settled, b.orders)
	}
	return writeResult(e.stdout, b.out, b.asJSON, run, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "settlement of %d orders over %d merchants (%s): batches %.1f s (CPU %.1f s), %d bills %.1f s (CPU %.1f s); process %.1f s wall, %.1f s CPU, peak RSS %.0f MiB (Go heap %.1f MiB); rerun %.2f s, changed nothing\n",
			run.Orders, run.Merchants, run.Engine, run.Batches, run.BatchCPU, run.Bills, run.BillTime, run.BillCPU, run.Seconds, run.CPU, float64(run.PeakRSS)/(1<<20),
			float64(run.PeakHeap)/(1<<20), run.Rerun)
		return err
	})
}
