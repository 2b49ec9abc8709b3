package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/fenfu/fenfu/bench"
)

// cmdBenchVerify generates a provable business day of paid orders and
// measures `fenfu verify` over it as a child process: wall time, CPU and
// peak resident memory.
func cmdBenchVerify(ctx context.Context, e *env, args []string) error {
	b := newDayBench(e, 100_000, "prove")
	if err := b.parse(e, args); err != nil {
		return err
	}
	_, took, remove, err := b.generate(ctx, e, "fenfu-bench-verify-", "Verify bench", true)
	if err != nil {
		return err
	}
	defer remove()
	run := bench.VerifyRun{Label: b.label, Engine: storeKind(b.cfg), Orders: b.orders, Merchants: b.merchants, Generate: took.Seconds()}
	c, err := runChild(ctx, b.cfg, e.stderr, "verify", "--json")
	if err != nil {
		return err
	}
	var p proof
	if err := json.Unmarshal(c.out, &p); err != nil {
		return fmt.Errorf("fenfu verify answered %q: %w", c.out, err)
	}
	run.Seconds, run.CPU, run.PeakRSS = c.wall.Seconds(), c.cpu.Seconds(), c.peakRSS
	run.Proved = "fenfu: " + p.String()
	run.ChainPositions = p.chainPositions()
	if p.Orders != b.orders || p.Paid != b.orders {
		return fmt.Errorf("fenfu verify proved %s, not %d paid orders", p, b.orders)
	}
	return writeResult(e.stdout, b.out, b.asJSON, run, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "verify of %d orders over %d merchants (%s): %.1f s wall, %.1f s CPU, peak RSS %.0f MiB (generated in %.1f s)\n",
			run.Orders, run.Merchants, run.Engine, run.Seconds, run.CPU, float64(run.PeakRSS)/(1<<20), run.Generate)
		return err
	})
}
