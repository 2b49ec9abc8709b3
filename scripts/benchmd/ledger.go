package main

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/fenfu/fenfu/bench"
)

// writeLedger writes the ledger runs, dir/ledger/*.json, SQLite first.
func writeLedger(w io.Writer, dir string) {
	results := load(filepath.Join(dir, "ledger", "*.json"), func(a, b result[bench.LedgerResult]) int {
		return cmp.Or(-strings.Compare(a.run.Engine, b.run.Engine), strings.Compare(a.name, b.name))
	})
	if len(results) == 0 {
		return
	}
	fmt.Fprint(w, ledgerHeader)
	fmt.Fprint(w, "| store | variant | clients | round | transactions | tx/s | p50 ms | p99 ms | CPU ms/tx | retries | errors | load | × Formance | ÷ pgbench tps |\n")
	fmt.Fprint(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range results {
		var pg float64 // the mean of the run's pgbench figures
		for _, p := range x.run.Pgbench {
			pg += p.TPS / float64(len(x.run.Pgbench))
		}
		for _, r := range x.run.Runs {
			per := "–"
			if pg > 0 {
				per = fmt.Sprintf("%.2f", r.TxPerS/pg)
			}
			errs := 0
			for _, v := range r.Errors {
				errs += v
			}
			vs := "–"
			if f := bench.FormanceRatio(r.Variant, r.TxPerS); f > 0 {
				vs = fmt.Sprintf("%.1f×", f)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | **%.0f** | %.2f | %.2f | %.3f | %d | %d | %.2f | %s | %s |\n", x.run.Engine, r.Variant,
				r.Clients, r.Round, r.Transactions, r.TxPerS, r.Latency.P50, r.Latency.P99, r.CPUPerTxMS, r.Retries, errs, r.Load[0], vs, per)
		}
	}
	fmt.Fprintln(w)
	for _, x := range results {
		r := x.run
		proof := "proved"
		if !r.ProofOK {
			proof = "**did not prove**: " + r.Proof
		}
		fmt.Fprintf(w, "- **%s** (%s, %s): load average %.2f at the start; CPU is %s; books %s in %.2f s.\n", x.name, r.Engine, r.Time,
			r.Load[0], r.CPUScope, proof, r.VerifyS)
		for _, p := range r.Pgbench {
			fmt.Fprintf(w, "  - pgbench TPC-B-like %s the runs: scale %d, %d clients, %.0f s: **%.0f tps**, %.2f ms mean latency, load %.2f.\n",
				p.When, p.Scale, p.Clients, p.Seconds, p.TPS, p.LatencyMS, p.Load[0])
		}
		if r.PgbenchNote != "" {
			fmt.Fprintf(w, "  - pgbench: %s.\n", r.PgbenchNote)
		}
	}
	fmt.Fprintf(w, "\n× Formance is tx/s over Formance's best figure in the variant (hot %.0f, no-hot %.0f tx/s; a tracked hot account is set against its hot one): %s.\n",
		bench.Formance[bench.LedgerHot][1], bench.Formance[bench.LedgerNoHot][1], bench.FormanceNote)
	fmt.Fprint(w, "÷ pgbench tps is tx/s over the mean of the same run's pgbench figures: a ratio to the day's PostgreSQL, to set against a Formance run measured with pgbench beside it.\n")
}

const ledgerHeader = `
## Ledger

` + "`fenfu bench ledger [--core-db DSN] --clients 16,64 --duration D --rounds N [--pgbench D]`" + ` posts balanced
transactions through ` + "`ledger.Post`" + `, called in process, from each number of goroutines, one posting per
transaction and each transaction in its own ` + "`db.Update`" + ` as a payment posts its own. ` + "`hot`" + `: every
transaction credits one untracked merchant account (` + "`merchant_pending`" + `) from a funding account of its
client; ` + "`no-hot`" + `: each client credits an account of its own, so no two share one; ` + "`tracked-hot`" + `: every
transaction debits one tracked consumer balance (opened with a large balance), whose row every
transaction updates. The variants and client counts run interleaved, round after round, in one store.
After the runs every transaction is read back (each run's are there once each, with their amounts)
and the books are proved as ` + "`fenfu verify`" + ` proves them; the run fails if they do not prove. Latency is
each transaction's ` + "`db.Update`" + `, queueing included. On PostgreSQL, ` + "`--pgbench`" + ` runs pgbench's TPC-B-like
load on a scratch database of the same server before and after the runs: the day's measure of how
fast the machine and its PostgreSQL were, since these machines differ from day to day by up to 2.4×.

Formance ledger v2 (v2.2.59) was measured on another day, side by side with an earlier fenfu, on one PostgreSQL at 16 and 64 clients: 66–72 tx/s through a hot account, 113–126
tx/s without one. It cannot be fetched here (the module proxy answers 403 for
github.com/formancehq/ledger), so it is not run again beside these figures; the ratios below set
today's fenfu against that day's Formance.

`
