// Package retention owns how long fenfu keeps what it stores: the
// retention periods, legal holds, and the retention job that anonymises
// trade details, forgets consumers whose authorization expired and purges
// risk records, logs and support tickets once their period has passed,
// without touching a ledger posting.
package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/ticket"
)

// Actions retention records in the audit log: a day's run, and staff
// placing and releasing legal holds from the command line (the staff
// API records its requests itself).
const (
	ActionRun         = "retention run"
	ActionHold        = "legal hold"
	ActionHoldRelease = "legal hold release"
)

// DefaultBatch is how many records a run changes per transaction.
const DefaultBatch = 200

// DefaultLease is how long a node's claim on a day's run lasts without
// renewal; every batch renews it.
const DefaultLease = 5 * time.Minute

// Service runs retention over both stores.
type Service struct {
	Core, Credit *db.DB
	Pay          *pay.Service
	Consumers    *consumer.Service
	Complaints   *complaint.Service
	// Tickets are support tickets, settlement exception requests among
	// them: the disputes' records that keep the orders they name.
	Tickets *ticket.Service
	IDs     fenfu.IDs
	Clock   fenfu.Clock
	Log     *slog.Logger
	Periods Periods
	// Owner names this node in the claim of a day's run.
	Owner string
	// Batch is how many records one transaction changes (DefaultBatch
	// if zero); Lease how long a claim lasts (DefaultLease if zero).
	Batch int
	Lease time.Duration
}

// Actions retention takes on a record, and keep: what it did not take
// because of a hold or a dispute.
const (
	Anonymise = "anonymise"
	Forget    = "forget"
	Purge     = "purge"
	Keep      = "keep"
)

// Item is one record a run removed or anonymised (listed by a dry run),
// or kept although its own period had passed.
type Item struct {
	Store  string `json:"store"`
	Table  string `json:"table"`
	ID     string `json:"id"`
	Action string `json:"action"`
	Reason string `json:"reason"`
	// Since is the day (Asia/Shanghai) the record's period counts from;
	// Until the day it ended.
	Since string `json:"since"`
	Until string `json:"until"`
	Hold  string `json:"hold_id,omitempty"`
}

// Count is how many records of a table a run took an action on.
type Count struct {
	Table  string `json:"table"`
	Action string `json:"action"`
	N      int    `json:"count"`
}

// Report is what a run did, or with DryRun would do.
type Report struct {
	AsOf    string  `json:"as_of"`
	DryRun  bool    `json:"dry_run"`
	Items   []Item  `json:"items,omitempty"` // a dry run's list
	Summary []Count `json:"summary"`
}

func (r *Report) count(table, action string) {
	for i := range r.Summary {
		if r.Summary[i].Table == table && r.Summary[i].Action == action {
			r.Summary[i].N++
			return
		}
	}
	r.Summary = append(r.Summary, Count{Table: table, Action: action, N: 1})
}

// Options are a run's.
type Options struct {
	// AsOf is the day (YYYY-MM-DD, Asia/Shanghai) the periods are counted
	// back from; empty is today. A day after today is refused.
	AsOf string
	// DryRun lists what the run would do and writes nothing.
	DryRun bool
	// Progress, if set, hears how many records of a table were looked at.
	Progress func(table string, seen int)
}

func (s *Service) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return DefaultBatch
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func day(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.DateOnly) }

