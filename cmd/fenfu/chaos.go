package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
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
	Concurrency int            `json:"concurrency"`
	ElapsedS    float64        `json:"elapsed_s"`
	Counts      chaos.Counts   `json:"counts"`
	Failure     *chaos.Failure `json:"failure,omitempty"`
}

func (r chaosResult) table(w io.Writer) {
	c := r.Counts
	fmt.Fprintf(w, "chaos: %s, %d node(s), seed %d: %d cycles in %.0fs\n", r.Engine, r.Nodes, r.Seed, r.Cycles, r.ElapsedS)
	fmt.Fprintf(w, "  kills                 %d (SIGKILL)\n", c.Kills)
	fmt.Fprintf(w, "  payments acknowledged %d (%d credit, %d balance)\n", c.Payments, c.CreditPayments, c.BalancePayments)
	fmt.Fprintf(w, "  refunds acknowledged  %d\n", c.Refunds)
	fmt.Fprintf(w, "  unknown outcomes      create %d (%d had landed), pay %d (%d had landed, %d paid by the retry), refund %d (%d had landed, %d made by the retry)\n",
		c.UnknownCreate, c.CreateLanded, c.UnknownPay, c.PayLanded, c.PayRetried, c.UnknownRefund, c.RefundLanded, c.RefundRetried)
	fmt.Fprintf(w, "  left by the kills     %d orders PAYING, %d refunds PROCESSING (all settled by recovery)\n", c.PayingAfterKill, c.ProcessingAfterKill)
	fmt.Fprintf(w, "  connections refused   %d (a node was down: nothing sent)\n", c.ConnRefused)
	for _, k := range bench.SortedErrors(c.RefusedByServer) {
		fmt.Fprintf(w, "  refused by the server %s: %d\n", k, c.RefusedByServer[k])
	}
	fmt.Fprintf(w, "  lost %d, doubled %d, wrong %d, stuck %d, diverged %d, verify failures %d\n",
		c.Lost, c.Doubled, c.Wrong, c.Stuck, c.Diverged, c.VerifyFailures)
	if r.Failure != nil {
		fmt.Fprintf(w, "FAILED at cycle %d (seed %d): %s\n", r.Failure.Cycle, r.Failure.Seed, r.Failure.Reason)
	} else {
		fmt.Fprintln(w, "  ok")
	}
}

func cmdChaos(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	cycles := fs.Int("cycles", 10, "kill-and-restart cycles")
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
	case *cycles < 1 || *conc < 1 || *merchants < 1 || *consumers < 1:
		return e.usagef("--cycles, --concurrency, --merchants and --consumers must be positive")
	}
	if *seed == 0 {
		*seed = rand.Uint64() % 1_000_000_000
	}
	remove, err := cfg.temporaryStore(fs, "fenfu-chaos-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if keep {
			fmt.Fprintf(e.stderr, "fenfu chaos: the stores are kept for inspection in %s\n", cfg.DataDir)
			return
		}
		remove()
	}()
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

	fmt.Fprintf(e.stderr, "fenfu chaos: %s, %d node(s), seed %d: provisioning %d merchants and %d consumers\n",
		*engine, *nodes, *seed, *merchants, *consumers)
	run := chaos.Config{Cycles: *cycles, Nodes: *nodes, Concurrency: *conc, Seed: *seed,
		MinLoad: 500 * time.Millisecond, MaxLoad: 3 * time.Second, FullCheckEvery: 10,
		// Recovery runs at start and then every second; it takes payments
		// interrupted more than chaosRecoverAfter ago.
		Settle: chaosRecoverAfter + 2*chaosRecoverEvery + 10*time.Second,
		Login:  cashierLogin, Store: a.pay, Wallets: a.consumers, Log: e.stderr,
		Verify: func(ctx context.Context) error {
			_, err := a.prove(ctx)
			return err
		}}
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
	sink, err := bench.StartSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	run.NotifyURL = sink.URL
	serveFlags := []string{"--recover-after", chaosRecoverAfter.String(), "--recover-every", chaosRecoverEvery.String(),
		"--merchant-rate", "0"}
	run.Start = func(ctx context.Context, node int) (chaos.Node, error) {
		c, err := startChild(cfg, serveFlags, logs)
		if err != nil {
			return nil, err
		}
		return killable{c}, nil
	}

	res := chaosResult{Label: *label, Time: time.Now().UTC().Format(time.RFC3339), Machine: bench.ThisMachine(),
		Engine: *engine, Nodes: *nodes, Seed: *seed, Concurrency: *conc}
	start := time.Now()
	counts, runErr := chaos.Run(ctx, run)
	res.ElapsedS = time.Since(start).Seconds()
	res.Counts = counts
	res.Cycles = counts.Kills
	var f *chaos.Failure
	if errors.As(runErr, &f) {
		res.Failure = f
		keep = true
	} else if runErr != nil {
		return fmt.Errorf("%w (seed %d, after %d cycles)", runErr, *seed, counts.Kills)
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
