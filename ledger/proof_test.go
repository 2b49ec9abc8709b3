package ledger_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

// proofBooks posts a payment for each of refs (chosen so that byte order
// and a language collation disagree), and, around them, transactions of
// kinds whose ids share a prefix with "payment", which the payment proof
// must not see. It returns the store and the payments' entries by ref.
func proofBooks(t *testing.T, engine db.Engine) (*db.DB, map[string][]ledger.Entry) {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, engine, "credit", fenfu.SystemClock{})
	refs := []string{"b", "a_b", "A1", "aB", "a-c", "ab"}
	want := map[string][]ledger.Entry{}
	err := d.Update(ctx, func(tx *db.Tx) error {
		for i, ref := range refs {
			c := ledger.AccountOf(ledger.ConsumerCredit, "c"+ref)
			if err := ledger.Open(ctx, tx, c); err != nil {
				return err
			}
			amount := fenfu.Fen(100 * (i + 1))
			want[ref] = ledger.PaymentEntries(c, "m"+ref, amount, fenfu.Fen(i), ledger.AccountOf(ledger.PlatformFee, "credit"))
			if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "payment", Ref: ref, Entries: want[ref]}); err != nil {
				return err
			}
		}
		other := []ledger.Entry{ledger.Debit(ledger.AccountOf(ledger.PlatformFunding, "x"), 5),
			ledger.Credit(ledger.AccountOf(ledger.MerchantPending, "m"), 5)}
		for _, kind := range []string{"pay", "payment2", "paymentz", "refund"} {
			if err := ledger.Post(ctx, tx, ledger.Txn{Kind: kind, Ref: "ab", Entries: other}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, want
}

// wants yields the wanted payments in byte order.
func wants(want map[string][]ledger.Entry) func(func(ledger.Want) error) error {
	return func(yield func(ledger.Want) error) error {
		refs := make([]string, 0, len(want))
		for ref := range want {
			refs = append(refs, ref)
		}
		slices.Sort(refs)
		for _, ref := range refs {
			if err := yield(ledger.Want{Ref: ref, Entries: want[ref]}); err != nil {
				return err
			}
		}
		return nil
	}
}

var paymentProof = ledger.Proof{Kind: "payment", Missing: "payment without its postings", Extra: "posting without its payment"}

func TestPostings(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d, want := proofBooks(t, engine)
			var refs []string
			err := ledger.Postings(context.Background(), d, "payment", func(ref string, entries []ledger.Entry) error {
				refs = append(refs, ref)
				if !slices.Equal(entries, want[ref]) {
					t.Errorf("%s: entries %v, want %v", ref, entries, want[ref])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if w := []string{"A1", "a-c", "aB", "a_b", "ab", "b"}; !slices.Equal(refs, w) {
				t.Fatalf("refs %q, want byte order %q", refs, w)
			}
		})
	}
}

func TestBalances(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d, _ := proofBooks(t, engine)
			if err := d.Update(ctx, func(tx *db.Tx) error {
				return ledger.Open(ctx, tx, ledger.AccountOf(ledger.ConsumerBalance, "cab"))
			}); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := ledger.Balances(ctx, d, ledger.ConsumerCredit, func(owner string, balance fenfu.Fen) error {
				want, err := ledger.Balance(ctx, d, ledger.AccountOf(ledger.ConsumerCredit, owner))
				if err != nil {
					return err
				}
				if balance != want || balance <= 0 {
					t.Errorf("%s: balance %d, Balance says %d", owner, balance, want)
				}
				got = append(got, owner)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if w := []string{"cA1", "ca-c", "caB", "ca_b", "cab", "cb"}; !slices.Equal(got, w) {
				t.Fatalf("owners %q, want byte order %q", got, w)
			}
			if err := ledger.Balances(ctx, d, ledger.MerchantPending, func(string, fenfu.Fen) error { return nil }); err == nil {
				t.Fatal("Balances of an untracked kind")
			}
		})
	}
}

