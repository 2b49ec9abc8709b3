package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/db"
)

// cmdBenchLedger posts balanced transactions through ledger.Post, in
// process, from N goroutines, in each variant (a hot untracked account,
// no shared account, a hot tracked account), measures them, then proves
// the books as fenfu verify does and fails if they do not prove.
func cmdBenchLedger(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	clientsFlag := fs.String("clients", "16,64", "comma-separated numbers of goroutines posting at once; each number is a run")
	variantsFlag := fs.String("variants", strings.Join(bench.LedgerVariants, ","), "comma-separated variants: hot (one untracked merchant account takes every transaction), no-hot (no two clients share an account), tracked-hot (every transaction debits one tracked consumer balance)")
	count := fs.Int("count", 0, "end each run after this many transactions (0: no limit)")
	duration := fs.Duration("duration", 10*time.Second, "end each run after this long (0: no limit)")
	rounds := fs.Int("rounds", 1, "take every variant and number of clients this many times, interleaved")
	pgbenchFor := fs.Duration("pgbench", 0, "on PostgreSQL: run pgbench's TPC-B-like load this long before and after the runs, on a scratch database of the same server, as the day's speed reference (0: not)")
	pgbenchClients := fs.Int("pgbench-clients", 16, "pgbench's clients")
	pgbenchScale := fs.Int("pgbench-scale", 16, "pgbench's scale factor (100,000 accounts each)")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	out := fs.String("o", "", "also write the result as JSON to this file")
	label := fs.String("label", "", "a name for this run in the report")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	var clients []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return e.usagef("--clients takes numbers from 1 to 4096, comma-separated")
		}
		clients = append(clients, n)
	}
	var variants []string
	for _, v := range strings.Split(*variantsFlag, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(bench.LedgerVariants, v) {
			return e.usagef("--variants takes %s", strings.Join(bench.LedgerVariants, ", "))
		}
		variants = append(variants, v)
	}
	switch {
	case *count < 0 || *duration < 0 || (*count == 0 && *duration == 0):
		return e.usagef("give --count or --duration, not negative")
	case *rounds < 1 || *rounds > 100:
		return e.usagef("--rounds must be from 1 to 100")
	case *pgbenchFor < 0 || *pgbenchClients < 1 || *pgbenchScale < 1:
		return e.usagef("--pgbench, --pgbench-clients and --pgbench-scale must be positive")
	}
	remove, err := cfg.temporaryStore(fs, "fenfu-bench-ledger-")
	if err != nil {
		return err
	}
	defer remove()
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	core := a.core

	res := bench.LedgerResult{Label: *label, Time: time.Now().UTC().Format(time.RFC3339), Machine: bench.ThisMachine(),
		Engine: string(core.Engine), Load: bench.LoadAverage(), CPUScope: "fenfu's process (ledger.Post and the goroutines calling it)"}
	res.Formance.Note, res.Formance.TxPerS = bench.FormanceNote, bench.Formance
	cpu := func() (time.Duration, time.Duration) { c, _ := bench.SelfCPU(); return c, 0 }
	if core.Engine == db.Postgres {
		res.CPUScope += ", and PostgreSQL's backends serving the core database, read from /proc (0 if the server is on another machine)"
		cpu = func() (time.Duration, time.Duration) {
			c, _ := bench.SelfCPU()
			s, err := bench.BackendCPU(ctx, core)
			if err != nil {
				fmt.Fprintf(e.stderr, "fenfu bench ledger: PostgreSQL backends' CPU: %v\n", err)
			}
			return c, s
		}
	}

	var pg *pgbench
	if *pgbenchFor > 0 {
		if core.Engine != db.Postgres {
			return e.usagef("--pgbench needs a PostgreSQL --core-db")
		}
		pg, err = startPgbench(ctx, cfg.CoreDB, *pgbenchClients, *pgbenchScale, *pgbenchFor, e.stderr)
		if err != nil {
			res.PgbenchNote = "not measured: " + err.Error()
			fmt.Fprintf(e.stderr, "fenfu bench ledger: pgbench %s\n", res.PgbenchNote)
		} else {
			defer pg.drop(ctx)
		}
	}
	// A pgbench that fails is noted, not fatal: the reference is beside
	// the ledger's figures, not part of them.
	pgbenchRun := func(when string) {
		if pg == nil {
			return
		}
		fmt.Fprintf(e.stderr, "pgbench, %d clients, %s\n", pg.clients, pg.d)
		r, err := pg.run(ctx, when)
		if err != nil {
			res.PgbenchNote = strings.TrimPrefix(res.PgbenchNote+"; ", "; ") + when + " the runs: " + err.Error()
			fmt.Fprintf(e.stderr, "fenfu bench ledger: %v\n", err)
			return
		}
		res.Pgbench = append(res.Pgbench, r)
	}
	pgbenchRun("before")
	runID := time.Now().Format("150405")
	for round := 1; round <= *rounds; round++ {
		for _, v := range variants {
			for _, n := range clients {
				fmt.Fprintf(e.stderr, "ledger %s, %d clients, round %d\n", v, n, round)
				r, err := bench.RunLedger(ctx, core, bench.LedgerConfig{Variant: v, Clients: n, Count: *count, Duration: *duration,
					Prefix: fmt.Sprintf("L%s.%d.%s.%d", runID, round, v, n), CPU: cpu})
				if err != nil {
					return err
				}
				r.Round = round
				res.Runs = append(res.Runs, r)
			}
		}
	}
	pgbenchRun("after")

	// The books must prove: every run's transactions are there once each,
	// and fenfu verify's proof of both stores holds.
	start := time.Now()
	perr := bench.CheckLedgerRuns(ctx, core, res.Runs)
	if perr == nil {
		var p proof
		if p, perr = a.prove(ctx); perr == nil {
			posted := 0
			for _, r := range res.Runs {
				posted += r.Transactions
			}
			res.ProofOK = true
			res.Proof = fmt.Sprintf("ok: %d transactions, each once with its amount; %s", posted, p)
		}
	}
	res.VerifyS = time.Since(start).Seconds()
	if perr != nil {
		res.Proof = "FAILED: " + perr.Error()
	}
	if err := writeResult(e.stdout, *out, *asJSON, res, func(w io.Writer) error { res.Table(w); return nil }); err != nil {
		return err
	}
	if perr != nil {
		return fmt.Errorf("LEDGER PROOF FAILED after the ledger bench: %w", perr)
	}
	for _, r := range res.Runs {
		if len(r.Errors) > 0 {
			return fmt.Errorf("the ledger bench's %s run at %d clients had errors: %v", r.Variant, r.Clients, r.Errors)
		}
	}
	return nil
}

