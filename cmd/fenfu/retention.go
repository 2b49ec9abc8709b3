package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/retention"
)

// retentionFlags are the flags each retention command takes, all of the
// second list required: who places or releases a hold is recorded, and a
// hold carries its reason.
var retentionFlags = map[string]struct{ takes, required []string }{
	"run":     {[]string{"as-of"}, nil},
	"hold":    {[]string{"kind", "subject", "reason", "staff"}, []string{"kind", "subject", "reason", "staff"}},
	"holds":   {nil, nil},
	"release": {[]string{"id", "staff"}, []string{"id", "staff"}},
}

// cmdRetention runs the retention job, or places, lists and releases
// legal holds, on the stores directly, as serve and the staff API do.
func cmdRetention(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		return e.usagef("%v", err)
	}
	fs := cfg.flags(e)
	sub := e.sub()
	f := retentionFlags[sub]
	var asOf, kind, subject, reason, staff, id string
	var dryRun, asJSON, all bool
	stringFlag(fs, f.takes, &asOf, "as-of", "the day the periods are counted back from, YYYY-MM-DD (Asia/Shanghai); default today")
	stringFlag(fs, f.takes, &kind, "kind", "what is held: merchant, consumer or order")
	stringFlag(fs, f.takes, &subject, "subject", "the held merchant's mchid, consumer's id or order's transaction_id")
	stringFlag(fs, f.takes, &reason, "reason", "why (the case or the authority's order), recorded with the hold")
	stringFlag(fs, f.takes, &staff, "staff", "the staff member acting")
	stringFlag(fs, f.takes, &id, "id", "the hold")
	switch sub {
	case "run":
		fs.BoolVar(&dryRun, "dry-run", false, "list what the run would remove or anonymise, and what it keeps, and write nothing")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
		bindRetention(fs, &cfg)
	case "holds":
		fs.BoolVar(&all, "all", false, "list released holds too")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, f.required...); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	switch sub {
	case "hold":
		h, err := a.retention.Place(ctx, retention.NewHold{Kind: retention.Kind(kind), Subject: subject, Reason: reason}, "staff:"+staff)
		if err != nil {
			return err
		}
		if err := recordCLI(ctx, e, a.core, h.Actor, retention.ActionHold, audit.Target{Kind: string(h.Kind), ID: h.Subject}, h.Reason,
			map[string]any{"hold_id": h.ID}); err != nil {
			return err
		}
		return printJSON(e.stdout, h)
	case "holds":
		list, err := a.retention.Holds(ctx, all)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, map[string]any{"holds": list})
	case "release":
		h, err := a.retention.Release(ctx, id, "staff:"+staff)
		if err != nil {
			return err
		}
		if err := recordCLI(ctx, e, a.core, h.ReleasedBy, retention.ActionHoldRelease, audit.Target{Kind: string(h.Kind), ID: h.Subject}, "",
			map[string]any{"hold_id": h.ID}); err != nil {
			return err
		}
		return printJSON(e.stdout, h)
	}
	rep, err := a.retention.Run(ctx, retention.Options{AsOf: asOf, DryRun: dryRun, Progress: func(table string, seen int) {
		fmt.Fprintf(e.stderr, "fenfu: retention: %d %s looked at\n", seen, table)
	}})
	if err != nil {
		return err
	}
	if asJSON {
		rep.Items = list(rep.Items)
		return printJSON(e.stdout, rep)
	}
	writeRetention(e.stdout, rep)
	return nil
}

// bindRetention adds the retention periods' flags to fs.
func bindRetention(fs *flag.FlagSet, c *Config) {
	for _, s := range settings() {
		if strings.HasPrefix(s.flag, "retain-") {
			fs.Var(s.value(c), s.flag, s.usage+" (or $"+s.env+")")
		}
	}
}

// writeRetention prints a run's report: a dry run's records one a line,
// then what each table had done.
func writeRetention(w io.Writer, rep retention.Report) {
	verb := "did"
	if rep.DryRun {
		verb = "would do"
		for _, it := range rep.Items {
			fmt.Fprintf(w, "%-9s %s.%s %s  %s → %s  %s\n", it.Action, it.Store, it.Table, it.ID, it.Since, it.Until, it.Reason)
		}
	}
	fmt.Fprintf(w, "fenfu: retention as of %s %s:", rep.AsOf, verb)
	if len(rep.Summary) == 0 {
		fmt.Fprint(w, " nothing")
	}
	for i, c := range rep.Summary {
		if i > 0 {
			fmt.Fprint(w, ",")
		}
		fmt.Fprintf(w, " %s %d %s", c.Action, c.N, c.Table)
	}
	fmt.Fprintln(w)
}
