// Command benchmd writes BENCHMARKS.md from the results that
// scripts/bench.sh leaves in benchmarks/: the JSON of each `fenfu bench`
// run and the output of the micro-benchmarks.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fenfu/fenfu/bench"
)

// order is how the runs appear; others follow by name.
var order = []string{"sqlite-rsa", "sqlite-sm2", "sqlite-sm2-rate1500", "sqlite-sm2-full", "sqlite-rsa-full", "postgres-sm2", "postgres-rsa"}

func main() {
	files, _ := filepath.Glob("benchmarks/results/*.json")
	runs := map[string]bench.Result{}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		var r bench.Result
		if err := json.Unmarshal(b, &r); err != nil {
			fail(fmt.Errorf("%s: %w", f, err))
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		runs[name] = r
		names = append(names, name)
	}
	rank := func(n string) int {
		for i, o := range order {
			if o == n {
				return i
			}
		}
		return len(order)
	}
	sort.Slice(names, func(i, j int) bool {
		if rank(names[i]) != rank(names[j]) {
			return rank(names[i]) < rank(names[j])
		}
		return names[i] < names[j]
	})
	micro, _ := os.ReadFile("benchmarks/micro.txt")

	w := os.Stdout
	fmt.Fprint(w, header)
	if len(names) > 0 {
		m := runs[names[0]].Machine
		fmt.Fprintf(w, "Machine: %d cores, %s, %s, %s. Server and load generator share the machine.\n\n", m.Cores, m.CPU, m.OS, m.Go)
	}
	fmt.Fprint(w, "## Results\n\n")
	fmt.Fprint(w, "| run | store | key | load | payments/s | server CPU ms/payment | crypto ms/payment | ceiling/s | efficiency | peak MB | errors | notified | proof |\n")
	fmt.Fprint(w, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, n := range names {
		r := runs[n]
		store := r.Store
		if r.Synchronous != "" {
			store += " " + r.Synchronous
		}
		load := fmt.Sprintf("%d in flight", r.Concurrency)
		if r.Rate > 0 {
			load = fmt.Sprintf("%.0f/s arrivals", r.Rate)
		}
		errs := 0
		for _, v := range r.Errors {
			errs += v
		}
		proof := "ok"
		if !r.ProofOK {
			proof = "**FAILED**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | **%.0f** | %.3f | %.3f | %.0f | %.2f | %.0f | %d | %d | %s |\n", n, store,
			strings.TrimPrefix(r.Scheme, "WECHATPAY2-"), load, r.PaymentsPerS, r.CPUPerPayMS, r.CryptoPerPay, r.CeilingPerS,
			r.Efficiency, r.PeakMemoryMB, errs, r.Notified, proof)
	}
	fmt.Fprint(w, "\n### Latency per call (ms: p50 / p90 / p99 / max)\n\n")
	fmt.Fprint(w, "| run | create | pay | query | whole payment |\n|---|---|---|---|---|\n")
	for _, n := range names {
		r := runs[n]
		cell := func(c string) string {
			s := r.Calls[c]
			return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", s.P50, s.P90, s.P99, s.Max)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", n, cell("create"), cell("pay"), cell("query"), cell("payment"))
	}
	fmt.Fprint(w, "\n## Micro-benchmarks\n\n`go test -run XXX -bench . -benchtime 1s ./scheme/ ./qr/ ./ledger/ ./pay/ ./notify/`\n\n```\n")
	w.Write(micro)
	fmt.Fprint(w, "```\n")
	fmt.Fprint(w, narrative)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchmd:", err)
	os.Exit(1)
}

const header = `# fenfu benchmarks

This file is generated: ` + "`scripts/bench.sh`" + ` runs every configuration below and rewrites it
(about five minutes). The raw results are in ` + "`benchmarks/results/*.json`" + `.

## Method

` + "`fenfu bench`" + ` provisions merchants and consumers in fresh stores, logs each consumer in to the
cashier once, signs every request of the run in advance (so the generator does no signing while
timed), then drives each payment through the real HTTP surface: signed v3
` + "`POST /v3/pay/transactions/native`" + ` → the consumer pays on credit through the cashier's JSON
endpoint → signed v3 ` + "`GET /v3/pay/transactions/out-trade-no/{no}`" + `, which must say ` + "`SUCCESS`" + `.
The server is a child ` + "`fenfu serve`" + ` process; its CPU time and peak memory are read from
` + "`/proc`" + `, so the generator's own CPU (reported apart in the JSON) is not counted as the server's.
Closed-loop runs keep a fixed number of payments in flight; the rate run starts payments on a fixed
schedule and measures latency from the scheduled start, so a stall is not hidden. Latencies are
HDR-style histograms (under 1 % error). After every run the books are proved (` + "`fenfu verify`" + `'s
check of both ledgers and every order's postings); a run whose proof fails exits non-zero.

Each payment's notification is delivered, during the run, to a local endpoint that acknowledges it
(as a merchant's server would), so the server's cost includes signing, encrypting, posting and
logging it; the table counts the notifications that arrived.

The **ceiling** is what the server's signature work alone allows: per payment it verifies two
requests, signs two responses (the cashier call carries no signature) and signs the notification,
measured in the same run on one core; ceiling = cores ÷ that CPU time, and **efficiency** =
payments/s ÷ ceiling.

Commands: ` + "`fenfu bench --key rsa|sm2 --concurrency N --count N [--rate R] [--sqlite-synchronous FULL] [--core-db DSN --credit-db DSN]`" + `.

`

const narrative = `
## Where it lands, and why

Targets from the issue, against the table above:

- **SQLite, SM2, ≥ 3,000 payments/s: met, narrowly.** The 30,000-payment run above sustains
  just over 3,000/s; across repeated runs on this shared two-core machine it lands between 2,700
  and 3,200/s. Per payment the server spends about 0.5 ms of CPU (signature verification ~17 %,
  the SQLite writer's statements and commits ~28 %, the two order reads ~11 %, HTTP and JSON most
  of the rest) and the generator, on the same two cores, about 0.15 ms: 2 cores ÷ 0.65 ms ≈
  3,000/s is the bound of this build here, so there is no headroom yet.
- **p99 of each call ≤ 25 ms at 1,500/s: met** with room: about 5 ms (the rate run).
- **SQLite, RSA, efficiency ≥ 0.8: about 0.6.** The two RSA-2048 response signatures cost about
  1.45 ms of CPU per payment (the ceiling is ~1,370 payments/s on two cores); the rest of the
  server's work (~0.5 ms) and the generator (~0.15 ms) are what separates 0.6 from 1.0. Reaching
  0.8 needs that non-crypto work near a third of what it is, or the generator on another machine.
- **PostgreSQL on the same machine, SM2, ≥ 1,500/s: about 1,100–1,200/s.** The machine is
  CPU-bound and PostgreSQL's own processes use more CPU per payment (~0.9 ms) than fenfu
  (~0.65 ms): a payment costs about a dozen round trips (three single-statement writes, the
  five-statement credit capture transaction, two reads), each a pair of context switches. Next:
  pipeline the capture transaction (pgx batch, one round trip instead of five) and keep the
  consumer's credit-line ` + "`used`" + ` as the only copy of the receivable (one statement fewer per
  capture and refund, on both engines).
- **Durable mode** (` + "`synchronous=FULL`" + `) costs 15–20 % (compare the FULL rows with their
  NORMAL twins) rather than capping the store at one fsync per transaction (~3,800/s here, four
  transactions per payment): group commit shares each fsync among the transactions queued behind
  it.

## What moved the number (SQLite, SM2, 16 in flight unless noted)

| change | payments/s | server CPU ms/payment |
|---|---:|---:|
| first working version | 1,689 | 0.80 |
| prepared statements reused (SQLite was parsing every statement: 14 % of CPU) | 2,040 | 0.63 |
| created and paid orders returned as written, merchants cached (5 reads per payment → 2) | 2,300 | 0.55 |
| WAL checkpoints moved off the writer to a background PASSIVE loop | 2,400 | 0.52 |
| 128 payments in flight instead of 16 (the run was latency-bound at 1.6 of 2 cores) | 3,030–3,200 (10k payments) | 0.45–0.48 |

Tail latency at 1,500 payments/s (pay call p99): 36 ms with checkpoints inside the writer's
commit, 8.5 ms with background checkpoints; a periodic TRUNCATE checkpoint and a
` + "`journal_size_limit`" + ` each brought stalls back (maxima of 90–180 ms) and were removed.

On PostgreSQL, sending single-statement writes without BEGIN/COMMIT took SM2 from 915 to 1,208
payments/s. Unix sockets instead of TCP changed nothing measurable.

Group commit (one writer running queued transactions in one SQLite transaction, each in a
SAVEPOINT) barely changes CPU under ` + "`synchronous=NORMAL`" + `, where the writer keeps up and batches
average 1.3 transactions; its value is under FULL, where the writer waits on fsync and batches grow.
`
