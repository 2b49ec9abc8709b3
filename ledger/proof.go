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

// The streams below read a kind's rows as a range of ids, kind:… up to
// kind;… (';' is the byte after ':'), in byte order (db.ByteOrder), which
// is the order of the refs or owners after the common prefix. The range
// reads the primary key's index in order on SQLite; PostgreSQL sorts.

// kindRange returns the bounds of the ids that start with prefix ":".
func kindRange(prefix string) (lo, hi string) { return prefix + ":", prefix + ";" }

// Postings streams the transactions of kind in d's books, in ref byte
// order, each with its entries in the order they were posted. It reads
// the entries only: a transaction without entries is Verify's to find.
// It stops at the first error fn returns and returns it.
func Postings(ctx context.Context, d *db.DB, kind string, fn func(ref string, entries []Entry) error) error {
	c, err := openPostings(ctx, d, kind)
	if err != nil {
		return err
	}
	defer c.close()
	for c.ok {
		if err := fn(c.ref, c.entries); err != nil {
			return err
		}
		if err := c.next(); err != nil {
			return err
		}
	}
	return nil
}

// postings is a cursor over a kind's transactions: ref and entries hold
// the current one while ok.
type postings struct {
	rows    *sql.Rows
	skip    int // len(kind) + 1
	ok      bool
	ref     string
	entries []Entry

	// The row read ahead: the first entry of the next transaction.
	more    bool
	id      string
	account string
	amount  fenfu.Fen
}

