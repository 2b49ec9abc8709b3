// Package settle runs fenfu's T+1 settlement (SPEC §3): early each
// morning, for the previous business day (Asia/Shanghai), each merchant's
// payments − refunds − fees move from pending settlement to its settlement
// account, one ledger transaction and one settlement record per merchant,
// day and channel. Credit-pay and ordinary orders are settled in separate
// batches, each in the books of the store that holds its money.
//
// A batch takes every paid order and successful refund of its channel that
// is not yet settled, not held (a risk hold, see Hold) and dated before the
// end of its business day, so what a day leaves behind (a payment whose
// hold is released, a refund finished late) the next day's batch takes.
//
// A batch is safe to rerun and to crash: each merchant's step marks the
// orders and refunds it takes with its settlement's id in the same core
// transaction that records the settlement, so nothing is taken twice; a
// credit settlement recorded but not yet posted to the credit store's books
// is posted on resume, where the ledger's unique transaction id makes the
// posting happen once. A lease in settlement_batches keeps two nodes from
// running one batch, and every step checks the lease is still its own.
package settle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/ticket"
)

// Batch and settlement states.
const (
	Running = "RUNNING"
	Done    = "DONE"
	Pending = "PENDING" // a settlement recorded, not yet posted to the credit store
	Settled = "SETTLED"
)

// DefaultLease is how long a batch's lease lasts without renewal; every
// merchant's step renews it.
const DefaultLease = 2 * time.Minute

// Service runs settlement batches.
type Service struct {
	Core   *db.DB
	Credit *db.DB
	Clock  fenfu.Clock
	// Owner names this node in batch leases.
	Owner string
	// Lease is how long a lease lasts unrenewed (DefaultLease if zero).
	Lease time.Duration
	// Tickets files settlement exception requests as tickets; nil is a
	// ticket service over Core.
	Tickets *ticket.Service
	// HoldFor is how long a hold lasts when its length is not given
	// (DefaultHold if zero).
	HoldFor time.Duration
	Log     *slog.Logger
	// Progress, if set, is called after each merchant of a batch.
	Progress func(Progress)
	// Sealer encrypts exception requests' attachments at rest (the
	// merchants' transaction records); nil stores them in the clear, for
	// tests only.
	Sealer *seal.Sealer
	// afterMerchant, set by tests (export_test.go), runs after each
	// merchant's settlement is recorded and before it is posted, to crash
	// a batch there.
	afterMerchant func(mchid string) error
}

// Progress reports a running batch.
type Progress struct {
	Date, Channel string
	Done, Total   int
}

// Result is what a batch did.
type Result struct {
	Date    string `json:"date"`
	Channel string `json:"channel"`
	// Already is set when the batch had finished before this run, which
	// then changed nothing.
	Already   bool      `json:"already_done"`
	Merchants int       `json:"merchants"` // settlements recorded by this run
	Resumed   int       `json:"resumed"`   // settlements an earlier run recorded and this one posted
	Payments  int       `json:"payments"`  // orders settled by this run
	Refunds   int       `json:"refunds"`   // refunds settled by this run
	Net       fenfu.Fen `json:"net"`       // fen moved to settlement accounts by this run
	Seconds   float64   `json:"seconds"`   // how long the run took
}

// Settlement is one merchant's settlement of one business day and channel.
type Settlement struct {
	ID            string    `json:"settlement_id"`
	Date          string    `json:"settle_date"`
	Channel       string    `json:"channel"`
	MchID         string    `json:"mchid"`
	Payments      int       `json:"payments"`
	PaymentAmount fenfu.Fen `json:"payment_amount"`
	PaymentFees   fenfu.Fen `json:"payment_fees"`
	// PlanFees are the installment fees the merchant bore on payments
	// it offered interest-free; RefundPlanFees the shares refunds returned.
	PlanFees       fenfu.Fen `json:"installment_fees"`
	Refunds        int       `json:"refunds"`
	RefundAmount   fenfu.Fen `json:"refund_amount"`
	RefundFees     fenfu.Fen `json:"refund_fees"`
	RefundPlanFees fenfu.Fen `json:"refund_installment_fees"`
	Net            fenfu.Fen `json:"net"`
	State          string    `json:"state"`
	CreatedAt      time.Time `json:"created_at"`
	SettledAt      time.Time `json:"settled_at,omitzero"`
}

