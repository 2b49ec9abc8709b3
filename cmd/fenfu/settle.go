package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// scheduler is serve's settlement scheduler, built from the configuration.
func (a *app) scheduler() *settle.Scheduler {
	return &settle.Scheduler{Settle: a.settle, Log: a.log, At: a.cfg.SettleAt, AlertEvery: a.cfg.OverdueAlertEvery,
		Bills: a.bills.TradeDay, Observe: a.observeSettlement}
}

// observeSettlement counts a scheduled run's batches in serve's metrics.
func (a *app) observeSettlement(results []settle.Result, err error) {
	if a.metrics == nil {
		return
	}
	for _, r := range results {
		a.metrics.Add("fenfu_settlement_batches_total", 1, "channel", r.Channel, "result", "done")
		a.metrics.Add("fenfu_settlement_orders_total", int64(r.Payments), "channel", r.Channel)
		a.metrics.Observe("fenfu_settlement_batch_seconds", time.Duration(r.Seconds*float64(time.Second)), "channel", r.Channel)
	}
	if err != nil {
		a.metrics.Add("fenfu_settlement_batches_total", 1, "channel", "", "result", "failed")
	}
	a.metrics.Set("fenfu_settlement_last_run_timestamp_seconds", float64(a.clock.Now().Unix()))
	success := 1.0
	if err != nil {
		success = 0
	}
	a.metrics.Set("fenfu_settlement_last_run_success", success)
}

func cmdSettle(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	date := fs.String("date", "", "the business day to settle, YYYY-MM-DD (Asia/Shanghai); default yesterday, by the deployment's clock")
	channel := fs.String("channel", "all", "credit, ordinary, or all")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for performance work)")
	offsetFile := clockOffsetFlag(fs)
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	channels := pay.Channels
	if *channel != "all" {
		ch, err := pay.ParseChannel(*channel)
		if err != nil {
			return err
		}
		channels = []pay.Channel{ch}
	}
	// A batch reads each merchant's rows once and bills read an index in
	// order: a large page cache saves little, and the process would hold
	// it (see settleCacheKiB).
	cfg.cacheKiB = settleCacheKiB
	a, err := openAt(ctx, cfg, cfg.logger(e.stderr, slog.LevelWarn), clockOf(*offsetFile))
	if err != nil {
		return err
	}
	defer a.close()
	if *date == "" {
		*date = settle.Yesterday(a.clock.Now())
	}
	a.settle.Progress = progressPrinter(e.stderr)
	heap := sampleHeap()
	cpu0 := processCPU()
	var results []settle.Result
	for _, ch := range channels {
		r, err := a.settle.RunChannel(ctx, *date, ch)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	t0, cpu1 := time.Now(), processCPU()
	nBills, err := a.scheduler().RenderBills(ctx, *date)
	if err != nil {
		return err
	}
	billTime, cpu2 := time.Since(t0), processCPU()
	if *asJSON {
		return printJSON(e.stdout, settleOutput{Results: results, Bills: nBills, BillSeconds: billTime.Seconds(), PeakHeap: heap(),
			BatchCPU: (cpu1 - cpu0).Seconds(), BillCPU: (cpu2 - cpu1).Seconds()})
	}
	for _, r := range results {
		if r.Already {
			fmt.Fprintf(e.stdout, "fenfu: %s %s: already settled; nothing changed\n", r.Date, r.Channel)
			continue
		}
		fmt.Fprintf(e.stdout, "fenfu: %s %s: %d merchants settled (%d payments, %d refunds), %s yuan to settlement accounts",
			r.Date, r.Channel, r.Merchants, r.Payments, r.Refunds, fenfu.Yuan(r.Net))
		if r.Resumed > 0 {
			fmt.Fprintf(e.stdout, "; %d left pending by an interrupted run posted", r.Resumed)
		}
		fmt.Fprintf(e.stdout, " in %.3f s\n", r.Seconds)
	}
	fmt.Fprintf(e.stdout, "fenfu: %s: %d trade bills rendered in %s\n", *date, nBills, billTime.Round(time.Millisecond))
	return nil
}

// settleCacheKiB is the SQLite page cache per connection of fenfu settle:
// 8 MiB, where a server keeps 64. The writer and a reader fill theirs in a
// large batch; at the default they alone held about 300 MiB. At 16 MiB a
// 1,000,000-order day peaked at 259 MiB, at 8 MiB at 155 MiB, for about a
// tenth more CPU in the batches (see BENCHMARKS.md).
const settleCacheKiB = 8 << 10

