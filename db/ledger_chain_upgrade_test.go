package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

// TestLedgerChainUpgrade: books posted before the ledger's chain (ledger
// migration 2) keep every transaction and entry through it (on SQLite,
// whose ledger_txns is rebuilt with its commit order, in the order they
// were posted, their entries' foreign key still enforced); the first
// sealing round seals them all, in insertion order on SQLite and in id
// byte order on PostgreSQL, whose old rows share commit order 0; and
// what is posted after the upgrade is chained after them.
func TestLedgerChainUpgrade(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, "credit", dbtest.DSN(t, engine, "credit"), fenfu.SystemClock{}, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if _, err := db.MigrateBefore(ctx, d, "ledger", 2); err != nil {
				t.Fatal(err)
			}
			c := ledger.AccountOf(ledger.ConsumerCredit, "c1")
			m := ledger.AccountOf(ledger.MerchantPending, "m1")
			payment := func(ref string) ledger.Txn {
				return ledger.Txn{Kind: "payment", Ref: ref, Entries: []ledger.Entry{ledger.Debit(c, 10), ledger.Credit(m, 10)}}
			}
			update := func(fn func(tx *db.Tx) error) {
				t.Helper()
				if err := d.Update(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}
			update(func(tx *db.Tx) error { return ledger.Open(ctx, tx, c) })
			// Refs whose byte order is not their posting order.
			var posted []string
			for i := range 12 {
				ref := fmt.Sprint(97 - 7*i)
				posted = append(posted, ledger.TxnID("payment", ref))
				update(func(tx *db.Tx) error { return ledger.Post(ctx, tx, payment(ref)) })
			}
			var many []ledger.Txn
			for i := range 8 {
				many = append(many, payment(fmt.Sprint("z", 9-i)))
				posted = append(posted, many[i].ID())
			}
			update(func(tx *db.Tx) error { return ledger.PostMany(ctx, tx, many) })

			applied, err := d.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(applied, "ledger/0002_ledger_chain.sql") {
				t.Fatalf("applied %v", applied)
			}
			var txns, entries int
			if err := d.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM ledger_txns), (SELECT COUNT(*) FROM ledger_entries)`).Scan(&txns, &entries); err != nil {
				t.Fatal(err)
			}
			if txns != len(posted) || entries != 2*len(posted) {
				t.Fatalf("after the upgrade: %d transactions and %d entries, want %d and %d", txns, entries, len(posted), 2*len(posted))
			}
			if engine == db.SQLite {
				if _, err := d.Exec(ctx, `INSERT INTO ledger_entries (txn_id, seq, account, amount) VALUES ('payment:none', 1, 'x', 1)`); err == nil {
					t.Error("an entry without its transaction was accepted: the foreign key is gone")
				}
			}
			if err := d.Update(ctx, func(tx *db.Tx) error { return ledger.Post(ctx, tx, payment("97")) }); !errors.Is(err, ledger.ErrDuplicate) {
				t.Errorf("posting an old event again: %v, want ErrDuplicate", err)
			}

			// The old rows are below any horizon (commit order 0 on
			// PostgreSQL): one call, one round.
			s, err := ledger.Seal(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if s.Sealed != int64(len(posted)) || s.Rounds != 1 {
				t.Fatalf("first seal: %+v, want the %d old transactions in one round", s, len(posted))
			}
			chain, err := d.Strings(ctx, `SELECT txn_id FROM ledger_chain ORDER BY pos`)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(posted)
			if engine == db.Postgres {
				slices.Sort(want)
			}
			if !slices.Equal(chain, want) {
				t.Errorf("chain order %v, want %v", chain, want)
			}

			update(func(tx *db.Tx) error { return ledger.Post(ctx, tx, payment("after")) })
			if _, err := ledger.SealCommitted(ctx, d); err != nil {
				t.Fatal(err)
			}
			r, err := ledger.VerifyChain(ctx, d)
			if err != nil || r.Break != nil || r.Checked != int64(len(posted)+1) {
				t.Fatalf("chain after the upgrade: %v, %v", r, err)
			}
			var last string
			if err := d.QueryRowContext(ctx, `SELECT txn_id FROM ledger_chain WHERE pos = $1`, r.Checked).Scan(&last); err != nil || last != "payment:after" {
				t.Errorf("last position seals %q (%v), want payment:after", last, err)
			}
			if err := ledger.Verify(ctx, d); err != nil {
				t.Fatal(err)
			}
		})
	}
}