// ID returns the id of a merchant's settlement of a day and channel. It is
// fixed by the three, so a settlement's ledger transaction is unique.
func ID(date, channel, mchid string) string {
	return "ST" + date[0:4] + date[5:7] + date[8:10] + "-" + channel + "-" + mchid
}

// Day parses a business day, YYYY-MM-DD, and returns its end: the instant
// the next day begins in Asia/Shanghai.
func Day(date string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, date, fenfu.Shanghai)
	if err != nil || d.Format(time.DateOnly) != date {
		return time.Time{}, fenfu.FieldError("date", "the business day must be a date, YYYY-MM-DD, not %q", date)
	}
	return d.AddDate(0, 0, 1), nil
}

// Yesterday returns the business day before the one t falls in.
func Yesterday(t time.Time) string {
	return t.In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *Service) money(channel pay.Channel) *db.DB {
	if channel == pay.ChannelCredit {
		return s.Credit
	}
	return s.Core
}

// Run settles a business day: the credit-pay batch, then the ordinary one.
func (s *Service) Run(ctx context.Context, date string) ([]Result, error) {
	var out []Result
	for _, ch := range pay.Channels {
		r, err := s.RunChannel(ctx, date, ch)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RunChannel runs one channel's batch of a business day, which must have
// ended. It resumes a batch an earlier run left unfinished and does
// nothing for one that finished; it fails with BATCH_RUNNING while another
// node holds the batch.
func (s *Service) RunChannel(ctx context.Context, date string, channel pay.Channel) (Result, error) {
	start := time.Now()
	r := Result{Date: date, Channel: channel.Name()}
	cutoff, err := Day(date)
	if err != nil {
		return r, err
	}
	if channel != pay.ChannelCredit && channel != pay.ChannelBalance {
		return r, fenfu.FieldError("channel", "channel must be credit or ordinary")
	}
	if now := s.Clock.Now(); now.Before(cutoff) {
		e := fenfu.Errorf(fenfu.InvalidRequest, "business day %s has not ended yet (Asia/Shanghai)", date)
		e.Remedy = "Settle a day once it is over; the scheduled batch settles yesterday every morning."
		return r, e
	}
	done, err := s.acquire(ctx, date, channel)
	if err != nil || done {
		r.Already = done
		return r, err
	}
	// Post what an interrupted run recorded but did not post.
	if r.Resumed, err = s.postPending(ctx, date, channel); err != nil {
		return r, err
	}
	// The merchants with something to settle: a platform's many quiet
	// merchants cost nothing.
	merchants, err := pay.UnsettledMerchants(ctx, s.Core, channel, cutoff)
	if err != nil {
		return r, err
	}
	if err := s.fence(ctx, s.Core, nil, date, channel, `merchants = $5`, len(merchants)); err != nil {
		return r, err
	}
	for i, m := range merchants {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		st, err := s.settleMerchant(ctx, date, channel, m, cutoff, i+1)
		if err != nil {
			return r, fmt.Errorf("settle: %s %s %s: %w", date, channel.Name(), m, err)
		}
		if st != nil {
			r.Merchants++
			r.Payments += st.Payments
			r.Refunds += st.Refunds
			r.Net += st.Net
		}
		if s.Progress != nil {
			s.Progress(Progress{Date: date, Channel: channel.Name(), Done: i + 1, Total: len(merchants)})
		}
	}
	if err := s.finish(ctx, date, channel); err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	if s.Log != nil {
		s.Log.Info("settlement batch done", "date", date, "channel", r.Channel, "merchants", r.Merchants,
			"payments", r.Payments, "refunds", r.Refunds, "net_fen", r.Net, "resumed", r.Resumed, "seconds", r.Seconds)
	}
	return r, nil
}

// acquire takes or renews the batch's lease. It reports whether the batch
// is already done.
func (s *Service) acquire(ctx context.Context, date string, channel pay.Channel) (bool, error) {
	now := s.Clock.Now()
	var state, owner string
	var until int64
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settlement_batches (batch_date, channel, state, owner, lease_until, started_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (batch_date, channel) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
			WHERE settlement_batches.state <> $7 AND (settlement_batches.lease_until < $6 OR settlement_batches.owner = EXCLUDED.owner)`,
			date, string(channel), Running, s.Owner, db.Micros(now.Add(s.lease())), db.Micros(now), Done)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT state, owner, lease_until FROM settlement_batches WHERE batch_date = $1 AND channel = $2`,
			date, string(channel)).Scan(&state, &owner, &until)
	})
	switch {
	case err != nil:
		return false, fenfu.Internal("settle.acquire", err)
	case state == Done:
		return true, nil
	case owner != s.Owner:
		return false, fenfu.Errorf(fenfu.BatchRunning, "the %s batch of %s is running on %s (lease until %s)",
			channel.Name(), date, owner, db.Time(until).In(fenfu.Shanghai).Format(time.DateTime))
	}
	return false, nil
}

