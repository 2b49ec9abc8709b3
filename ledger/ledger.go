// Package ledger is fenfu's double-entry bookkeeping. Money moves only
// through Post, which refuses a transaction whose entries do not sum to
// zero. Each store keeps its own books in the same three tables.
//
// Entries are signed: a debit is positive, a credit negative. An account's
// kind fixes its normal side and whether its balance is tracked in a row
// (consumer accounts, which must never go below zero) or is only the sum of
// its entries (busy accounts such as a merchant's pending settlement, which
// every payment touches and which would otherwise serialise payments on one
// row lock).
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Kind is the kind of an account.
type Kind string

// Account kinds.
const (
	// ConsumerCredit is what a consumer owes on its credit line: an asset of
	// the platform, debit-normal, tracked.
	ConsumerCredit Kind = "consumer_credit"
	// ConsumerBalance is the money the platform holds for a consumer: a
	// liability, credit-normal, tracked.
	ConsumerBalance Kind = "consumer_balance"
	// MerchantPending is what the platform owes a merchant until settlement:
	// a liability, credit-normal, busy.
	MerchantPending Kind = "merchant_pending"
	// PlatformFee is the platform's fee income: credit-normal, busy.
	PlatformFee Kind = "platform_fee"
	// PlatformFunding is money received from outside the platform (consumer
	// top-ups, merchants' deposits): an asset, debit-normal, busy.
	PlatformFunding Kind = "platform_funding"
	// MerchantDeposit is a merchant's risk deposit held by the platform: a
	// liability, credit-normal, tracked.
	MerchantDeposit Kind = "merchant_deposit"
	// MerchantSettled is what the platform owes a merchant after
	// settlement, until it is paid out to the merchant's bank account: a
	// liability, credit-normal, busy. A day whose refunds exceed its
	// payments settles negative, which the merchant's next days make up.
	MerchantSettled Kind = "merchant_settled"
	// ConsumerFeeDue is the installment fee a consumer owes on its
	// repayment plans: an asset of the platform, debit-normal, tracked.
	// It is kept apart from ConsumerCredit, which is the principal and
	// always equals what the consumer has used of its line.
	ConsumerFeeDue Kind = "consumer_fee_due"
	// ConsumerOverpaid is what the platform owes a consumer whose refund
	// exceeded what it still owed on the refunded purchase: a liability,
	// credit-normal, tracked.
	ConsumerOverpaid Kind = "consumer_overpaid"
	// ConsumerHeld is the part of a consumer's credit line a
	// pre-authorization (a service order the consumer confirmed) keeps
	// frozen: debit-normal, tracked. Nothing is owed on it; it is kept
	// apart from ConsumerCredit, which stays equal to what is used.
	ConsumerHeld Kind = "consumer_held"
	// CreditCommitted is the platform's side of the frozen amounts: what
	// it has committed to pay merchants for services under way,
	// credit-normal, busy.
	CreditCommitted Kind = "credit_committed"
)

type kindInfo struct {
	normal  fenfu.Fen // +1 debit-normal, -1 credit-normal
	tracked bool      // balance kept in ledger_accounts and guarded against going below zero
}

var kinds = map[Kind]kindInfo{
	ConsumerCredit:   {+1, true},
	ConsumerBalance:  {-1, true},
	MerchantPending:  {-1, false},
	PlatformFee:      {-1, false},
	PlatformFunding:  {+1, false},
	MerchantDeposit:  {-1, true},
	MerchantSettled:  {-1, false},
	ConsumerFeeDue:   {+1, true},
	ConsumerOverpaid: {-1, true},
	ConsumerHeld:     {+1, true},
	CreditCommitted:  {-1, false},
}

// Account identifies an account as "kind:owner".
type Account string

// AccountOf returns the account of the given kind owned by owner.
func AccountOf(kind Kind, owner string) Account { return Account(string(kind) + ":" + owner) }

// Kind returns the account's kind.
func (a Account) Kind() Kind {
	k, _, _ := strings.Cut(string(a), ":")
	return Kind(k)
}

// Tracked reports whether the account's balance is kept in a row.
func (a Account) Tracked() bool { return kinds[a.Kind()].tracked }

// Entry is one line of a transaction: Amount > 0 debits, < 0 credits.
type Entry struct {
	Account Account
	Amount  fenfu.Fen
}

// Debit returns an entry debiting amount to a.
func Debit(a Account, amount fenfu.Fen) Entry { return Entry{a, amount} }

// Credit returns an entry crediting amount to a.
func Credit(a Account, amount fenfu.Fen) Entry { return Entry{a, -amount} }

// Txn is a balanced set of entries recording one business event. Kind and
// Ref name the event ("payment", order id); the pair is unique, so an event
// is posted at most once.
type Txn struct {
	Kind    string
	Ref     string
	Entries []Entry
}

// ID returns the transaction's identifier, kind:ref.
func (t Txn) ID() string { return TxnID(t.Kind, t.Ref) }

