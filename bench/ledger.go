package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// The ledger bench's variants: where each transaction's one posting goes.
const (
	// LedgerHot: every transaction credits one untracked merchant
	// account, from an untracked funding account of its client.
	LedgerHot = "hot"
	// LedgerNoHot: each client credits a merchant account of its own, so
	// no two clients share an account.
	LedgerNoHot = "no-hot"
	// LedgerTrackedHot: every transaction debits one tracked consumer
	// balance, opened with a balance large enough for the run, and
	// credits a merchant account of its client.
	LedgerTrackedHot = "tracked-hot"
)

// LedgerVariants are the variants, in the order a run takes them.
var LedgerVariants = []string{LedgerHot, LedgerNoHot, LedgerTrackedHot}

// LedgerKind is the kind of the transactions the ledger bench posts: no
// proof of the payment path reads it.
const LedgerKind = "bench"

// Formance is Formance ledger v2's throughput as issue 18 records it, in
// transactions per second with one posting each, 16 and 64 clients, on
// one PostgreSQL: the lowest and highest of its runs.
var Formance = map[string][2]float64{LedgerHot: {66, 72}, LedgerNoHot: {113, 126}}

// FormanceNote says where Formance's figures come from.
const FormanceNote = "Formance ledger v2.2.59, measured on another day; its run is not repeatable here (proxy 403)"

// FormanceRatio is tps over Formance's best figure for variant (a tracked
// hot account is compared with Formance's hot account): the ratio least
// favourable to fenfu. It is 0 for a variant Formance was not measured in.
func FormanceRatio(variant string, tps float64) float64 {
	if variant == LedgerTrackedHot {
		variant = LedgerHot
	}
	f, ok := Formance[variant]
	if !ok || f[1] <= 0 {
		return 0
	}
	return tps / f[1]
}

// LedgerConfig is one ledger run: Clients goroutines posting Variant's
// transactions until Count are posted or Duration has passed, whichever
// comes first (a zero bound does not bound).
type LedgerConfig struct {
	Variant  string
	Clients  int
	Count    int
	Duration time.Duration
	// Prefix starts every transaction's ref and every account owner of
	// the run, so runs in one store do not meet.
	// It holds no "/".
	Prefix string
	// CPU reads the CPU time the run is charged: fenfu's process and, on
	// PostgreSQL, the database's backends. Nil reads this process's.
	CPU func() (own, server time.Duration)
}

// LedgerRun is what one ledger run measured.
type LedgerRun struct {
	Variant      string         `json:"variant"`
	Clients      int            `json:"clients"`
	Round        int            `json:"round"`
	Postings     string         `json:"postings"`
	Prefix       string         `json:"ref_prefix"`
	Transactions int            `json:"transactions"`
	Amount       fenfu.Fen      `json:"amount"`
	ElapsedS     float64        `json:"elapsed_s"`
	TxPerS       float64        `json:"tx_per_s"`
	Latency      CallStats      `json:"latency"`
	Retries      int            `json:"retries"` // attempts beyond the first, after transient conflicts
	Errors       map[string]int `json:"errors"`
	FenfuCPUS    float64        `json:"fenfu_cpu_s"`
	ServerCPUS   float64        `json:"db_server_cpu_s"`
	CPUPerTxMS   float64        `json:"cpu_ms_per_tx"` // fenfu and database server
	Load         [3]float64     `json:"load_average"`  // at the end of the run
	// VsFormance is TxPerS over Formance's best figure of the variant.
	VsFormance float64 `json:"vs_formance"`
}

// LedgerResult is a `fenfu bench ledger` invocation's report.
type LedgerResult struct {
	Label    string       `json:"label"`
	Time     string       `json:"time"`
	Machine  Machine      `json:"machine"`
	Engine   string       `json:"engine"`
	CPUScope string       `json:"cpu_scope"`
	Load     [3]float64   `json:"load_average_start"`
	Pgbench  []PgbenchRun `json:"pgbench,omitempty"`
	// PgbenchNote says what of the pgbench reference was not measured,
	// and why.
	PgbenchNote string      `json:"pgbench_note,omitempty"`
	Runs        []LedgerRun `json:"runs"`
	Formance    struct {
		Note   string                `json:"note"`
		TxPerS map[string][2]float64 `json:"tx_per_s"`
	} `json:"formance"`
	VerifyS float64 `json:"verify_s"`
	Proof   string  `json:"proof"`
	ProofOK bool    `json:"proof_ok"`
}

