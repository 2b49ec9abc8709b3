package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/figures"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/retention"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/wxpay"
)

// nodeName names this process, by its host and pid, in settlement batch
// leases and in the claims of retention runs and sandbox clock advances:
// a node started again is another process there, whose leases are new. The
// node's own name, which a restart keeps, is --node-name (Config.node).
func nodeName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// app is fenfu wired together over its two stores.
type app struct {
	cfg    Config
	core   *db.DB
	credit *db.DB
	keys   *keyring.Keyring
	clock  fenfu.Clock
	// wall is the system's clock, which merchants check signatures'
	// timestamps against: clock itself, except on a sandbox clock.
	wall      fenfu.Clock
	ids       fenfu.IDs
	log       *slog.Logger
	merchants *merchant.Service
	consumers *consumer.Service
	access    *access.Service
	// merchantUsers are merchants' own users of the merchant portal.
	merchantUsers *merchantuser.Service
	pay           *pay.Service
	cashier       *cashier.Cashier
	onboard       *onboard.Service
	settle        *settle.Service
	bills         *bill.Service
	sandbox       *sandbox.Service
	events        *notify.Events
	// complaints is the complaints fast lane.
	complaints *complaint.Service
	// tickets are support tickets with their SLA lanes.
	tickets   *ticket.Service
	risk      *risk.Engine
	display   *display.Service
	repay     *repay.Service
	retention *retention.Service
	// paycodes are consumers' payment codes (付款码).
	paycodes *paycode.Service
	// aggregate are merchants' aggregate codes (聚合码).
	aggregate *aggregate.Service
	// figures are the staff's charts of the platform's figures.
	figures *figures.Service
	// publicURL is the base of code_url: cfg.PublicURL, or serve's
	// listen address.
	publicURL string
	// metrics is serve's registry; nil outside serve.
	metrics *metrics.Registry
	// notifyTo is how serve reaches merchants' notify URLs, for
	// deliveries and the doctor's probes (notifyClient).
	notifyTo notify.Client
	// sandboxClock is the clock of a deployment with --sandbox-clock,
	// also a.clock; nil without it.
	sandboxClock *sandbox.Clock
}

// open opens and migrates both stores and builds the services.
func open(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	return openAt(ctx, cfg, log, fenfu.SystemClock{})
}

