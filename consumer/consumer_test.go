package consumer_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/seal"
)

type env struct {
	core, credit *db.DB
	clock        *fenfu.FakeClock
	cs           *consumer.Service
}

func each(t *testing.T, f func(t *testing.T, e env)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			cr := dbtest.Open(t, engine, "credit", clock)
			f(t, env{core: core, credit: cr, clock: clock, cs: newService(core, cr, clock)})
		})
	}
}

// testSealer is the master key of every test service: the services of a
// test share it as a cluster's nodes do.
var testSealer, _ = seal.New([]byte("consumer-test-mk"))

func newService(core, cr *db.DB, clock fenfu.Clock) *consumer.Service {
	s := consumer.New(core, cr, &fenfu.RandomIDs{}, clock)
	s.Sealer = testSealer
	return s
}

// TestPhoneSealed: the phone is stored only sealed, with its blind index
// carrying the uniqueness; login finds the consumer by the index.
func TestPhoneSealed(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c, pin, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: "13800138000", Rating: "A"})
		if err != nil {
			t.Fatal(err)
		}
		var stored, index string
		if err := e.core.QueryRowContext(ctx, `SELECT phone, phone_index FROM consumers WHERE id = $1`, c.ID).Scan(&stored, &index); err != nil {
			t.Fatal(err)
		}
		if !seal.Sealed(stored) || strings.Contains(stored, "13800138000") || index != testSealer.Index("consumers.phone", "13800138000") {
			t.Fatalf("stored phone %q, index %q", stored, index)
		}
		if got, err := e.cs.Get(ctx, c.ID); err != nil || got.Phone != "13800138000" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if id, err := e.cs.Login(ctx, "13800138000", pin, "192.0.2.1:1000"); err != nil || id != c.ID {
			t.Fatalf("login = %q, %v", id, err)
		}
		if _, _, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: "13800138000", Rating: "A"}); code(err) != fenfu.ParamError {
			t.Fatalf("a second consumer with the phone: %v", err)
		}
		// Wrong logins are counted by the index, never the phone.
		if _, err := e.cs.Login(ctx, "13800138000", "000000", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
			t.Fatalf("wrong PIN: %v", err)
		}
		subjects, err := e.core.Strings(ctx, `SELECT subject FROM login_attempts ORDER BY subject`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subjects {
			if strings.Contains(s, "13800138000") {
				t.Fatalf("login counts name the phone: %q", subjects)
			}
		}
		// Another master key neither opens nor finds it.
		other := consumer.New(e.core, e.credit, &fenfu.RandomIDs{}, e.clock)
		other.Sealer, _ = seal.New([]byte("another-master-k"))
		if _, err := other.Get(ctx, c.ID); code(err) != fenfu.SystemError {
			t.Fatalf("Get under another master key: %v", err)
		}
		if _, err := other.Login(ctx, "13800138000", pin, "192.0.2.2:1000"); code(err) != fenfu.Unauthenticated {
			t.Fatalf("login under another master key: %v", err)
		}
	})
}

func code(err error) fenfu.Code { return fenfu.ErrorCode(err) }

// The phone and PIN of the login tests' consumer.
const phone, pin = "13800138000", "246810"