// settleOutput is what `fenfu settle --json` prints.
type settleOutput struct {
	Results     []settle.Result `json:"results"`
	Bills       int             `json:"bills"`
	BillSeconds float64         `json:"bill_seconds"`
	// PeakHeap is the most Go heap in use, sampled every 50 ms: what fenfu
	// itself holds, apart from SQLite's page caches.
	PeakHeap uint64 `json:"peak_heap_bytes"`
	// BatchCPU and BillCPU are the process's CPU time (user and system,
	// every thread) over the batches and over the bills: what a busy
	// machine's wall times hide.
	BatchCPU float64 `json:"batch_cpu_seconds"`
	BillCPU  float64 `json:"bill_cpu_seconds"`
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleHeap samples the Go heap in use until the returned function is
// called, which returns the peak seen.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return peak.Load()
	}
}

// progressPrinter shows a batch's progress, with an estimate of the time
// left (see meter).
func progressPrinter(w io.Writer) func(settle.Progress) {
	m := newMeter(w, time.Now)
	return func(p settle.Progress) {
		m.update(fmt.Sprintf("settling %s %s", p.Date, p.Channel), p.Done, p.Total, "merchants")
	}
}

// meterOf is a meter of one step, as a bench.Progress.
func meterOf(w io.Writer, what, units string) bench.Progress {
	m := newMeter(w, time.Now)
	return func(done, total int) { m.update(what, done, total, units) }
}

// meter shows how far a long job is: on a terminal, one line redrawn at
// most five times a second; otherwise (a log file, a pipe) a line at each
// tenth. Until the job is done, each line estimates the time left from
// the pace so far.
type meter struct {
	mu        sync.Mutex // a step's ticker and its end may report at once
	w         io.Writer
	tty       bool
	now       func() time.Time
	start     time.Time
	last      time.Time
	lastTenth int
}

func newMeter(w io.Writer, now func() time.Time) *meter {
	return &meter{w: w, tty: isTerminal(w), now: now, start: now(), lastTenth: -1}
}

// update reports done of total units of what.
func (m *meter) update(what string, done, total int, units string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	line := fmt.Sprintf("%s: %d/%d %s", what, done, total, units)
	if done > 0 && done < total {
		left := time.Duration(float64(now.Sub(m.start)) * float64(total-done) / float64(done))
		line += fmt.Sprintf(", about %s left", left.Round(time.Second))
	}
	if !m.tty {
		if tenth := done * 10 / max(total, 1); tenth != m.lastTenth {
			m.lastTenth = tenth
			fmt.Fprintln(m.w, line)
		}
		return
	}
	if done < total && now.Sub(m.last) < 200*time.Millisecond {
		return
	}
	m.last = now
	fmt.Fprintf(m.w, "\r%s\x1b[K", line)
	if done >= total {
		fmt.Fprintln(m.w)
	}
}

func cmdSettleList(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	var f settle.Filter
	fs.StringVar(&f.MchID, "mchid", "", "only this merchant")
	fs.StringVar(&f.From, "from", "", "first business day, YYYY-MM-DD")
	fs.StringVar(&f.To, "to", "", "last business day, YYYY-MM-DD")
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	settlements, err := a.settle.List(ctx, f)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, list(settlements))
}

// errGaps makes settle check exit non-zero when a bill and its
// settlement differ.
var errGaps = errors.New("a fund-flow bill differs from its settlement")

// cmdSettleCheck sets each settlement of a day against the BASIC
// fund-flow bill of its merchant, day and channel, and fails if any
// differs by a fen.
func cmdSettleCheck(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	var f settle.Filter
	fs.StringVar(&f.MchID, "mchid", "", "only this merchant")
	fs.StringVar(&f.Date, "date", "", "the business day, YYYY-MM-DD (Asia/Shanghai); default yesterday by the deployment's clock")
	channel := fs.String("channel", "ALL", "CREDIT, ORDINARY or ALL")
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	if f.Channel, err = bill.ParseChannel(*channel); err != nil {
		return err
	}
	if f.Date == "" {
		f.Date = settle.Yesterday(a.clock.Now())
	}
	settlements, err := a.settle.List(ctx, f)
	if err != nil {
		return err
	}
	checks := []bill.SettlementCheck{}
	gaps := 0
	for _, x := range settlements {
		c, err := a.bills.CheckSettlement(ctx, x)
		if err != nil {
			return err
		}
		if c.Gap != 0 {
			gaps++
		}
		checks = append(checks, c)
	}
	if *asJSON {
		err = printJSON(e.stdout, checks)
	} else {
		for _, c := range checks {
			verdict := "agrees"
			if c.Gap != 0 {
				verdict = fmt.Sprintf("DIFFERS by %s yuan", fenfu.Yuan(c.Gap))
			}
			_, err = fmt.Fprintf(e.stdout, "%s  net %s yuan, %d payments and refunds billed on %s: %s\n", c.Settlement.ID,
				fenfu.Yuan(c.Settlement.Net), c.Items, strings.Join(c.Days, ", "), verdict)
			if err != nil {
				return err
			}
		}
		_, err = fmt.Fprintf(e.stdout, "fenfu: %d settlements of %s checked against their fund-flow bills, %d differ\n", len(checks), f.Date, gaps)
	}
	if err == nil && gaps > 0 {
		err = fmt.Errorf("%w: %d of %d", errGaps, gaps, len(checks))
	}
	return err
}

