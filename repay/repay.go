// Package repay moves a consumer's repayment of its credit plans from its
// balance, in the core store, to its plans and credit line, in the credit
// store, without a distributed transaction, as package pay moves a credit
// payment the other way. An intent, the core store's balance transfer, is
// written with the balance debit (PENDING); the credit store applies the
// repayment under the intent's id; the intent becomes APPLIED. If the
// process dies in between, Recover settles the intent: it writes a VOID
// fence for the repayment in the credit store, which either loses to a
// repayment that already committed (the intent is APPLIED) or stops it
// forever (the intent is CANCELLED and the balance given back). Money is
// never lost or moved twice. The same service serves the consumer credit
// account around it: statements, the overdue job and staff changes of a
// line.
package repay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// State is an intent's state.
type State string

// Intent states.
const (
	Pending   State = "PENDING"
	Applied   State = "APPLIED"
	Cancelled State = "CANCELLED"
)

var intents = db.Machine[State]{Table: "balance_transfers", Column: "state",
	Allowed: map[State][]State{Pending: {Applied, Cancelled}}}

// DefaultRecoverAfter is how old a pending intent must be before Recover
// settles it.
const DefaultRecoverAfter = 30 * time.Second

// Service repays consumers' plans from their balances.
type Service struct {
	Core, Credit *db.DB
	IDs          fenfu.IDs
	Clock        fenfu.Clock
	Calendar     credit.Calendar
	Payoff       credit.EarlyPayoff
	// LateFee is charged per day on the principal of an overdue
	// installment (credit.DefaultLateFee is the setting's default; 0
	// charges none).
	LateFee fee.PPM
	// RecoverAfter is how old a pending intent must be before Recover
	// settles it, longer than any repayment takes between its commits.
	RecoverAfter time.Duration
	// beforeCredit and afterCredit, set by tests (export_test.go), run
	// around the credit store's commit; an error simulates the process
	// dying there.
	beforeCredit, afterCredit func(id string) error
}

// OutAccount is the core store's account of balance money sent to the
// credit store for repayments.
var OutAccount = ledger.AccountOf(ledger.PlatformFunding, "credit-repayment")

func debitEntries(consumerID string, amount fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(consumer.BalanceAccount(consumerID), amount), ledger.Credit(OutAccount, amount)}
}

func refundEntries(consumerID string, amount fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(OutAccount, amount), ledger.Credit(consumer.BalanceAccount(consumerID), amount)}
}

type intent struct {
	ID, ConsumerID, Key string
	Amount              fenfu.Fen
	State               State
}