// signUp registers the login tests' consumer.
func (e env) signUp(t *testing.T) consumer.Consumer {
	t.Helper()
	c, _, err := e.cs.Create(context.Background(), consumer.NewConsumer{Phone: phone, PIN: pin, Rating: "B"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreate(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c, pin, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: "13800138000", PIN: "246810", CreditLimit: 50000, Rating: "A", Balance: 1200})
		if err != nil {
			t.Fatal(err)
		}
		if pin != "246810" || c.Phone != "13800138000" || c.Balance != 1200 {
			t.Errorf("created %+v with PIN %q", c, pin)
		}
		if c.Credit.Limit != 50000 || c.Credit.Available != 50000 || c.Credit.Rating != "A" {
			t.Errorf("credit line %+v", c.Credit)
		}
		// The line is in the credit store, the balance in the core store's
		// books, and both stores' books balance.
		if l, err := credit.Get(ctx, e.credit, c.ID); err != nil || l.Limit != 50000 {
			t.Errorf("credit store line %+v, %v", l, err)
		}
		if b, err := ledger.Balance(ctx, e.core, consumer.BalanceAccount(c.ID)); err != nil || b != 1200 {
			t.Errorf("balance account = %d, %v; want 1200", b, err)
		}
		for _, d := range []*db.DB{e.core, e.credit} {
			if err := ledger.Verify(ctx, d); err != nil {
				t.Errorf("%s books: %v", d.Name, err)
			}
		}
		// The PIN is kept only as a hash.
		var hash string
		if err := e.core.R.QueryRowContext(ctx, `SELECT pin_hash FROM consumers WHERE id = $1`, c.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hash, pin) || !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("PIN stored as %q", hash)
		}
		// Phone and PIN are generated when not given.
		g, gpin, err := e.cs.Create(ctx, consumer.NewConsumer{Rating: "C"})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Phone) != 11 || len(gpin) != 6 || g.Balance != 0 || g.Credit.Limit != 0 {
			t.Errorf("generated consumer %+v, PIN %q", g, gpin)
		}
		if id, err := e.cs.Login(ctx, g.Phone, gpin, "192.0.2.1:1000"); err != nil || id != g.ID {
			t.Errorf("login with the generated PIN = %q, %v", id, err)
		}
	})
}

func TestCreateRefuses(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		if _, _, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: "13800138000", Rating: "B"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			n     consumer.NewConsumer
			field string
		}{
			{"phone taken", consumer.NewConsumer{Phone: "13800138000", Rating: "B"}, "phone"},
			{"short phone", consumer.NewConsumer{Phone: "1380013800", Rating: "B"}, "phone"},
			{"landline", consumer.NewConsumer{Phone: "02112345678", Rating: "B"}, "phone"},
			{"short PIN", consumer.NewConsumer{PIN: "12345", Rating: "B"}, "pin"},
			{"letters in PIN", consumer.NewConsumer{PIN: "12345a", Rating: "B"}, "pin"},
			{"negative limit", consumer.NewConsumer{CreditLimit: -1, Rating: "B"}, "credit_limit"},
			{"negative balance", consumer.NewConsumer{Balance: -1, Rating: "B"}, "credit_limit"},
			{"no rating", consumer.NewConsumer{}, "rating"},
		} {
			_, _, err := e.cs.Create(ctx, tc.n)
			e := fenfu.AsError(err)
			if err == nil || e.Code != fenfu.ParamError || e.Field != tc.field {
				t.Errorf("%s: %v, want PARAM_ERROR on %s", tc.name, err, tc.field)
			}
		}
		var n int
		if err := e.core.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM consumers`).Scan(&n); err != nil || n != 1 {
			t.Errorf("consumers after refusals = %d, %v; want 1", n, err)
		}
	})
}

func TestTopUp(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c, _, err := e.cs.Create(ctx, consumer.NewConsumer{Rating: "B", Balance: 100})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the same reference twice tops up once
			if err := e.cs.TopUp(ctx, c.ID, "bank-1", 250); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := e.cs.Get(ctx, c.ID); got.Balance != 350 {
			t.Errorf("balance = %d, want 350", got.Balance)
		}
		if err := e.cs.TopUp(ctx, "C-nobody", "bank-2", 1); code(err) != fenfu.ResourceNotExists {
			t.Errorf("top-up of an unknown consumer: %v, want RESOURCE_NOT_EXISTS", err)
		}
		if err := e.cs.TopUp(ctx, c.ID, "bank-3", 0); code(err) != fenfu.ParamError {
			t.Errorf("top-up of nothing: %v, want PARAM_ERROR", err)
		}
		if _, err := e.cs.Get(ctx, "C-nobody"); code(err) != fenfu.ResourceNotExists {
			t.Errorf("Get of an unknown consumer: %v, want RESOURCE_NOT_EXISTS", err)
		}
		if err := ledger.Verify(ctx, e.core); err != nil {
			t.Error(err)
		}
	})
}

func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c := e.signUp(t)
		if id, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil || id != c.ID {
			t.Fatalf("login with the right PIN = %q, %v; want %s", id, err, c.ID)
		}
		for _, tc := range []struct{ name, phone, pin string }{
			{"wrong PIN", "13800138000", "246811"},
			{"empty PIN", "13800138000", ""},
			{"unknown phone", "13900139000", "246810"},
		} {
			id, err := e.cs.Login(ctx, tc.phone, tc.pin, "192.0.2.1:1000")
			if code(err) != fenfu.Unauthenticated || id != "" {
				t.Errorf("%s: %q, %v; want UNAUTHENTICATED", tc.name, id, err)
			}
		}
	})
}

func TestLoginLockout(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c := e.signUp(t)
		wrong := func(n int) {
			t.Helper()
			for i := range n {
				if _, err := e.cs.Login(ctx, phone, "000000", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
					t.Fatalf("wrong PIN %d: %v, want UNAUTHENTICATED", i+1, err)
				}
			}
		}
		// Four wrong PINs and then the right one: the count starts over.
		wrong(4)
		if _, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil {
			t.Fatalf("the right PIN after four wrong ones: %v", err)
		}
		wrong(4)
		if _, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil {
			t.Fatalf("the right PIN after a success and four wrong ones: %v", err)
		}
		// Five wrong PINs lock the phone, even against the right PIN.
		wrong(5)
		if _, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("the right PIN while locked: %v, want FREQUENCY_LIMITED", err)
		}
		e.clock.Advance(14 * time.Minute)
		if _, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("the right PIN 14 minutes on: %v, want FREQUENCY_LIMITED", err)
		}
		// Another phone is not locked.
		if _, err := e.cs.Login(ctx, "13900139000", "000000", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
			t.Errorf("another phone: %v, want UNAUTHENTICATED", err)
		}
		e.clock.Advance(2 * time.Minute)
		if id, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil || id != c.ID {
			t.Fatalf("the right PIN after the lockout = %q, %v", id, err)
		}
	})
}

// TestLoginRefusesMalformedPhone: a phone that is not a mainland mobile
// number is refused before anything is looked up or remembered, so a
// stream of made-up phones costs the server nothing.
func TestLoginRefusesMalformedPhone(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		checks := consumer.CountPINChecks(e.cs)
		defer func() {
			var counted int
			if err := e.cs.Core.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_attempts`).Scan(&counted); err != nil {
				t.Fatal(err)
			}
			if n := len(checks.Hashes()); n != 0 || counted != 0 {
				t.Errorf("malformed phones checked %d PINs and counted %d subjects; want none", n, counted)
			}
		}()
		for _, tc := range []struct{ name, phone string }{
			{"4 KB", strings.Repeat("1", 4096)},
			{"short", "1380013800"},
			{"landline", "02112345678"},
			{"letters", "1380013800a"},
			{"empty", ""},
		} {
			id, err := e.cs.Login(ctx, tc.phone, "246810", "192.0.2.1:1000")
			if fe := fenfu.AsError(err); err == nil || fe.Code != fenfu.ParamError || fe.Field != "phone" || id != "" {
				t.Errorf("%s: %q, %v; want PARAM_ERROR on phone", tc.name, id, err)
			}
		}
	})
}

