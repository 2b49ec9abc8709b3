package consumer_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
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
			f(t, env{core: core, credit: cr, clock: clock, cs: consumer.New(core, cr, &fenfu.RandomIDs{}, clock)})
		})
	}
}

func code(err error) fenfu.Code { return fenfu.ErrorCode(err) }

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
		if id, err := e.cs.Login(ctx, g.Phone, gpin); err != nil || id != g.ID {
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
		c, _, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: "13800138000", PIN: "246810", Rating: "B"})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := e.cs.Login(ctx, "13800138000", "246810"); err != nil || id != c.ID {
			t.Fatalf("login with the right PIN = %q, %v; want %s", id, err, c.ID)
		}
		for _, tc := range []struct{ name, phone, pin string }{
			{"wrong PIN", "13800138000", "246811"},
			{"empty PIN", "13800138000", ""},
			{"unknown phone", "13900139000", "246810"},
		} {
			id, err := e.cs.Login(ctx, tc.phone, tc.pin)
			if code(err) != fenfu.Unauthenticated || id != "" {
				t.Errorf("%s: %q, %v; want UNAUTHENTICATED", tc.name, id, err)
			}
		}
	})
}

func TestLoginLockout(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		const phone, pin = "13800138000", "246810"
		c, _, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: phone, PIN: pin, Rating: "B"})
		if err != nil {
			t.Fatal(err)
		}
		wrong := func(n int) {
			t.Helper()
			for i := range n {
				if _, err := e.cs.Login(ctx, phone, "000000"); code(err) != fenfu.Unauthenticated {
					t.Fatalf("wrong PIN %d: %v, want UNAUTHENTICATED", i+1, err)
				}
			}
		}
		// Four wrong PINs and then the right one: the count starts over.
		wrong(4)
		if _, err := e.cs.Login(ctx, phone, pin); err != nil {
			t.Fatalf("the right PIN after four wrong ones: %v", err)
		}
		wrong(4)
		if _, err := e.cs.Login(ctx, phone, pin); err != nil {
			t.Fatalf("the right PIN after a success and four wrong ones: %v", err)
		}
		// Five wrong PINs lock the phone, even against the right PIN.
		wrong(5)
		if _, err := e.cs.Login(ctx, phone, pin); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("the right PIN while locked: %v, want FREQUENCY_LIMITED", err)
		}
		e.clock.Advance(14 * time.Minute)
		if _, err := e.cs.Login(ctx, phone, pin); code(err) != fenfu.FrequencyLimited {
			t.Fatalf("the right PIN 14 minutes on: %v, want FREQUENCY_LIMITED", err)
		}
		// Another phone is not locked.
		if _, err := e.cs.Login(ctx, "13900139000", "000000"); code(err) != fenfu.Unauthenticated {
			t.Errorf("another phone: %v, want UNAUTHENTICATED", err)
		}
		e.clock.Advance(2 * time.Minute)
		if id, err := e.cs.Login(ctx, phone, pin); err != nil || id != c.ID {
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
		for _, tc := range []struct{ name, phone string }{
			{"4 KB", strings.Repeat("1", 4096)},
			{"short", "1380013800"},
			{"landline", "02112345678"},
			{"letters", "1380013800a"},
			{"empty", ""},
		} {
			id, err := e.cs.Login(ctx, tc.phone, "246810")
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
		const phone, pin = "13800138000", "246810"
		c, _, err := e.cs.Create(ctx, consumer.NewConsumer{Phone: phone, PIN: pin, Rating: "B"})
		if err != nil {
			t.Fatal(err)
		}
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
		if _, err := e.cs.Login(ctx, phone, "135791"); code(err) != fenfu.Unauthenticated {
			t.Fatalf("wrong PIN against the old hash: %v, want UNAUTHENTICATED", err)
		}
		if got := stored(); got != old {
			t.Fatalf("a wrong PIN changed the hash to %q", got)
		}
		if id, err := e.cs.Login(ctx, phone, pin); err != nil || id != c.ID {
			t.Fatalf("login against the old hash = %q, %v", id, err)
		}
		h := stored()
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
			t.Fatalf("hash after login = %q, want argon2id", h)
		}
		if id, err := e.cs.Login(ctx, phone, pin); err != nil || id != c.ID {
			t.Fatalf("login against the upgraded hash = %q, %v", id, err)
		}
		if stored() != h {
			t.Error("an up-to-date hash was replaced")
		}
	})
}
