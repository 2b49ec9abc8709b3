package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/console"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/portal"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/server"
	"github.com/fenfu/fenfu/version"
	"github.com/fenfu/fenfu/wxpay"
	"golang.org/x/sync/errgroup"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		return e.usagef("%v", err)
	}
	fs := cfg.flags(e)
	cfg.bind(fs, true)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	offsetFile := clockOffsetFlag(fs)
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	logger := cfg.logger(e.stderr, cfg.LogLevel)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	a, err := openAt(ctx, cfg, logger, clockOf(*offsetFile))
	if err != nil {
		return err
	}
	defer a.close()
	if cfg.SandboxClock {
		if err := a.sandboxOnly(ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another fenfu running? choose another --addr)", cfg.Addr, err)
	}
	return a.serve(ctx, ln, e.stdout)
}

// startCPUProfile profiles the process's CPU into path until stop is
// called; an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// loopback reports whether a URL's host is a loopback address (or
// localhost), which no consumer's phone reaches.
func loopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// unproxied reports whether --public-url names a host consumers reach
// (set, not loopback) while no proxy is trusted: behind a reverse proxy,
// every consumer then comes from the proxy's one address, and all share
// its budget of failed logins.
func unproxied(publicURL string, proxies server.Proxies) bool {
	return publicURL != "" && !loopback(publicURL) && len(proxies) == 0
}

// reachable turns a listen address into one a local client can dial.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// maxFailureSources bounds the source addresses a node keeps a budget of
// failed authentications for.
const maxFailureSources = 100_000

// serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// in-flight requests, including payments between their two commits, run to
// completion before the stores close.
func (a *app) serve(ctx context.Context, ln net.Listener, stdout io.Writer) error {
	if a.publicURL == "" {
		a.publicURL = "http://" + reachable(ln.Addr().String())
	}
	if loopback(a.publicURL) {
		a.log.Warn("the public URL is a loopback address: consumers' phones cannot open code_url, and the cashier's forms are accepted only from it; set --public-url to the address consumers reach",
			"public_url", a.publicURL)
	}
	if unproxied(a.cfg.PublicURL, a.cfg.TrustedProxies) {
		a.log.Warn("--public-url is set but --trusted-proxies is empty: behind a reverse proxy every consumer comes from its address, and one address's failed logins lock all of them out; set --trusted-proxies to the proxy's address",
			"public_url", a.publicURL)
	}
	// Logins a previous process of this node was checking when it died
	// are forgotten before any of this one's can start.
	node := a.cfg.node()
	for _, start := range []func(context.Context, string) (int, error){a.consumers.Start, a.access.Start, a.merchantUsers.Start} {
		n, err := start(ctx, node)
		if err != nil {
			return fmt.Errorf("forget the logins in flight this node (%s) left: %w", node, err)
		}
		if n > 0 {
			a.log.Info("forgot the logins in flight this node's previous process left", "node", node, "attempts", n)
		}
	}
	// Background work (the loops below, and settlement runs staff start)
	// runs under one group that shutdown cancels and waits for.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var work errgroup.Group
	background := func(f func(ctx context.Context)) {
		work.Go(func() error {
			f(bg)
			return nil
		})
	}
	var err error
	if a.notifyTo, err = a.notifyClient(); err != nil {
		return err
	}
	a.observe(metrics.New())
	// The on-duty alerts a ticket's act raises are delivered in the
	// background, after its answer.
	a.tickets.Go = background
	deps := a.deps(background)
	api := deps.API
	handler := server.New(deps)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	background(a.scheduler().Run)
	background(a.sandbox.Run)
	background(func(ctx context.Context) { every(ctx, a.cfg.RecoverEvery, a.recover) })
	background(func(ctx context.Context) { every(ctx, a.cfg.RescreenEvery, a.rescreen) })
	background(func(ctx context.Context) {
		_ = a.risk.Watch(ctx, a.cfg.RiskPollEvery, func(err error) { a.log.Error("risk rules refresh", "error", err) })
	})
	background(func(ctx context.Context) { every(ctx, a.cfg.DisplayPollEvery, a.refreshDisplay) })
	background(func(ctx context.Context) { a.keys.Watch(ctx, a.cfg.KeysPollEvery, a.log) })
	background(a.notifier(api).Run)
	background(func(ctx context.Context) { a.complaints.Run(ctx, a.cfg.ComplaintEvery) })
	background(func(ctx context.Context) { every(ctx, a.cfg.TicketEvery, a.runTickets) })
	background(func(ctx context.Context) { a.repay.RunOverdue(ctx, a.cfg.Plans.OverdueEvery, a.log) })
	background(func(ctx context.Context) { audit.WriteAnchors(ctx, a.log, a.cfg.AuditAnchorEvery, a.core, a.credit) })
	background(func(ctx context.Context) { ledger.RunSealer(ctx, a.log, ledger.SealEvery, a.core, a.credit) })
	background(func(ctx context.Context) { a.retention.RunDaily(ctx, a.cfg.RetentionEvery) })
	background(func(ctx context.Context) { every(ctx, paycode.SweepEvery, a.sweepPaycodes) })
	background(func(ctx context.Context) { every(ctx, a.cfg.ServiceExpireEvery, a.expireServiceOrders) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "fenfu: serving on %s (code_url base %s)\n", "http://"+reachable(ln.Addr().String()), a.publicURL)
	a.log.Info("serving", "addr", ln.Addr().String(), "public_url", a.publicURL, "core", a.core.Engine, "credit", a.credit.Engine)
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	_ = work.Wait() // the work reports its own errors

	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// deps are the parts of this node's HTTP surface: the merchant API, the
// staff API, the cashier and the rest; background runs work that outlives
// a request. a.metrics must be set.
func (a *app) deps(background func(func(ctx context.Context))) server.Deps {
	// Nodes on PostgreSQL share the nonce set through the store; a SQLite
	// store has one host, and keeps it in memory.
	var nonces wxpay.Nonces = wxpay.MemoryNonces()
	if a.core.Engine == db.Postgres {
		nonces = &merchant.SharedNonces{DB: a.core, Window: 2 * wxpay.MaxClockSkew}
	}
	var limits *ratelimit.Limiter
	if rate := a.cfg.MerchantRate; rate > 0 {
		limits = &ratelimit.Limiter{Rate: rate, Burst: 2 * rate}
	}
	// Requests that fail authentication spend their source address's
	// budget instead; addresses are anyone's to mint, so it holds a bounded
	// number of them.
	// Public receipt lookups that find nothing genuine spend a budget of
	// their own at the same rate, so consumers checking receipts from a
	// shop's address never lock the shop's tills out.
	var failures, lookups *ratelimit.Limiter
	if rate := a.cfg.FailureRate; rate > 0 {
		failures = &ratelimit.Limiter{Rate: rate, Burst: 2 * rate, Max: maxFailureSources}
		lookups = &ratelimit.Limiter{Rate: rate, Burst: 2 * rate, Max: maxFailureSources}
	}
	// Wrong marks spend their verifier's budget, merchants' and staff
	// members' alike: verification tells whether a mark is right.
	codes := a.codes()
	codes.WrongMarks = &ratelimit.Limiter{Rate: float64(a.cfg.QR.VerifyFailures) / 60, Burst: float64(a.cfg.QR.VerifyFailures)}
	receiptFont, cjk := loadCJKFont(a.cfg.CJKFont, a.log)
	a.cashier.Pictures.Style.Font = cjk
	// One doctor serves the merchant API and the portal, so a merchant's
	// runs on this node share one budget.
	doc := &doctor.Doctor{Client: a.notifyTo, Keys: a.keys, Events: a.events, Clock: a.wall, SkewFail: wxpay.MaxClockSkew,
		PerMinute: a.cfg.DoctorPerMinute}
	api := &wxpay.API{Services: wxpay.Services{Pay: a.pay, Merchants: a.merchants, Onboard: a.onboard, Bills: a.bills,
		Settle: a.settle, Notifications: a.events, Sandbox: a.sandbox, Complaints: a.complaints, Repay: a.repay,
		Aggregate: a.aggregate, Display: a.display, Tickets: a.tickets,
		Doctor: doc},
		Keys: a.keys, Clock: a.wall, IDs: a.ids, Log: a.log,
		Nonces: nonces, Limits: limits, Failures: failures, Lookups: lookups, PublicURL: func() string { return a.publicURL },
		ReceiptFont: receiptFont, ReceiptFontPath: a.cfg.CJKFont, Codes: codes}
	staff := &admin.API{Onboard: a.onboard, Merchants: a.merchants, Pay: a.pay, Settle: a.settle, Complaints: a.complaints,
		Risk: a.risk, Display: a.display.Rules, Repay: a.repay, Retention: a.retention, Access: a.access, Log: a.log, Clock: a.clock, Background: background, SandboxClock: a.sandboxClock,
		Audit: &audit.Stores{Core: a.core, Credit: a.credit}, Codes: codes, Figures: a.figures, Tickets: a.tickets, Consumers: a.consumers,
		Bills: a.bills, Keys: a.keys, Notifications: a.events, MerchantUsers: a.merchantUsers}
	desk := &console.Console{Admin: staff, Access: a.access, Log: a.log, Clock: a.clock, PublicURL: func() string { return a.publicURL }}
	return server.Deps{API: api, Admin: staff, Console: desk, Cashier: a.cashier, Portal: a.portalWith(doc), Metrics: a.metrics, Log: a.log, Health: a.health,
		Proxies: a.cfg.TrustedProxies, MetricsFrom: a.cfg.MetricsFrom, Build: version.Get(),
		RoundTrips: a.roundTrips()}
}

// portal is the merchant portal of this node, over the services the
// merchant API calls.
func (a *app) portal() *portal.Portal {
	return &portal.Portal{Users: a.merchantUsers, Merchants: a.merchants, Pay: a.pay, Bills: a.bills, Settle: a.settle, Events: a.events,
		Sandbox: a.sandbox, Complaints: a.complaints, Tickets: a.tickets, Clock: a.clock, Log: a.log, PublicURL: func() string { return a.publicURL }}
}

// portalWith is the portal of this node with the integration check doc.
func (a *app) portalWith(doc *doctor.Doctor) *portal.Portal {
	p := a.portal()
	p.Doctor = doc
	return p
}

// notifyClient is how this server reaches merchants' notify URLs: public
// addresses only unless --notify-private, and the system's certificate
// authorities with those of --notify-ca-file.
func (a *app) notifyClient() (notify.Client, error) {
	c := notify.Client{Private: a.cfg.NotifyPrivate}
	if a.cfg.NotifyCAFile == "" {
		return c, nil
	}
	b, err := os.ReadFile(a.cfg.NotifyCAFile)
	if err != nil {
		return c, fmt.Errorf("--notify-ca-file: %w", err)
	}
	pool, ok := notify.CertPool(b)
	if !ok {
		return c, fmt.Errorf("--notify-ca-file %s holds no PEM certificate", a.cfg.NotifyCAFile)
	}
	c.RootCAs = pool
	return c, nil
}

// notifier is the payment-notification worker of this server.
func (a *app) notifier(api *wxpay.API) *notify.Worker {
	return &notify.Worker{DB: a.core, Keys: a.keys, Merchants: a.merchants, RenderRound: api.RenderRound,
		Clock: a.clock, SignClock: a.wall, IDs: a.ids, Log: a.log, V2: wxpay.V2Codec{}, Lease: a.cfg.NotifyLease, Metrics: a.metrics,
		HTTP: a.notifyTo.HTTP()}
}

// every runs job now and then every interval until ctx ends: the loop of
// serve's housekeeping, each job logging what it did.
func every(ctx context.Context, interval time.Duration, job func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		job(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rescreen screens active merchants against the risk list (at start and
// then every --rescreen-every).
func (a *app) rescreen(ctx context.Context) {
	r, err := a.onboard.Rescreen(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Error("risk screening", "error", err)
	} else if r.Suspended > 0 {
		a.log.Warn("risk screening suspended merchants", "screened", r.Screened, "suspended", r.Suspended)
	}
}

// recover settles payments, refunds and repayments interrupted between
// the stores.
func (a *app) recover(ctx context.Context) {
	r, err := a.pay.Recover(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Error("recover", "error", err)
	} else if r.Completed+r.Released+r.Refunds+r.Lapsed > 0 {
		a.log.Info("recovered interrupted payments", "completed", r.Completed, "released", r.Released, "refunds", r.Refunds,
			"lapsed", r.Lapsed)
	}
	if r, err := a.repay.Recover(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("recover repayments", "error", err)
	} else if r.Applied+r.Cancelled > 0 {
		a.log.Info("recovered interrupted repayments", "applied", r.Applied, "cancelled", r.Cancelled)
	}
}

// refreshDisplay picks up a display rule-set version another node made.
func (a *app) refreshDisplay(ctx context.Context) {
	if ok, err := a.display.Rules.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("display rules refresh", "error", err)
	} else if ok {
		a.log.Info("display rules refreshed")
	}
}

// runTickets escalates the tickets past their SLA and delivers the
// on-duty alerts due (at start and then every --ticket-every).
func (a *app) runTickets(ctx context.Context) {
	if _, _, err := a.tickets.Run(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("tickets", "error", err)
	}
}

// sweepPaycodes forgets payment codes a day after they expired.
func (a *app) sweepPaycodes(ctx context.Context) {
	if n, err := a.paycodes.Sweep(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("payment code sweep", "error", err)
	} else if n > 0 {
		a.log.Info("forgot expired payment codes", "codes", n)
	}
}

// expireServiceOrders releases the service orders past their end and
// grace.
func (a *app) expireServiceOrders(ctx context.Context) {
	if n, err := a.pay.ExpireServiceOrders(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("service order expiry", "error", err)
	} else if n > 0 {
		a.log.Info("expired service orders", "released", n)
	}
}

// roundTrips is what counts a request's database round trips for the
// server's metrics, when a store is on PostgreSQL; nil on SQLite.
func (a *app) roundTrips() func(context.Context) (context.Context, func() map[string]int64) {
	if a.core.Engine != db.Postgres && a.credit.Engine != db.Postgres {
		return nil
	}
	return func(ctx context.Context) (context.Context, func() map[string]int64) {
		ctx, t := db.WithTally(ctx, false)
		return ctx, t.Counts
	}
}