// TestPINHashUpgrade: PINs are hashed with argon2id; a PIN hashed by the
// first scheme (PBKDF2-SHA256, 20,000 rounds) still logs in, and its hash
// is replaced by an argon2id one on that login. A wrong PIN upgrades
// nothing.
func TestPINHashUpgrade(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c := e.signUp(t)
		salt := []byte("sixteen byte salt")[:16]
		key, _ := pbkdf2.Key(sha256.New, pin, salt, 20000, 32)
		old := "pbkdf2-sha256$20000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
		if _, err := e.core.W.ExecContext(ctx, `UPDATE consumers SET pin_hash = $1 WHERE id = $2`, old, c.ID); err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			t.Helper()
			var h string
			if err := e.core.R.QueryRowContext(ctx, `SELECT pin_hash FROM consumers WHERE id = $1`, c.ID).Scan(&h); err != nil {
				t.Fatal(err)
			}
			return h
		}
		if _, err := e.cs.Login(ctx, phone, "135791", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
			t.Fatalf("wrong PIN against the old hash: %v, want UNAUTHENTICATED", err)
		}
		if got := stored(); got != old {
			t.Fatalf("a wrong PIN changed the hash to %q", got)
		}
		if id, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil || id != c.ID {
			t.Fatalf("login against the old hash = %q, %v", id, err)
		}
		h := stored()
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
			t.Fatalf("hash after login = %q, want argon2id", h)
		}
		if id, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil || id != c.ID {
			t.Fatalf("login against the upgraded hash = %q, %v", id, err)
		}
		if stored() != h {
			t.Error("an up-to-date hash was replaced")
		}
	})
}

