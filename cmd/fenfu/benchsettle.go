package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// cmdBenchSettle generates a business day of paid orders and measures
// `fenfu settle` over it as a child process: wall time, CPU and peak
// resident memory, then a rerun, which must change nothing.
func cmdBenchSettle(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	orders := fs.Int("orders", 1_000_000, "paid orders to generate and settle")
	merchants := fs.Int("merchants", 100, "merchants the orders spread over")
	creditPct := fs.Int("credit-pct", 80, "percentage of orders paid on credit")
	refundPct := fs.Int("refund-pct", 10, "percentage of orders refunded in part the same day")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a line of text")
	outFile := fs.String("o", "", "also write the result as JSON to this file")
	label := fs.String("label", "", "a name for this run")
	provable := fs.Bool("provable", false, "also write the ledgers' postings and the credit store's payments, so fenfu verify proves the day")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	if *orders < 1 || *merchants < 1 {
		return e.usagef("--orders and --merchants must be positive")
	}
	// A million generated orders do not prove (without --provable they
	// have no ledger postings): they go to a temporary store unless one
	// is named.
	remove, err := cfg.temporaryStore(fs, "fenfu-bench-settle-")
	if err != nil {
		return err
	}
	defer remove()
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	date := settle.Yesterday(time.Now())
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	var ids []string
	for i := range *merchants {
		m, err := a.merchants.CreateSandbox(ctx, fmt.Sprintf("Settle bench %d", i), scheme.SM2)
		if err != nil {
			a.close()
			return err
		}
		ids = append(ids, m.MchID)
	}
	start := time.Now()
	day := bench.SettlementDay{Date: date, MchIDs: ids, Orders: *orders, CreditPct: *creditPct, RefundPct: *refundPct}
	if *provable {
		day.Credit = a.credit
	}
	err = bench.GenerateSettlementDay(ctx, a.core, day, meterOf(e.stderr, "generating "+date, "orders"))
	a.close()
	if err != nil {
		return err
	}
	run := bench.SettleRun{Label: *label, Engine: storeKind(cfg), Orders: *orders, Merchants: *merchants, Generate: time.Since(start).Seconds()}
	child := func() ([]byte, time.Duration, *syscall.Rusage, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, 0, nil, err
		}
		cmd := exec.CommandContext(ctx, exe, "settle", "--date", date, "--json", "--data-dir", cfg.DataDir,
			"--core-db", cfg.CoreDB, "--credit-db", cfg.CreditDB, "--sqlite-synchronous", cfg.Synchronous)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, e.stderr
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, 0, nil, fmt.Errorf("fenfu settle: %w", err)
		}
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return out.Bytes(), time.Since(t0), ru, nil
	}
	out, took, ru, err := child()
	if err != nil {
		return err
	}
	var first settleOutput
	if err := json.Unmarshal(out, &first); err != nil {
		return fmt.Errorf("fenfu settle answered %q: %w", out, err)
	}
	run.Results, run.Bills, run.BillTime, run.PeakHeap = first.Results, first.Bills, first.BillSeconds, first.PeakHeap
	for _, r := range run.Results {
		run.Batches += r.Seconds
	}
	run.Seconds = took.Seconds()
	if ru != nil {
		run.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		run.PeakRSS = ru.Maxrss * 1024
	}
	out, took, _, err = child()
	if err != nil {
		return err
	}
	var again settleOutput
	if err := json.Unmarshal(out, &again); err != nil {
		return err
	}
	for _, r := range again.Results {
		if !r.Already {
			return fmt.Errorf("the rerun of %s settled again: %+v", date, r)
		}
	}
	run.Rerun = took.Seconds()
	settled := 0
	for _, r := range run.Results {
		settled += r.Payments
	}
	if settled != *orders {
		return fmt.Errorf("settled %d of %d orders", settled, *orders)
	}
	return writeResult(e.stdout, *outFile, *asJSON, run, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "settlement of %d orders over %d merchants (%s): batches %.1f s, %d bills %.1f s; process %.1f s wall, %.1f s CPU, peak RSS %.0f MiB (Go heap %.1f MiB); rerun %.2f s, changed nothing\n",
			run.Orders, run.Merchants, run.Engine, run.Batches, run.Bills, run.BillTime, run.Seconds, run.CPU, float64(run.PeakRSS)/(1<<20),
			float64(run.PeakHeap)/(1<<20), run.Rerun)
		return err
	})
}
