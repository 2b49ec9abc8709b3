package paycode_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/paycode"
)

func redeem(ctx context.Context, s *paycode.Service, code, order string) (paycode.Code, error) {
	var c paycode.Code
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		var err error
		c, err = s.Redeem(ctx, tx, code, order)
		return err
	})
	return c, err
}

func TestIssueAndRedeem(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			s := &paycode.Service{Core: core, Clock: clock, Secret: []byte("test secret test secret test sec")}

			if _, err := s.Issue(ctx, "c1", "cash"); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("issue for an unknown channel: %v", err)
			}
			c, err := s.Issue(ctx, "c1", paycode.Credit)
			if err != nil {
				t.Fatal(err)
			}
			if !paycode.Valid(c.Code) || !c.ExpiresAt.Equal(c.IssuedAt.Add(paycode.DefaultTTL)) {
				t.Fatalf("issued %+v", c)
			}
			got, err := redeem(ctx, s, c.Code, "o1")
			if err != nil {
				t.Fatal(err)
			}
			if got.ConsumerID != "c1" || got.Channel != paycode.Credit || got.OrderID != "o1" {
				t.Fatalf("redeemed %+v", got)
			}
			// A used code's refusal names the order it paid, so a till
			// resending its own request is answered with that order.
			if used, err := redeem(ctx, s, c.Code, "o2"); fenfu.ErrorCode(err) != fenfu.AuthCodeInvalid || used.OrderID != "o1" {
				t.Fatalf("a used code: %+v, %v", used, err)
			}
			st, err := s.Status(ctx, "c1", c.Code)
			if err != nil || st.OrderID != "o1" {
				t.Fatalf("status %+v, %v", st, err)
			}
			if _, err := s.Status(ctx, "c2", c.Code); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
				t.Fatalf("another consumer's code: %v", err)
			}

			// A new code cuts the earlier unused ones to Overlap more: a
			// code scanned just before the page refreshed still pays, and
			// a replaced one no longer does once the overlap is over.
			scanned, err := s.Issue(ctx, "c1", paycode.Balance)
			if err != nil {
				t.Fatal(err)
			}
			old, err := s.Issue(ctx, "c1", paycode.Balance)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := s.Issue(ctx, "c1", paycode.Balance)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(paycode.Overlap - time.Second)
			if _, err := redeem(ctx, s, scanned.Code, "o7"); err != nil {
				t.Fatalf("a code scanned before the refresh, within the overlap: %v", err)
			}
			clock.Advance(time.Second)
			if _, err := redeem(ctx, s, old.Code, "o3"); fenfu.ErrorCode(err) != fenfu.AuthCodeExpire {
				t.Fatalf("a replaced code after the overlap: %v", err)
			}
			// An expired code is refused, without the time it expired,
			// which would tell whoever holds it when its consumer opened
			// the page.
			clock.Advance(paycode.DefaultTTL)
			if _, err := redeem(ctx, s, cur.Code, "o4"); fenfu.ErrorCode(err) != fenfu.AuthCodeExpire ||
				fenfu.AsError(err).Message != "the payment code expired" {
				t.Fatalf("an expired code: %v", err)
			}
			if _, err := redeem(ctx, s, "109999999999999999", "o5"); fenfu.ErrorCode(err) != fenfu.AuthCodeInvalid {
				t.Fatalf("a code never issued: %v", err)
			}
			for _, bad := range []string{"", "16" + "1234567890123456", "10123", "1a1234567890123456", "1012345678901234567"} {
				if _, err := redeem(ctx, s, bad, "o6"); fenfu.ErrorCode(err) != fenfu.AuthCodeError {
					t.Fatalf("malformed %q: %v", bad, err)
				}
			}
			// A day after they expire, codes are forgotten.
			clock.Advance(25 * time.Hour)
			n, err := s.Sweep(ctx)
			if err != nil || n != 4 {
				t.Fatalf("swept %d, %v", n, err)
			}
		})
	}
}

// Two tills send one code at the same moment: one order gets it.
func TestRedeemRace(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			core := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			s := &paycode.Service{Core: core, Clock: fenfu.SystemClock{}}
			for round := range 10 {
				c, err := s.Issue(ctx, "c1", paycode.Balance)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Go(func() { _, errs[i] = redeem(ctx, s, c.Code, "o"+string(rune('a'+i))) })
				}
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case fenfu.ErrorCode(err) != fenfu.AuthCodeInvalid:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: the code paid %d orders", round, won)
				}
			}
		})
	}
}