// params returns the scheme and parameters of a PIN hash, the part that
// sets what checking it costs.
func params(hash string) string {
	parts := strings.Split(hash, "$")
	if len(parts) < 4 {
		return hash
	}
	return strings.Join(parts[:4], "$")
}

// TestLoginConcurrentWrongPINs: a burst of wrong PINs for one phone, from
// many addresses at once, gets at most five PINs checked; every other
// attempt is refused as FREQUENCY_LIMITED without a check.
func TestLoginConcurrentWrongPINs(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.signUp(t)
		checks := consumer.CountPINChecks(e.cs)
		const n = 300
		codes := make(chan fenfu.Code, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := e.cs.Login(ctx, phone, fmt.Sprintf("%06d", i), fmt.Sprintf("10.0.%d.%d:4000", i/200, i%200))
				codes <- code(err)
			})
		}
		wg.Wait()
		close(codes)
		got := map[fenfu.Code]int{}
		for c := range codes {
			got[c]++
		}
		checked := len(checks.Hashes())
		if checked != 5 || got[fenfu.Unauthenticated] != checked || got[fenfu.FrequencyLimited] != n-checked {
			t.Errorf("%d concurrent wrong PINs: %d checked, answers %v; want 5 checked and the rest FREQUENCY_LIMITED", n, checked, got)
		}
	})
}

// TestLoginConcurrentRightPINs: a program that logs one consumer in for
// many payments at once is not taken for a guesser: attempts in flight
// wait for each other instead of being refused.
func TestLoginConcurrentRightPINs(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c := e.signUp(t)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if id, err := e.cs.Login(ctx, phone, pin, "192.0.2.1:1000"); err != nil || id != c.ID {
					t.Errorf("concurrent login %d: %q, %v", i, id, err)
				}
			})
		}
		wg.Wait()
	})
}

// TestLoginLockoutSurvivesRestart: a locked phone stays locked for a
// service opened afresh on the same store, as after a restart.
func TestLoginLockoutSurvivesRestart(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.signUp(t)
		for range 5 {
			if _, err := e.cs.Login(ctx, phone, "000000", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong PIN: %v", err)
			}
		}
		restarted := newService(e.core, e.credit, e.clock)
		if _, err := restarted.Login(ctx, phone, pin, "192.0.2.1:1000"); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("the right PIN after a restart: %v, want FREQUENCY_LIMITED", err)
		}
	})
}

// TestLoginLockoutShared: two services on one store, as two nodes, share
// one count of wrong PINs.
func TestLoginLockoutShared(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.signUp(t)
		other := newService(e.core, e.credit, e.clock)
		for i, node := range []*consumer.Service{e.cs, other, e.cs, other, e.cs} {
			if _, err := node.Login(ctx, phone, "000000", "192.0.2.1:1000"); code(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong PIN %d: %v", i+1, err)
			}
		}
		for i, node := range []*consumer.Service{e.cs, other} {
			if _, err := node.Login(ctx, phone, pin, "192.0.2.1:1000"); code(err) != fenfu.FrequencyLimited {
				t.Errorf("the right PIN on node %d after five wrong ones across both: %v, want FREQUENCY_LIMITED", i+1, err)
			}
		}
	})
}