// openAt is open on a given clock, which every store and service shares;
// tests pass a fake one.
func openAt(ctx context.Context, cfg Config, log *slog.Logger, clock fenfu.Clock) (*app, error) {
	a := &app{cfg: cfg, clock: clock, wall: clock, ids: &fenfu.RandomIDs{}, log: log, publicURL: strings.TrimRight(cfg.PublicURL, "/")}
	if cfg.SandboxClock {
		a.sandboxClock = sandbox.NewClock(clock)
		a.clock = a.sandboxClock
	}
	sealer, err := cfg.sealer(ctx)
	if err != nil {
		return nil, err
	}
	opt := db.Options{Synchronous: cfg.Synchronous, MaxConns: cfg.DBPool, CacheKiB: cfg.cacheKiB}
	if a.core, err = db.Open(ctx, "core", cfg.CoreDB, a.clock, opt); err != nil {
		return nil, err
	}
	if a.credit, err = db.Open(ctx, "credit", cfg.CreditDB, a.clock, opt); err != nil {
		a.core.Close()
		return nil, err
	}
	for _, d := range []*db.DB{a.core, a.credit} {
		applied, err := d.Migrate(ctx)
		if err != nil {
			a.close()
			return nil, err
		}
		for _, m := range applied {
			log.Info("migrated", "store", d.Name, "migration", m)
		}
	}
	if a.sandboxClock != nil {
		if err := a.sandboxClock.Attach(ctx, a.core, nodeName()); err != nil {
			a.close()
			return nil, err
		}
	}
	keys, err := keyring.Open(ctx, a.core, cfg.DataDir, sealer)
	if err != nil {
		a.close()
		return nil, err
	}
	a.keys = keys
	a.merchants = merchant.New(a.core, a.ids, a.clock)
	a.merchants.SandboxOnly = cfg.SandboxClock
	a.merchants.Sealer = keys.Sealer
	a.consumers = consumer.New(a.core, a.credit, a.ids, a.clock)
	a.consumers.Log = log
	a.consumers.Limits = cfg.Login
	a.consumers.Sealer = a.merchants.Sealer
	a.access = access.New(a.core, a.wall)
	a.access.Log = log
	a.access.Settings = cfg.Staff
	// One address's failed logins are limited alike at every door: the
	// cashier's, the console's and the staff API's, the portal's.
	a.access.Settings.Sources = cfg.Login.Sources
	a.access.Sealer = a.merchants.Sealer
	a.merchantUsers = merchantuser.New(a.core, a.wall)
	a.merchantUsers.Log = log
	a.merchantUsers.Limits = cfg.Portal
	a.merchantUsers.Limits.Sources = cfg.Login.Sources
	a.merchantUsers.Sealer = a.merchants.Sealer
	// A payer's openid, stored on the orders it pays and written in bills.
	openID := func(appid, consumerID string) string { return wxpay.OpenID(keys.Secret, appid, consumerID) }
	a.pay = &pay.Service{Core: a.core, Credit: a.credit, Merchants: a.merchants, Tokens: qr.NewSigner(keys.Secret),
		OpenID: openID,
		IDs:    a.ids, Clock: a.clock, Log: log, Fees: fees(cfg), RecoverAfter: cfg.RecoverAfter, ServiceGrace: cfg.ServiceGrace,
		Plans: cfg.Plans.pay(), Counter: cfg.Counter}
	a.onboard = &onboard.Service{DB: a.core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: a.core, Sealer: a.merchants.Sealer},
		IDs: a.ids, Clock: a.clock, Merchants: a.merchants, Sealer: a.merchants.Sealer}
	// Every payment is decided by the risk rules; a new store starts with
	// the default rules of the settings as version 1.
	a.risk = &risk.Engine{DB: a.credit, Clock: a.clock}
	if err := a.risk.Seed(ctx, cfg.Risk.Rules()); err != nil {
		a.close()
		return nil, err
	}
	if !cfg.RiskOff {
		a.pay.Risk = &pay.Risk{Engine: a.risk, RunWindow: cfg.Risk.RunWindow, HoldFor: cfg.HoldFor, Industry: a.onboard.Industry}
	}
	scrub := false
	for _, b := range []struct {
		name  string
		run   func(context.Context) (int, error)
		seals bool // it seals values in place, whose clear bytes must not linger
	}{{"credit fees", a.pay.Backfill, false}, {"sealed phones", a.consumers.Backfill, true}, {"phone hash index", a.consumers.BackfillPhoneHashes, false}, {"sealed applications", a.onboard.Backfill, true},
		{"repayment plans", func(ctx context.Context) (int, error) {
			return credit.BackfillPlans(ctx, a.credit, a.pay.Plans.Calendar)
		}, false}} {
		n, err := b.run(ctx)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("backfill %s: %w", b.name, err)
		}
		if n > 0 {
			log.Info("backfilled", "backfill", b.name, "rows", n)
		}
		scrub = scrub || (b.seals && n > 0)
	}
	if scrub {
		if err := a.core.Scrub(ctx); err != nil {
			a.close()
			return nil, err
		}
		log.Info("scrubbed the core store of the values sealed in place")
	}
	// Support tickets: a new store's lanes are the defaults, the
	// settlement-delay lane's SLA the setting's.
	lanes := ticket.DefaultLanes()
	for i := range lanes {
		if lanes[i].Type == ticket.SettlementDelay {
			lanes[i].SLA = ticket.Duration(cfg.ExceptionSLA)
		}
	}
	if err := ticket.Seed(ctx, a.core, lanes); err != nil {
		a.close()
		return nil, err
	}
	a.tickets = &ticket.Service{DB: a.core, Orders: a.pay, Staff: a.access, IDs: a.ids, Clock: a.clock, Log: log, Sealer: a.merchants.Sealer,
		Link: func(id string) string { return a.publicURL + "/admin/tickets/" + id }}
	if cfg.OnDutyURL != "" {
		a.tickets.Alerts = &ticket.Alerter{URL: cfg.OnDutyURL}
	}
	a.settle = &settle.Service{Core: a.core, Credit: a.credit, Clock: a.clock, Owner: nodeName(), Log: log, Sealer: a.merchants.Sealer,
		HoldFor: cfg.HoldFor, Tickets: a.tickets}
	a.bills = &bill.Service{Core: a.core, Clock: a.clock, BankType: wxpay.BankType,
		OpenID: openID}
	a.events = &notify.Events{DB: a.core, Clock: a.clock}
	a.sandbox = sandbox.New(a.core, a.events, a.ids, log)
	a.complaints = &complaint.Service{Credit: a.credit, Core: a.core, Orders: a.pay, IDs: a.ids, Clock: a.clock, Log: log,
		SLA: cfg.ComplaintSLA, HoldFor: cfg.ComplaintHold}
	a.repay = &repay.Service{Core: a.core, Credit: a.credit, IDs: a.ids, Clock: a.clock, Calendar: a.pay.Plans.Calendar,
		Payoff: a.pay.Plans.Payoff, LateFee: cfg.Plans.LateFee, RecoverAfter: cfg.RecoverAfter}
	a.retention = &retention.Service{Core: a.core, Credit: a.credit, Pay: a.pay, Consumers: a.consumers, Complaints: a.complaints,
		Tickets: a.tickets, IDs: a.ids, Clock: a.clock, Log: log, Periods: cfg.Retention, Owner: nodeName()}
	a.cashier = cashier.New(a.pay, a.consumers, a.merchants, a.clock, log, a.codeURL)
	a.cashier.Complaints = a.complaints
	a.cashier.Tickets = a.tickets
	a.cashier.Repay = a.repay
	a.cashier.Pictures = cashier.Pictures{Marks: qr.NewMarker(keys.Secret), Screen: qr.Size{Px: cfg.QR.ScreenPx},
		Print: qr.PrintSize(cfg.QR.PrintMM, cfg.QR.PrintDPI)}
	// The display rules: a new store starts with the settings' rules as
	// version 1; serve refreshes them from the store.
	a.display = display.New(a.pay, a.repay, a.clock)
	a.display.Consumers, a.display.Tokens = a.consumers, display.NewTokens(keys.Secret)
	if err := a.display.Rules.Seed(ctx, cfg.Display); err != nil {
		a.close()
		return nil, err
	}
	a.cashier.Display = a.display
	a.cashier.PINFreeBelow = cfg.CashierPINFreeBelow
	a.cashier.PublicURL = func() string { return a.publicURL }
	a.paycodes = &paycode.Service{Core: a.core, Clock: a.clock, Secret: keys.Secret, TTL: cfg.PaycodeTTL, Gap: paycode.DefaultGap}
	a.cashier.Paycodes = a.paycodes
	a.aggregate = &aggregate.Service{DB: a.core, Pay: a.pay, Merchants: a.merchants, Tokens: qr.NewCodeSigner(keys.Secret),
		IDs: a.ids, Clock: a.clock}
	a.cashier.Aggregate, a.cashier.AggregatePerMinute = a.aggregate, cfg.AggregatePerMinute
	a.pay.Codes = a.paycodes
	a.figures = &figures.Service{Onboard: a.onboard, Pay: a.pay, Risk: a.risk, Settle: a.settle}
	if a.sandboxClock != nil {
		a.sandboxClock.Jobs = a.clockJobs()
		a.sandboxClock.Check = a.sandboxOnly
	}
	return a, nil
}

