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
// would one by one (ErrDuplicate, ErrNoAccount, ErrInsufficient alike), in multi-row inserts of a few dozen rows per statement,
// and applies each tracked account's change once, as their sum. The sum is
// guarded as Post guards an entry: an account must be open and may not end
// below zero, though it may pass below it between the transactions. It
// loads generated books for the benchmarks; a payment posts through Post.
func PostMany(ctx context.Context, tx *db.Tx, txns []Txn) error {
	const rows = 48
	delta := map[Account]fenfu.Fen{}
	var entries []entryRow
	for _, t := range txns {
		if err := Check(t); err != nil {
			return err
		}
		for i, e := range t.Entries {
			entries = append(entries, entryRow{t.ID(), i + 1, e})
			if e.Account.Tracked() {
				delta[e.Account] += e.Amount
			}
		}
	}
	now := db.Micros(tx.Now)
	for lo := 0; lo < len(txns); lo += rows {
		chunk := txns[lo:min(lo+rows, len(txns))]
		var q strings.Builder
		q.WriteString(`INSERT INTO ledger_txns (id, kind, ref, created_at) VALUES `)
		args := make([]any, 0, 4*len(chunk))
		for i, t := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4)
			args = append(args, t.ID(), t.Kind, t.Ref, now)
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		res, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("ledger: post many: %w", err)
		}
		if n, _ := res.RowsAffected(); n != int64(len(chunk)) {
			return fmt.Errorf("%w: %d of %d transactions from %s", ErrDuplicate, int64(len(chunk))-n, len(chunk), chunk[0].ID())
		}
	}
	for lo := 0; lo < len(entries); lo += rows {
		if err := insertEntries(ctx, tx, entries[lo:min(lo+rows, len(entries))]); err != nil {
			return fmt.Errorf("ledger: post many entries: %w", err)
		}
	}
	accounts := make([]Account, 0, len(delta))
	for a := range delta {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts) // a fixed lock order
	for _, a := range accounts {
		if err := applyTracked(ctx, tx, "many", a, delta[a]); err != nil {
			return err
		}
	}
	return nil
}
