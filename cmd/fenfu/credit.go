package main

import (
	"context"

	"github.com/fenfu/fenfu"
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
	var partner, key, month *string
	var amount *int64
	switch sub {
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