// Run runs retention as of a day. A real run claims the day first, so on
// several nodes one of them runs it; it works in batches, each its own
// transaction that renews the claim, and what it did stays done, so a run
// stopped half way is continued by the next. Running it again finds
// nothing more to do.
func (s *Service) Run(ctx context.Context, o Options) (Report, error) {
	today := day(s.Clock.Now())
	if o.AsOf == "" {
		o.AsOf = today
	}
	asOf, err := time.ParseInLocation(time.DateOnly, o.AsOf, fenfu.Shanghai)
	if err != nil {
		return Report{}, fenfu.FieldError("as_of", "the date %q is not YYYY-MM-DD", o.AsOf)
	}
	if o.AsOf > today {
		return Report{}, fenfu.FieldError("as_of", "the date %s is after today, %s", o.AsOf, today)
	}
	r := &run{s: s, o: o, asOf: asOf, rep: Report{AsOf: o.AsOf, DryRun: o.DryRun, Summary: []Count{}},
		changed: map[*db.DB]bool{}}
	if !o.DryRun {
		if err := s.claim(ctx, o.AsOf); err != nil {
			return r.rep, err
		}
	}
	for _, step := range []func(context.Context) error{r.trades, r.serviceOrders, r.authorizations, r.riskRecords, r.logs, r.tickets} {
		if err := step(ctx); err != nil {
			return r.rep, fenfu.Op("retention.Run", err)
		}
	}
	if o.DryRun {
		return r.rep, nil
	}
	// On SQLite the values blanked and the rows deleted would linger in
	// free pages and the WAL: a store the run changed is scrubbed.
	for _, d := range []*db.DB{s.Core, s.Credit} {
		if r.changed[d] {
			if err := d.Scrub(ctx); err != nil {
				return r.rep, err
			}
		}
	}
	if err := s.finish(ctx, o.AsOf); err != nil {
		return r.rep, err
	}
	// What the run removed, if anything, is recorded in the core store's
	// audit log.
	if !slices.ContainsFunc(r.rep.Summary, func(c Count) bool { return c.Action != Keep }) {
		return r.rep, nil
	}
	_, err = audit.Record(ctx, s.Core, audit.Entry{Actor: "fenfu", Action: ActionRun, Target: audit.Target{Kind: "day", ID: o.AsOf},
		Detail: audit.Detail(map[string]any{"node": s.Owner, "summary": r.rep.Summary})})
	return r.rep, err
}

// run is one run's state.
type run struct {
	s     *Service
	o     Options
	asOf  time.Time
	holds holds
	rep   Report
	// changed are the stores the run wrote to.
	changed map[*db.DB]bool
}

// note records what the run does, or would do, with a record.
func (r *run) note(it Item) {
	r.rep.count(it.Table, it.Action)
	if r.o.DryRun {
		r.rep.Items = append(r.rep.Items, it)
	}
}

func (r *run) progress(table string, seen int) {
	if r.o.Progress != nil {
		r.o.Progress(table, seen)
	}
}

// apply writes one batch in a transaction of d that also renews the
// claim; a dry run writes nothing.
func (r *run) apply(ctx context.Context, d *db.DB, ids []string, fn func(context.Context, *db.Tx, []string) (int, error)) error {
	if r.o.DryRun || len(ids) == 0 {
		return nil
	}
	if err := r.s.renew(ctx, r.o.AsOf); err != nil {
		return err
	}
	r.changed[d] = true
	return d.Update(ctx, func(tx *db.Tx) error {
		_, err := fn(ctx, tx, ids)
		return err
	})
}

// pass is one kind of record a run walks, in batches of its key order:
// list returns the batch after a key, judge says what the run does with
// each record of a batch (an Item; Keep is not acted on, a record left
// out is not listed), act does it in a transaction of store.
type pass[T any] struct {
	table string
	store *db.DB
	list  func(ctx context.Context, after string) ([]T, error)
	key   func(T) string
	judge func(ctx context.Context, batch []T) ([]Item, error)
	act   func(context.Context, *db.Tx, []string) (int, error)
}

// walk runs a pass to its end.
func walk[T any](ctx context.Context, r *run, p pass[T]) error {
	seen := 0
	for after := ""; ; {
		batch, err := p.list(ctx, after)
		if err != nil || len(batch) == 0 {
			return err
		}
		after = p.key(batch[len(batch)-1])
		items, err := judged(ctx, r, batch, p.judge)
		if err != nil {
			return err
		}
		var ids []string
		for _, it := range items {
			r.note(it)
			if it.Action != Keep {
				ids = append(ids, it.ID)
			}
		}
		if err := r.apply(ctx, p.store, ids, p.act); err != nil {
			return err
		}
		seen += len(batch)
		r.progress(p.table, seen)
	}
}

// judged judges a batch under the legal holds in force now: read before
// the batch is judged and again after, and judged again if they changed
// meanwhile, so a hold placed while a run goes on keeps its subject from
// the next batch on (only a hold placed in the instant between that
// second read and the batch's write misses the batch).
func judged[T any](ctx context.Context, r *run, batch []T, judge func(context.Context, []T) ([]Item, error)) ([]Item, error) {
	for {
		before, err := r.s.inForce(ctx)
		if err != nil {
			return nil, err
		}
		r.holds = before
		items, err := judge(ctx, batch)
		if err != nil {
			return nil, err
		}
		after, err := r.s.inForce(ctx)
		if err != nil {
			return nil, err
		}
		if maps.EqualFunc(before, after, maps.Equal) {
			return items, nil
		}
	}
}