// FromBalance repays amount of the consumer's plans from its balance. key
// makes it idempotent: the same key again returns the first repayment's
// outcome. It fails with NOT_ENOUGH if the balance is short, and with
// PARAM_ERROR (the balance untouched) if the amount is more than is owed.
func (s *Service) FromBalance(ctx context.Context, consumerID, key string, amount fenfu.Fen) (credit.Repaid, error) {
	if err := fenfu.Text("idempotency_key", key); err != nil {
		return credit.Repaid{}, err
	}
	if key == "" || len(key) > 64 {
		return credit.Repaid{}, fenfu.FieldError("idempotency_key", "the idempotency key must be 1 to 64 characters")
	}
	if amount <= 0 || amount > 100_000_000_00 {
		return credit.Repaid{}, fenfu.FieldError("amount", "amount must be a positive number of fen")
	}
	in := intent{ID: s.IDs.New(fenfu.AttemptID, s.Clock.Now()), ConsumerID: consumerID, Key: key, Amount: amount, State: Pending}
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO balance_transfers (id, consumer_id, idem_key, amount, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`, in.ID, consumerID, key, amount, string(Pending), db.Micros(tx.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			prev, err := intentBy(ctx, tx, `consumer_id = $1 AND idem_key = $2`, consumerID, key)
			if err != nil {
				return err
			}
			if prev.Amount != amount {
				return fenfu.Errorf(fenfu.ParamError, "idempotency key %s was already used for a repayment of %s yuan", key, fenfu.Yuan(prev.Amount))
			}
			in = prev
			return nil
		}
		err = ledger.Post(ctx, tx, ledger.Txn{Kind: "credit_repayment", Ref: in.ID, Entries: debitEntries(consumerID, amount)})
		switch {
		case errors.Is(err, ledger.ErrInsufficient):
			return fenfu.Errorf(fenfu.NotEnough, "balance is short of %s yuan", fenfu.Yuan(amount))
		case errors.Is(err, ledger.ErrNoAccount):
			return fenfu.Errorf(fenfu.ResourceNotExists, "no consumer %s", consumerID)
		}
		return err
	})
	if err != nil {
		return credit.Repaid{}, fenfu.Op("repay.FromBalance", err)
	}
	if in.State != Pending {
		return s.outcome(ctx, in)
	}
	if h := s.beforeCredit; h != nil {
		if err := h(in.ID); err != nil {
			return credit.Repaid{}, err
		}
	}
	var r credit.Repaid
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		r, err = credit.Repay(ctx, tx, credit.Repayment{ID: in.ID, ConsumerID: consumerID, Source: credit.SourceBalance, Key: in.ID,
			Amount: amount, Payoff: s.payoff(), Calendar: s.Calendar})
		return err
	})
	if err != nil {
		var fe *fenfu.Error
		if errors.As(err, &fe) || errors.Is(err, credit.ErrRepaymentVoided) {
			// The credit transaction surely rolled back: give the balance back.
			if _, serr := s.settle(ctx, in); serr != nil {
				return credit.Repaid{}, fenfu.Internal("repay.FromBalance", serr)
			}
			if fe != nil {
				return credit.Repaid{}, fe
			}
		}
		// Outcome unknown: Recover settles the intent either way.
		return credit.Repaid{}, fenfu.Internal("repay.FromBalance", err)
	}
	if h := s.afterCredit; h != nil {
		if err := h(in.ID); err != nil {
			return credit.Repaid{}, err
		}
	}
	if err := s.move(ctx, in, Applied); err != nil {
		return credit.Repaid{}, fenfu.Internal("repay.FromBalance", err)
	}
	return r, nil
}

func (s *Service) payoff() credit.EarlyPayoff {
	if s.Payoff == "" {
		return credit.PayoffWaived
	}
	return s.Payoff
}

// outcome answers a repeated request with the intent's outcome, settling
// it first if it is still pending and old enough.
func (s *Service) outcome(ctx context.Context, in intent) (credit.Repaid, error) {
	if in.State == Cancelled {
		return credit.Repaid{}, fenfu.Errorf(fenfu.ParamError, "the repayment with idempotency key %s was not applied and its balance returned", in.Key)
	}
	r, ok, err := credit.RepaymentOf(ctx, s.Credit, in.ID)
	if err != nil {
		return r, fenfu.Internal("repay.FromBalance", err)
	}
	if !ok || r.State != credit.RepaymentApplied {
		return r, fenfu.Errorf(fenfu.UserPaying, "the repayment with idempotency key %s is still being applied", in.Key)
	}
	return r, nil
}

// move moves a pending intent to APPLIED, or to CANCELLED giving its
// amount back to the balance, in one core transaction. An intent already
// moved is left alone.
func (s *Service) move(ctx context.Context, in intent, to State) error {
	return s.Core.Update(ctx, func(tx *db.Tx) error {
		q, args, err := intents.SQL(db.Move[State]{From: []State{Pending}, To: to, Set: ", updated_at = $1", Where: "id = $2",
			Args: []any{db.Micros(tx.Now), in.ID}})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || to != Cancelled {
			return nil
		}
		return ledger.Post(ctx, tx, ledger.Txn{Kind: "credit_repayment_cancel", Ref: in.ID, Entries: refundEntries(in.ConsumerID, in.Amount)})
	})
}

// settle decides a pending intent: the VOID fence in the credit store
// either finds the repayment applied (APPLIED) or stops it (CANCELLED).
func (s *Service) settle(ctx context.Context, in intent) (State, error) {
	var r credit.Repaid
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		r, err = credit.VoidRepayment(ctx, tx, in.ID, in.ConsumerID, credit.SourceBalance)
		return err
	})
	if err != nil {
		return "", err
	}
	to := Cancelled
	if r.State == credit.RepaymentApplied {
		to = Applied
	}
	return to, s.move(ctx, in, to)
}

// Recovered counts what Recover settled.
type Recovered struct{ Applied, Cancelled int }

// Recover settles intents left pending longer than RecoverAfter. It is
// safe to run on any number of nodes at once.
func (s *Service) Recover(ctx context.Context) (Recovered, error) {
	var r Recovered
	after := s.RecoverAfter
	if after == 0 {
		after = DefaultRecoverAfter
	}
	var list []intent
	err := s.eachIntent(ctx, func(in intent) error { list = append(list, in); return nil },
		`state = $1 AND updated_at < $2 ORDER BY updated_at LIMIT 1000`, string(Pending), db.Micros(s.Clock.Now().Add(-after)))
	if err != nil {
		return r, err
	}
	for _, in := range list {
		to, err := s.settle(ctx, in)
		if err != nil {
			return r, fmt.Errorf("repay: recover %s: %w", in.ID, err)
		}
		if to == Applied {
			r.Applied++
		} else {
			r.Cancelled++
		}
	}
	return r, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const intentCols = `id, consumer_id, idem_key, amount, state`

func scanIntent(s interface{ Scan(...any) error }) (intent, error) {
	var in intent
	err := s.Scan(&in.ID, &in.ConsumerID, &in.Key, &in.Amount, &in.State)
	return in, err
}

func intentBy(ctx context.Context, q rowQuerier, where string, args ...any) (intent, error) {
	return scanIntent(q.QueryRowContext(ctx, `SELECT `+intentCols+` FROM balance_transfers WHERE `+where, args...))
}

// eachIntent calls fn for the intents a query selects, in its order.
func (s *Service) eachIntent(ctx context.Context, fn func(intent) error, where string, args ...any) error {
	rows, err := s.Core.QueryContext(ctx, `SELECT `+intentCols+` FROM balance_transfers WHERE `+where, args...)
	if err != nil {
		return err
	}
	return db.Each(rows, scanIntent, fn)
}

// Verify proves the repayments from balance: every intent has its balance
// debit, every cancelled one its return and no other has one, and, merged
// with the credit store's repayments from balance in id order, every
// applied intent is a repayment applied for its amount, every cancelled
// one a voided repayment, and no repayment from balance lacks its intent.
func (s *Service) Verify(ctx context.Context) error {
	scan := func(fn func(intent) error) error {
		return s.eachIntent(ctx, fn, `1 = 1 ORDER BY `+s.Core.ByteOrder("id"))
	}
	for _, kind := range []string{"credit_repayment", "credit_repayment_cancel"} {
		_, err := ledger.Prove(ctx, s.Core, ledger.Proof{Kind: kind, Missing: "repayment intent without its postings",
			Extra: kind + " posting without a repayment intent"}, func(yield func(ledger.Want) error) error {
			return scan(func(in intent) error {
				w := ledger.Want{Ref: in.ID}
				switch {
				case kind == "credit_repayment":
					w.Entries = debitEntries(in.ConsumerID, in.Amount)
				case in.State == Cancelled:
					w.Entries = refundEntries(in.ConsumerID, in.Amount)
				}
				return yield(w)
			})
		})
		if err != nil {
			return err
		}
	}
	bad := func(detail string) error {
		return &ledger.Problem{Store: s.Core.Name, What: "repayment intent differs from the credit store", Detail: detail}
	}
	// Merge the intents with the credit store's repayments from balance,
	// both streamed in id order.
	var scanErr error
	next, stop := iter.Pull(func(yield func(credit.Repaid) bool) {
		scanErr = credit.ScanRepayments(ctx, s.Credit, credit.SourceBalance, func(r credit.Repaid) error {
			if !yield(r) {
				return errStop
			}
			return nil
		})
	})
	defer stop()
	var cur credit.Repaid
	var more bool
	read := func() error {
		if cur, more = next(); !more && scanErr != nil && !errors.Is(scanErr, errStop) {
			return scanErr
		}
		return nil
	}
	if err := read(); err != nil {
		return err
	}
	err := scan(func(in intent) error {
		if more && cur.ID < in.ID {
			return bad(fmt.Sprintf("repayment %s from balance has no intent", cur.ID))
		}
		var r *credit.Repaid
		if more && cur.ID == in.ID {
			x := cur
			r = &x
			if err := read(); err != nil {
				return err
			}
		}
		switch {
		case in.State == Applied && (r == nil || r.State != credit.RepaymentApplied || r.Amount != in.Amount):
			return bad(fmt.Sprintf("intent %s is applied for %d, the credit store has %+v", in.ID, in.Amount, r))
		case in.State == Cancelled && (r == nil || r.State != credit.RepaymentVoid):
			return bad(fmt.Sprintf("intent %s is cancelled, the credit store has %+v", in.ID, r))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if more {
		return bad(fmt.Sprintf("repayment %s from balance has no intent", cur.ID))
	}
	return nil
}

// errStop ends a scan its reader no longer needs.
var errStop = errors.New("repay: scan stopped")

// FromPartner records a funding partner's transfer repaying the
// consumer's plans, in the credit store alone. key makes it idempotent per
// consumer and partner.
func (s *Service) FromPartner(ctx context.Context, consumerID, partner, key string, amount fenfu.Fen) (credit.Repaid, error) {
	var r credit.Repaid
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		r, err = credit.Repay(ctx, tx, credit.Repayment{ID: s.IDs.New(fenfu.AttemptID, tx.Now), ConsumerID: consumerID,
			Source: "partner:" + partner, Key: key, Amount: amount, Payoff: s.payoff(), Calendar: s.Calendar})
		return err
	})
	if errors.Is(err, credit.ErrRepaymentVoided) {
		return r, fenfu.Errorf(fenfu.ParamError, "idempotency key %s names a repayment that was cancelled", key)
	}
	return r, fenfu.Op("repay.FromPartner", err)
}

// Statement returns the consumer's statement of month (YYYY-MM).
func (s *Service) Statement(ctx context.Context, consumerID, month string) (credit.Statement, error) {
	st, err := credit.StatementOf(ctx, s.Credit, consumerID, month, s.Calendar)
	return st, fenfu.Op("repay.Statement", err)
}

// Account is a consumer's credit account: its line, what it owes now and
// its plans.
type Account struct {
	credit.Line
	Owed       credit.Owed     `json:"owed"`
	Overdue    credit.Overdue  `json:"overdue"`
	Plans      []credit.Plan   `json:"plans"`
	Repayments []credit.Repaid `json:"recent_repayments"`
}

// AccountOf returns the consumer's credit account.
func (s *Service) AccountOf(ctx context.Context, consumerID string) (Account, error) {
	var a Account
	var err error
	if a.Line, err = credit.Get(ctx, s.Credit, consumerID); errors.Is(err, credit.ErrNoLine) {
		return a, fenfu.Errorf(fenfu.ResourceNotExists, "consumer %s has no credit line", consumerID)
	} else if err != nil {
		return a, fenfu.Internal("repay.AccountOf", err)
	}
	if a.Owed, err = credit.OwedBy(ctx, s.Credit, consumerID, s.Calendar, s.payoff()); err != nil {
		return a, fenfu.Internal("repay.AccountOf", err)
	}
	if a.Overdue, err = credit.OverdueIn(a.Owed.Upcoming, s.Clock.Now()); err != nil {
		return a, fenfu.Internal("repay.AccountOf", err)
	}
	if a.Plans, err = credit.Plans(ctx, s.Credit, consumerID); err != nil {
		return a, fenfu.Internal("repay.AccountOf", err)
	}
	if a.Repayments, err = credit.Repayments(ctx, s.Credit, consumerID, 20); err != nil {
		return a, fenfu.Internal("repay.AccountOf", err)
	}
	if a.Plans == nil {
		a.Plans = []credit.Plan{}
	}
	if a.Repayments == nil {
		a.Repayments = []credit.Repaid{}
	}
	return a, nil
}

// PlanOf returns the plan of a credit payment attempt; ok is false if it
// has none.
func (s *Service) PlanOf(ctx context.Context, attemptID string) (credit.Plan, bool, error) {
	p, ok, err := credit.PlanOf(ctx, s.Credit, attemptID)
	return p, ok, fenfu.Op("repay.PlanOf", err)
}