// pgbench runs PostgreSQL's pgbench on a scratch database.
type pgbench struct {
	scratch *db.Scratch
	clients int
	scale   int
	d       time.Duration
}

// startPgbench creates a scratch database on the server of dsn, whose user
// must be allowed to create databases, and fills it with pgbench's tables.
func startPgbench(ctx context.Context, dsn string, clients, scale int, d time.Duration, stderr io.Writer) (*pgbench, error) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		return nil, fmt.Errorf("pgbench is not installed (Debian: postgresql-client)")
	}
	s, err := db.CreateScratch(ctx, dsn, "fenfu_pgbench_")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "pgbench: initialising scale %d\n", scale)
	cmd := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", strconv.Itoa(scale), s.DSN)
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = s.Drop(ctx)
		return nil, fmt.Errorf("pgbench -i: %v: %s", err, lastLine(b))
	}
	return &pgbench{scratch: s, clients: clients, scale: scale, d: d}, nil
}

// run runs pgbench's default TPC-B-like script for p.d.
func (p *pgbench) run(ctx context.Context, when string) (bench.PgbenchRun, error) {
	secs := max(int(p.d.Round(time.Second)/time.Second), 1)
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-c", strconv.Itoa(p.clients), "-j", strconv.Itoa(min(p.clients, 2)), "-T", strconv.Itoa(secs), p.scratch.DSN)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return bench.PgbenchRun{}, fmt.Errorf("pgbench: %v: %s", err, lastLine(b))
	}
	tps, lat, err := bench.ParsePgbench(string(b))
	if err != nil {
		return bench.PgbenchRun{}, err
	}
	return bench.PgbenchRun{When: when, Clients: p.clients, Scale: p.scale, Seconds: float64(secs), TPS: tps, LatencyMS: lat,
		Load: bench.LoadAverage()}, nil
}

func (p *pgbench) drop(ctx context.Context) { _ = p.scratch.Drop(context.WithoutCancel(ctx)) }

// lastLine is the last non-empty line of a command's output.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