// ledgerAccounts returns the accounts of the transaction client c posts in
// variant, under prefix.
func ledgerAccounts(variant, prefix string, c int) (from, to ledger.Account, err error) {
	mine := fmt.Sprintf("%s-c%d", prefix, c)
	switch variant {
	case LedgerHot:
		return ledger.AccountOf(ledger.PlatformFunding, mine), ledger.AccountOf(ledger.MerchantPending, prefix+"-hot"), nil
	case LedgerNoHot:
		return ledger.AccountOf(ledger.PlatformFunding, mine), ledger.AccountOf(ledger.MerchantPending, mine), nil
	case LedgerTrackedHot:
		return ledger.AccountOf(ledger.ConsumerBalance, prefix+"-hot"), ledger.AccountOf(ledger.MerchantPending, mine), nil
	}
	return "", "", fmt.Errorf("bench: no ledger variant %q", variant)
}

// LedgerPostings describes variant's posting for people.
func LedgerPostings(variant string) string {
	from, to, err := ledgerAccounts(variant, "<run>", 0)
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(from)+" → "+string(to), "-c0", "-c<client>")
}

// ledgerAmount is the amount of client c's seq-th transaction: 1 to 10,000
// fen, spread.
func ledgerAmount(c, seq int) fenfu.Fen { return fenfu.Fen(1 + (c*7919+seq*104729)%10000) }

// trackedOpening is the tracked hot account's opening balance: more than
// any run posts.
const trackedOpening fenfu.Fen = 1 << 50

// ledgerRef is the ref of client c's seq-th transaction under prefix.
func ledgerRef(prefix string, c, seq int) string { return fmt.Sprintf("%s/%d/%d", prefix, c, seq) }

// openingRef is the ref of the transaction that funds a tracked-hot run's
// account.
func openingRef(prefix string) string { return prefix + "/opening" }

