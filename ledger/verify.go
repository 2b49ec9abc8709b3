package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu/db"
)

// Problem is the first thing found wrong with a store's books.
type Problem struct {
	Store  string
	What   string
	Detail string
}

func (p *Problem) Error() string { return fmt.Sprintf("%s store: %s: %s", p.Store, p.What, p.Detail) }

// Verify proves a store's books: every transaction has entries that sum to
// zero, every tracked account's balance equals the sum of its entries and
// is on its normal side, and every entry on a tracked kind has an opened
// account. It returns nil, a *Problem naming the first failure, or an I/O
// error.
func Verify(ctx context.Context, d *db.DB) error {
	var id string
	var a, b int64
	bad := func(what string, detail string) error { return &Problem{Store: d.Name, What: what, Detail: detail} }

	err := d.R.QueryRowContext(ctx, `SELECT txn_id, SUM(amount) FROM ledger_entries
		GROUP BY txn_id HAVING SUM(amount) <> 0 ORDER BY txn_id LIMIT 1`).Scan(&id, &a)
	if err == nil {
		return bad("unbalanced transaction", fmt.Sprintf("%s sums to %d", id, a))
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = d.R.QueryRowContext(ctx, `SELECT t.id FROM ledger_txns t
		WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = t.id) ORDER BY t.id LIMIT 1`).Scan(&id)
	if err == nil {
		return bad("transaction without entries", id)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// Materialized, so PostgreSQL does not rescan the aggregate for
	// every account to find the first difference.
	err = d.R.QueryRowContext(ctx, `WITH bad AS MATERIALIZED (SELECT a.id, a.balance, COALESCE(s.total, 0) AS total FROM ledger_accounts a
		LEFT JOIN (SELECT account, SUM(amount) AS total FROM ledger_entries GROUP BY account) s ON s.account = a.id
		WHERE a.balance <> COALESCE(s.total, 0)) SELECT id, balance, total FROM bad ORDER BY id LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return bad("balance differs from entries", fmt.Sprintf("%s has balance %d but its entries sum to %d", id, a, b))
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var tracked []string
	for k, info := range kinds {
		if !info.tracked {
			continue
		}
		cond := "balance < 0"
		if info.normal < 0 {
			cond = "balance > 0"
		}
		err = d.R.QueryRowContext(ctx, `SELECT id, balance FROM ledger_accounts WHERE id LIKE $1 AND `+cond+` ORDER BY id LIMIT 1`,
			string(k)+":%").Scan(&id, &a)
		if err == nil {
			return bad("account overdrawn", fmt.Sprintf("%s has balance %d", id, a))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		tracked = append(tracked, "e.account LIKE '"+string(k)+":%'")
	}
	err = d.R.QueryRowContext(ctx, `SELECT e.account FROM ledger_entries e
		WHERE (`+strings.Join(tracked, " OR ")+`)
		AND NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = e.account) LIMIT 1`).Scan(&id)
	if err == nil {
		return bad("entry on an unopened account", id)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}
