package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/chaos"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/scheme"
)

// The chaos run's recovery: a node settles an interrupted payment this
// long after it was interrupted, checking this often.
const (
	chaosRecoverAfter = 2 * time.Second
	chaosRecoverEvery = time.Second
	chaosNotifyLease  = 7 * time.Second
)

// chaosResult is the report of a chaos run.
type chaosResult struct {
	Label       string         `json:"label,omitempty"`
	Time        string         `json:"time"`
	Machine     bench.Machine  `json:"machine"`
	Engine      string         `json:"engine"`
	Nodes       int            `json:"nodes"`
	Seed        uint64         `json:"seed"`
	Cycles      int            `json:"cycles"`
	Faults      []string       `json:"faults"`
	Concurrency int            `json:"concurrency"`
	ElapsedS    float64        `json:"elapsed_s"`
	Counts      chaos.Counts   `json:"counts"`
	Failure     *chaos.Failure `json:"failure,omitempty"`
	// Settlement is what the settle-kill cycles' batches did.
	Settlement *settleStats `json:"settlement,omitempty"`
	// Integrity is SQLite's integrity check of each store after the run.
	Integrity map[string]string `json:"integrity,omitempty"`
	// Notifications the sink took, deliveries cut off before they were
	// answered, and deliveries it could not read.
	Notifications struct {
		Received    int      `json:"received"`
		Interrupted int      `json:"interrupted"`
		Rejected    []string `json:"rejected,omitempty"`
	} `json:"notifications"`
}

func (r chaosResult) table(w io.Writer) {
	c := r.Counts
	fmt.Fprintf(w, "chaos: %s, %d node(s), seed %d: %d cycles in %.0fs\n", r.Engine, r.Nodes, r.Seed, r.Cycles, r.ElapsedS)
	for _, k := range bench.SortedErrors(c.Faults) {
		fmt.Fprintf(w, "  fault %-16s %d cycles\n", k, c.Faults[k])
	}
	fmt.Fprintf(w, "  kills                 %d (SIGKILL)\n", c.Kills)
	fmt.Fprintf(w, "  payments acknowledged %d (%d credit, %d balance)\n", c.Payments, c.CreditPayments, c.BalancePayments)
	fmt.Fprintf(w, "  refunds acknowledged  %d\n", c.Refunds)
	fmt.Fprintf(w, "  unknown outcomes      create %d (%d had landed), pay %d (%d had landed, %d paid by the retry), refund %d (%d had landed, %d made by the retry)\n",
		c.UnknownCreate, c.CreateLanded, c.UnknownPay, c.PayLanded, c.PayRetried, c.UnknownRefund, c.RefundLanded, c.RefundRetried)
	fmt.Fprintf(w, "  left by the kills     %d orders PAYING, %d refunds PROCESSING (all settled by recovery)\n", c.PayingAfterKill, c.ProcessingAfterKill)
	fmt.Fprintf(w, "  connections refused   %d (a node was down: nothing sent)\n", c.ConnRefused)
	for _, k := range bench.SortedErrors(c.RefusedByServer) {
		fmt.Fprintf(w, "  refused by the server %s: %d (%s)\n", k, c.RefusedByServer[k], c.FailedMessages[k])
	}
	for _, k := range bench.SortedErrors(c.FailedByServer) {
		fmt.Fprintf(w, "  failed, outcome unknown %s: %d (%s)\n", k, c.FailedByServer[k], c.FailedMessages[k])
	}
	if c.SlowRetries > 0 {
		fmt.Fprintf(w, "  retries of unknown calls made again after a fault: %d\n", c.SlowRetries)
	}
	n := r.Notifications
	fmt.Fprintf(w, "  notifications         %d received, %d deliveries cut off; %d payments and refunds checked, %d duplicates\n",
		n.Received, n.Interrupted, c.NotifyChecked, c.NotifyDuplicates)
	if s := r.Settlement; s != nil {
		fmt.Fprintf(w, "  settlement            %d batches: %d killed mid-batch, %d ended before the kill; reruns settled %d merchants (%d payments), posted %d left pending; %d reruns failed\n",
			s.Batches, s.Killed, s.Finished, s.Settled, s.Payments, s.Resumed, s.RerunFailed)
	}
	for _, k := range []string{"core", "credit"} {
		if v, ok := r.Integrity[k]; ok {
			fmt.Fprintf(w, "  integrity_check %-6s %s\n", k, v)
		}
	}
	fmt.Fprintf(w, "  lost %d, doubled %d, wrong %d, stuck %d, diverged %d, verify failures %d, unnotified %d, misnotified %d, unrecovered %d, unsettled %d\n",
		c.Lost, c.Doubled, c.Wrong, c.Stuck, c.Diverged, c.VerifyFailures, c.Unnotified, c.Misnotified, c.Unrecovered, c.Unsettled)
	if r.Failure != nil {
		fmt.Fprintf(w, "FAILED at cycle %d (seed %d): %s\n", r.Failure.Cycle, r.Failure.Seed, r.Failure.Reason)
	} else {
		fmt.Fprintln(w, "  ok")
	}
}

