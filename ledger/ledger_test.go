package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

func TestCheck(t *testing.T) {
	a := ledger.AccountOf(ledger.ConsumerCredit, "c1")
	m := ledger.AccountOf(ledger.MerchantPending, "m1")
	for _, tc := range []struct {
		name string
		txn  ledger.Txn
		ok   bool
	}{
		{"balanced", ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(a, 10), ledger.Credit(m, 10)}}, true},
		{"unbalanced", ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(a, 10), ledger.Credit(m, 9)}}, false},
		{"one entry", ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(a, 0)}}, false},
		{"zero entry", ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(a, 0), ledger.Credit(m, 0)}}, false},
		{"unknown kind", ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit("bogus:x", 5), ledger.Credit(m, 5)}}, false},
		{"no ref", ledger.Txn{"payment", "", []ledger.Entry{ledger.Debit(a, 5), ledger.Credit(m, 5)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ledger.Check(tc.txn)
			if got := err == nil; got != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ledger.ErrUnbalanced) {
				t.Fatalf("error %v is not ErrUnbalanced", err)
			}
		})
	}
}

func TestPostAndVerify(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			bal := ledger.AccountOf(ledger.ConsumerBalance, "c1")
			fund := ledger.AccountOf(ledger.PlatformFunding, "topup")
			m := ledger.AccountOf(ledger.MerchantPending, "m1")
			post := func(txn ledger.Txn) error {
				return d.Update(ctx, func(tx *db.Tx) error { return ledger.Post(ctx, tx, txn) })
			}
			if err := post(ledger.Txn{"topup", "t1", []ledger.Entry{ledger.Debit(fund, 500), ledger.Credit(bal, 500)}}); !errors.Is(err, ledger.ErrNoAccount) {
				t.Fatalf("post to unopened account: %v, want ErrNoAccount", err)
			}
			if err := d.Update(ctx, func(tx *db.Tx) error { return ledger.Open(ctx, tx, bal) }); err != nil {
				t.Fatal(err)
			}
			if err := post(ledger.Txn{"topup", "t1", []ledger.Entry{ledger.Debit(fund, 500), ledger.Credit(bal, 500)}}); err != nil {
				t.Fatal(err)
			}
			if err := post(ledger.Txn{"topup", "t1", []ledger.Entry{ledger.Debit(fund, 500), ledger.Credit(bal, 500)}}); !errors.Is(err, ledger.ErrDuplicate) {
				t.Fatalf("second post of one event: %v, want ErrDuplicate", err)
			}
			if err := post(ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(bal, 300), ledger.Credit(m, 300)}}); err != nil {
				t.Fatal(err)
			}
			if err := post(ledger.Txn{"payment", "o2", []ledger.Entry{ledger.Debit(bal, 300), ledger.Credit(m, 300)}}); !errors.Is(err, ledger.ErrInsufficient) {
				t.Fatalf("overdraft: %v, want ErrInsufficient", err)
			}
			for acct, want := range map[ledger.Account]fenfu.Fen{bal: 200, m: 300, fund: 500} {
				got, err := ledger.Balance(ctx, d, acct)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("balance of %s = %d, want %d", acct, got, want)
				}
			}
			if err := ledger.Verify(ctx, d); err != nil {
				t.Fatalf("verify clean books: %v", err)
			}
			// Corrupt one entry: the books must no longer prove.
			if _, err := d.W.ExecContext(ctx, `UPDATE ledger_entries SET amount = amount + 1 WHERE txn_id = 'payment:o1' AND seq = 2`); err != nil {
				t.Fatal(err)
			}
			var p *ledger.Problem
			if err := ledger.Verify(ctx, d); !errors.As(err, &p) || p.What != "unbalanced transaction" {
				t.Fatalf("verify after corruption = %v, want unbalanced transaction", err)
			}
			if _, err := d.W.ExecContext(ctx, `UPDATE ledger_entries SET amount = amount - 1 WHERE txn_id = 'payment:o1' AND seq = 2`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.W.ExecContext(ctx, `UPDATE ledger_accounts SET balance = balance - 7`); err != nil {
				t.Fatal(err)
			}
			if err := ledger.Verify(ctx, d); !errors.As(err, &p) || p.What != "balance differs from entries" {
				t.Fatalf("verify after balance corruption = %v, want balance differs", err)
			}
		})
	}
}

