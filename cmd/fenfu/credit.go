package main

import (
	"context"
	"strconv"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/repay"
)

// cmdCredit runs the consumer credit commands on the stores directly, as
// the staff API does over HTTP.
func cmdCredit(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		return e.usagef("%v", err)
	}
	fs := cfg.flags(e)
	sub := e.sub()
	cons := fs.String("consumer", "", "the consumer's id")
	var partner, key, month, date, staff, reason, limit, rating *string
	var amount *int64
	var freeze, unfreeze, closeLine *bool
	switch sub {
	case "overdue":
		date = fs.String("date", "", "the day to run the job for, YYYY-MM-DD (Asia/Shanghai); default today")
	case "line":
		staff = fs.String("staff", "", "the staff member making the change")
		reason = fs.String("reason", "", "why the line is changed (recorded)")
		limit = fs.String("limit", "", "the new credit limit in fen")
		rating = fs.String("rating", "", "the new rating: A, B, C or D")
		freeze = fs.Bool("freeze", false, "freeze the line: it takes no credit payment")
		unfreeze = fs.Bool("unfreeze", false, "unfreeze the line")
		closeLine = fs.Bool("close", false, "close the line for good: the consumer's credit contract ends (nothing may be used)")
	case "repay":
		partner = fs.String("partner", "", "the funding partner that transferred the money (a-z, 0-9, _ and -)")
		amount = fs.Int64("amount", 0, "the amount in fen")
		key = fs.String("key", "", "idempotency key: the same key again is the same repayment")
	case "statement":
		month = fs.String("month", "", "the statement's month, YYYY-MM")
	}
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	if sub == "overdue" {
		r, err := a.repay.Overdue(ctx, *date)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, r)
	}
	if *cons == "" {
		return e.usagef("--consumer is required")
	}
	switch sub {
	case "repay":
		if *partner == "" || *key == "" || *amount <= 0 {
			return e.usagef("--partner, --amount and --key are required")
		}
		r, err := a.repay.FromPartner(ctx, *cons, *partner, *key, fenfu.Fen(*amount))
		if err != nil {
			return err
		}
		return printJSON(e.stdout, r)
	case "line":
		if *staff == "" || *reason == "" {
			return e.usagef("--staff and --reason are required")
		}
		if *freeze && *unfreeze {
			return e.usagef("--freeze and --unfreeze exclude each other")
		}
		req := repay.LineRequest{Reason: *reason}
		if *limit != "" {
			n, err := strconv.ParseInt(*limit, 10, 64)
			if err != nil {
				return e.usagef("--limit must be a whole number of fen")
			}
			l := fenfu.Fen(n)
			req.Limit = &l
		}
		if *rating != "" {
			req.Rating = rating
		}
		if *freeze || *unfreeze {
			req.Frozen = freeze
		}
		req.Close = *closeLine
		c, err := a.repay.ChangeLine(ctx, *cons, "staff:"+*staff, req)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, c)
	case "statement":
		s, err := a.repay.Statement(ctx, *cons, *month)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, s)
	}
	acct, err := a.repay.AccountOf(ctx, *cons)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, acct)
}