// TxnID returns the identifier of the transaction for an event.
func TxnID(kind, ref string) string { return kind + ":" + ref }

// Errors returned by Post.
var (
	// ErrUnbalanced: the entries do not sum to zero, or the transaction is
	// otherwise malformed (fewer than two entries, a zero amount, an
	// unknown account kind).
	ErrUnbalanced = errors.New("ledger: unbalanced transaction")
	// ErrDuplicate: a transaction for the same event was already posted.
	ErrDuplicate = errors.New("ledger: transaction already posted")
	// ErrInsufficient: a tracked account would go below zero.
	ErrInsufficient = errors.New("ledger: insufficient funds")
	// ErrNoAccount: a tracked account has not been opened.
	ErrNoAccount = errors.New("ledger: account not opened")
)

// Check validates a transaction without touching a store.
func Check(t Txn) error {
	if t.Kind == "" || t.Ref == "" {
		return fmt.Errorf("%w: kind and ref are required", ErrUnbalanced)
	}
	if len(t.Entries) < 2 {
		return fmt.Errorf("%w: %s has %d entries", ErrUnbalanced, t.ID(), len(t.Entries))
	}
	var sum fenfu.Fen
	for _, e := range t.Entries {
		if _, ok := kinds[e.Account.Kind()]; !ok {
			return fmt.Errorf("%w: %s: unknown account kind in %q", ErrUnbalanced, t.ID(), e.Account)
		}
		if e.Amount == 0 {
			return fmt.Errorf("%w: %s: zero entry on %s", ErrUnbalanced, t.ID(), e.Account)
		}
		sum += e.Amount
	}
	if sum != 0 {
		return fmt.Errorf("%w: %s sums to %d", ErrUnbalanced, t.ID(), sum)
	}
	return nil
}

// Open creates a tracked account with a zero balance; opening an open
// account does nothing. Nothing waits for its answer: on PostgreSQL it
// goes with the transaction's next statement (db.Tx.Later), which sees
// the account open.
func Open(ctx context.Context, tx *db.Tx, a Account) error {
	if !a.Tracked() {
		return fmt.Errorf("ledger: %s is not a tracked account", a)
	}
	return tx.Later(ctx, `INSERT INTO ledger_accounts (id, balance, created_at) VALUES ($1, 0, $2)
		ON CONFLICT DO NOTHING`, string(a), db.Micros(tx.Now))
}

// Post records t in the caller's transaction. It fails with ErrUnbalanced,
// ErrDuplicate, ErrNoAccount or ErrInsufficient (wrapped, naming the
// account); on failure the caller must roll back.
func Post(ctx context.Context, tx *db.Tx, t Txn) error {
	if err := Check(t); err != nil {
		return err
	}
	id := t.ID()
	if tx.Engine == db.Postgres && distinctTracked(t) {
		return postOne(ctx, tx, t)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO ledger_txns (id, kind, ref, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, id, t.Kind, t.Ref, db.Micros(tx.Now))
	if err != nil {
		return fmt.Errorf("ledger: post %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrDuplicate, id)
	}
	rows := make([]entryRow, len(t.Entries))
	for i, e := range t.Entries {
		rows[i] = entryRow{id, i + 1, e}
	}
	if err := insertEntries(ctx, tx, rows); err != nil {
		return fmt.Errorf("ledger: post %s entries: %w", id, err)
	}
	for _, e := range t.Entries {
		if e.Account.Tracked() {
			if err := applyTracked(ctx, tx, id, e.Account, e.Amount); err != nil {
				return err
			}
		}
	}
	return nil
}

// distinctTracked reports whether no tracked account has two entries in
// t: one statement changes a row once, so postOne applies each tracked
// account's entry in its own part of the statement.
func distinctTracked(t Txn) bool {
	for i, e := range t.Entries {
		if !e.Account.Tracked() {
			continue
		}
		for _, f := range t.Entries[:i] {
			if f.Account == e.Account {
				return false
			}
		}
	}
	return true
}

// postOne is Post on PostgreSQL in one statement, one round trip instead
// of two and one per tracked account: the transaction row, its entries
// and each tracked account's guarded balance change are parts of one
// statement (data-modifying WITH), the entries and balances written only
// if the transaction row was (not a duplicate). It reads back how many
// rows each part wrote and fails as Post does: ErrDuplicate, or, for a
// balance that was not changed, ErrNoAccount or ErrInsufficient.
func postOne(ctx context.Context, tx *db.Tx, t Txn) error {
	id := t.ID()
	q, args, tracked := postStatement(tx, t)
	got := make([]int64, 1+len(tracked))
	dest := make([]any, len(got))
	for i := range got {
		dest[i] = &got[i]
	}
	if err := tx.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		return fmt.Errorf("ledger: post %s: %w", id, err)
	}
	if got[0] == 0 {
		return fmt.Errorf("%w: %s", ErrDuplicate, id)
	}
	for i, a := range tracked {
		if got[1+i] == 0 {
			return refused(ctx, tx, id, a)
		}
	}
	return nil
}

// Ahead sends, on PostgreSQL, Post's statement for t with the
// transaction's next statement, right after it in its round trip
// (db.Tx.Ahead): Post of t, called once that statement has answered,
// then reads its answer instead of sending it. The posting is made even
// if Post is not called: call Ahead only where Post surely follows, or
// where the transaction then rolls back, or where t is already posted
// (the statement then writes nothing). On SQLite, or for a t that Post
// does not write in one statement, it does nothing.
func Ahead(tx *db.Tx, t Txn) {
	if tx.Engine != db.Postgres || !distinctTracked(t) || Check(t) != nil {
		return
	}
	q, args, _ := postStatement(tx, t)
	tx.Ahead(q, args...)
}

// postStatement is postOne's statement and its arguments, and the tracked
// accounts whose changed rows it counts after the transaction row's.
func postStatement(tx *db.Tx, t Txn) (string, []any, []Account) {
	id := t.ID()
	var q strings.Builder
	args := []any{id, t.Kind, t.Ref, db.Micros(tx.Now)}
	q.WriteString(`WITH t AS (INSERT INTO ledger_txns (id, kind, ref, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING RETURNING id),
	e AS (INSERT INTO ledger_entries (txn_id, seq, account, amount) SELECT t.id, v.seq, v.account, v.amount FROM t, (VALUES `)
	for i, e := range t.Entries {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d::integer, $%d::text, $%d::bigint)", n+1, n+2, n+3)
		args = append(args, i+1, string(e.Account), e.Amount)
	}
	q.WriteString(`) AS v (seq, account, amount))`)
	var tracked []Account
	for _, e := range t.Entries {
		if !e.Account.Tracked() {
			continue
		}
		cond := `>= 0`
		if kinds[e.Account.Kind()].normal < 0 {
			cond = `<= 0`
		}
		n := len(args)
		fmt.Fprintf(&q, `,
	a%d AS (UPDATE ledger_accounts SET balance = balance + $%d::bigint WHERE id = $%d AND balance + $%d::bigint %s
		AND EXISTS (SELECT 1 FROM t) RETURNING 1)`, len(tracked), n+1, n+2, n+1, cond)
		args = append(args, e.Amount, string(e.Account))
		tracked = append(tracked, e.Account)
	}
	q.WriteString(`
	SELECT (SELECT count(*) FROM t)`)
	for i := range tracked {
		fmt.Fprintf(&q, `, (SELECT count(*) FROM a%d)`, i)
	}
	return q.String(), args, tracked
}