// TestLoginSourceLimit: one address gets 20 wrong logins in 15 minutes,
// whichever phones they name; then it is refused, even with a right PIN,
// while other addresses are not. Successful logins do not count.
func TestLoginSourceLimit(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c := e.signUp(t)
		const attacker = "203.0.113.9:5555"
		for range 30 { // successes cost the address nothing
			if _, err := e.cs.Login(ctx, phone, pin, attacker); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			if _, err := e.cs.Login(ctx, fmt.Sprintf("139%08d", i), "000000", attacker); code(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong login %d: %v, want UNAUTHENTICATED", i+1, err)
			}
		}
		if _, err := e.cs.Login(ctx, phone, pin, "203.0.113.9:6666"); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("a right PIN from the address after 20 wrong logins: %v, want FREQUENCY_LIMITED", err)
		}
		// An IPv6 client is one /64: its other addresses share the count.
		for i := range 20 {
			if _, err := e.cs.Login(ctx, fmt.Sprintf("137%08d", i), "000000", fmt.Sprintf("[2001:db8:1:2::%x]:443", i)); code(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong IPv6 login %d: %v, want UNAUTHENTICATED", i+1, err)
			}
		}
		if _, err := e.cs.Login(ctx, phone, pin, "[2001:db8:1:2:ffff::1]:443"); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("a right PIN from the /64 after 20 wrong logins: %v, want FREQUENCY_LIMITED", err)
		}
		if id, err := e.cs.Login(ctx, phone, pin, "198.51.100.1:80"); err != nil || id != c.ID {
			t.Fatalf("another address: %q, %v", id, err)
		}
		e.clock.Advance(16 * time.Minute)
		if id, err := e.cs.Login(ctx, phone, pin, attacker); err != nil || id != c.ID {
			t.Fatalf("the address after 16 minutes: %q, %v", id, err)
		}
		// Right logins do not keep old failures alive: 19 wrong logins,
		// then a right one every ten minutes for two hours, then one more
		// wrong login, leave the address open.
		const office = "192.0.2.77:1000"
		for i := range 19 {
			if _, err := e.cs.Login(ctx, fmt.Sprintf("136%08d", i), "000000", office); code(err) != fenfu.Unauthenticated {
				t.Fatalf("wrong login %d: %v", i+1, err)
			}
		}
		for range 12 {
			e.clock.Advance(10 * time.Minute)
			if _, err := e.cs.Login(ctx, phone, pin, office); err != nil {
				t.Fatalf("a right login from the office: %v", err)
			}
		}
		if _, err := e.cs.Login(ctx, "13599999999", "000000", office); code(err) != fenfu.Unauthenticated {
			t.Fatalf("one wrong login two hours after the last 19: %v, want UNAUTHENTICATED", err)
		}
		if _, err := e.cs.Login(ctx, phone, pin, office); err != nil {
			t.Fatalf("the office is locked out by failures two hours old: %v", err)
		}
	})
}

// TestLoginUnknownPhoneChecksAPIN: a wrong login for an unknown phone
// checks the PIN against a hash of the same scheme and parameters as a
// registered phone's, so the two cannot be told apart by their time.
func TestLoginUnknownPhoneChecksAPIN(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.signUp(t)
		checks := consumer.CountPINChecks(e.cs)
		if _, err := e.cs.Login(ctx, "13800138000", "000000", "192.0.2.1:1"); code(err) != fenfu.Unauthenticated {
			t.Fatal(err)
		}
		if _, err := e.cs.Login(ctx, "13900139000", "000000", "192.0.2.1:1"); code(err) != fenfu.Unauthenticated {
			t.Fatal(err)
		}
		h := checks.Hashes()
		if len(h) != 2 || params(h[0]) != params(h[1]) {
			t.Fatalf("PIN checks for a known and an unknown phone: %q; want one each, with the same parameters", h)
		}
	})
}

// TestLoginFailuresLogged: each failed or refused login is logged at Warn
// with the phone masked and the source address, never the PIN.
func TestLoginFailuresLogged(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.signUp(t)
		var buf bytes.Buffer
		e.cs.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the wall clock's digits could look like a PIN
			}
			return a
		}}))
		_, _ = e.cs.Login(ctx, phone, pin, "192.0.2.7:1")
		if buf.Len() != 0 {
			t.Errorf("a successful login logged %s", buf.String())
		}
		for _, pin := range []string{"135790", "135791", "135792", "135793", "135794", "246810"} {
			_, _ = e.cs.Login(ctx, "13800138000", pin, "192.0.2.7:1")
		}
		_, _ = e.cs.Login(ctx, "13900139000", "975310", "192.0.2.7:1")
		var lines []map[string]any
		for l := range strings.Lines(buf.String()) {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, m)
		}
		if len(lines) != 7 {
			t.Fatalf("%d lines logged for 7 failed logins:\n%s", len(lines), buf.String())
		}
		for i, m := range lines {
			want := "138****8000"
			if i == 6 {
				want = "139****9000"
			}
			if m["level"] != "WARN" || m["phone"] != want || m["source"] != "192.0.2.7" {
				t.Errorf("line %d: %v; want WARN with phone %s and source 192.0.2.7", i+1, m, want)
			}
		}
		for _, secret := range []string{"13800138000", "13900139000", "13579", "246810", "975310"} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("the log holds %q:\n%s", secret, buf.String())
			}
		}
	})
}

