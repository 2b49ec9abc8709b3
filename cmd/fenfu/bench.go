package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

func cmdBench(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	merchants := fs.Int("merchants", 4, "merchants to provision")
	consumers := fs.Int("consumers", 100, "consumers to provision")
	count := fs.Int("count", 20000, "payments to prepare; the run ends when they are done")
	duration := fs.Duration("duration", 0, "end the run after this long even if payments remain (0: no limit)")
	conc := fs.Int("concurrency", 32, "payments in flight at once (closed loop)")
	rate := fs.Float64("rate", 0, "start payments at this fixed rate per second instead (open loop)")
	keyType := fs.String("key", "rsa", "merchant and platform key: rsa or sm2")
	mode := fs.String("server", "spawn", "spawn: run `fenfu serve` as a child process and measure it; inprocess: run it in this process")
	target := fs.String("url", "", "drive a server already running at this URL on the same stores, instead of starting one (serve it with --notify-private: the notify_url is this generator's local sink)")
	serverPID := fs.Int("server-pid", 0, "with --url: the server's process id, to measure its CPU and memory")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	out := fs.String("o", "", "also write the result as JSON to this file")
	label := fs.String("label", "", "a name for this run in the report")
	profile := fs.String("server-cpuprofile", "", "with --server spawn: have the server write a CPU profile to this file")
	installments := fs.Float64("installments", 0, "the share (0 to 1) of payments that offer 3, 6 and 12 installments and pay in one of them")
	riskOff := fs.Bool("risk-off", false, "run the server with --risk-off, deciding no payment by the risk rules, to measure what risk control costs")
	nodes := fs.Int("nodes", 1, "with --server spawn on PostgreSQL: run `N` nodes (fenfu serve) on the same stores and give each whole payment to the next in turn")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	sch, err := scheme.OfAlgorithm(*keyType)
	switch {
	case err != nil:
		return e.usagef("--key must be rsa or sm2")
	case *mode != "spawn" && *mode != "inprocess":
		return e.usagef("--server must be spawn or inprocess")
	case *installments < 0 || *installments > 1:
		return e.usagef("--installments is a share of the payments, from 0 to 1")
	case *merchants < 1 || *consumers < 1 || *count < 1 || (*conc < 1 && *rate <= 0):
		return e.usagef("--merchants, --consumers, --count, and --concurrency or --rate must be positive")
	case *nodes < 1 || *nodes > 16:
		return e.usagef("--nodes must be from 1 to 16")
	case *nodes > 1 && (*mode != "spawn" || *target != ""):
		return e.usagef("--nodes needs --server spawn: the bench starts the nodes itself")
	}
	remove, err := cfg.temporaryStore(fs, "fenfu-bench-")
	if err != nil {
		return err
	}
	defer remove()
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	if *nodes > 1 && storeKind(cfg) != "postgres" {
		return e.usagef("--nodes %d needs both stores on PostgreSQL (--core-db and --credit-db postgres://…): a SQLite store is a file on one machine, which one node serves", *nodes)
	}
	// An in-process server delivers to the merchants' notify_url, the
	// generator's local sink.
	cfg.NotifyPrivate = *mode == "inprocess" && *target == ""
	cfg.RiskOff = *riskOff
	// The servers it starts take payments below benchPINFree without the
	// PIN, as before every payment was confirmed with it: the bench
	// measures the payment path, and a PIN check is a login's cost. The
	// payments send the PIN all the same, for a server that asks for it.
	cfg.CashierPINFreeBelow = benchPINFree
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()

	// Provision.
	fmt.Fprintf(e.stderr, "provisioning %d merchants (%s) and %d consumers\n", *merchants, sch.Algorithm(), *consumers)
	var ms []bench.Merchant
	for i := range *merchants {
		m, err := a.loadMerchant(ctx, fmt.Sprintf("Bench merchant %d", i+1), sch)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	type login struct{ id, phone, pin string }
	var logins []login
	for range *consumers {
		c, pin, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 1 << 50, Rating: "A"})
		if err != nil {
			return err
		}
		logins = append(logins, login{c.ID, c.Phone, pin})
	}

	// Start or reach the server.
	res := bench.Result{Label: *label, Time: time.Now().UTC().Format(time.RFC3339), Machine: bench.ThisMachine(),
		Store: storeKind(cfg), Scheme: string(sch), Merchants: *merchants, Consumers: *consumers, Concurrency: *conc, Rate: *rate, Installments: *installments}
	if res.Store == "sqlite" {
		res.Synchronous = strings.ToUpper(cfg.Synchronous)
	}
	if *rate > 0 {
		res.Concurrency = 0
	}
	base := strings.TrimRight(*target, "/")
	pid := *serverPID
	var stopServer func() error
	// spawned are the nodes of spawn mode, each with its URL and process.
	type node struct {
		url  string
		pid  int
		stop func() error
	}
	var spawned []node
	switch {
	case base != "":
		res.Server = "external " + base
	case *mode == "spawn":
		for i := range *nodes {
			prof := *profile
			if prof != "" && i > 0 {
				prof = fmt.Sprintf("%s.%d", prof, i+1)
			}
			u, p, stop, err := spawnServer(ctx, cfg, prof, *riskOff, e.stderr, "--node-name", fmt.Sprintf("bench-%d", i+1))
			if err != nil {
				for _, n := range spawned {
					_ = n.stop()
				}
				return err
			}
			spawned = append(spawned, node{u, p, stop})
		}
		base, pid = spawned[0].url, spawned[0].pid
		stopServer = func() error {
			var first error
			for _, n := range spawned {
				if err := n.stop(); err != nil && first == nil {
					first = err
				}
			}
			return first
		}
		res.Server = "child process"
		if *nodes > 1 {
			res.Server = fmt.Sprintf("%d child processes (nodes) on the same stores", *nodes)
		}
	default:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		base = "http://" + ln.Addr().String()
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.serve(sctx, ln, io.Discard) }()
		stopServer = func() error { cancel(); return <-done }
		res.Server = "in process"
	}
	stopped := false
	stop := func() error {
		if stopServer == nil || stopped {
			return nil
		}
		stopped = true
		return stopServer()
	}
	defer stop()
	for i := range ms {
		ms[i].Client.BaseURL = base
	}
	var cs []bench.Consumer
	for _, l := range logins {
		cookie, err := cashierLogin(ctx, base, l.phone, l.pin)
		if err != nil {
			return fmt.Errorf("log in consumer %s: %w", l.id, err)
		}
		cs = append(cs, bench.Consumer{ID: l.id, Cookie: cookie, PIN: l.pin})
	}

	sink, err := bench.StartSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	runID := time.Now().Format("150405")
	work, err := bench.Presign(ms, cs, *count, runID, sink.URL, *installments, meterOf(e.stderr, "signing", "payments"))
	if err != nil {
		return err
	}
	measure := func() (time.Duration, int64) {
		if len(spawned) > 1 {
			var cpu time.Duration
			var rss int64
			for _, n := range spawned {
				c, r, err := bench.ProcStat(n.pid)
				if err != nil {
					return bench.SelfCPU()
				}
				cpu, rss = cpu+c, rss+r
			}
			return cpu, rss
		}
		if pid > 0 {
			cpu, rss, err := bench.ProcStat(pid)
			if err == nil {
				return cpu, rss
			}
		}
		return bench.SelfCPU()
	}
	// The server's database round trips, read from its /metrics around
	// the run (PostgreSQL only; a server that does not answer has none).
	// With several nodes, theirs summed.
	tripURLs := []string{base}
	for _, n := range spawned[min(1, len(spawned)):] {
		tripURLs = append(tripURLs, n.url)
	}
	tripsBefore, terr := readTrips(ctx, tripURLs)
	selfBefore, _ := bench.SelfCPU()
	nodeCPU := func() []time.Duration {
		var cpus []time.Duration
		for _, n := range spawned {
			c, _, _ := bench.ProcStat(n.pid)
			cpus = append(cpus, c)
		}
		return cpus
	}
	nodeCPUBefore := nodeCPU()
	cpuBefore, _ := measure()
	var urls []string
	if len(spawned) > 1 {
		for _, n := range spawned {
			urls = append(urls, n.url)
		}
	}
	res.LoadStart = bench.LoadAverage()
	s := bench.Run(ctx, bench.Config{BaseURL: base, Nodes: urls, Concurrency: *conc, Rate: *rate, Duration: *duration,
		Progress: meterOf(e.stderr, "running", "payments")}, work)
	res.LoadEnd = bench.LoadAverage()
	// Every payment's notification is part of its cost: let the server
	// deliver them all before reading its CPU time.
	for deadline := time.Now().Add(15 * time.Second); sink.Received() < int64(s.Payments) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	res.Notified = sink.Received()
	cpuAfter, peak := measure()
	nodeCPUAfter := nodeCPU()
	// What each node counted of its conflicts with the others: writes
	// rerun, notifications another node claimed first.
	for i, n := range spawned {
		nr := bench.Node{URL: n.url}
		if i < len(s.NodePayments) {
			nr.Payments = s.NodePayments[i]
		}
		if i < len(nodeCPUAfter) && i < len(nodeCPUBefore) {
			nr.ServerCPUS = (nodeCPUAfter[i] - nodeCPUBefore[i]).Seconds()
		}
		if _, rss, err := bench.ProcStat(n.pid); err == nil {
			nr.PeakMemoryMB = float64(rss) / (1 << 20)
		}
		c, err := bench.ReadConflicts(ctx, n.url)
		if err != nil {
			fmt.Fprintf(e.stderr, "fenfu bench: node %d's conflict counts unread: %v\n", i+1, err)
			res.Nodes = nil
			res.Conflicts = nil
			break
		}
		nr.Conflicts = c
		if res.Conflicts == nil {
			res.Conflicts = &bench.Conflicts{}
		}
		res.Conflicts.Add(c)
		res.Nodes = append(res.Nodes, nr)
	}
	if tripsAfter, err := readTrips(ctx, tripURLs); err == nil && terr == nil {
		res.RoundTrips = bench.PerPayment(tripsBefore, tripsAfter, s.Payments)
	}
	selfAfter, selfPeak := bench.SelfCPU()
	res.CPUScope = "server process"
	if len(spawned) > 1 {
		res.CPUScope = fmt.Sprintf("server processes, the %d nodes' summed", len(spawned))
	}
	if pid == 0 {
		res.CPUScope = "whole process: server and generator"
		if base != "" && stopServer == nil {
			res.CPUScope = "generator only (give --server-pid to measure the server)"
		}
		peak = selfPeak
	} else {
		res.GeneratorCPUS = (selfAfter - selfBefore).Seconds()
	}
	res.Payments = s.Payments
	res.ElapsedS = s.Elapsed.Seconds()
	res.PaymentsPerS = float64(s.Payments) / s.Elapsed.Seconds()
	res.Calls = map[string]bench.CallStats{}
	for c, h := range s.Hist {
		res.Calls[c] = bench.StatsOf(h)
	}
	res.Errors = s.Errors
	res.ServerCPUS = (cpuAfter - cpuBefore).Seconds()
	if s.Payments > 0 {
		res.CPUPerPayMS = res.ServerCPUS * 1000 / float64(s.Payments)
	}
	res.PeakMemoryMB = float64(peak) / (1 << 20)

	if err := stop(); err != nil {
		fmt.Fprintf(e.stderr, "fenfu bench: server stopped with %v\n", err)
	}
	// The ceiling: the server's signature work per payment, measured now,
	// with the server idle.
	rounds := 300
	if sch == scheme.SM2 {
		rounds = 3000
	}
	merchantKey, _ := scheme.Generate(sch)
	crypto, err := bench.CryptoCost(merchantKey, a.keys.Platform(sch).Key, rounds)
	if err != nil {
		return err
	}
	res.CryptoPerPay = float64(crypto.Microseconds()) / 1000
	res.CeilingPerS = float64(res.Machine.Cores) / crypto.Seconds()
	res.Efficiency = res.PaymentsPerS / res.CeilingPerS

	// The books must prove after every run.
	p, perr := a.prove(ctx)
	if perr != nil {
		res.Proof = "FAILED: " + perr.Error()
	} else {
		res.ProofOK = true
		res.Proof = fmt.Sprintf("ok: %d orders, %d paid, %d in flight", p.Orders, p.Paid, p.InFlight)
	}
	if err := a.core.QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE installments > 1`).Scan(&res.InstallmentPayments); err != nil {
		return err
	}
	if err := writeResult(e.stdout, *out, *asJSON, res, func(w io.Writer) error { res.Table(w); return nil }); err != nil {
		return err
	}
	if perr != nil {
		return fmt.Errorf("LEDGER PROOF FAILED after the bench run: %w", perr)
	}
	return nil
}

// readTrips reads the database round trips of the servers at urls from
// their /metrics and sums them.
func readTrips(ctx context.Context, urls []string) (bench.Trips, error) {
	sum := bench.Trips{Store: map[string]float64{}, Route: map[string]map[string]float64{}}
	for _, u := range urls {
		t, err := bench.ReadTrips(ctx, u)
		if err != nil {
			return bench.Trips{}, err
		}
		for s, v := range t.Store {
			sum.Store[s] += v
		}
		for s, routes := range t.Route {
			if sum.Route[s] == nil {
				sum.Route[s] = map[string]float64{}
			}
			for r, v := range routes {
				sum.Route[s][r] += v
			}
		}
	}
	return sum, nil
}

// loadMerchant provisions a sandbox merchant of scheme sch to drive load
// with: its client signs as the merchant and checks the platform's
// signatures; the caller points it at a server (BaseURL).
func (a *app) loadMerchant(ctx context.Context, name string, sch scheme.Name) (bench.Merchant, error) {
	m, err := a.merchants.CreateSandbox(ctx, name, sch)
	if err != nil {
		return bench.Merchant{}, err
	}
	pk := a.keys.Platform(sch)
	return bench.Merchant{MchID: m.MchID, AppID: m.AppID, APIv3Key: m.APIv3Key, Client: &wxpay.Client{MchID: m.MchID, SerialNo: m.SerialNo,
		Key: m.PrivateKey, PlatformKey: scheme.Public(pk.Key), PlatformKeyID: pk.ID, IDs: a.ids}}, nil
}

// storeKind is the engine of cfg's stores: sqlite, postgres, or mixed.
func storeKind(cfg Config) string {
	pg := func(s string) bool {
		return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
	}
	switch {
	case pg(cfg.CoreDB) && pg(cfg.CreditDB):
		return "postgres"
	case !pg(cfg.CoreDB) && !pg(cfg.CreditDB):
		return "sqlite"
	}
	return "mixed"
}

// spawnServer runs `fenfu serve` on the same stores as a child process.
// benchPINFree is the amount below which the servers the bench starts
// take a cashier payment without the PIN: above every bench payment.
const benchPINFree = 1_000_000_00

func spawnServer(ctx context.Context, cfg Config, profile string, riskOff bool, stderr io.Writer, flags ...string) (string, int, func() error, error) {
	extra := slices.Clone(flags)
	if profile != "" {
		extra = append(extra, "--cpuprofile", profile)
	}
	if riskOff {
		extra = append(extra, "--risk-off")
	}
	extra = append(extra, "--cashier-pin-free-below", fenfu.Yuan(benchPINFree))
	c, err := startChild(cfg, extra, stderr)
	if err != nil {
		return "", 0, nil, err
	}
	stop := func() error {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		return c.cmd.Wait()
	}
	return c.url, c.cmd.Process.Pid, stop, nil
}

// child is a `fenfu serve` child process.
type child struct {
	url string
	cmd *exec.Cmd
}

// startChild runs `fenfu serve` on cfg's stores, on a free local port,
// with extra flags, and returns once it serves.
func startChild(cfg Config, extra []string, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// The merchants' notify_url is the generator's local sink.
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn", "--notify-private"}, cfg.storeArgs()...)
	cmd := exec.Command(exe, append(args, extra...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the server did not start: %w", err)
	}
	go io.Copy(io.Discard, out)
	m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("unexpected server output %q", line)
	}
	return &child{url: m[1], cmd: cmd}, nil
}

// cashierLogin logs a consumer in and returns its session cookie.
func cashierLogin(ctx context.Context, base, phone, pin string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/cashier/login",
		strings.NewReader(url.Values{"phone": {phone}, "pin": {pin}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "fenfu_session" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("login answered HTTP %d without a session", resp.StatusCode)
}