// entryRow is an entry with the transaction and position it is stored
// under.
type entryRow struct {
	txn string
	seq int
	e   Entry
}

// insertEntries writes entries in one multi-row statement.
func insertEntries(ctx context.Context, tx *db.Tx, rows []entryRow) error {
	var q strings.Builder
	args := make([]any, 0, 4*len(rows))
	q.WriteString(`INSERT INTO ledger_entries (txn_id, seq, account, amount) VALUES `)
	for i, r := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
		args = append(args, r.txn, r.seq, string(r.e.Account), r.e.Amount)
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// applyTracked changes a tracked account's balance row by amount, refusing
// to take it past zero on its normal side: ErrNoAccount if the account was
// never opened, ErrInsufficient if it would go below zero. txn names the
// posting in other errors.
func applyTracked(ctx context.Context, tx *db.Tx, txn string, a Account, amount fenfu.Fen) error {
	cond := `balance + $1 >= 0`
	if kinds[a.Kind()].normal < 0 {
		cond = `balance + $1 <= 0`
	}
	res, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET balance = balance + $1 WHERE id = $2 AND `+cond,
		amount, string(a))
	if err != nil {
		return fmt.Errorf("ledger: post %s to %s: %w", txn, a, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	return refused(ctx, tx, txn, a)
}

// refused is the error of a tracked account's balance change that changed
// no row: ErrNoAccount if the account was never opened, else
// ErrInsufficient.
func refused(ctx context.Context, tx *db.Tx, txn string, a Account) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM ledger_accounts WHERE id = $1`, string(a)).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %s", ErrNoAccount, a)
	case err != nil:
		return fmt.Errorf("ledger: post %s: read %s: %w", txn, a, err)
	}
	return fmt.Errorf("%w: %s", ErrInsufficient, a)
}

// Balance returns the account's balance on its normal side (a consumer's
// balance of 100 fen is 100, though its entries sum to -100).
func Balance(ctx context.Context, d *db.DB, a Account) (fenfu.Fen, error) {
	info, ok := kinds[a.Kind()]
	if !ok {
		return 0, fmt.Errorf("ledger: unknown account kind in %q", a)
	}
	var sum fenfu.Fen
	var err error
	if info.tracked {
		err = d.QueryRowContext(ctx, `SELECT balance FROM ledger_accounts WHERE id = $1`, string(a)).Scan(&sum)
	} else {
		err = d.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = $1`, string(a)).Scan(&sum)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %s: %w", a, err)
	}
	return info.normal * sum, nil
}