// TestLoginAttemptsPruned: the counts of wrong logins are forgotten once
// their window has passed, so made-up phones do not pile up in the store.
func TestLoginAttemptsPruned(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		for i := range 10 {
			_, _ = e.cs.Login(ctx, fmt.Sprintf("139%08d", i), "000000", fmt.Sprintf("192.0.2.%d:1", i))
		}
		rows := func() int {
			var n int
			if err := e.core.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_attempts`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := rows(); n != 20 {
			t.Fatalf("%d counts after 10 wrong logins from 10 addresses, want 20", n)
		}
		e.clock.Advance(16 * time.Minute)
		_, _ = e.cs.Login(ctx, "13700137000", "000000", "192.0.2.200:1")
		if n := rows(); n != 2 {
			t.Errorf("%d counts after the window passed, want the 2 of the last login", n)
		}
	})
}

// TestSessions: a session is found by its token on any service of the
// store until it ends or expires; the store keeps no usable token.
func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		c, _, err := e.cs.Create(ctx, consumer.NewConsumer{Rating: "B"})
		if err != nil {
			t.Fatal(err)
		}
		other := newService(e.core, e.credit, e.clock)
		token, err := e.cs.StartSession(ctx, c.ID, 30*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		short, err := e.cs.StartSession(ctx, c.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for name, node := range map[string]*consumer.Service{"same": e.cs, "other": other} {
			if id, err := node.Session(ctx, token); err != nil || id != c.ID {
				t.Errorf("session on the %s service = %q, %v; want %s", name, id, err, c.ID)
			}
		}
		var n int
		if err := e.core.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM consumer_sessions WHERE token_hash = $1 OR token_hash = $2`, token, short).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d sessions stored under their token (%v), want none", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		if id, err := e.cs.Session(ctx, short); err != nil || id != "" {
			t.Errorf("an expired session = %q, %v; want none", id, err)
		}
		if err := other.EndSession(ctx, token); err != nil {
			t.Fatal(err)
		}
		if err := other.EndSession(ctx, token); err != nil {
			t.Errorf("ending an ended session: %v", err)
		}
		for _, tok := range []string{token, "", "forged"} {
			if id, err := e.cs.Session(ctx, tok); err != nil || id != "" {
				t.Errorf("session %q = %q, %v; want none", tok, id, err)
			}
		}
	})
}

// TestWrongPINLeft: each wrong PIN says how many more the phone may take
// before it is locked; a right one starts the count over.
func TestWrongPINLeft(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.SystemClock{}
			s := consumer.New(dbtest.Open(t, engine, "core", clock), dbtest.Open(t, engine, "credit", clock), &fenfu.RandomIDs{}, clock)
			c, pin, err := s.Create(ctx, consumer.NewConsumer{Phone: "13800138123", CreditLimit: 100, Rating: "A"})
			if err != nil {
				t.Fatal(err)
			}
			wrong := func(want int) {
				t.Helper()
				_, err := s.Login(ctx, c.Phone, "000000", "")
				var w *consumer.WrongPIN
				if !errors.As(err, &w) || w.Left != want || fenfu.ErrorCode(err) != fenfu.Unauthenticated {
					t.Fatalf("wrong PIN: %v (%+v), want UNAUTHENTICATED with %d left", err, w, want)
				}
			}
			wrong(4)
			wrong(3)
			if _, err := s.Login(ctx, c.Phone, pin, ""); err != nil {
				t.Fatal(err)
			}
			wrong(4)
			for left := 3; left >= 0; left-- {
				wrong(left)
			}
			if _, err := s.Login(ctx, c.Phone, pin, ""); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
				t.Fatalf("after 5 wrong PINs: %v, want FREQUENCY_LIMITED", err)
			}
		})
	}
}