// sealer returns a Sealer of the node's master key and, during a master
// rotation, the previous one.
func (c *Config) sealer(ctx context.Context) (*seal.Sealer, error) {
	cur, prev := c.masters()
	key, err := cur.Load(ctx)
	if err != nil {
		return nil, err
	}
	var older [][]byte
	if prev.Set() {
		p, err := prev.Load(ctx)
		if err != nil {
			return nil, err
		}
		older = append(older, p)
	}
	return seal.New(key, older...)
}

// sealedColumns are the columns of the core store that hold sealed
// values (the credit store holds none).
func sealedColumns() []seal.Column {
	return slices.Concat(keyring.Columns(), merchant.Columns(), consumer.Columns(), onboard.Columns(), settle.Columns(), access.Columns(),
		ticket.Columns(), merchantuser.Columns())
}

// fees are the schedules payments are priced by: the credit-pay schedule
// of the settings, and ordinary payments at their flat rate. (fee.Ordinary's
// floor would not matter: ordinary payments have no discount to floor.)
func fees(cfg Config) pay.Fees {
	return pay.Fees{Credit: cfg.CreditFee, Ordinary: fee.Flat("ordinary", cfg.OrdinaryFee)}
}

func (a *app) codeURL(token string) string { return a.publicURL + "/q/" + token }

// aggregateURL is the URL an aggregate code's QR carries.
func (a *app) aggregateURL(token string) string { return a.publicURL + "/a/" + token }

// codes is the check of codes' marks.
func (a *app) codes() *qr.Checker {
	return &qr.Checker{Marks: a.cashier.Pictures.Marks, Tokens: a.pay.Tokens, Aggregates: a.aggregate.Tokens}
}

func (a *app) close() {
	if a.core != nil {
		a.core.Close()
	}
	if a.credit != nil {
		a.credit.Close()
	}
}

func (a *app) health(ctx context.Context) error {
	for _, d := range []*db.DB{a.core, a.credit} {
		if err := d.R.PingContext(ctx); err != nil {
			return fmt.Errorf("%s store: %w", d.Name, err)
		}
	}
	return nil
}
