package bench_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

// TestLedgerRuns: each variant posts exactly the transactions asked for,
// to the accounts it names, the books prove, and the check of the runs
// against the books finds a changed entry and a miscounted run.
func TestLedgerRuns(t *testing.T) {
	ctx := context.Background()
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			core := dbtest.Open(t, engine, "core", fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai)))
			var runs []bench.LedgerRun
			for _, v := range bench.LedgerVariants {
				r, err := bench.RunLedger(ctx, core, bench.LedgerConfig{Variant: v, Clients: 4, Count: 150, Prefix: "t." + v})
				if err != nil {
					t.Fatal(err)
				}
				if r.Transactions != 150 || len(r.Errors) != 0 || r.Latency.Count != 150 || r.Amount <= 0 || r.TxPerS <= 0 {
					t.Fatalf("%s: %+v", v, r)
				}
				runs = append(runs, r)
			}
			if err := bench.CheckLedgerRuns(ctx, core, runs); err != nil {
				t.Fatal(err)
			}
			if err := ledger.Verify(ctx, core); err != nil {
				t.Fatal(err)
			}
			// Every hot transaction went to the one merchant account; every
			// tracked-hot one came out of the one consumer balance.
			hot, err := ledger.Balance(ctx, core, ledger.AccountOf(ledger.MerchantPending, "t.hot-hot"))
			if err != nil || hot != runs[0].Amount {
				t.Fatalf("hot account holds %d (%v), the hot run posted %d", hot, err, runs[0].Amount)
			}
			// The no-hot run's clients each credited an account of their own,
			// however the count fell among them.
			var own fenfu.Fen
			for c := range 4 {
				b, err := ledger.Balance(ctx, core, ledger.AccountOf(ledger.MerchantPending, fmt.Sprintf("t.no-hot-c%d", c)))
				if err != nil {
					t.Fatal(err)
				}
				own += b
			}
			if shared, err := ledger.Balance(ctx, core, ledger.AccountOf(ledger.MerchantPending, "t.no-hot-hot")); err != nil || shared != 0 || own != runs[1].Amount {
				t.Fatalf("no-hot clients' own accounts hold %d, a shared one %d (%v), of the run's %d", own, shared, err, runs[1].Amount)
			}
			left, err := ledger.Balance(ctx, core, ledger.AccountOf(ledger.ConsumerBalance, "t.tracked-hot-hot"))
			if err != nil || left != 1<<50-runs[2].Amount {
				t.Fatalf("tracked hot balance %d (%v) after %d taken", left, err, runs[2].Amount)
			}

			miscounted := append([]bench.LedgerRun(nil), runs...)
			miscounted[1].Transactions--
			if err := bench.CheckLedgerRuns(ctx, core, miscounted); err == nil || !strings.Contains(err.Error(), "no-hot") {
				t.Fatalf("a run counting one transaction fewer than the books hold: %v", err)
			}
			if _, err := core.W.ExecContext(ctx, `UPDATE ledger_entries SET amount = amount + 1
				WHERE txn_id = 'bench:t.hot/0/0' AND seq = 1`); err != nil {
				t.Fatal(err)
			}
			if err := bench.CheckLedgerRuns(ctx, core, runs); err == nil {
				t.Fatal("a changed entry passed the runs' check")
			}
			if err := ledger.Verify(ctx, core); err == nil {
				t.Fatal("a changed entry passed ledger.Verify")
			}
		})
	}
}

// TestLedgerRunBounds: a run stops at its duration when no count bounds
// it, and refuses a variant it does not know or a prefix with a slash.
func TestLedgerRunBounds(t *testing.T) {
	ctx := context.Background()
	core := dbtest.Open(t, "sqlite", "core", nil)
	r, err := bench.RunLedger(ctx, core, bench.LedgerConfig{Variant: bench.LedgerNoHot, Clients: 2, Duration: 200 * time.Millisecond, Prefix: "d"})
	if err != nil || r.Transactions < 1 || r.ElapsedS < 0.2 || len(r.Errors) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, c := range []bench.LedgerConfig{
		{Variant: "lukewarm", Clients: 1, Count: 1, Prefix: "x"},
		{Variant: bench.LedgerHot, Clients: 1, Count: 1, Prefix: "x/y"},
		{Variant: bench.LedgerHot, Clients: 1, Prefix: "x"},
	} {
		if _, err := bench.RunLedger(ctx, core, c); err == nil {
			t.Errorf("%+v ran", c)
		}
	}
}

func TestFormanceRatio(t *testing.T) {
	for _, c := range []struct {
		variant string
		tps     float64
		want    float64
	}{
		{bench.LedgerHot, 720, 10}, {bench.LedgerNoHot, 1260, 10}, {bench.LedgerTrackedHot, 144, 2}, {"other", 100, 0},
	} {
		if got := bench.FormanceRatio(c.variant, c.tps); got != c.want {
			t.Errorf("%s at %.0f tx/s: %.2f×, want %.2f×", c.variant, c.tps, got, c.want)
		}
	}
}

// pgbenchOutput is what pgbench 15 prints for a TPC-B-like run.
const pgbenchOutput = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 2
query mode: simple
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 2262
number of failed transactions: 0 (0.000%)
latency average = 21.270 ms
initial connection time = 25.160 ms
tps = 752.226618 (without initial connection time)
`

func TestParsePgbench(t *testing.T) {
	tps, lat, err := bench.ParsePgbench(pgbenchOutput)
	if err != nil || tps != 752.226618 || lat != 21.27 {
		t.Fatalf("tps %v latency %v: %v", tps, lat, err)
	}
	if _, _, err := bench.ParsePgbench("pgbench: error: connection to server failed\n"); err == nil {
		t.Fatal("an error's output parsed")
	}
	if _, _, err := bench.ParsePgbench(strings.Replace(pgbenchOutput, "latency average = 21.270 ms\n", "", 1)); err == nil {
		t.Fatal("output without a latency parsed")
	}
}