// cmdHold holds a paid order out of settlement (hold), or lets it back
// in (release).
func cmdHold(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	release := e.sub() == "release"
	order := fs.String("order", "", "the order (transaction_id)")
	var hours int
	var reason string
	if !release {
		fs.IntVar(&hours, "hours", int(settle.DefaultHold/time.Hour), "hours to hold the payment out of settlement")
		fs.StringVar(&reason, "reason", "", "why, recorded with the hold")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	required := []string{"order"}
	if !release {
		required = append(required, "reason")
	}
	if err := e.require(fs, required...); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if release {
		if err := a.settle.Release(ctx, *order); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "fenfu: %s released; the next batch settles it\n", *order)
		return nil
	}
	until := a.clock.Now().Add(time.Duration(hours) * time.Hour)
	if err := a.settle.Hold(ctx, *order, until, reason); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fenfu: %s held out of settlement until %s\n", *order, until.In(fenfu.Shanghai).Format(time.DateTime))
	return nil
}

func cmdBill(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	var r bill.Request
	fs.StringVar(&r.MchID, "mchid", "", "the merchant")
	fs.StringVar(&r.Date, "date", "", "the day, YYYY-MM-DD (Asia/Shanghai); default yesterday, by the deployment's clock")
	fs.StringVar(&r.Kind, "kind", bill.Trade, "trade or fundflow")
	fs.StringVar(&r.Type, "type", "", "trade: ALL, SUCCESS or REFUND (default ALL); fundflow: BASIC, OPERATION or FEES (default BASIC)")
	channel := fs.String("channel", "ALL", "CREDIT, ORDINARY or ALL")
	out := fs.String("o", "-", "write the bill to this file (- for standard output)")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "mchid"); err != nil {
		return err
	}
	var err error
	if r.Channel, err = bill.ParseChannel(*channel); err != nil {
		return err
	}
	if r.Type == "" {
		r.Type = bill.All
		if r.Kind == bill.FundFlow {
			r.Type = bill.Basic
		}
	}
	if r.Kind != bill.Trade && r.Kind != bill.FundFlow {
		return fenfu.FieldError("kind", "--kind must be trade or fundflow")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if r.Date == "" {
		r.Date = settle.Yesterday(a.clock.Now())
	}
	f, err := a.bills.Get(ctx, r, false)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = e.stdout.Write(f.Data)
		return err
	}
	if err := os.WriteFile(*out, f.Data, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fenfu: wrote %s (%d bytes, SHA1 %s)\n", *out, len(f.Data), f.SHA1)
	return nil
}

// errDifferences makes reconcile exit non-zero when the two sides differ.
var errDifferences = errors.New("the bill and the records differ")

func cmdReconcile(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	billFile := fs.String("bill", "", "the trade bill, as downloaded (text or gzip)")
	mineFile := fs.String("mine", "", "your records: CSV of out_trade_no,amount (yuan),state (SUCCESS or REFUND)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "bill", "mine"); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	bf, err := os.Open(*billFile)
	if err != nil {
		return err
	}
	defer bf.Close()
	be, err := bill.ParseTrade(bf)
	if err != nil {
		return fmt.Errorf("%s: %w", *billFile, err)
	}
	mf, err := os.Open(*mineFile)
	if err != nil {
		return err
	}
	defer mf.Close()
	me, err := bill.ParseMine(mf)
	if err != nil {
		return fmt.Errorf("%s: %w", *mineFile, err)
	}
	rep := bill.Reconcile(be, me)
	if *asJSON {
		err = printJSON(e.stdout, rep)
	} else {
		_, err = io.WriteString(e.stdout, rep.Text())
	}
	if err == nil && len(rep.Differences) > 0 {
		err = fmt.Errorf("%w: %d differences (%s)", errDifferences, len(rep.Differences), counts(rep.Counts))
	}
	return err
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range []string{bill.MissingInBill, bill.MissingInMine, bill.AmountMismatch, bill.StateMismatch} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}