// TestProve corrupts the books in each way a proof must catch, and checks
// Prove names the problem and the transaction.
func TestProve(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				corrupt string // SQL run on the books
				edit    func(map[string][]ledger.Entry)
				what    string // "" when the books prove
				detail  string
			}{
				{name: "clean"},
				{name: "entries in another order", edit: func(w map[string][]ledger.Entry) { slices.Reverse(w["aB"]) }},
				{name: "missing entry", corrupt: `DELETE FROM ledger_entries WHERE txn_id = 'payment:aB' AND seq = 3`,
					what: paymentProof.Missing, detail: "aB: want "},
				{name: "wrong amount", corrupt: `UPDATE ledger_entries SET amount = amount + 1 WHERE txn_id = 'payment:a_b' AND seq = 1`,
					what: paymentProof.Missing, detail: "a_b: want "},
				{name: "wrong account", corrupt: `UPDATE ledger_entries SET account = 'merchant_pending:other' WHERE txn_id = 'payment:ab' AND seq = 2`,
					what: paymentProof.Missing, detail: "merchant_pending:other"},
				{name: "missing transaction", corrupt: `DELETE FROM ledger_entries WHERE txn_id = 'payment:A1'`,
					what: paymentProof.Missing, detail: "A1: want "},
				{name: "extra transaction", edit: func(w map[string][]ledger.Entry) { delete(w, "a-c") },
					what: paymentProof.Extra, detail: "payment:a-c: "},
				{name: "extra transaction last", edit: func(w map[string][]ledger.Entry) { delete(w, "b") },
					what: paymentProof.Extra, detail: "payment:b: "},
				{name: "posted where nothing may be", edit: func(w map[string][]ledger.Entry) { w["ab"] = nil },
					what: paymentProof.Extra, detail: "payment:ab: "},
				{name: "an entry more", edit: func(w map[string][]ledger.Entry) { w["aB"] = w["aB"][:2] },
					what: paymentProof.Missing, detail: "aB: want "},
				{name: "nothing wanted, nothing posted", edit: func(w map[string][]ledger.Entry) { w["c"] = nil }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					d, want := proofBooks(t, engine)
					if tc.corrupt != "" {
						if _, err := d.Exec(ctx, tc.corrupt); err != nil {
							t.Fatal(err)
						}
					}
					if tc.edit != nil {
						tc.edit(want)
					}
					n, err := ledger.Prove(ctx, d, paymentProof, wants(want))
					if tc.what == "" {
						if err != nil || n != len(want) {
							t.Fatalf("Prove = %d, %v; want %d records proved", n, err, len(want))
						}
						return
					}
					var p *ledger.Problem
					if !errors.As(err, &p) {
						t.Fatalf("Prove = %v, want a problem", err)
					}
					if p.What != tc.what || !strings.Contains(p.Detail, tc.detail) || p.Store != "credit" {
						t.Fatalf("problem %v, want %q naming %q", p, tc.what, tc.detail)
					}
				})
			}
		})
	}
}

// TestProveMaybe: a record between its two commits may have its
// transaction or none, but not another one.
func TestProveMaybe(t *testing.T) {
	ctx := context.Background()
	d, want := proofBooks(t, db.SQLite)
	maybe := func(edit func(ledger.Want) ledger.Want) func(func(ledger.Want) error) error {
		return func(yield func(ledger.Want) error) error {
			return wants(want)(func(w ledger.Want) error { return yield(edit(w)) })
		}
	}
	if _, err := ledger.Prove(ctx, d, paymentProof, maybe(func(w ledger.Want) ledger.Want { w.Maybe = true; return w })); err != nil {
		t.Fatalf("posted maybe: %v", err)
	}
	want["zz"] = want["b"]
	if _, err := ledger.Prove(ctx, d, paymentProof, maybe(func(w ledger.Want) ledger.Want { w.Maybe = w.Ref == "zz"; return w })); err != nil {
		t.Fatalf("unposted maybe: %v", err)
	}
	var p *ledger.Problem
	_, err := ledger.Prove(ctx, d, paymentProof, maybe(func(w ledger.Want) ledger.Want {
		w.Maybe = true
		if w.Ref == "ab" {
			w.Entries = w.Entries[1:]
		}
		return w
	}))
	if !errors.As(err, &p) || p.What != paymentProof.Missing {
		t.Fatalf("maybe posted otherwise: %v", err)
	}
}

// TestProveOrder: records out of byte order are refused rather than
// reported as differences.
func TestProveOrder(t *testing.T) {
	ctx := context.Background()
	d, want := proofBooks(t, db.SQLite)
	_, err := ledger.Prove(ctx, d, paymentProof, func(yield func(ledger.Want) error) error {
		for _, ref := range []string{"A1", "a-c", "aB", "a_b", "ab", "b", "a_b"} {
			if err := yield(ledger.Want{Ref: ref, Entries: want[ref]}); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, ledger.ErrOrder) {
		t.Fatalf("Prove of records out of order = %v, want ErrOrder", err)
	}
}