// BenchmarkPost posts one balanced payment (a tracked consumer account and
// a busy merchant account) per transaction on SQLite.
func BenchmarkPost(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b, db.SQLite, "credit", fenfu.SystemClock{})
	acct := ledger.AccountOf(ledger.ConsumerCredit, "c1")
	m := ledger.AccountOf(ledger.MerchantPending, "m1")
	if err := d.Update(ctx, func(tx *db.Tx) error { return ledger.Open(ctx, tx, acct) }); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		err := d.Update(ctx, func(tx *db.Tx) error {
			return ledger.Post(ctx, tx, ledger.Txn{Kind: "payment", Ref: fmt.Sprint(i), Entries: []ledger.Entry{
				ledger.Debit(acct, 100), ledger.Credit(m, 100)}})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestPostManyRefusesAsPostDoes: PostMany guards what it posts as Post
// does — an unopened account, a balance taken below zero and a
// transaction posted twice are each refused with Post's error, and
// nothing of the refused call is kept.
func TestPostManyRefusesAsPostDoes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			bal := ledger.AccountOf(ledger.ConsumerBalance, "c1")
			fund := ledger.AccountOf(ledger.PlatformFunding, "topup")
			m := ledger.AccountOf(ledger.MerchantPending, "m1")
			if err := d.Update(ctx, func(tx *db.Tx) error { return ledger.Open(ctx, tx, bal) }); err != nil {
				t.Fatal(err)
			}
			postMany := func(txns ...ledger.Txn) error {
				return d.Update(ctx, func(tx *db.Tx) error { return ledger.PostMany(ctx, tx, txns) })
			}
			topUp := ledger.Txn{Kind: "topup", Ref: "t1", Entries: []ledger.Entry{ledger.Debit(fund, 500), ledger.Credit(bal, 500)}}
			pay := func(ref string, amount fenfu.Fen) ledger.Txn {
				return ledger.Txn{Kind: "payment", Ref: ref, Entries: []ledger.Entry{ledger.Debit(bal, amount), ledger.Credit(m, amount)}}
			}
			if err := postMany(topUp, pay("p1", 300)); err != nil {
				t.Fatal(err)
			}
			if err := postMany(pay("p2", 201)); !errors.Is(err, ledger.ErrInsufficient) {
				t.Errorf("overdrawing: %v, want ErrInsufficient", err)
			}
			other := ledger.AccountOf(ledger.ConsumerBalance, "c2")
			if err := postMany(ledger.Txn{Kind: "payment", Ref: "p3", Entries: []ledger.Entry{ledger.Debit(other, 1), ledger.Credit(m, 1)}}); !errors.Is(err, ledger.ErrNoAccount) {
				t.Errorf("an unopened account: %v, want ErrNoAccount", err)
			}
			if err := postMany(pay("p4", 1), pay("p1", 300)); !errors.Is(err, ledger.ErrDuplicate) {
				t.Errorf("posting p1 again: %v, want ErrDuplicate", err)
			}
			if got, err := ledger.Balance(ctx, d, bal); err != nil || got != 200 {
				t.Errorf("balance %d, %v; want 200, the refused calls kept nothing", got, err)
			}
		})
	}
}

// TestPostRoundTrips posts on PostgreSQL in one round trip, whatever the
// count of entries and tracked accounts, and keeps Post's guards: a
// tracked account never below zero, every balance changed or none.
func TestPostRoundTrips(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		if engine != db.Postgres {
			continue
		}
		ctx := context.Background()
		d := dbtest.Open(t, engine, "credit", fenfu.SystemClock{})
		c1 := ledger.AccountOf(ledger.ConsumerBalance, "c1")
		c2 := ledger.AccountOf(ledger.ConsumerBalance, "c2")
		fund := ledger.AccountOf(ledger.PlatformFunding, "topup")
		m := ledger.AccountOf(ledger.MerchantPending, "m1")
		if err := d.Update(ctx, func(tx *db.Tx) error {
			if err := ledger.Open(ctx, tx, c1); err != nil {
				return err
			}
			return ledger.Open(ctx, tx, c2)
		}); err != nil {
			t.Fatal(err)
		}
		post := func(txn ledger.Txn) (int64, error) {
			var trips int64
			err := d.Update(ctx, func(tx *db.Tx) error {
				tctx, tally := db.WithTally(ctx, false)
				err := ledger.Post(tctx, tx, txn)
				trips = tally.Total()
				return err
			})
			return trips, err
		}
		for i := range 3 { // the first prepares the statement on its connection
			trips, err := post(ledger.Txn{"topup", fmt.Sprint("t", i), []ledger.Entry{ledger.Debit(fund, 300), ledger.Credit(c1, 100), ledger.Credit(c2, 200)}})
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 && trips != 1 {
				t.Errorf("post %d: %d round trips, want 1", i, trips)
			}
		}
		// c2 has 600, c1 300: taking 400 from each must fail whole.
		_, err := post(ledger.Txn{"payment", "o1", []ledger.Entry{ledger.Debit(c2, 400), ledger.Debit(c1, 400), ledger.Credit(m, 800)}})
		if !errors.Is(err, ledger.ErrInsufficient) {
			t.Fatalf("overdraft of c1: %v, want ErrInsufficient", err)
		}
		// One tracked account twice takes Post's statement-per-part path.
		if _, err := post(ledger.Txn{"payment", "o2", []ledger.Entry{ledger.Debit(c1, 100), ledger.Debit(c1, 50), ledger.Credit(m, 150)}}); err != nil {
			t.Fatal(err)
		}
		for acct, want := range map[ledger.Account]fenfu.Fen{c1: 150, c2: 600, m: 150} {
			if got, err := ledger.Balance(ctx, d, acct); err != nil || got != want {
				t.Errorf("balance of %s = %d, %v, want %d", acct, got, err, want)
			}
		}
		if err := ledger.Verify(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}
