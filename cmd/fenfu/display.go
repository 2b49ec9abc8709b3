package main

import (
	"context"
	"slices"
	"strconv"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/display"
)

// displayFlags are the flags each display command takes, and which it
// requires: a change names who makes it and why.
var displayFlags = map[string]struct{ takes, required []string }{
	"rules":    {[]string{"version"}, nil},
	"versions": {nil, nil},
	"change":   {[]string{"min-amount", "first-rating", "first-of-day", "why", "staff"}, []string{"why", "staff"}},
	"funnel":   {[]string{"mchid", "from", "to"}, []string{"mchid"}},
}

// cmdDisplay shows and changes the display rules of credit pay, and a
// merchant's exposure funnel, on the stores directly, as the staff API
// does over HTTP.
func cmdDisplay(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	f := displayFlags[sub]
	var minAmount, firstRating, firstOfDay, why, staff, mchid, from, to string
	var version int
	stringFlag(fs, f.takes, &minAmount, "min-amount", "yuan from which credit pay is shown by default")
	stringFlag(fs, f.takes, &firstRating, "first-rating", "the lowest rating (A-D) whose consumers see credit pay first")
	stringFlag(fs, f.takes, &firstOfDay, "first-of-day", "true or false: show credit pay on a consumer's first transaction of the day")
	stringFlag(fs, f.takes, &why, "why", "why the rules change, recorded with the new version")
	stringFlag(fs, f.takes, &staff, "staff", "the staff member acting")
	stringFlag(fs, f.takes, &mchid, "mchid", "the merchant")
	stringFlag(fs, f.takes, &from, "from", "the first day, YYYY-MM-DD (Asia/Shanghai; default 6 days before --to)")
	stringFlag(fs, f.takes, &to, "to", "the last day, YYYY-MM-DD (Asia/Shanghai; default today)")
	if slices.Contains(f.takes, "version") {
		fs.IntVar(&version, "version", 0, "the display rule-set version (default: the current one)")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, f.required...); err != nil {
		return err
	}
	edit := func(r *display.Rules) error {
		if minAmount != "" {
			var y yuanValue
			if err := y.Set(minAmount); err != nil {
				return fenfu.FieldError("min_amount", "--min-amount is yuan, like 10 or 9.99")
			}
			r.MinAmount = fenfu.Fen(y)
		}
		if firstRating != "" {
			r.FirstRating = firstRating
		}
		if firstOfDay != "" {
			b, err := strconv.ParseBool(firstOfDay)
			if err != nil {
				return fenfu.FieldError("first_of_day", "--first-of-day is true or false")
			}
			r.FirstOfDay = b
		}
		return nil
	}
	if sub == "change" && minAmount == "" && firstRating == "" && firstOfDay == "" {
		return e.usagef("say what changes: --min-amount, --first-rating or --first-of-day")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	rules := a.display.Rules
	var out any
	switch sub {
	case "rules":
		if version > 0 {
			out, err = rules.Version(ctx, version)
		} else {
			out, err = rules.Current(ctx)
		}
	case "versions":
		out, err = rules.Versions(ctx)
	case "change": // display records each change in the audit log
		out, err = rules.Change(ctx, cliActor(staff), why, edit)
	case "funnel":
		out, err = a.pay.FunnelDays(ctx, mchid, from, to)
	}
	if err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}
