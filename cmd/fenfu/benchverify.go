package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

var provedRE = regexp.MustCompile(`(\d+) orders, (\d+) paid`)

// cmdBenchVerify generates a provable business day of paid orders and
// measures `fenfu verify` over it as a child process: wall time, CPU and
// peak resident memory.
func cmdBenchVerify(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	orders := fs.Int("orders", 100_000, "paid orders to generate and prove")
	merchants := fs.Int("merchants", 100, "merchants the orders spread over")
	creditPct := fs.Int("credit-pct", 80, "percentage of orders paid on credit")
	refundPct := fs.Int("refund-pct", 10, "percentage of orders refunded in part the same day")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a line of text")
	outFile := fs.String("o", "", "also write the result as JSON to this file")
	label := fs.String("label", "", "a name for this run")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	if *orders < 1 || *merchants < 1 {
		return e.usagef("--orders and --merchants must be positive")
	}
	remove, err := cfg.temporaryStore(fs, "fenfu-bench-verify-")
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
		m, err := a.merchants.CreateSandbox(ctx, fmt.Sprintf("Verify bench %d", i), scheme.SM2)
		if err != nil {
			a.close()
			return err
		}
		ids = append(ids, m.MchID)
	}
	start := time.Now()
	err = bench.GenerateSettlementDay(ctx, a.core, bench.SettlementDay{Date: date, MchIDs: ids, Orders: *orders,
		CreditPct: *creditPct, RefundPct: *refundPct, Credit: a.credit}, meterOf(e.stderr, "generating "+date, "orders"))
	a.close()
	if err != nil {
		return err
	}
	run := bench.VerifyRun{Label: *label, Engine: storeKind(cfg), Orders: *orders, Merchants: *merchants, Generate: time.Since(start).Seconds()}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "verify", "--data-dir", cfg.DataDir,
		"--core-db", cfg.CoreDB, "--credit-db", cfg.CreditDB, "--sqlite-synchronous", cfg.Synchronous)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, e.stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fenfu verify: %w: %s", err, out.Bytes())
	}
	run.Seconds = time.Since(t0).Seconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		run.PeakRSS = ru.Maxrss * 1024
	}
	run.Proved = string(bytes.TrimSpace(out.Bytes()))
	m := provedRE.FindStringSubmatch(run.Proved)
	if m == nil || m[1] != strconv.Itoa(*orders) || m[2] != strconv.Itoa(*orders) {
		return fmt.Errorf("fenfu verify answered %q, not %d paid orders", run.Proved, *orders)
	}
	return writeResult(e.stdout, *outFile, *asJSON, run, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "verify of %d orders over %d merchants (%s): %.1f s wall, %.1f s CPU, peak RSS %.0f MiB (generated in %.1f s)\n",
			run.Orders, run.Merchants, run.Engine, run.Seconds, run.CPU, float64(run.PeakRSS)/(1<<20), run.Generate)
		return err
	})
}
