// Command benchmd writes BENCHMARKS.md from the results that
// scripts/bench.sh leaves in benchmarks/: the JSON of each `fenfu bench`
// run and the output of the micro-benchmarks.
package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fenfu/fenfu/bench"
)

// order is how the runs appear; others follow by name.
var order = []string{"sqlite-rsa", "sqlite-sm2", "sqlite-sm2-halfrate", "sqlite-sm2-rate1500", "sqlite-sm2-full", "sqlite-rsa-full", "postgres-sm2", "postgres-rsa"}

// results is where scripts/bench.sh leaves the runs' JSON.
const results = "benchmarks/results"

func main() {
	// benchmd half FILE prints half the payments/s of a bench result: the
	// open-loop rate scripts/bench.sh runs after the closed-loop maximum.
	if len(os.Args) == 3 && os.Args[1] == "half" {
		var r bench.Result
		if !readJSON(os.Args[2], &r) || r.PaymentsPerS <= 0 {
			fail(fmt.Errorf("%s: no payments/s", os.Args[2]))
		}
		fmt.Printf("%.0f\n", r.PaymentsPerS/2)
		return
	}
	if len(os.Args) > 1 {
		fail(fmt.Errorf("usage: benchmd [half RESULT.json] > BENCHMARKS.md"))
	}
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	runs := load("benchmarks/results/*.json", func(a, b result[bench.Result]) int {
		return cmp.Or(cmp.Compare(rank(a.name), rank(b.name)), strings.Compare(a.name, b.name))
	})
	micro, _ := os.ReadFile("benchmarks/micro.txt")

	w := os.Stdout
	fmt.Fprint(w, title)
	writeTargets(w, results)
	fmt.Fprint(w, header)
	if len(runs) > 0 {
		m := runs[0].run.Machine
		fmt.Fprintf(w, "Machine: %d cores, %s, %s, %s. Server and load generator share the machine.\n\n", m.Cores, m.CPU, m.OS, m.Go)
	}
	fmt.Fprint(w, "## Results\n\n")
	fmt.Fprint(w, "| run | store | key | load | payments/s | server CPU ms/payment | crypto ms/payment | ceiling/s | efficiency | peak MB | errors | notified | proof |\n")
	fmt.Fprint(w, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, x := range runs {
		n, r := x.name, x.run
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
	for _, x := range runs {
		n, r := x.name, x.run
		cell := func(c string) string {
			s := r.Calls[c]
			return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", s.P50, s.P90, s.P99, s.Max)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", n, cell("create"), cell("pay"), cell("query"), cell("payment"))
	}
	writeLedger(w, results)
	writeNodes(w, results)
	settlement(w)
	verification(w)
	fmt.Fprint(w, "\n## Micro-benchmarks\n\n`go test -run XXX -bench . -benchtime 1s ./scheme/ ./qr/ ./ledger/ ./pay/ ./notify/ ./risk/`\n\n```\n")
	w.Write(micro)
	fmt.Fprint(w, "```\n")
	fmt.Fprint(w, narrative)
	// The hand-written notes follow the generated part, unchanged.
	if notes, err := os.ReadFile("benchmarks/notes.md"); err == nil {
		fmt.Fprint(w, "\n<!-- Hand-written: benchmarks/notes.md, copied here by scripts/benchmd. Edit it there. -->\n\n")
		w.Write(notes)
	}
}

// verification writes the proof runs, benchmarks/results/verify/*.json,
// SQLite first, smallest first.
func verification(w *os.File) {
	runs := load("benchmarks/results/verify/*.json", func(a, b result[bench.VerifyRun]) int {
		return cmp.Or(-strings.Compare(a.run.Engine, b.run.Engine), // sqlite first
			cmp.Compare(a.run.Orders, b.run.Orders))
	})
	if len(runs) == 0 {
		return
	}
	fmt.Fprint(w, verifyHeader)
	fmt.Fprint(w, "| orders | merchants | store | generate s | verify s | orders/s | CPU s | peak RSS MiB | ledger chain positions |\n")
	fmt.Fprint(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range runs {
		r := x.run
		chain := "– (before the chain)"
		if len(r.ChainPositions) > 0 {
			chain = fmt.Sprint(chainPositions(r))
		}
		fmt.Fprintf(w, "| %d | %d | %s | %.1f | %.2f | %.0f | %.2f | %.0f | %s |\n", r.Orders, r.Merchants, r.Engine,
			r.Generate, r.Seconds, float64(r.Orders)/r.Seconds, r.CPU, float64(r.PeakRSS)/(1<<20), chain)
	}
}

const verifyHeader = `
## Proof

` + "`fenfu bench verify --orders N`" + ` generates a provable day (as ` + "`bench settle --provable`" + `: consumers
with balances and credit lines, every balance order's postings in the core ledger, every credit
order's captured payment, refund and postings in the credit store), then runs ` + "`fenfu verify`" + `
over both stores as a child process and reads its wall time, CPU and peak RSS from the kernel.
The generator writes the books without a sealer, so ` + "`fenfu verify`" + ` first seals each store's ledger
chain (as an upgraded store's first verify does) and then checks it; the last column counts the
positions checked, and runs made before the chain have none.

`

// settlement writes the settlement runs, benchmarks/results/settle/*.json,
// smallest first.
func settlement(w *os.File) {
	runs := load("benchmarks/results/settle/*.json", func(a, b result[bench.SettleRun]) int {
		return cmp.Or(-strings.Compare(a.run.Engine, b.run.Engine), // sqlite first
			cmp.Compare(a.run.Orders, b.run.Orders), cmp.Compare(a.run.Merchants, b.run.Merchants))
	})
	if len(runs) == 0 {
		return
	}
	fmt.Fprint(w, settleHeader)
	fmt.Fprint(w, "| orders | merchants | store | batches s | orders/s | bills | bills s | process s | CPU s | peak RSS MiB | peak Go heap MiB | rerun s |\n")
	fmt.Fprint(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range runs {
		r := x.run
		if r.Orders == 0 {
			continue // not a run: speedup.json, the A/B ratios the targets read
		}
		fmt.Fprintf(w, "| %d | %d | %s | %.1f | %.0f | %d | %.1f | %.1f | %.1f | %.0f | %.1f | %.2f |\n", r.Orders, r.Merchants, r.Engine,
			r.Batches, float64(r.Orders)/r.Batches, r.Bills, r.BillTime, r.Seconds, r.CPU, float64(r.PeakRSS)/(1<<20),
			float64(r.PeakHeap)/(1<<20), r.Rerun)
	}
	fmt.Fprint(w, settleNarrative)
}

const settleHeader = `
## Settlement

` + "`fenfu bench settle --orders N --merchants M`" + ` writes a business day of paid orders straight into a
fresh core store (80 % credit-pay, 20 % ordinary, 10 % refunded in part the same day), then runs
` + "`fenfu settle`" + ` over it as a child process and reads its wall time, CPU and peak RSS from the
kernel; ` + "`fenfu settle`" + ` itself samples its Go heap every 50 ms. The run settles both channels'
batches, then renders and stores each merchant's three trade bills of the day (both channels, and
each apart). It then runs ` + "`fenfu settle`" + ` again, which must change nothing. The generated orders have
no ledger postings behind them (the batch reads only the orders), so these stores do not prove.

`

const settleNarrative = `
- **Memory follows the largest merchant-day, not the number of orders.** The batch works set by
  set: each merchant's step marks the orders it takes with one UPDATE, which returns their amounts
  to be summed, so no order is held in fenfu's memory. What does grow is one merchant's day: its
  bills' text (the rows stream into it). The UPDATE keeps no SQLite statement journal (see
  "Settlement three times faster" below).
- **On PostgreSQL** the RSS is fenfu's alone: the pages are cached in the database server, whose
  memory is not counted. Its CPU column is likewise fenfu's only.
- **SQLite's page caches** make most of the resident size: each cached 4 KiB page takes an 8 KiB
  slot of the allocator. ` + "`fenfu settle`" + ` keeps 8 MiB per connection, where a server keeps 64.
- **Time** is mostly SQLite reading and writing pages. Each merchant's orders are scattered over the
  table, as real traffic leaves them, so once the store outgrows the cache each batch step reads and
  writes about a page per order; the bills read their index in order.
- **Bills.** Each merchant's three bills of the day are rendered from one read of its trades, a
  range of the covering index of paid orders by merchant and time. Reading once instead of three
  times took the 1,000,000-order run's bills from 282 s to about 100 s.
- **Cost to the payment path.** Settlement added two indexes on orders that every payment
  maintains, and copies a credit payment's fee onto its order. The payment runs above predate both.
  An A/B run of the 30,000-payment SQLite/SM2 run, with this build and the build before alternating
  on the same machine within minutes, measured 1,228 and 1,202 payments/s against 1,291 and 1,134.
  Any cost is within the run-to-run noise. The machine was slower that hour than when the table's
  runs were made, so those numbers are not comparable with the table.
- **Partial indexes.** The first runs scanned the whole orders table for every settlement and every
  bill, because SQLite uses a partial index only when the query repeats the index's WHERE terms.
  Repeating them took a 100,000-order run from 17 s to 11 s.
`

// result is one run's result, named after its file.
type result[T any] struct {
	name string
	run  T
}

// load reads the results in the files matching pattern, each a T, in the
// order of by.
func load[T any](pattern string, by func(a, b result[T]) int) []result[T] {
	files, _ := filepath.Glob(pattern)
	var runs []result[T]
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		var r T
		if err := json.Unmarshal(b, &r); err != nil {
			fail(fmt.Errorf("%s: %w", f, err))
		}
		runs = append(runs, result[T]{strings.TrimSuffix(filepath.Base(f), ".json"), r})
	}
	slices.SortStableFunc(runs, by)
	return runs
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchmd:", err)
	os.Exit(1)
}

const title = `# fenfu benchmarks

This file is generated: ` + "`scripts/bench.sh`" + ` runs every configuration below and rewrites it
(about twenty minutes, most of it the settlement of 1,000,000 orders). The raw results are in ` + "`benchmarks/results/*.json`" + `.

`

const header = `## Method

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

Targets from the issue, against the table above. Every payment's notification is delivered in
these runs, and every payment now carries its fee. That work is real and belongs to the payment,
but it is new since the first measurements, and it moves several of them.

- **SQLite, SM2, ≥ 3,000 payments/s: not met with notifications and fees.**
  - With both: about 2,100/s over the 30,000-payment run.
  - Without them, on the build before notifications existed, the same run sustained 3,085/s (see
    the history below).
  - Per payment the server now spends about 0.75 ms of CPU: signature verification, the SQLite
    writer, two order reads, HTTP and JSON, plus about 0.2–0.3 ms to render, encrypt, sign, post and
    log the notification and about 0.08 ms to price and post the fee. The generator takes about
    0.15 ms on the same two cores.
  - Next:
    - deliver notifications from a node of their own (the row-outbox claim already lets any number
      of nodes share the work);
    - render a round's events from one query instead of one read each.
- **p99 of each call ≤ 25 ms at 1,500/s: not met in the final run.**
  - p99 for create and query is about 20 and 15 ms, but about 37 ms for the pay call.
  - It was 5 ms before notifications, and 18 ms with notifications but before fees.
  - At 1,500/s the server now uses about 1.25 of the two cores and the generator another 0.3, so
    requests queue.
  - Delivering notifications from another node would take that work off the payment node.
- **SQLite, RSA, efficiency ≥ 0.8: about 0.75.**
  - The ceiling now counts three RSA-2048 signatures per payment (two responses and the
    notification), about 2.3 ms of CPU, so the ceiling is about 880 payments/s on two cores.
  - The rest of the server's work and the generator are what separates 0.7 from 1.0.
- **PostgreSQL on the same machine, SM2, ≥ 1,500/s: about 710/s with notifications, shared nonces
  and fees** (1,232/s before them).
  - The machine is CPU-bound, and PostgreSQL's own processes use as much CPU per payment as fenfu.
  - A payment costs about fifteen client–server round trips:
    - three single-statement writes;
    - the five-statement credit capture;
    - two reads;
    - a shared-nonce upsert per signed request;
    - the notification's claim, read and record.
  - Next:
    - pipeline the capture transaction (pgx batch: one round trip instead of five);
    - keep the consumer's credit-line ` + "`used`" + ` as the only copy of the receivable (one statement fewer
      per capture and refund, on both engines).
- **Durable mode** (` + "`synchronous=FULL`" + `) costs 5–20 % across runs (10 % in the final run) (compare the FULL rows with
  their NORMAL twins), not the cap of one fsync per transaction (~3,800/s here, with several
  transactions per payment). Group commit shares each fsync among the transactions queued behind
  it.

## What moved the number (SQLite, SM2, 16 in flight unless noted)

| change | payments/s | server CPU ms/payment |
|---|---:|---:|
| first working version | 1,689 | 0.80 |
| prepared statements reused (SQLite was parsing every statement: 14 % of CPU) | 2,040 | 0.63 |
| created and paid orders returned as written, merchants cached (5 reads per payment → 2) | 2,300 | 0.55 |
| WAL checkpoints moved off the writer to a background PASSIVE loop | 2,400 | 0.52 |
| 128 payments in flight instead of 16 (the run was latency-bound at 1.6 of 2 cores) | 3,030–3,200 (10k payments) | 0.45–0.48 |
| the same, 30,000 payments, no ` + "`journal_size_limit`" + ` | 3,085 | 0.47 |
| notifications delivered for every payment (to a local endpoint that acknowledges) | 1,970–2,350 | 0.68–0.79 |
| fees priced and posted with every payment (sharded month-to-date volume) | 2,108 (30k payments) | 0.76 |

Tail latency at 1,500 payments/s (pay call p99): 36 ms with checkpoints inside the writer's
commit, 8.5 ms with background checkpoints; a periodic TRUNCATE checkpoint and a
` + "`journal_size_limit`" + ` each brought stalls back (maxima of 90–180 ms) and were removed.

Notification delivery: claiming a round with one ` + "`UPDATE … RETURNING`" + ` and recording it in one
transaction instead of a claim and a transaction per notification, and keeping 32 connections per
merchant host instead of Go's default 2, made the worker keep up with the payment rate (before,
6 % of a 30,000-payment run's notifications were still queued when it ended).

On PostgreSQL, sending single-statement writes without BEGIN/COMMIT took SM2 from 915 to 1,208
payments/s. Unix sockets instead of TCP changed nothing measurable.

Group commit (one writer running queued transactions in one SQLite transaction, each in a
SAVEPOINT) barely changes CPU under ` + "`synchronous=NORMAL`" + `, where the writer keeps up and batches
average 1.3 transactions; its value is under FULL, where the writer waits on fsync and batches grow.
`