// item is the record id of table whose period ran from since, to be
// acted on as action for reason unless a hold on its merchant, consumer
// or order keeps it.
func (r *run) item(store *db.DB, table, id, action string, period Period, since time.Time, reason string, merchant, consumer, order string) Item {
	it := Item{Store: store.Name, Table: table, ID: id, Action: action, Since: day(since), Until: day(period.After(since)), Reason: reason}
	if hold := r.holds.on(merchant, consumer, order); hold != "" {
		it.Action, it.Hold, it.Reason = Keep, hold, "kept by legal hold "+hold
	}
	return it
}

// trades anonymises the details of final orders whose period has passed,
// unless a hold or a dispute keeps them.
func (r *run) trades(ctx context.Context) error {
	s, p := r.s, r.s.Periods
	cutoff := p.Trades.Before(r.asOf)
	return walk(ctx, r, pass[pay.Expired]{table: "orders", store: s.Core, act: pay.AnonymiseTrades,
		list: func(ctx context.Context, after string) ([]pay.Expired, error) {
			return s.Pay.ExpiredTrades(ctx, cutoff, after, s.batch())
		},
		key: func(o pay.Expired) string { return o.ID },
		judge: func(ctx context.Context, batch []pay.Expired) ([]Item, error) {
			disputes, err := r.disputes(ctx, batch)
			if err != nil {
				return nil, err
			}
			items := make([]Item, len(batch))
			for i, o := range batch {
				it := r.item(s.Core, "orders", o.ID, Anonymise, p.Trades, o.At, fmt.Sprintf("trade details are kept %s after the trade's last change", p.Trades), o.MchID, o.ConsumerID, o.ID)
				closed, disputed := disputes[o.ID]
				switch {
				case it.Action == Keep || !disputed:
				case closed.IsZero():
					it.Action, it.Reason = Keep, "kept while its dispute (a complaint, or a ticket such as a settlement exception) is open"
				case !closed.Before(p.Disputes.Before(r.asOf)):
					it.Action, it.Reason = Keep, fmt.Sprintf("kept until %s, %s after its dispute closed", day(p.Disputes.After(closed)), p.Disputes)
				default:
					it.Since, it.Until = day(closed), day(p.Disputes.After(closed))
					it.Reason = fmt.Sprintf("a disputed trade's details are kept %s after the dispute closed", p.Disputes)
				}
				items[i] = it
			}
			return items, nil
		}})
}

// serviceOrders anonymises the details of service orders that ended
// without a payment (cancelled, expired, completed for nothing) once the
// trades' period has passed since they ended, unless a hold keeps them;
// one paid is anonymised with its PAYSCORE order (trades).
func (r *run) serviceOrders(ctx context.Context) error {
	s, p := r.s, r.s.Periods.Trades
	cutoff := p.Before(r.asOf)
	return walk(ctx, r, pass[pay.Expired]{table: "service_orders", store: s.Core, act: pay.AnonymiseServiceOrders,
		list: func(ctx context.Context, after string) ([]pay.Expired, error) {
			return s.Pay.ExpiredServiceOrders(ctx, cutoff, after, s.batch())
		},
		key: func(so pay.Expired) string { return so.ID },
		judge: func(ctx context.Context, batch []pay.Expired) ([]Item, error) {
			items := make([]Item, len(batch))
			for i, so := range batch {
				items[i] = r.item(s.Core, "service_orders", so.ID, Anonymise, p, so.At,
					fmt.Sprintf("trade details are kept %s after the trade's last change", p), so.MchID, so.ConsumerID, so.ID)
			}
			return items, nil
		}})
}

// disputes merges the complaints' and the tickets' (settlement exception
// requests') disputes of orders.
func (r *run) disputes(ctx context.Context, list []pay.Expired) (pay.Disputes, error) {
	out, err := r.s.Complaints.Disputes(ctx, list)
	if err != nil {
		return nil, err
	}
	more, err := r.s.Tickets.Disputes(ctx, list)
	if err != nil {
		return nil, err
	}
	for id, closed := range more {
		out.Add(id, closed.IsZero(), closed)
	}
	return out, nil
}

