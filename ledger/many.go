package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// PostMany records many transactions in the caller's transaction, as Post
// would one by one, in multi-row inserts of a few dozen rows per statement,
// and applies each tracked account's change once, as their sum. The sum is
// guarded as Post guards an entry: an account must be open and may not end
// below zero, though it may pass below it between the transactions. It
// loads generated books for the benchmarks; a payment posts through Post.
func PostMany(ctx context.Context, tx *db.Tx, txns []Txn) error {
	const rows = 48
	delta := map[Account]fenfu.Fen{}
	var ids []string
	type row struct {
		id  string
		seq int
		e   Entry
	}
	var entries []row
	for _, t := range txns {
		if err := Check(t); err != nil {
			return err
		}
		id := t.ID()
		ids = append(ids, id)
		for i, e := range t.Entries {
			entries = append(entries, row{id, i + 1, e})
			if e.Account.Tracked() {
				delta[e.Account] += e.Amount
			}
		}
	}
	now := db.Micros(tx.Now)
	for lo := 0; lo < len(ids); lo += rows {
		hi := min(lo+rows, len(ids))
		var q strings.Builder
		q.WriteString(`INSERT INTO ledger_txns (id, kind, ref, created_at) VALUES `)
		args := make([]any, 0, 4*(hi-lo))
		for i, t := range txns[lo:hi] {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4)
			args = append(args, ids[lo+i], t.Kind, t.Ref, now)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("ledger: post many: %w", err)
		}
	}
	for lo := 0; lo < len(entries); lo += rows {
		hi := min(lo+rows, len(entries))
		var q strings.Builder
		q.WriteString(`INSERT INTO ledger_entries (txn_id, seq, account, amount) VALUES `)
		args := make([]any, 0, 4*(hi-lo))
		for i, r := range entries[lo:hi] {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4)
			args = append(args, r.id, r.seq, string(r.e.Account), r.e.Amount)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("ledger: post many entries: %w", err)
		}
	}
	accounts := make([]Account, 0, len(delta))
	for a := range delta {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts) // a fixed lock order
	for _, a := range accounts {
		cond := `balance + $1 >= 0`
		if kinds[a.Kind()].normal < 0 {
			cond = `balance + $1 <= 0`
		}
		res, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET balance = balance + $1 WHERE id = $2 AND `+cond,
			delta[a], string(a))
		if err != nil {
			return fmt.Errorf("ledger: post many to %s: %w", a, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w (or %v): %s", ErrInsufficient, ErrNoAccount, a)
		}
	}
	return nil
}