// RunLedger posts cfg's transactions into d through ledger.Post, one per
// db.Update as a payment posts its own, from cfg.Clients goroutines, and
// measures them. The tracked-hot variant first opens and funds its
// account, outside the timed part.
func RunLedger(ctx context.Context, d *db.DB, cfg LedgerConfig) (LedgerRun, error) {
	r := LedgerRun{Variant: cfg.Variant, Clients: cfg.Clients, Postings: LedgerPostings(cfg.Variant), Prefix: cfg.Prefix,
		Errors: map[string]int{}}
	if _, _, err := ledgerAccounts(cfg.Variant, cfg.Prefix, 0); err != nil {
		return r, err
	}
	if cfg.Prefix == "" || strings.Contains(cfg.Prefix, "/") {
		return r, fmt.Errorf("bench: a ledger run's prefix %q must be set and hold no /", cfg.Prefix)
	}
	if cfg.Clients < 1 || (cfg.Count < 1 && cfg.Duration <= 0) {
		return r, fmt.Errorf("bench: a ledger run needs clients, and a count or a duration")
	}
	if cfg.Variant == LedgerTrackedHot {
		hot, _, _ := ledgerAccounts(cfg.Variant, cfg.Prefix, 0)
		err := d.Update(ctx, func(tx *db.Tx) error {
			if err := ledger.Open(ctx, tx, hot); err != nil {
				return err
			}
			return ledger.Post(ctx, tx, ledger.Txn{Kind: LedgerKind, Ref: openingRef(cfg.Prefix), Entries: []ledger.Entry{
				ledger.Debit(ledger.AccountOf(ledger.PlatformFunding, cfg.Prefix+"-opening"), trackedOpening),
				ledger.Credit(hot, trackedOpening)}})
		})
		if err != nil {
			return r, fmt.Errorf("bench: open %s: %w", hot, err)
		}
	}
	cpu := cfg.CPU
	if cpu == nil {
		cpu = func() (time.Duration, time.Duration) { c, _ := SelfCPU(); return c, 0 }
	}
	type client struct {
		hist    Histogram
		n       int
		amount  fenfu.Fen
		retries int
		errors  map[string]int
	}
	clients := make([]*client, cfg.Clients)
	var started atomic.Int64
	var wg sync.WaitGroup
	fenfuBefore, serverBefore := cpu()
	start := time.Now()
	for c := range clients {
		cl := &client{errors: map[string]int{}}
		clients[c] = cl
		from, to, _ := ledgerAccounts(cfg.Variant, cfg.Prefix, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				if cfg.Duration > 0 && time.Since(start) >= cfg.Duration {
					return
				}
				if cfg.Count > 0 && started.Add(1) > int64(cfg.Count) {
					return
				}
				amount := ledgerAmount(c, seq)
				t := ledger.Txn{Kind: LedgerKind, Ref: ledgerRef(cfg.Prefix, c, seq),
					Entries: []ledger.Entry{ledger.Debit(from, amount), ledger.Credit(to, amount)}}
				attempts := 0
				t0 := time.Now()
				err := d.Update(ctx, func(tx *db.Tx) error {
					attempts++
					return ledger.Post(ctx, tx, t)
				})
				cl.hist.Record(time.Since(t0))
				cl.retries += max(attempts-1, 0)
				if err != nil {
					cl.errors[errorKey(err)]++
					continue
				}
				cl.n++
				cl.amount += amount
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fenfuAfter, serverAfter := cpu()
	var h Histogram
	for _, cl := range clients {
		h.Merge(&cl.hist)
		r.Transactions += cl.n
		r.Amount += cl.amount
		r.Retries += cl.retries
		for k, v := range cl.errors {
			r.Errors[k] += v
		}
	}
	r.ElapsedS = elapsed.Seconds()
	r.TxPerS = float64(r.Transactions) / elapsed.Seconds()
	r.Latency = StatsOf(&h)
	r.FenfuCPUS = (fenfuAfter - fenfuBefore).Seconds()
	r.ServerCPUS = (serverAfter - serverBefore).Seconds()
	if r.Transactions > 0 {
		r.CPUPerTxMS = (r.FenfuCPUS + r.ServerCPUS) * 1000 / float64(r.Transactions)
	}
	r.Load = LoadAverage()
	r.VsFormance = FormanceRatio(r.Variant, r.TxPerS)
	return r, nil
}

// errorKey is an error's message without the transaction it names, so
// like errors count together.
func errorKey(err error) string {
	for _, e := range []error{ledger.ErrDuplicate, ledger.ErrInsufficient, ledger.ErrNoAccount, ledger.ErrUnbalanced} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// CheckLedgerRuns reads back every transaction the runs posted in d and
// checks that each run's are all there, once each, with the amounts
// posted: no transaction a run counted as posted is missing, none it did
// not count is present. It reads the transactions of LedgerKind only.
func CheckLedgerRuns(ctx context.Context, d *db.DB, runs []LedgerRun) error {
	type tally struct {
		n      int
		amount fenfu.Fen
	}
	byPrefix := map[string]*tally{}
	for _, r := range runs {
		byPrefix[r.Prefix] = &tally{}
	}
	err := ledger.Postings(ctx, d, LedgerKind, func(ref string, entries []ledger.Entry) error {
		prefix, rest, _ := strings.Cut(ref, "/") // prefix/client/seq
		t := byPrefix[prefix]
		if t == nil || rest == "opening" {
			return nil
		}
		if len(entries) != 2 || entries[0].Amount <= 0 || entries[0].Amount != -entries[1].Amount {
			return fmt.Errorf("bench: ledger transaction %s is not one posting: %v", ref, entries)
		}
		t.n++
		t.amount += entries[0].Amount
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range runs {
		t := byPrefix[r.Prefix]
		if t.n != r.Transactions || t.amount != r.Amount {
			return fmt.Errorf("bench: run %s posted %d transactions of %d fen, but the books hold %d of %d fen",
				r.Prefix, r.Transactions, r.Amount, t.n, t.amount)
		}
	}
	return nil
}

// LoadAverage reads the system's load averages over 1, 5 and 15 minutes
// (zeros where /proc/loadavg cannot be read).
func LoadAverage() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	for i, f := range strings.Fields(string(b)) {
		if i >= 3 {
			break
		}
		l[i], _ = strconv.ParseFloat(f, 64)
	}
	return l
}

// BackendCPU returns the CPU time used so far by the PostgreSQL backends
// serving d's database, read from /proc: it sees them only when the
// server runs on this machine (zero otherwise). A backend that exits
// between two readings takes its time with it, so the pools should keep
// their connections (fenfu's do).
func BackendCPU(ctx context.Context, d *db.DB) (time.Duration, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var cpu time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return 0, err
		}
		if c, _, err := ProcStat(pid); err == nil {
			cpu += c
		}
	}
	return cpu, rows.Err()
}

// PgbenchRun is one run of PostgreSQL's pgbench, TPC-B-like, the day's
// reference for how fast the machine and its PostgreSQL are.
type PgbenchRun struct {
	When      string     `json:"when"` // before or after the ledger runs
	Clients   int        `json:"clients"`
	Scale     int        `json:"scale"`
	Seconds   float64    `json:"seconds"`
	TPS       float64    `json:"tps"`
	LatencyMS float64    `json:"latency_avg_ms"`
	Load      [3]float64 `json:"load_average"`
}

// ParsePgbench reads the throughput and mean latency pgbench printed.
func ParsePgbench(out string) (tps, latencyMS float64, err error) {
	tpsOK, latOK := false, false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "tps = "); ok && !tpsOK {
			f := strings.Fields(v)
			if len(f) > 0 {
				tps, err = strconv.ParseFloat(f[0], 64)
				tpsOK = err == nil
			}
		}
		if v, ok := strings.CutPrefix(line, "latency average = "); ok {
			f := strings.Fields(v)
			if len(f) > 1 && f[1] == "ms" {
				latencyMS, err = strconv.ParseFloat(f[0], 64)
				latOK = err == nil
			}
		}
	}
	if !tpsOK || !latOK {
		return 0, 0, fmt.Errorf("bench: pgbench printed no tps or latency: %q", out)
	}
	return tps, latencyMS, nil
}