// authorizations forgets the consumers whose credit contract ended longer
// than the period ago.
func (r *run) authorizations(ctx context.Context) error {
	s, p := r.s, r.s.Periods.Authorizations
	cutoff := p.Before(r.asOf)
	return walk(ctx, r, pass[credit.ClosedLine]{table: "consumers", store: s.Core, act: forgetConsumers,
		list: func(ctx context.Context, after string) ([]credit.ClosedLine, error) {
			return credit.ClosedBefore(ctx, s.Credit, cutoff, after, s.batch())
		},
		key: func(l credit.ClosedLine) string { return l.ConsumerID },
		judge: func(ctx context.Context, batch []credit.ClosedLine) ([]Item, error) {
			ids := make([]string, len(batch))
			for i, l := range batch {
				ids[i] = l.ConsumerID
			}
			remembered, err := s.Consumers.Remembered(ctx, ids)
			if err != nil {
				return nil, err
			}
			var items []Item
			for _, l := range batch {
				if slices.Contains(remembered, l.ConsumerID) {
					items = append(items, r.item(s.Core, "consumers", l.ConsumerID, Forget, p, l.ClosedAt,
						fmt.Sprintf("an authorization is kept %s after the consumer's credit contract ended", p), "", l.ConsumerID, ""))
				}
			}
			return items, nil
		}})
}

// forgetConsumers forgets the consumers ids, clears the openids they
// paid under from their orders, so an openid a merchant kept no longer
// resolves to them, and clears whom to call back from their tickets, in
// one transaction of the core store.
func forgetConsumers(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	n, err := consumer.Forget(ctx, tx, ids)
	if err != nil {
		return n, err
	}
	if _, err = pay.ForgetPayers(ctx, tx, ids); err != nil {
		return n, err
	}
	_, err = ticket.ForgetConsumers(ctx, tx, ids)
	return n, err
}

// purged is what a purge pass needs of a record: its key, when its
// period began, and the merchant, consumer and order a hold may name.
type purged struct {
	key                      string
	at                       time.Time
	mchid, consumer, orderID string
}

// purge walks a pass that purges the records of table in store whose
// period p, from their purged.at, ended before the run's day, unless a
// hold keeps them; list reads a batch of those expired at a cutoff, as
// each owning package's Expired... does.
func purge[T any](ctx context.Context, r *run, table string, store *db.DB, p Period, reason string,
	list func(ctx context.Context, d *db.DB, cutoff time.Time, after string, limit int) ([]T, error), of func(T) purged,
	act func(context.Context, *db.Tx, []string) (int, error)) error {
	cutoff := p.Before(r.asOf)
	return walk(ctx, r, pass[T]{table: table, store: store, act: act,
		list: func(ctx context.Context, after string) ([]T, error) {
			return list(ctx, store, cutoff, after, r.s.batch())
		},
		key: func(x T) string { return of(x).key },
		judge: func(ctx context.Context, batch []T) ([]Item, error) {
			items := make([]Item, len(batch))
			for i, x := range batch {
				o := of(x)
				items[i] = r.item(store, table, o.key, Purge, p, o.at, reason, o.mchid, o.consumer, o.orderID)
			}
			return items, nil
		}})
}

// riskRecords purges risk decisions, with their queue items and actions,
// last acted on longer than the period ago.
func (r *run) riskRecords(ctx context.Context) error {
	s, p := r.s, r.s.Periods.Risk
	return purge(ctx, r, "risk_decisions", s.Credit, p, fmt.Sprintf("risk records are kept %s after the last act on them", p),
		risk.ExpiredRecords, func(x risk.Record) purged { return purged{x.AttemptID, x.At, x.MchID, x.ConsumerID, x.OrderID} }, risk.PurgeRecords)
}

// logs purges notification delivery logs, sandbox calls, rendered bills
// and exposures without an order older than the trades' period, unless
// their merchant is held.
func (r *run) logs(ctx context.Context) error {
	s, p := r.s, r.s.Periods.Trades
	for _, l := range []struct {
		table string
		list  func(context.Context, *db.DB, time.Time, string, int) ([]db.Aged, error)
		purge func(context.Context, *db.Tx, []string) (int, error)
	}{{"notify_log", notify.ExpiredLog, notify.PurgeLog}, {"sandbox_calls", sandbox.ExpiredCalls, sandbox.PurgeCalls},
		{"bills", bill.ExpiredBills, bill.PurgeBills}, {"exposures", pay.ExpiredExposures, pay.PurgeExposures}} {
		err := purge(ctx, r, l.table, s.Core, p, fmt.Sprintf("trade logs are kept %s", p),
			l.list, func(x db.Aged) purged { return purged{key: x.Key, at: x.At, mchid: x.MchID} }, l.purge)
		if err != nil {
			return err
		}
	}
	return nil
}