var codeRE = regexp.MustCompile(`^1[0-5][0-9]{16}$`)

func TestNewCodesAreValid(t *testing.T) {
	ctx := context.Background()
	core := dbtest.Open(t, db.SQLite, "core", fenfu.SystemClock{})
	s := &paycode.Service{Core: core, Clock: fenfu.SystemClock{}}
	seen := map[string]bool{}
	for range 200 {
		c, err := s.Issue(ctx, "c1", paycode.Credit)
		if err != nil {
			t.Fatal(err)
		}
		if !codeRE.MatchString(c.Code) || seen[c.Code] {
			t.Fatalf("code %q (seen before: %v)", c.Code, seen[c.Code])
		}
		seen[c.Code] = true
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{"", "134567890123456789", "164567890123456789", "1345678901234567890", "13456789012345678x", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if paycode.Valid(s) != codeRE.MatchString(s) {
			t.Fatalf("Valid(%q) = %v", s, paycode.Valid(s))
		}
	})
}

// With a Gap, a consumer's next code waits for it, on every engine; other
// consumers are not held up.
func TestIssueGap(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			s := &paycode.Service{Core: dbtest.Open(t, engine, "core", clock), Clock: clock, Gap: 3 * time.Second}
			first, err := s.Issue(ctx, "c1", paycode.Credit)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second)
			if _, err := s.Issue(ctx, "c1", paycode.Balance); fenfu.ErrorCode(err) != fenfu.FrequencyLimited ||
				!strings.Contains(err.Error(), "in 2 s") {
				t.Fatalf("a second code a second later: %v", err)
			}
			if _, err := s.Issue(ctx, "c2", paycode.Balance); err != nil {
				t.Fatalf("another consumer's code: %v", err)
			}
			// The refused code ended nothing: the first still pays.
			if st, err := s.Status(ctx, "c1", first.Code); err != nil || !st.ExpiresAt.After(clock.Now()) {
				t.Fatalf("the first code after a refused second: %+v, %v", st, err)
			}
			clock.Advance(2 * time.Second)
			if _, err := s.Issue(ctx, "c1", paycode.Balance); err != nil {
				t.Fatalf("a code the gap later: %v", err)
			}
			// Of the consumer's requests at once, one has a code.
			for round := range 5 {
				clock.Advance(time.Minute)
				errs := make([]error, 8)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() {
						<-start
						_, errs[i] = s.Issue(ctx, "c1", paycode.Balance)
					})
				}
				close(start)
				wg.Wait()
				issued := 0
				for _, err := range errs {
					switch {
					case err == nil:
						issued++
					case fenfu.ErrorCode(err) != fenfu.FrequencyLimited:
						t.Fatal(err)
					}
				}
				if issued != 1 {
					t.Errorf("round %d: %d codes of requests at once, want 1", round, issued)
				}
			}
		})
	}
}

// The store keeps a code only as an HMAC under the platform secret: a
// code has some 56 bits, which a bare SHA-256 would give up to whoever
// reads the table within the code's life. The same code under another
// secret is not found.
func TestStoredHashIsKeyed(t *testing.T) {
	ctx := context.Background()
	core := dbtest.Open(t, db.SQLite, "core", fenfu.SystemClock{})
	s := &paycode.Service{Core: core, Clock: fenfu.SystemClock{}, Secret: []byte("one secret one secret one secret")}
	c, err := s.Issue(ctx, "c1", paycode.Credit)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := core.QueryRowContext(ctx, `SELECT code_hash FROM payment_codes`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	bare := sha256.Sum256([]byte(c.Code))
	if stored == hex.EncodeToString(bare[:]) || strings.Contains(stored, c.Code) {
		t.Fatalf("the store keeps %s for code %s: not keyed", stored, c.Code)
	}
	if stored != s.Hash(c.Code) {
		t.Fatalf("stored %s, Hash %s", stored, s.Hash(c.Code))
	}
	other := &paycode.Service{Core: core, Clock: fenfu.SystemClock{}, Secret: []byte("another secret, another secret!!")}
	if _, err := redeem(ctx, other, c.Code, "o1"); fenfu.ErrorCode(err) != fenfu.AuthCodeInvalid {
		t.Fatalf("the code under another secret: %v", err)
	}
	if _, err := redeem(ctx, s, c.Code, "o1"); err != nil {
		t.Fatalf("the code under its own secret: %v", err)
	}
}