func openPostings(ctx context.Context, d *db.DB, kind string) (*postings, error) {
	id := d.ByteOrder("txn_id")
	lo, hi := kindRange(kind)
	rows, err := d.QueryContext(ctx, `SELECT txn_id, account, amount FROM ledger_entries
		WHERE `+id+` >= $1 AND `+id+` < $2 ORDER BY `+id+`, seq`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s postings: %w", kind, err)
	}
	c := &postings{rows: rows, skip: len(kind) + 1}
	if err := c.read(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := c.next(); err != nil {
		rows.Close()
		return nil, err
	}
	return c, nil
}

// read reads the next row ahead.
func (c *postings) read() error {
	c.more = c.rows.Next()
	if !c.more {
		return c.rows.Err()
	}
	return c.rows.Scan(&c.id, &c.account, &c.amount)
}

// next moves to the next transaction.
func (c *postings) next() error {
	c.ok = c.more
	if !c.more {
		return nil
	}
	id := c.id
	c.ref = id[c.skip:]
	c.entries = c.entries[:0]
	for c.more && c.id == id {
		c.entries = append(c.entries, Entry{Account(c.account), c.amount})
		if err := c.read(); err != nil {
			return err
		}
	}
	return nil
}

func (c *postings) close() { c.rows.Close() }

// Balances streams the tracked accounts of kind with their balances on
// the normal side (as Balance returns them), in owner byte order.
func Balances(ctx context.Context, d *db.DB, kind Kind, fn func(owner string, balance fenfu.Fen) error) error {
	info, ok := kinds[kind]
	if !ok || !info.tracked {
		return fmt.Errorf("ledger: %s is not a tracked kind", kind)
	}
	id := d.ByteOrder("id")
	lo, hi := kindRange(string(kind))
	rows, err := d.QueryContext(ctx, `SELECT id, balance FROM ledger_accounts
		WHERE `+id+` >= $1 AND `+id+` < $2 ORDER BY `+id, lo, hi)
	if err != nil {
		return fmt.Errorf("ledger: %s balances: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var b fenfu.Fen
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		if err := fn(a[len(kind)+1:], info.normal*b); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Want is what a proof expects in the books for one record (an order, a
// refund, a settlement): the transaction of the proof's kind with the
// record's ref, and its entries in any order.
type Want struct {
	Ref string
	// Entries must be posted, or, when empty, nothing may be.
	Entries []Entry
	// Maybe: the record may be between its own commit and its posting's
	// (or the other way round), so nothing posted is right too.
	Maybe bool
}

// Proof proves a kind of transaction against the records that imply it,
// and names the problems it can find.
type Proof struct {
	Kind string // the transactions' kind, e.g. "payment"
	// Missing names a record whose transaction is absent or differs,
	// e.g. "balance payment without its postings".
	Missing string
	// Extra names a transaction no record wants, e.g. "payment posting
	// without a paid balance order".
	Extra string
}

// ErrOrder is returned by Prove when the records do not come in strictly
// rising ref byte order: a merge of two streams in different orders would
// report differences that are not there.
var ErrOrder = errors.New("ledger: prove: records out of ref order")

// Prove merges the records want yields, which must come in rising ref byte
// order (db.ByteOrder), with the transactions of p.Kind in d's books, and
// returns the first difference as a *Problem naming the record's or the
// transaction's ref: a record whose transaction is missing or has other
// entries, or a transaction no record wants. It returns how many records
// it proved. It streams both sides, so its memory does not grow with the
// books. want must return the error yield returns.
func Prove(ctx context.Context, d *db.DB, p Proof, want func(yield func(Want) error) error) (int, error) {
	c, err := openPostings(ctx, d, p.Kind)
	if err != nil {
		return 0, err
	}
	defer c.close()
	bad := func(what, detail string) error { return &Problem{Store: d.Name, What: what, Detail: detail} }
	n, last := 0, ""
	err = want(func(w Want) error {
		if n > 0 && w.Ref <= last {
			return fmt.Errorf("%w: %q after %q", ErrOrder, w.Ref, last)
		}
		n, last = n+1, w.Ref
		if c.ok && c.ref < w.Ref {
			return bad(p.Extra, TxnID(p.Kind, c.ref)+": "+formatEntries(c.entries))
		}
		posted := c.ok && c.ref == w.Ref
		switch {
		case !posted && (len(w.Entries) == 0 || w.Maybe):
			return nil
		case !posted:
			return bad(p.Missing, w.Ref+": want "+formatEntries(w.Entries)+", posted nothing")
		case len(w.Entries) == 0:
			return bad(p.Extra, TxnID(p.Kind, c.ref)+": "+formatEntries(c.entries))
		case !sameEntries(w.Entries, c.entries):
			return bad(p.Missing, w.Ref+": want "+formatEntries(w.Entries)+", posted "+formatEntries(c.entries))
		}
		return c.next()
	})
	if err != nil {
		return 0, err
	}
	if c.ok {
		return 0, bad(p.Extra, TxnID(p.Kind, c.ref)+": "+formatEntries(c.entries))
	}
	return n, nil
}

// sameEntries reports whether a and b hold the same entries, in any
// order. A transaction has a handful, so it compares pairwise.
func sameEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	var buf [8]bool
	var used []bool
	if len(b) <= len(buf) {
		used = buf[:len(b)]
	} else {
		used = make([]bool, len(b))
	}
next:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x == y {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

// formatEntries writes entries as "account +debit, account -credit".
func formatEntries(es []Entry) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %+d", e.Account, e.Amount)
	}
	return b.String()
}

// PaymentEntries returns the entries of a payment of amount by payer to
// merchant mchid: the payer is debited the amount, the merchant's pending
// settlement credited the amount less the fee, and feeAccount the fee, if
// any. The payment paths post them and the proofs expect them.
func PaymentEntries(payer Account, mchid string, amount, fee fenfu.Fen, feeAccount Account) []Entry {
	es := []Entry{Debit(payer, amount), Credit(AccountOf(MerchantPending, mchid), amount-fee)}
	if fee > 0 {
		es = append(es, Credit(feeAccount, fee))
	}
	return es
}

// RefundEntries returns the entries of a refund of amount to payer by
// merchant mchid, feeBack of it the part of the payment's fee returned:
// the payer is credited the amount, the merchant's pending settlement
// debited the amount less feeBack (if anything is left), and feeAccount
// feeBack, if any.
func RefundEntries(payer Account, mchid string, amount, feeBack fenfu.Fen, feeAccount Account) []Entry {
	es := []Entry{Credit(payer, amount)}
	if amount-feeBack > 0 {
		es = append(es, Debit(AccountOf(MerchantPending, mchid), amount-feeBack))
	}
	if feeBack > 0 {
		es = append(es, Debit(feeAccount, feeBack))
	}
	return es
}

// SettlementEntries returns the entries of merchant mchid's settlement of
// net: the net leaves its pending settlement for its settlement account
// (or, for a negative day, comes back). A zero net posts nothing.
func SettlementEntries(mchid string, net fenfu.Fen) []Entry {
	if net == 0 {
		return nil
	}
	return []Entry{Debit(AccountOf(MerchantPending, mchid), net), Credit(AccountOf(MerchantSettled, mchid), net)}
}