// tickets purges support tickets resolved or closed longer ago than the
// disputes' period (a ticket is a dispute's record, kept as long as the
// order it names would be), unless a hold on their merchant, consumer or
// order keeps them. Settlement exception requests stay with the
// settlement records.
func (r *run) tickets(ctx context.Context) error {
	s, p := r.s, r.s.Periods.Disputes
	return purge(ctx, r, "tickets", s.Core, p, fmt.Sprintf("tickets are kept %s after they were resolved or closed", p),
		ticket.ExpiredTickets, func(x ticket.Ended) purged { return purged{x.ID, x.At, x.MchID, x.ConsumerID, x.TransactionID} }, ticket.PurgeTickets)
}

// errLostClaim stops a run whose claim another node took over.
var errLostClaim = fenfu.Errorf(fenfu.BatchRunning, "the retention run's claim passed to another node; it continues there")

// claim takes the day's run for this node: free, expired, or its own.
func (s *Service) claim(ctx context.Context, asOf string) error {
	var owner string
	var until int64
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		now := tx.Now
		if _, err := tx.ExecContext(ctx, `INSERT INTO retention_runs (day, state, owner, lease_until, started_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (day) DO UPDATE SET state = EXCLUDED.state, owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
			WHERE retention_runs.lease_until < $5 OR retention_runs.owner = EXCLUDED.owner`,
			asOf, running, s.Owner, db.Micros(now.Add(s.lease())), db.Micros(now)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT owner, lease_until FROM retention_runs WHERE day = $1`, asOf).Scan(&owner, &until)
	})
	if err != nil {
		return fenfu.Internal("retention.claim", err)
	}
	if owner != s.Owner {
		return fenfu.Errorf(fenfu.BatchRunning, "the retention run of %s is running on %s (claimed until %s)", asOf, owner,
			db.Time(until).In(fenfu.Shanghai).Format(time.DateTime))
	}
	return nil
}

// Run states.
const (
	running = "RUNNING"
	done    = "DONE"
)

// renew extends this node's claim, failing if another node holds it.
func (s *Service) renew(ctx context.Context, asOf string) error {
	res, err := s.Core.Exec(ctx, `UPDATE retention_runs SET lease_until = $1 WHERE day = $2 AND owner = $3 AND state = $4`,
		db.Micros(s.Clock.Now().Add(s.lease())), asOf, s.Owner, running)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errLostClaim
	}
	return nil
}

// finish marks the day's run done and lets its claim go.
func (s *Service) finish(ctx context.Context, asOf string) error {
	now := db.Micros(s.Clock.Now())
	res, err := s.Core.Exec(ctx, `UPDATE retention_runs SET state = $1, lease_until = $2, finished_at = $2 WHERE day = $3 AND owner = $4 AND state = $5`,
		done, now, asOf, s.Owner, running)
	if err != nil {
		return fenfu.Internal("retention.finish", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errLostClaim
	}
	return nil
}

// Done reports whether the run of a day is done.
func (s *Service) Done(ctx context.Context, asOf string) (bool, error) {
	var state string
	err := s.Core.QueryRowContext(ctx, `SELECT state FROM retention_runs WHERE day = $1`, asOf).Scan(&state)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	return state == done, nil
}

// RunDaily runs retention as of today every interval until ctx ends,
// unless today's run is done: the first node to claim a day runs it.
func (s *Service) RunDaily(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		today := day(s.Clock.Now())
		if ok, err := s.Done(ctx, today); err != nil && ctx.Err() == nil {
			s.Log.Error("retention", "error", err)
		} else if !ok {
			rep, err := s.Run(ctx, Options{AsOf: today})
			var fe *fenfu.Error
			switch {
			case errors.As(err, &fe) && fe.Code == fenfu.BatchRunning:
				s.Log.Info("retention runs on another node", "day", today)
			case err != nil && ctx.Err() == nil:
				s.Log.Error("retention", "day", today, "error", err)
			case err == nil:
				args := []any{"day", today}
				for _, c := range rep.Summary {
					args = append(args, c.Table+"_"+c.Action, c.N)
				}
				s.Log.Info("retention", args...)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