func cmdChaos(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	cycles := fs.Int("cycles", 10, "cycles: load, a fault and its undoing, recovery and the checks")
	engine := fs.String("engine", "sqlite", "sqlite, or postgres (with --core-db and --credit-db, or --postgres)")
	admin := fs.String("postgres", "", "with --engine postgres: an administrator's DSN to create (and afterwards drop) two temporary databases on")
	nodes := fs.Int("nodes", 1, "serve processes on the same stores, the load spread over them (2 needs postgres)")
	conc := fs.Int("concurrency", 8, "workers driving calls at once")
	seed := fs.Uint64("seed", 0, "seed of the kill timing, victims and load (0: a random one, printed)")
	merchants := fs.Int("merchants", 2, "merchants to provision")
	consumers := fs.Int("consumers", 20, "consumers to provision")
	serverLog := fs.String("server-log", "", "append the servers' logs to this file (default: discarded)")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of text")
	out := fs.String("o", "", "also write the result as JSON to this file")
	label := fs.String("label", "", "a name for this run in the report")
	faultList := fs.String("fault", "kill", "the faults the cycles do in turn, comma-separated: kill, pg-restart, credit-partition (postgres), disk-full (sqlite), clock-step, settle-kill; or mix: every one the engine allows")
	pgBin := fs.String("pg-bin", "/usr/lib/postgresql/15/bin", "with pg-restart: where PostgreSQL's programs are, to run a PostgreSQL of the run's own (as the postgres user)")
	tmpfsMiB := fs.Int("tmpfs-mb", 256, "with disk-full: the size of the tmpfs the SQLite stores are put on, MiB")
	notifyWait := fs.Duration("notify-wait", 30*time.Second, "how long a full check waits for notifications still due")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	switch {
	case *engine != "sqlite" && *engine != "postgres":
		return e.usagef("--engine must be sqlite or postgres")
	case *nodes != 1 && *nodes != 2:
		return e.usagef("--nodes must be 1 or 2")
	case *nodes == 2 && *engine != "postgres":
		return e.usagef("--nodes 2 needs --engine postgres: SQLite stores have one host")
	case *cycles < 1 || *conc < 1 || *merchants < 1 || *consumers < 1 || *tmpfsMiB < 1:
		return e.usagef("--cycles, --concurrency, --merchants, --consumers and --tmpfs-mb must be positive")
	}
	faults, err := chaos.ParseFaults(*faultList, faultsFor(*engine))
	if err != nil {
		return e.usagef("%v (on %s)", err, *engine)
	}
	has := func(name string) bool { return slices.Contains(faults, name) }
	if *seed == 0 {
		*seed = rand.Uint64() % 1_000_000_000
	}
	var run chaos.Config
	byName := map[string]chaos.Fault{"kill": chaos.Kill()}
	remove, err := cfg.temporaryStore(fs, "fenfu-chaos-")
	if err != nil {
		return err
	}
	if has("disk-full") {
		// The SQLite stores go on a tmpfs of their own, for the fault to
		// fill; the keys stay in the data directory.
		disk := filepath.Join(cfg.DataDir, "disk")
		if err := mountTmpfs(disk, *tmpfsMiB); err != nil {
			remove()
			return fmt.Errorf("fenfu chaos: disk-full needs to mount a tmpfs, which is not permitted here: %w", err)
		}
		cleanup := remove
		remove = func() {
			if err := unmount(disk); err != nil {
				fmt.Fprintf(e.stderr, "fenfu chaos: %v\n", err)
			}
			cleanup()
		}
		if cfg.CoreDB == "" && cfg.CreditDB == "" {
			cfg.CoreDB, cfg.CreditDB = filepath.Join(disk, "core.db"), filepath.Join(disk, "credit.db")
		}
	}
	keep := false
	defer func() {
		if keep {
			fmt.Fprintf(e.stderr, "fenfu chaos: the stores are kept for inspection in %s\n", cfg.DataDir)
			return
		}
		remove()
	}()
	if has("pg-restart") {
		if storeKind(cfg) == "postgres" {
			return e.usagef("pg-restart restarts a PostgreSQL of the run's own: give no --core-db and --credit-db")
		}
		pg, err := startPostgres(ctx, *pgBin)
		if err != nil {
			return err
		}
		defer func() {
			if keep {
				fmt.Fprintf(e.stderr, "fenfu chaos: PostgreSQL is kept running for inspection in %s (%s)\n", pg.dir, pg.DSN())
				return
			}
			pg.remove()
		}()
		*admin = pg.DSN()
		byName["pg-restart"] = pgRestart(pg)
	}
	if *engine == "postgres" {
		switch {
		case storeKind(cfg) == "postgres":
		case *admin != "":
			for _, s := range []struct {
				store string
				dsn   *string
			}{{"core", &cfg.CoreDB}, {"credit", &cfg.CreditDB}} {
				sc, err := db.CreateScratch(ctx, *admin, "fenfu_chaos_"+s.store+"_")
				if err != nil {
					return err
				}
				defer func() {
					if keep {
						fmt.Fprintf(e.stderr, "fenfu chaos: database %s is kept for inspection\n", sc.Name)
						return
					}
					if err := sc.Drop(context.WithoutCancel(ctx)); err != nil {
						fmt.Fprintf(e.stderr, "fenfu chaos: %v\n", err)
					}
				}()
				*s.dsn = sc.DSN
			}
		default:
			return e.usagef("--engine postgres needs --core-db and --credit-db postgres:// DSNs, or --postgres with an administrator's DSN")
		}
	} else if storeKind(cfg) != "sqlite" {
		return e.usagef("--engine sqlite takes SQLite paths for --core-db and --credit-db")
	}
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	logs := io.Discard
	if *serverLog != "" {
		f, err := os.OpenFile(*serverLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		logs = f
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()

	fmt.Fprintf(e.stderr, "fenfu chaos: %s, %d node(s), seed %d, faults %s: provisioning %d merchants and %d consumers\n",
		*engine, *nodes, *seed, strings.Join(faults, ","), *merchants, *consumers)
	run.Cycles, run.Nodes, run.Concurrency, run.Seed = *cycles, *nodes, *conc, *seed
	run.MinLoad, run.MaxLoad, run.FullCheckEvery = 500*time.Millisecond, 3*time.Second, 10
	// Recovery runs at start and then every second; it takes payments
	// interrupted more than chaosRecoverAfter ago.
	run.Settle = chaosRecoverAfter + 2*chaosRecoverEvery + 10*time.Second
	run.Login, run.Store, run.Wallets, run.Log = cashierLogin, a.pay, a.consumers, e.stderr
	run.Verify = func(ctx context.Context) error {
		_, err := a.prove(ctx)
		return err
	}
	run.NotifyWait = *notifyWait
	sch := scheme.SM2 // the cheaper signatures leave more of the machine for the servers
	for i := range *merchants {
		m, err := a.loadMerchant(ctx, fmt.Sprintf("Chaos merchant %d", i+1), sch)
		if err != nil {
			return err
		}
		run.Merchants = append(run.Merchants, m)
	}
	for range *consumers {
		const balance = 100_000_000 // ¥1,000,000
		c, pin, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 1 << 50, Rating: "A", Balance: balance})
		if err != nil {
			return err
		}
		run.Consumers = append(run.Consumers, chaos.Consumer{ID: c.ID, Phone: c.Phone, PIN: pin, Balance: balance})
	}
	var keys []string
	for _, m := range run.Merchants {
		keys = append(keys, m.APIv3Key)
	}
	// The sink answers after up to 50 ms, so that kills land in the middle
	// of deliveries.
	sink := chaos.NewSink(keys, 50*time.Millisecond)
	if err := sink.Start(); err != nil {
		return err
	}
	defer sink.Close()
	run.Sink, run.NotifyURL = sink, sink.URL
	// A node killed mid-delivery holds the notification for the lease:
	// a short one keeps the checks' wait short.
	serveFlags := []string{"--recover-after", chaosRecoverAfter.String(), "--recover-every", chaosRecoverEvery.String(),
		"--merchant-rate", "0", "--notify-lease", chaosNotifyLease.String()}
	serveCfg := cfg // the servers' stores: the credit store through the proxy, with credit-partition
	if has("credit-partition") {
		through, upstream, err := proxied(cfg.CreditDB)
		if err != nil {
			return err
		}
		proxy, err := chaos.NewProxy(upstream)
		if err != nil {
			return err
		}
		defer proxy.Close()
		serveCfg.CreditDB = through(proxy.Addr())
		byName["credit-partition"] = creditPartition(proxy)
	}
	if has("clock-step") {
		file := filepath.Join(cfg.DataDir, "clock-offset")
		serveFlags = append(serveFlags, "--clock-offset-file", file)
		byName["clock-step"] = clockStep(file)
	}
	if has("disk-full") {
		byName["disk-full"] = diskFull(filepath.Dir(cfg.CoreDB))
	}
	var settlement *settleStats
	if has("settle-kill") {
		settlement = &settleStats{}
		sk := &settleKill{cfg: cfg, stats: settlement, dir: cfg.DataDir}
		byName["settle-kill"] = sk.fault()
		run.AfterCycle = sk.check(a.pay)
	}
	for _, name := range faults {
		run.Faults = append(run.Faults, byName[name])
	}
	// Each node keeps its name across its restarts, as a deployment's
	// would: started again, it forgets the logins its killed process was
	// checking (all of them from the run's one address) instead of
	// counting them for login.PendingLease.
	run.Start = func(ctx context.Context, node int) (chaos.Node, error) {
		c, err := startChild(serveCfg, append(slices.Clip(serveFlags), "--node-name", fmt.Sprintf("chaos-%d", node)), logs)
		if err != nil {
			return nil, err
		}
		return killable{c}, nil
	}

	res := chaosResult{Label: *label, Time: time.Now().UTC().Format(time.RFC3339), Machine: bench.ThisMachine(),
		Engine: *engine, Nodes: *nodes, Seed: *seed, Faults: faults, Concurrency: *conc, Settlement: settlement}
	start := time.Now()
	counts, runErr := chaos.Run(ctx, run)
	res.ElapsedS = time.Since(start).Seconds()
	res.Counts = counts
	res.Cycles = counts.Cycles
	res.Notifications.Received, res.Notifications.Interrupted, res.Notifications.Rejected = sink.Delivered()
	if *engine == "sqlite" {
		res.Integrity = map[string]string{"core": integrity(ctx, a.core), "credit": integrity(ctx, a.credit)}
		for name, v := range res.Integrity {
			if v != "ok" && runErr == nil {
				runErr = &chaos.Failure{Cycle: counts.Cycles, Seed: *seed, Reason: fmt.Sprintf("the %s store fails SQLite's integrity check: %s", name, v)}
			}
		}
	}
	if len(res.Notifications.Rejected) > 0 && runErr == nil {
		runErr = &chaos.Failure{Cycle: counts.Cycles, Seed: *seed, Reason: fmt.Sprintf("%d notifications could not be read: %s",
			len(res.Notifications.Rejected), res.Notifications.Rejected[0])}
	}
	var f *chaos.Failure
	if errors.As(runErr, &f) {
		res.Failure = f
		keep = true
	} else if runErr != nil {
		// The whole chain, not only the code of a fenfu error in it.
		return fmt.Errorf("%s (seed %d, after %d cycles)", runErr.Error(), *seed, counts.Cycles)
	}
	if err := writeResult(e.stdout, *out, *asJSON, res, func(w io.Writer) error { res.table(w); return nil }); err != nil {
		return err
	}
	return runErr
}

// killable is a chaos node: a `fenfu serve` child that dies by SIGKILL.
type killable struct{ c *child }

func (k killable) URL() string { return k.c.url }

func (k killable) Kill() error {
	if err := k.c.cmd.Process.Kill(); err != nil {
		return err
	}
	_ = k.c.cmd.Wait() // killed: its exit status says so
	return nil
}
