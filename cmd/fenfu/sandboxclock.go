package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/sandbox"
)

// clockJobs are the date-driven jobs of serve's background loops, in the
// order an advance of the sandbox clock runs them at each midnight: each
// through the entry point its loop calls. Order expiry and statements are
// not among them: an order's expiry and a month's statement are read
// from the clock when asked for, and no job makes them.
func (a *app) clockJobs() []sandbox.Job {
	return []sandbox.Job{
		{Name: "recover", Run: func(ctx context.Context, _ sandbox.Step) (map[string]int64, error) {
			p, err := a.pay.Recover(ctx)
			if err != nil {
				return nil, err
			}
			r, err := a.repay.Recover(ctx)
			return map[string]int64{"payments_completed": int64(p.Completed), "payments_released": int64(p.Released),
				"refunds": int64(p.Refunds), "repayments_applied": int64(r.Applied), "repayments_cancelled": int64(r.Cancelled)}, err
		}},
		{Name: "settlement", Run: a.settleDay},
		{Name: "overdue", Run: func(ctx context.Context, s sandbox.Step) (map[string]int64, error) {
			r, err := a.repay.Overdue(ctx, s.Day)
			return map[string]int64{"marked": int64(r.Marked), "charged": int64(r.Charged), "late_fees": int64(r.LateFees)}, err
		}},
		{Name: "complaints", Run: func(ctx context.Context, _ sandbox.Step) (map[string]int64, error) {
			n, err := a.complaints.Escalate(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]int64{"escalated": int64(n)}, a.complaints.Sweep(ctx)
		}},
		{Name: "tickets", Run: func(ctx context.Context, _ sandbox.Step) (map[string]int64, error) {
			n, d, err := a.tickets.Run(ctx)
			return map[string]int64{"escalated": int64(n), "alerts": int64(d)}, err
		}},
		{Name: "rescreen", Run: func(ctx context.Context, _ sandbox.Step) (map[string]int64, error) {
			r, err := a.onboard.Rescreen(ctx)
			return map[string]int64{"screened": int64(r.Screened), "suspended": int64(r.Suspended)}, err
		}},
	}
}

// settleDay is the scheduler's work of a morning, for the day that just
// ended: its T+1 batches, its trade bills, and the count of settlement
// exception requests past their SLA. A batch another node is running is
// waited for.
func (a *app) settleDay(ctx context.Context, s sandbox.Step) (map[string]int64, error) {
	sch := a.scheduler()
	out := map[string]int64{}
	for {
		results, err := a.settle.Run(ctx, s.Ended)
		sch.Observe(results, err)
		for _, r := range results {
			if !r.Already {
				out["batches"]++
			}
			out["merchants"] += int64(r.Merchants)
			out["payments"] += int64(r.Payments)
			out["refunds"] += int64(r.Refunds)
			out["net"] += int64(r.Net)
		}
		if fenfu.ErrorCode(err) != fenfu.BatchRunning {
			if err != nil {
				return nil, err
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	n, err := sch.RenderBills(ctx, s.Ended)
	if err != nil {
		return nil, err
	}
	out["bills"] = int64(n)
	out["exceptions_past_sla"] = int64(sch.AlertOverdue(ctx))
	return out, nil
}

// sandboxOnly refuses a deployment on the sandbox clock that has
// production merchants: serve does not start, and the clock does not
// move.
func (a *app) sandboxOnly(ctx context.Context) error {
	n, err := a.merchants.Productions(ctx)
	if err != nil || n == 0 {
		return err
	}
	e := fenfu.Errorf(fenfu.InvalidRequest, "the store has %d production merchants, and --sandbox-clock moves the time of every merchant of the deployment", n)
	e.Remedy = "Run the sandbox clock on a deployment of its own, with sandbox merchants only, or start without --sandbox-clock."
	return e
}

// clockState is what `fenfu sandbox clock` shows.
func (a *app) clockState(ctx context.Context) (sandbox.State, error) {
	if a.sandboxClock == nil {
		return sandbox.State{Now: a.clock.Now().In(fenfu.Shanghai), Offset: "0s"}, nil
	}
	return a.sandboxClock.Show(ctx)
}

func cmdSandboxClock(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	a, err := cfg.open(ctx, e, cfg.flags(e), args)
	if err != nil {
		return err
	}
	defer a.close()
	s, err := a.clockState(ctx)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, s)
}

func cmdSandboxClockAdvance(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	var req sandbox.AdvanceRequest
	fs.StringVar(&req.To, "to", "", "advance to this time, RFC 3339 (e.g. 2027-03-11T00:00:00+08:00), instead of by a DURATION")
	asJSON := fs.Bool("json", false, "print what the advance did as JSON at the end, instead of a line per day as it goes")
	// Flags may come before or after the DURATION.
	var positional []string
	for rest := args; ; rest = fs.Args()[1:] {
		if err := e.parse(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
	}
	switch {
	case req.To == "" && len(positional) == 0:
		return e.usagef("missing DURATION (e.g. 720h or 30d) or --to TIME")
	case req.To != "" && len(positional) > 0 || len(positional) > 1:
		return e.usagef("unexpected argument %q", positional[len(positional)-1])
	}
	if len(positional) == 1 {
		req.Duration = positional[0]
	}
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	if !cfg.SandboxClock {
		return sandbox.Off()
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	var progress func(sandbox.Day)
	if !*asJSON {
		progress = func(d sandbox.Day) { printDay(e.stdout, d) }
	}
	out, err := a.sandboxClock.Advance(ctx, req, progress)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, out)
	}
	if out.Resumed {
		fmt.Fprintf(e.stdout, "fenfu: completed the unfinished advance instead of this one; advance again to move on\n")
	}
	fmt.Fprintf(e.stdout, "fenfu: the sandbox clock moved from %s to %s (%d days)\n",
		out.From.Format(time.RFC3339), out.To.Format(time.RFC3339), len(out.Days))
	return nil
}

// printDay prints one day of an advance: each job with what it did, the
// counts that are not zero.
func printDay(w io.Writer, d sandbox.Day) {
	var parts []string
	for _, j := range d.Jobs {
		keys := make([]string, 0, len(j.Counts))
		for k, v := range j.Counts {
			if v != 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		did := "nothing"
		if len(keys) > 0 {
			for i, k := range keys {
				keys[i] = fmt.Sprintf("%d %s", j.Counts[k], k)
			}
			did = strings.Join(keys, ", ")
		}
		parts = append(parts, j.Job+": "+did)
	}
	fmt.Fprintf(w, "%s: %s\n", d.Day, strings.Join(parts, "; "))
}