// batches is a batch's state machine: it runs, under a lease, until done.
var batches = db.Machine[string]{Table: "settlement_batches", Column: "state", Allowed: map[string][]string{
	Running: {Done},
}}

// finish marks the batch done, if its lease is still this node's.
func (s *Service) finish(ctx context.Context, date string, channel pay.Channel) error {
	now := db.Micros(s.Clock.Now())
	q, args, err := batches.SQL(db.Move[string]{From: []string{Running}, To: Done, Set: ", lease_until = $1, finished_at = $1",
		Where: "batch_date = $2 AND channel = $3 AND owner = $4", Args: []any{now, date, string(channel), s.Owner}})
	if err != nil {
		return fenfu.Internal("settle.finish", err)
	}
	res, err := s.Core.Exec(ctx, q, args...)
	if err != nil {
		return fenfu.Internal("settle.finish", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLostLease
	}
	return nil
}

// errLostLease stops a batch whose lease another node took over.
var errLostLease = fenfu.Errorf(fenfu.BatchRunning, "the batch's lease passed to another node; it continues there")

// fence renews the lease and applies set to the batch row, in tx (or a
// statement of its own on d), failing with errLostLease if the lease is no
// longer this node's. set's parameters start at $5.
func (s *Service) fence(ctx context.Context, d *db.DB, tx *db.Tx, date string, channel pay.Channel, set string, args ...any) error {
	q := `UPDATE settlement_batches SET lease_until = $1, ` + set + `
		WHERE batch_date = $2 AND channel = $3 AND owner = $4 AND state = '` + Running + `'`
	all := append([]any{db.Micros(s.Clock.Now().Add(s.lease())), date, string(channel), s.Owner}, args...)
	var res sql.Result
	var err error
	if tx != nil {
		res, err = tx.ExecContext(ctx, q, all...)
	} else {
		res, err = d.Exec(ctx, q, all...)
	}
	if err != nil {
		return fenfu.Internal("settle.fence", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLostLease
	}
	return nil
}

// settleMerchant records and posts one merchant's settlement, or returns
// nil if it has nothing to settle.
func (s *Service) settleMerchant(ctx context.Context, date string, channel pay.Channel, mchid string, cutoff time.Time, n int) (*Settlement, error) {
	id := ID(date, string(channel), mchid)
	var st *Settlement
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		st = nil
		if err := s.fence(ctx, nil, tx, date, channel, `done = $5`, n); err != nil {
			return err
		}
		// A merchant an interrupted run already settled stays as it was:
		// what became due since (a hold released, a refund finished) waits
		// for the next day's batch.
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM settlements WHERE id = $1`, id).Scan(&one); {
		case err == nil:
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		t, err := pay.MarkSettled(ctx, tx, id, mchid, channel, cutoff)
		if err != nil {
			return err
		}
		if t.Payments == 0 && t.Refunds == 0 {
			return nil
		}
		x := Settlement{ID: id, Date: date, Channel: string(channel), MchID: mchid, State: Pending, CreatedAt: tx.Now,
			Payments: t.Payments, PaymentAmount: t.PaymentAmount, PaymentFees: t.PaymentFees, PlanFees: t.PlanFees,
			Refunds: t.Refunds, RefundAmount: t.RefundAmount, RefundFees: t.RefundFees, RefundPlanFees: t.RefundPlanFees, Net: t.Net()}
		// Ordinary money is in this store: post it in this transaction.
		if channel == pay.ChannelBalance {
			if err := post(ctx, tx, x); err != nil {
				return err
			}
			x.State, x.SettledAt = Settled, tx.Now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settlements (id, batch_date, channel, mchid, payments, payment_amount, payment_fees,
			refunds, refund_amount, refund_fees, net, state, created_at, settled_at, plan_fees, refund_plan_fees)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			x.ID, x.Date, x.Channel, x.MchID, x.Payments, x.PaymentAmount, x.PaymentFees, x.Refunds, x.RefundAmount,
			x.RefundFees, x.Net, x.State, db.Micros(tx.Now), micros(x.SettledAt), x.PlanFees, x.RefundPlanFees); err != nil {
			return err
		}
		st = &x
		return nil
	})
	if err != nil || st == nil {
		return nil, err
	}
	if s.afterMerchant != nil {
		if err := s.afterMerchant(mchid); err != nil {
			return nil, err
		}
	}
	if st.State == Pending {
		if err := s.postCredit(ctx, *st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return db.Micros(t)
}

// post records a settlement's move in tx's books: the net leaves the
// merchant's pending settlement for its settlement account (or, for a
// negative day, comes back).
func post(ctx context.Context, tx *db.Tx, x Settlement) error {
	if x.Net == 0 {
		return nil
	}
	return ledger.Post(ctx, tx, ledger.Txn{Kind: "settlement", Ref: x.ID, Entries: ledger.SettlementEntries(x.MchID, x.Net)})
}

// postCredit posts a recorded credit settlement in the credit store, then
// marks it settled. Posting twice is harmless: the second finds the
// transaction already there.
func (s *Service) postCredit(ctx context.Context, x Settlement) error {
	err := s.Credit.Update(ctx, func(tx *db.Tx) error { return post(ctx, tx, x) })
	if err != nil && !errors.Is(err, ledger.ErrDuplicate) {
		return err
	}
	q, args, err := settlements.SQL(db.Move[string]{From: []string{Pending}, To: Settled, Set: ", settled_at = $1", Where: "id = $2",
		Args: []any{db.Micros(s.Clock.Now()), x.ID}})
	if err != nil {
		return err
	}
	_, err = s.Core.Exec(ctx, q, args...)
	return err
}

// settlements is a settlement's state machine: recorded (PENDING) until
// posted in its channel's books (SETTLED). An ordinary settlement is
// recorded SETTLED, posted in the same transaction.
var settlements = db.Machine[string]{Table: "settlements", Column: "state", Allowed: map[string][]string{
	Pending: {Settled},
}}

// postPending posts the batch's settlements an earlier run recorded but
// did not post.
func (s *Service) postPending(ctx context.Context, date string, channel pay.Channel) (int, error) {
	list, err := s.List(ctx, Filter{Date: date, Channel: string(channel), State: Pending})
	if err != nil {
		return 0, err
	}
	for _, x := range list {
		if err := s.postCredit(ctx, x); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// Filter selects settlements; empty fields match all.
type Filter struct {
	ID, MchID, Date, Channel, State string
	// From and To bound the business day (inclusive), YYYY-MM-DD.
	From, To string
	// Negative selects the settlements whose net is below zero: days a
	// merchant's refunds outweighed its payments, which its next days
	// make up.
	Negative bool
}

// settlementColumns are what a Settlement is scanned from.
const settlementColumns = `id, batch_date, channel, mchid, payments, payment_amount, payment_fees, refunds, refund_amount, refund_fees,
		net, state, created_at, settled_at, plan_fees, refund_plan_fees`

// where is the filter's condition (after WHERE 1 = 1) and arguments.
func (f Filter) where() (string, []any) {
	q := ""
	var args []any
	add := func(cond, v string) {
		if v != "" {
			args = append(args, v)
			q += fmt.Sprintf(" AND "+cond, len(args))
		}
	}
	add("id = $%d", f.ID)
	add("mchid = $%d", f.MchID)
	add("batch_date = $%d", f.Date)
	add("channel = $%d", f.Channel)
	add("state = $%d", f.State)
	add("batch_date >= $%d", f.From)
	add("batch_date <= $%d", f.To)
	if f.Negative {
		q += " AND net < 0"
	}
	return q, args
}

// List returns the settlements the filter selects, by day and merchant.
func (s *Service) List(ctx context.Context, f Filter) ([]Settlement, error) {
	cond, args := f.where()
	return s.scan(ctx, `SELECT `+settlementColumns+` FROM settlements WHERE 1 = 1`+cond+` ORDER BY batch_date, mchid, channel`, args)
}

// Page sizes of ListPage.
const (
	DefaultPage = 50
	MaxPage     = 500
)

// ListPage returns the page p of the settlements f selects, the newest
// business day first, and the cursor of the next page ("" after the
// last): a range of the index of settlements by day (or by merchant and
// day, or of the negative ones).
func (s *Service) ListPage(ctx context.Context, f Filter, p fenfu.Keyset) ([]Settlement, string, error) {
	for _, d := range []struct{ name, v string }{{"from", f.From}, {"to", f.To}, {"date", f.Date}} {
		if d.v != "" {
			if _, err := Day(d.v); err != nil {
				return nil, "", fenfu.FieldError(d.name, "%s must be a date, YYYY-MM-DD", d.name)
			}
		}
	}
	key, err := p.Key(2)
	if err != nil {
		return nil, "", err
	}
	cond, args := f.where()
	if key != nil {
		args = append(args, key[0], key[1])
		n := len(args)
		// The bound on the indexes' day, then the row after the cursor: an
		// index range however deep the page, where an OR of the two would
		// scan the index from its start.
		cond += fmt.Sprintf(" AND batch_date <= $%d AND (batch_date, id) < ($%d, $%d)", n-1, n-1, n)
	}
	limit := p.Size(DefaultPage, MaxPage)
	out, err := s.scan(ctx, `SELECT `+settlementColumns+` FROM settlements WHERE 1 = 1`+cond+
		fmt.Sprintf(` ORDER BY batch_date DESC, id DESC LIMIT %d`, limit+1), args)
	if err != nil {
		return nil, "", err
	}
	out, next := fenfu.NextPage(out, limit, func(x Settlement) []string { return []string{x.Date, x.ID} })
	return out, next, nil
}

func (s *Service) scan(ctx context.Context, q string, args []any) ([]Settlement, error) {
	out, err := db.All(ctx, s.Core, scanSettlement, q, args...)
	if err != nil {
		return nil, fenfu.Internal("settle.List", err)
	}
	return out, nil
}

// scanSettlement reads a Settlement from its settlementColumns.
func scanSettlement(r db.Scanner) (Settlement, error) {
	var x Settlement
	var created, settled int64
	err := r.Scan(&x.ID, &x.Date, &x.Channel, &x.MchID, &x.Payments, &x.PaymentAmount, &x.PaymentFees, &x.Refunds,
		&x.RefundAmount, &x.RefundFees, &x.Net, &x.State, &created, &settled, &x.PlanFees, &x.RefundPlanFees)
	x.CreatedAt = db.Time(created)
	if settled > 0 {
		x.SettledAt = db.Time(settled)
	}
	x.Channel = pay.Channel(x.Channel).Name()
	return x, err
}

// BatchStatus is a batch's row.
type BatchStatus struct {
	Date       string    `json:"date"`
	Channel    string    `json:"channel"`
	State      string    `json:"state"`
	Owner      string    `json:"owner"`
	Merchants  int       `json:"merchants"`
	Done       int       `json:"done"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Batches returns the batches of a business day.
func (s *Service) Batches(ctx context.Context, date string) ([]BatchStatus, error) {
	rows, err := s.Core.QueryContext(ctx, `SELECT batch_date, channel, state, owner, merchants, done, started_at, finished_at
		FROM settlement_batches WHERE batch_date = $1 ORDER BY channel`, date)
	if err != nil {
		return nil, fenfu.Internal("settle.Batches", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (b BatchStatus, err error) {
		var started, finished int64
		err = r.Scan(&b.Date, &b.Channel, &b.State, &b.Owner, &b.Merchants, &b.Done, &started, &finished)
		b.Channel = pay.Channel(b.Channel).Name()
		b.StartedAt = db.Time(started)
		if finished > 0 {
			b.FinishedAt = db.Time(finished)
		}
		return b, err
	})
	if err != nil {
		return nil, fenfu.Internal("settle.Batches", err)
	}
	return out, nil
}
