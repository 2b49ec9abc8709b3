package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

// pay is a balanced transaction on busy accounts, which need no opening.
func pay(ref string, amount fenfu.Fen) ledger.Txn {
	return ledger.Txn{Kind: "payment", Ref: ref, Entries: []ledger.Entry{
		ledger.Debit(ledger.AccountOf(ledger.PlatformFunding, "x"), amount),
		ledger.Credit(ledger.AccountOf(ledger.MerchantPending, "m1"), amount-1),
		ledger.Credit(ledger.AccountOf(ledger.PlatformFee, "core"), 1)}}
}

func post(t testing.TB, d *db.DB, txns ...ledger.Txn) {
	t.Helper()
	if err := postErr(d, txns...); err != nil {
		t.Fatal(err)
	}
}

// postErr posts txns in one transaction; for goroutines, which may not
// stop the test.
func postErr(d *db.DB, txns ...ledger.Txn) error {
	ctx := context.Background()
	return d.Update(ctx, func(tx *db.Tx) error { return ledger.PostMany(ctx, tx, txns) })
}

// seal seals every transaction committed so far.
func seal(t testing.TB, d *db.DB) ledger.Sealed {
	t.Helper()
	s, err := ledger.SealCommitted(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifyChain(t testing.TB, d *db.DB) ledger.ChainReport {
	t.Helper()
	r, err := ledger.VerifyChain(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCanonicalIsUnambiguous: fields that would run together in a plain
// concatenation encode apart.
func TestCanonicalIsUnambiguous(t *testing.T) {
	a := ledger.Canonical(nil, "payment:ab", "payment", "ab", 1, []ledger.Entry{{Account: "x:1", Amount: 12}})
	b := ledger.Canonical(nil, "payment:ab", "payment", "ab", 1, []ledger.Entry{{Account: "x:11", Amount: 2}})
	c := ledger.Canonical(nil, "payment:ab", "paymen", "tab", 1, []ledger.Entry{{Account: "x:1", Amount: 12}})
	if string(a) == string(b) || string(a) == string(c) {
		t.Fatalf("encodings collide: %q %q %q", a, b, c)
	}
	if want := "10:payment:ab,7:payment,2:ab,1:1,1:1,3:x:1,2:12,"; string(a) != want {
		t.Errorf("Canonical = %q, want %q", a, want)
	}
	// README's example.
	if got, want := ledger.Canonical(nil, "p:ab12", "p", "ab12", 7, []ledger.Entry{{Account: "x:1a", Amount: 12}, {Account: "x:2b", Amount: -12}}),
		"6:p:ab12,1:p,4:ab12,1:7,1:2,4:x:1a,2:12,4:x:2b,3:-12,"; string(got) != want {
		t.Errorf("Canonical = %q, want %q", got, want)
	}
}

// chainBooks posts six payments on d, each in its own transaction, and
// seals them: positions 1 to 6 are p1 to p6. On SQLite it leaves a gap in
// the commit orders before p3, where a forged transaction can go.
func chainBooks(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		post(t, d, pay(fmt.Sprint("p", i), fenfu.Fen(100*i)))
		if i == 3 && d.Engine == db.SQLite {
			if _, err := d.Exec(ctx, `UPDATE ledger_txns SET commit_order = commit_order + 100 WHERE id = 'payment:p3'`); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := seal(t, d)
	if s.Head.Pos != 6 || s.Sealed != 6 {
		t.Fatalf("sealed %+v, want 6 positions", s)
	}
	if r := verifyChain(t, d); r.Break != nil || r.Checked != 6 {
		t.Fatalf("untouched chain: %v", r)
	}
}

// TestChainTamper: each way of changing sealed books after the fact
// breaks the chain at the changed transaction's position, and a sealing
// round after it does not paper over it.
func TestChainTamper(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		for _, tc := range []struct {
			name    string
			sql     []string
			pos     int64
			problem string
		}{
			{"amount updated", []string{`UPDATE ledger_entries SET amount = amount + 1 WHERE txn_id = 'payment:p3' AND seq = 1`}, 3, ledger.ChainEdited},
			{"entry deleted", []string{`DELETE FROM ledger_entries WHERE txn_id = 'payment:p4' AND seq = 3`}, 4, ledger.ChainEdited},
			{"entry added", []string{`INSERT INTO ledger_entries (txn_id, seq, account, amount) VALUES ('payment:p2', 4, 'platform_fee:core', 0)`}, 2, ledger.ChainEdited},
			{"account changed", []string{`UPDATE ledger_entries SET account = 'merchant_pending:m2' WHERE txn_id = 'payment:p5' AND seq = 2`}, 5, ledger.ChainEdited},
			{"created_at changed", []string{`UPDATE ledger_txns SET created_at = created_at + 1 WHERE id = 'payment:p1'`}, 1, ledger.ChainEdited},
			{"transaction inserted", []string{
				// Just before p3: in its commit order on PostgreSQL, whose
				// ties go by id; in the gap before it on SQLite.
				`INSERT INTO ledger_txns (commit_order, id, kind, ref, created_at)
					SELECT commit_order - {gap}, 'a:forged', 'a', 'forged', created_at FROM ledger_txns WHERE id = 'payment:p3'`,
				`INSERT INTO ledger_entries (txn_id, seq, account, amount) VALUES ('a:forged', 1, 'platform_funding:x', 5), ('a:forged', 2, 'merchant_pending:m1', -5)`,
			}, 3, ledger.ChainDisplaced},
			{"transaction deleted", []string{`DELETE FROM ledger_entries WHERE txn_id = 'payment:p2'`, `DELETE FROM ledger_txns WHERE id = 'payment:p2'`}, 2, ledger.ChainDisplaced},
			{"last transaction deleted", []string{`DELETE FROM ledger_entries WHERE txn_id = 'payment:p6'`, `DELETE FROM ledger_txns WHERE id = 'payment:p6'`}, 6, ledger.ChainDisplaced},
			{"transactions reordered", []string{ // p2 and p5 swap their commit orders
				`UPDATE ledger_txns SET commit_order = -{p5} WHERE id = 'payment:p2'`,
				`UPDATE ledger_txns SET commit_order = {p2} WHERE id = 'payment:p5'`,
				`UPDATE ledger_txns SET commit_order = {p5} WHERE id = 'payment:p2'`,
			}, 2, ledger.ChainDisplaced},
			{"hash edited", []string{`UPDATE ledger_chain SET hash = (SELECT hash FROM ledger_chain WHERE pos = 1) WHERE pos = 4`}, 4, ledger.ChainEdited},
			{"position deleted", []string{`DELETE FROM ledger_chain WHERE pos = 5`}, 5, ledger.ChainMissing},
			{"head moved", []string{`UPDATE ledger_seal SET hash = (SELECT hash FROM ledger_chain WHERE pos = 2)`}, 6, ledger.ChainHeadDiffers},
		} {
			t.Run(string(engine)+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
				chainBooks(t, d)
				gap := "0"
				if engine == db.SQLite {
					gap = "50"
				}
				orders := map[string]string{}
				for _, id := range []string{"p2", "p5"} {
					var o int64
					if err := d.QueryRowContext(ctx, `SELECT commit_order FROM ledger_txns WHERE id = $1`, "payment:"+id).Scan(&o); err != nil {
						t.Fatal(err)
					}
					orders[id] = fmt.Sprint(o)
				}
				for _, q := range tc.sql {
					q = strings.NewReplacer("{gap}", gap, "{p2}", orders["p2"], "{p5}", orders["p5"]).Replace(q)
					if _, err := d.Exec(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				seal(t, d) // as fenfu verify does first
				r := verifyChain(t, d)
				if r.Break == nil {
					t.Fatalf("tampered chain verified: %v", r)
				}
				if r.Break.Pos != tc.pos || r.Break.Problem != tc.problem {
					t.Errorf("break %+v, want position %d (%s)", *r.Break, tc.pos, tc.problem)
				}
				var p *ledger.Problem
				if !errors.As(r.Err(), &p) || !strings.Contains(p.What, fmt.Sprintf("position %d", tc.pos)) {
					t.Errorf("Err() = %v", r.Err())
				}
			})
		}
	}
}

// TestChainGrowsAndRounds: transactions posted after a seal are chained
// after it, a group of one database transaction's postings is sealed
// whole, and rounds of SealBatch carry on from one another.
func TestChainGrowsAndRounds(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "credit", fenfu.SystemClock{})
			if s := seal(t, d); s.Sealed != 0 || s.Head.Pos != 0 {
				t.Fatalf("empty books sealed %+v", s)
			}
			if r := verifyChain(t, d); r.Break != nil || r.Checked != 0 {
				t.Fatalf("empty chain: %v", r)
			}
			post(t, d, pay("a", 10))
			seal(t, d)
			var many []ledger.Txn
			for i := range ledger.SealBatch + 500 {
				many = append(many, pay(fmt.Sprint("b", i), 10))
			}
			post(t, d, many[:ledger.SealBatch/2]...) // one group
			for i := ledger.SealBatch / 2; i < len(many); i += 100 {
				post(t, d, many[i:i+100]...)
			}
			s := seal(t, d)
			want := int64(1 + len(many))
			if s.Head.Pos != want || s.Sealed != want-1 || s.Rounds < 2 {
				t.Fatalf("sealed %+v, want head at %d in two rounds or more", s, want)
			}
			r := verifyChain(t, d)
			if r.Break != nil || r.Checked != want {
				t.Fatalf("chain: %v", r)
			}
			if err := ledger.Verify(context.Background(), d); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestChainConcurrentSealers: posters and two sealers at once; the chain
// never forks, seals every transaction once, and verifies.
func TestChainConcurrentSealers(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			const posters, each = 4, 40
			stop := make(chan struct{})
			var sealers sync.WaitGroup
			errs := make(chan error, 2)
			for range 2 {
				sealers.Add(1)
				go func() {
					defer sealers.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := ledger.Seal(ctx, d); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			var wg sync.WaitGroup
			for p := range posters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if err := postErr(d, pay(fmt.Sprintf("c%d-%d", p, i), 10)); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			sealers.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			seal(t, d)
			r := verifyChain(t, d)
			if r.Break != nil || r.Checked != posters*each {
				t.Fatalf("chain: %v, want %d positions", r, posters*each)
			}
		})
	}
}

// TestChainWaitsForLateCommit: on PostgreSQL, a transaction that took its
// xid first but commits last holds the chain back: the transactions that
// committed meanwhile with later xids are not sealed until it has
// finished, and then it is sealed before them, nothing skipped.
func TestChainWaitsForLateCommit(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.Postgres, "credit", fenfu.SystemClock{})
	post(t, d, pay("early", 10))
	var lateOrder int64
	posted, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- d.Update(ctx, func(tx *db.Tx) error {
			if err := ledger.Post(ctx, tx, pay("late", 10)); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT commit_order FROM ledger_txns WHERE id = 'payment:late'`).Scan(&lateOrder); err != nil {
				return err
			}
			close(posted)
			<-release
			return nil
		})
	}()
	select {
	case <-posted:
	case err := <-done:
		t.Fatal(err)
	}
	// Others post and commit, with a sealer running among them.
	var wg sync.WaitGroup
	const posters, each = 4, 25
	stop := make(chan struct{})
	sealed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				sealed <- nil
				return
			default:
			}
			if _, err := ledger.Seal(ctx, d); err != nil {
				sealed <- err
				return
			}
		}
	}()
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := postErr(d, pay(fmt.Sprintf("d%d-%d", p, i), 10)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-sealed; err != nil {
		t.Fatal(err)
	}
	// What is sealable now: the late transaction holds the horizon.
	s, err := ledger.Seal(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var sealedAfter, after int64
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_txns t JOIN ledger_chain c ON c.txn_id = t.id
		WHERE t.commit_order > $1`, lateOrder).Scan(&sealedAfter); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_txns WHERE commit_order > $1`, lateOrder).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != posters*each || sealedAfter != 0 || s.Head.CommitOrder >= lateOrder || s.Horizon > lateOrder {
		t.Fatalf("while the late transaction (xid %d) is open: %d of the %d committed after it sealed, head %+v, horizon %d; want none",
			lateOrder, sealedAfter, after, s.Head, s.Horizon)
	}
	if r := verifyChain(t, d); r.Break != nil || r.Checked > 1 {
		t.Fatalf("chain before the late commit: %v", r)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seal(t, d)
	r := verifyChain(t, d)
	if r.Break != nil || r.Checked != 2+posters*each {
		t.Fatalf("chain after the late commit: %v, want %d positions", r, 2+posters*each)
	}
	var pos int64
	if err := d.QueryRowContext(ctx, `SELECT pos FROM ledger_chain WHERE txn_id = 'payment:late'`).Scan(&pos); err != nil || pos != 2 {
		t.Fatalf("the late transaction is at position %d (%v), want 2: in its xid's place", pos, err)
	}
}

// TestChainRefusesIDsBehindItsHead: on a PostgreSQL server whose
// transaction ids are below the chain's head (a store restored onto
// another server), sealing refuses rather than chain new postings below
// what is sealed.
func TestChainRefusesIDsBehindItsHead(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.Postgres, "core", fenfu.SystemClock{})
	post(t, d, pay("p1", 10))
	seal(t, d)
	if _, err := d.Exec(ctx, `UPDATE ledger_seal SET commit_order = commit_order + 1000000000`); err != nil {
		t.Fatal(err)
	}
	post(t, d, pay("p2", 10))
	if _, err := ledger.Seal(ctx, d); !errors.Is(err, ledger.ErrIDsBehind) {
		t.Fatalf("sealing below the head: %v, want ErrIDsBehind", err)
	}
}

// TestSealRoundTrips: on PostgreSQL a sealing round that finds nothing to
// seal costs one round trip, and one that seals four (the look, the
// head's claim, the batch's stream, and the chain rows and the head moved
// with the COMMIT), whatever the batch's size.
func TestSealRoundTrips(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.Postgres, "credit", fenfu.SystemClock{})
	var posted int64
	// sealAll seals until every transaction posted is, checking each
	// call's round trips if asked. (Another database's transaction still
	// running in the cluster may hold the horizon back for a while.)
	sealAll := func(check bool) {
		t.Helper()
		for {
			tctx, tally := db.WithTally(ctx, false)
			s, err := ledger.Seal(tctx, d)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if s.Sealed > 0 {
				want = 4
			}
			if trips := tally.Total(); check && (trips != want || s.Busy) {
				t.Errorf("a round that sealed %d: %d round trips (busy %v), want %d", s.Sealed, trips, s.Busy, want)
			}
			if s.Head.Pos == posted {
				return
			}
		}
	}
	for i := range 4 {
		var txns []ledger.Txn
		for j := range 1 + i*150 { // the last, 451 transactions: three chunks of chain rows
			txns = append(txns, pay(fmt.Sprintf("r%d-%d", i, j), 10))
		}
		post(t, d, txns[:len(txns)/2]...)
		post(t, d, txns[len(txns)/2:]...)
		posted += int64(len(txns))
		sealAll(i > 0) // the first prepares the statements on their connections
		sealAll(i > 0) // and now nothing is left: one round trip
	}
	if r := verifyChain(t, d); r.Break != nil || r.Checked != posted {
		t.Fatalf("chain: %v, want %d positions", r, posted)
	}
	if err := ledger.Verify(ctx, d); err != nil {
		t.Fatal(err)
	}
}
