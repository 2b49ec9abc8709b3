package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
)

// TestRiskBacktest: over a generated month of payments, a rule added from
// the command line is backtested, and the report names exactly the
// payments it would have rejected.
func TestRiskBacktest(t *testing.T) {
	ctx := t.Context()
	clock := fenfu.NewFakeClock(time.Date(2026, 10, 1, 9, 0, 0, 0, fenfu.Shanghai))
	cfg := testConfig(t)
	a, err := openAt(ctx, cfg, discardLogger(), clock)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.merchants.CreateSandbox(ctx, "Month shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	var consumers []string
	for range 10 {
		c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 10_000_000_00, Balance: 10_000_000_00, Rating: "B"})
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c.ID)
	}
	wouldReject := map[string]bool{}
	n := 0
	for day := range 31 {
		clock.Set(time.Date(2026, 10, 1+day, 9, 0, 0, 0, fenfu.Shanghai))
		for i := range 12 {
			n++
			total := fenfu.Fen(100_00 + (n*7919)%3000_00) // ¥100 to ¥3,099.99
			o, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x",
				OutTradeNo: fmt.Sprintf("MONTH-%04d", n), NotifyURL: "https://shop.example/n", Total: total})
			if err != nil {
				t.Fatal(err)
			}
			ch := pay.ChannelCredit
			if i%4 == 3 {
				ch = pay.ChannelBalance
			}
			if _, err := a.pay.Pay(ctx, o.Token, consumers[n%len(consumers)], ch); err != nil {
				t.Fatalf("payment %d: %v", n, err)
			}
			if ch == pay.ChannelCredit && total > 2000_00 {
				wouldReject[o.ID] = true
			}
			clock.Advance(17 * time.Minute)
		}
	}
	a.close()
	in := &instance{t: t, args: []string{"--data-dir", cfg.DataDir}}
	if _, err := in.cli("risk", "add", "--name", "credit-over-2000", "--expr", "amount >", "--decision", "reject", "--reason", "r",
		"--message", "m", "--why", "w", "--staff", "lin"); err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Fatalf("a bad expression: %v, want it refused as not compiling", err)
	}
	var set risk.RuleSet
	in.mustCLI(&set, "risk", "add", "--name", "credit-over-2000", "--expr", "amount > 200000", "--decision", "reject",
		"--reason", "large credit payment", "--message", "Credit payments above ¥2000 are paused.", "--why", "new limit", "--staff", "lin")
	if set.Version != 2 || len(set.Rules) != 4 || set.Actor != "staff:lin" {
		t.Fatalf("risk add made %+v, want version 2 with 4 rules by staff:lin", set)
	}
	var b risk.Backtest
	in.mustCLI(&b, "risk", "backtest", "--version", "2", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
	if b.Payments != n || b.Moves["ALLOW→REJECT"] != len(wouldReject) || len(b.Changed) != len(wouldReject) {
		t.Fatalf("backtest: %d payments, %d ALLOW→REJECT, %d listed; want %d payments and %d rejections",
			b.Payments, b.Moves["ALLOW→REJECT"], len(b.Changed), n, len(wouldReject))
	}
	for _, c := range b.Changed {
		if !wouldReject[c.OrderID] || c.Would != risk.Reject || c.Matched[0].Rule != "credit-over-2000" {
			t.Fatalf("backtest lists %+v, which the rule would not reject", c)
		}
	}
	// Version 1 changes nothing over the month it decided.
	out, err := in.cli("risk", "backtest", "--version", "1", "--from", "2026-10-01", "--to", "2026-10-31")
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d payments\n", n)) || !strings.Contains(out, "0 payments would have been decided otherwise") {
		t.Fatalf("backtest of version 1: %v\n%s", err, out)
	}
	if out, err := in.cli("verify"); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}
