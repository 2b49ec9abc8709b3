package main

import (
	"bytes"
	"context"
	"flag"
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

// dayBench is what bench settle and bench verify share: their flags, and
// a business day of paid orders generated into a temporary store.
type dayBench struct {
	cfg                                     Config
	fs                                      *flag.FlagSet
	orders, merchants, creditPct, refundPct int
	asJSON                                  bool
	out, label                              string
}

// newDayBench returns a day bench with its flags: defaultOrders orders
// unless --orders says otherwise, to generate and then what.
func newDayBench(e *env, defaultOrders int, what string) *dayBench {
	b := &dayBench{cfg: e.config()}
	b.fs = b.cfg.flags(e)
	b.fs.IntVar(&b.orders, "orders", defaultOrders, "paid orders to generate and "+what)
	b.fs.IntVar(&b.merchants, "merchants", 100, "merchants the orders spread over")
	b.fs.IntVar(&b.creditPct, "credit-pct", 80, "percentage of orders paid on credit")
	b.fs.IntVar(&b.refundPct, "refund-pct", 10, "percentage of orders refunded in part the same day")
	b.fs.BoolVar(&b.asJSON, "json", false, "print the result as JSON instead of a line of text")
	b.fs.StringVar(&b.out, "o", "", "also write the result as JSON to this file")
	b.fs.StringVar(&b.label, "label", "", "a name for this run")
	return b
}

// parse parses the command's flags: it takes no arguments.
func (b *dayBench) parse(e *env, args []string) error {
	if err := e.parse(b.fs, args); err != nil {
		return err
	}
	if err := e.args(b.fs); err != nil {
		return err
	}
	if b.orders < 1 || b.merchants < 1 {
		return e.usagef("--orders and --merchants must be positive")
	}
	return nil
}

// generate points the bench at a temporary store unless its flags name
// one (generated orders are not fit for a real one: see temporaryStore),
// provisions the merchants, named "name 0", "name 1", …, and writes
// yesterday's orders over them. A provable day also has what the payment
// path writes beside its orders, so that fenfu verify proves it. remove
// deletes the temporary store.
func (b *dayBench) generate(ctx context.Context, e *env, prefix, name string, provable bool) (date string, took time.Duration, remove func(), err error) {
	if remove, err = b.cfg.temporaryStore(b.fs, prefix); err != nil {
		return "", 0, nil, err
	}
	defer func() {
		if err != nil {
			remove()
		}
	}()
	if err := b.cfg.Validate(); err != nil {
		return "", 0, nil, e.usagef("%v", err)
	}
	date = settle.Yesterday(time.Now())
	a, err := openQuiet(ctx, b.cfg, e.stderr)
	if err != nil {
		return "", 0, nil, err
	}
	defer a.close()
	var ids []string
	for i := range b.merchants {
		m, err := a.merchants.CreateSandbox(ctx, fmt.Sprintf("%s %d", name, i), scheme.SM2)
		if err != nil {
			return "", 0, nil, err
		}
		ids = append(ids, m.MchID)
	}
	start := time.Now()
	day := bench.SettlementDay{Date: date, MchIDs: ids, Orders: b.orders, CreditPct: b.creditPct, RefundPct: b.refundPct}
	if provable {
		day.Credit = a.credit
	}
	if err := bench.GenerateSettlementDay(ctx, a.core, day, meterOf(e.stderr, "generating "+date, "orders")); err != nil {
		return "", 0, nil, err
	}
	return date, time.Since(start), remove, nil
}

// childRun is what a child fenfu process printed, and what it took.
type childRun struct {
	out     []byte
	wall    time.Duration
	cpu     time.Duration // user and system
	peakRSS int64         // bytes
}

// runChild runs fenfu with args, on cfg's stores, as a child process, and
// reads its CPU time and peak resident memory from the kernel.
func runChild(ctx context.Context, cfg Config, stderr io.Writer, args ...string) (childRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	cmd := exec.CommandContext(ctx, exe, append(args, cfg.storeArgs()...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return childRun{}, fmt.Errorf("fenfu %s: %w", args[0], err)
	}
	r := childRun{out: out.Bytes(), wall: time.Since(t0)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.peakRSS = ru.Maxrss * 1024
	}
	return r, nil
}