// Table writes the result for people.
func (r LedgerResult) Table(w io.Writer) {
	fmt.Fprintf(w, "\nledger bench %s — %s, ledger.Post in process, one posting per transaction, each in its own db.Update\n", r.Label, r.Engine)
	fmt.Fprintf(w, "load average at the start %.2f %.2f %.2f; CPU is %s\n\n", r.Load[0], r.Load[1], r.Load[2], r.CPUScope)
	fmt.Fprintf(w, "  %-12s %7s %5s %9s %8s %8s %8s %9s %8s %7s %6s %11s\n", "variant", "clients", "round", "tx", "tx/s",
		"p50 ms", "p99 ms", "CPU ms/tx", "retries", "errors", "load", "×Formance")
	for _, x := range r.Runs {
		errs := 0
		for _, v := range x.Errors {
			errs += v
		}
		vs := "-"
		if x.VsFormance > 0 {
			vs = fmt.Sprintf("%.1f×", x.VsFormance)
		}
		fmt.Fprintf(w, "  %-12s %7d %5d %9d %8.0f %8.2f %8.2f %9.3f %8d %7d %6.2f %11s\n", x.Variant, x.Clients, x.Round,
			x.Transactions, x.TxPerS, x.Latency.P50, x.Latency.P99, x.CPUPerTxMS, x.Retries, errs, x.Load[0], vs)
	}
	for _, p := range r.Pgbench {
		fmt.Fprintf(w, "  pgbench (TPC-B-like, scale %d, %d clients, %.0f s, %s the runs): %.0f tps, %.2f ms mean latency, load %.2f\n",
			p.Scale, p.Clients, p.Seconds, p.When, p.TPS, p.LatencyMS, p.Load[0])
	}
	if r.PgbenchNote != "" {
		fmt.Fprintf(w, "  pgbench: %s\n", r.PgbenchNote)
	}
	fmt.Fprintf(w, "  ×Formance: tx/s over its best figure (hot %.0f, no-hot %.0f tx/s; tracked-hot against hot). %s.\n",
		Formance[LedgerHot][1], Formance[LedgerNoHot][1], FormanceNote)
	fmt.Fprintf(w, "  books (%.2f s)  %s\n", r.VerifyS, r.Proof)
}
