package merchant_test

import (
	"context"
	"crypto"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

type env struct {
	core  *db.DB
	clock *fenfu.FakeClock
	ms    *merchant.Service
}

// each runs f with a merchant service over a fresh core store on each
// engine; secrets are sealed, as every command does.
func each(t *testing.T, f func(t *testing.T, e env)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			f(t, env{core: core, clock: clock, ms: service(t, core, clock)})
		})
	}
}

// service is one node's merchant service over the store.
func service(t *testing.T, core *db.DB, clock fenfu.Clock) *merchant.Service {
	t.Helper()
	ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
	var err error
	if ms.Sealer, err = seal.New([]byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	return ms
}

func code(err error) fenfu.Code { return fenfu.ErrorCode(err) }

// shop creates an RSA sandbox merchant.
func (e env) shop(t *testing.T) merchant.Sandbox {
	t.Helper()
	m, err := e.ms.CreateSandbox(context.Background(), "Shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// verifies reports whether a request signed with priv verifies with the key
// the service holds for the merchant under serial.
func verifies(t *testing.T, ms *merchant.Service, mchid, serial string, priv crypto.Signer) error {
	t.Helper()
	pub, err := ms.PublicKey(context.Background(), mchid, serial)
	if err != nil {
		return err
	}
	msg := scheme.Message("GET", "/v3/certificates", 1764201600, "n", nil)
	sig, err := scheme.Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	return scheme.Verify(pub, msg, sig)
}

func TestCreate(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		for _, sch := range []scheme.Name{scheme.RSA, scheme.SM2} {
			m, err := e.ms.CreateSandbox(ctx, "Tea house 茶馆", sch)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.MchID, "19") || len(m.MchID) != 10 || !strings.HasPrefix(m.AppID, "wx") || len(m.APIv3Key) != 32 {
				t.Errorf("new merchant %+v", m.Merchant)
			}
			got, err := e.ms.Get(ctx, m.MchID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Tea house 茶馆" || got.Env != "sandbox" || got.APIv3Key != m.APIv3Key || got.Scheme != sch {
				t.Errorf("Get = %+v, want the created %s merchant", got, sch)
			}
			if err := verifies(t, e.ms, m.MchID, m.SerialNo, m.PrivateKey); err != nil {
				t.Errorf("%s: the merchant's own key does not verify: %v", sch, err)
			}
			// The API v3 key is sealed at rest.
			var stored string
			if err := e.core.R.QueryRowContext(ctx, `SELECT apiv3_key FROM merchants WHERE mchid = $1`, m.MchID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored == m.APIv3Key || !seal.Sealed(stored) {
				t.Errorf("API v3 key stored as %q", stored)
			}
		}
		if _, err := e.ms.Create(ctx, "x", "staging", scheme.RSA); code(err) != fenfu.ParamError {
			t.Errorf("unknown env: %v, want PARAM_ERROR", err)
		}
		// A name shows as one line of plain text on the cashier and on
		// receipts: no printer commands, no reordering of what it reads.
		for _, bad := range []string{"Tea\x1b@house", "Tea\x1dV house", "Tea\nhouse", "Tea\thouse", "\u202egnp.exe", "Tea\u200bhouse",
			strings.Repeat("茶", 65), "   ", "bad\xffutf8"} {
			if _, err := e.ms.Create(ctx, bad, "sandbox", scheme.RSA); code(err) != fenfu.ParamError {
				t.Errorf("name %q: %v, want PARAM_ERROR", bad, err)
			}
		}
		if _, err := e.ms.Create(ctx, strings.Repeat("茶", 64), "sandbox", scheme.RSA); err != nil {
			t.Errorf("a name of 64 characters: %v", err)
		}
		p, err := e.ms.Create(ctx, "", "production", "")
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Merchant" || p.Scheme != scheme.RSA {
			t.Errorf("defaults: name %q scheme %s", p.Name, p.Scheme)
		}
		if err := p.CreditAllowed(); code(err) != fenfu.NoAuth {
			t.Errorf("a production merchant before activation: %v, want NO_AUTH", err)
		}
	})
}

func TestUnknownMerchant(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		pub, _ := scheme.Generate(scheme.RSA)
		pem, _ := scheme.PublicKeyPEM(scheme.Public(pub))
		for name, call := range map[string]func() error{
			"Get":            func() error { _, err := e.ms.Get(ctx, "1900000000"); return err },
			"AddKey":         func() error { _, err := e.ms.AddKey(ctx, "1900000000", pem); return err },
			"SetAPIv2Key":    func() error { _, err := e.ms.SetAPIv2Key(ctx, "1900000000", ""); return err },
			"RotateAPIv3Key": func() error { _, err := e.ms.RotateAPIv3Key(ctx, "1900000000"); return err },
			"SetRollout":     func() error { return e.ms.SetRollout(ctx, "1900000000", 50) },
			"SetDiscount":    func() error { return e.ms.SetDiscount(ctx, "1900000000", 100, time.Time{}) },
		} {
			err := call()
			if got, want := code(err), fenfu.MchNotExists; got != want {
				t.Errorf("%s of an unknown merchant: %v, want %s", name, err, want)
			}
		}
		if _, err := e.ms.PublicKey(ctx, "1900000000", "AB"); code(err) != fenfu.SignError {
			t.Errorf("PublicKey of an unknown merchant: %v, want SIGN_ERROR", err)
		}
	})
}

func TestKeys(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		m := e.shop(t)
		// Roll an SM2 key out next to the RSA one.
		next, err := scheme.Generate(scheme.SM2)
		if err != nil {
			t.Fatal(err)
		}
		pem, err := scheme.PublicKeyPEM(scheme.Public(next))
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		serial, err := e.ms.AddKey(ctx, m.MchID, pem)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := e.ms.AddKey(ctx, m.MchID, pem); err != nil || again != serial {
			t.Errorf("registering the key again = %s, %v; want %s", again, err, serial)
		}
		if _, err := e.ms.AddKey(ctx, m.MchID, []byte("not a key")); code(err) != fenfu.ParamError {
			t.Errorf("a malformed key: %v, want PARAM_ERROR", err)
		}
		keys, err := e.ms.Keys(ctx, m.MchID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].SerialNo != serial || keys[0].Algorithm != "SM2" || keys[0].State != merchant.KeyActive ||
			keys[1].SerialNo != m.SerialNo || keys[1].State != merchant.KeyActive {
			t.Fatalf("keys = %+v, want the SM2 key then the RSA one, both active", keys)
		}
		for _, k := range []struct {
			serial string
			priv   crypto.Signer
		}{{m.SerialNo, m.PrivateKey}, {serial, next}} {
			if err := verifies(t, e.ms, m.MchID, k.serial, k.priv); err != nil {
				t.Errorf("key %s does not verify while both are active: %v", k.serial, err)
			}
		}
		if got, _ := e.ms.Get(ctx, m.MchID); got.Scheme != scheme.SM2 {
			t.Errorf("scheme after adding an SM2 key = %s, want the newest key's", got.Scheme)
		}

		// Retire the old key: it stops verifying at once on this node.
		if err := e.ms.RetireKey(ctx, m.MchID, m.SerialNo); err != nil {
			t.Fatal(err)
		}
		if err := verifies(t, e.ms, m.MchID, m.SerialNo, m.PrivateKey); code(err) != fenfu.SignError {
			t.Errorf("retired key: %v, want SIGN_ERROR", err)
		}
		if err := verifies(t, e.ms, m.MchID, serial, next); err != nil {
			t.Errorf("the new key stopped verifying: %v", err)
		}
		if err := e.ms.RetireKey(ctx, m.MchID, m.SerialNo); code(err) != fenfu.ResourceNotExists {
			t.Errorf("retiring a retired key: %v, want RESOURCE_NOT_EXISTS", err)
		}
		if err := e.ms.RetireKey(ctx, m.MchID, serial); code(err) != fenfu.InvalidRequest {
			t.Errorf("retiring the last active key: %v, want INVALID_REQUEST", err)
		}
		if err := verifies(t, e.ms, m.MchID, serial, next); err != nil {
			t.Errorf("the refused retirement retired the key: %v", err)
		}
		old, _ := scheme.PublicKeyPEM(scheme.Public(m.PrivateKey))
		if _, err := e.ms.AddKey(ctx, m.MchID, old); code(err) != fenfu.InvalidRequest {
			t.Errorf("registering a retired key again: %v, want INVALID_REQUEST", err)
		}
	})
}

func TestRotateAPIKeys(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		m := e.shop(t)
		if _, err := e.ms.Get(ctx, m.MchID); err != nil { // cached now
			t.Fatal(err)
		}
		v3, err := e.ms.RotateAPIv3Key(ctx, m.MchID)
		if err != nil {
			t.Fatal(err)
		}
		if v3 == m.APIv3Key || len(v3) != 32 {
			t.Errorf("rotated API v3 key %q", v3)
		}
		v2, err := e.ms.SetAPIv2Key(ctx, m.MchID, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.ms.Get(ctx, m.MchID)
		if err != nil {
			t.Fatal(err)
		}
		if got.APIv3Key != v3 || got.APIv2Key != v2 {
			t.Errorf("after rotation Get has v3 %q v2 %q, want %q and %q", got.APIv3Key, got.APIv2Key, v3, v2)
		}
		if _, err := e.ms.SetAPIv2Key(ctx, m.MchID, "short"); code(err) != fenfu.ParamError {
			t.Errorf("a short API v2 key: %v, want PARAM_ERROR", err)
		}
	})
}

// TestCachedCopy: a change made through a node's service is seen by that
// node at once; another node sees it once its cached copy expires, or when
// told to forget it.
func TestCachedCopy(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		other := service(t, e.core, e.clock)
		m := e.shop(t)
		rollout := func(ms *merchant.Service) int {
			t.Helper()
			got, err := ms.Get(ctx, m.MchID)
			if err != nil {
				t.Fatal(err)
			}
			return got.CreditRollout
		}
		before := rollout(e.ms)
		if rollout(other) != before {
			t.Fatal("two nodes disagree before any change")
		}
		if err := e.ms.SetRollout(ctx, m.MchID, 37); err != nil {
			t.Fatal(err)
		}
		if got := rollout(e.ms); got != 37 {
			t.Errorf("rollout on the changing node = %d, want 37: its cached copy was not dropped", got)
		}
		if got := rollout(other); got != before {
			t.Errorf("rollout on another node = %d, want its cached %d", got, before)
		}
		e.clock.Advance(31 * time.Second)
		if got := rollout(other); got != 37 {
			t.Errorf("rollout on another node after its cache expired = %d, want 37", got)
		}
		if err := e.ms.SetDiscount(ctx, m.MchID, 500, time.Time{}); err != nil {
			t.Fatal(err)
		}
		other.Forget(m.MchID)
		if got, _ := other.Get(ctx, m.MchID); got.FeeDiscount != 500 {
			t.Errorf("discount after Forget = %d, want 500", got.FeeDiscount)
		}
		if err := e.ms.SetRollout(ctx, m.MchID, 101); code(err) != fenfu.ParamError {
			t.Errorf("rollout of 101%%: %v, want PARAM_ERROR", err)
		}
	})
}

// TestRetiredKeyStopsOnEveryNode: a signing key retired through one node
// stops verifying on another that has it cached, at once, with no time
// passing (issue 11, finding 8).
func TestRetiredKeyStopsOnEveryNode(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		other := service(t, e.core, e.clock)
		m := e.shop(t)
		next, _ := scheme.Generate(scheme.RSA)
		pem, _ := scheme.PublicKeyPEM(scheme.Public(next))
		serial, err := e.ms.AddKey(ctx, m.MchID, pem)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifies(t, other, m.MchID, m.SerialNo, m.PrivateKey); err != nil { // cached on the other node now
			t.Fatal(err)
		}
		if err := e.ms.RetireKey(ctx, m.MchID, m.SerialNo); err != nil {
			t.Fatal(err)
		}
		if err := verifies(t, other, m.MchID, m.SerialNo, m.PrivateKey); code(err) != fenfu.SignError {
			t.Errorf("the retired key on another node: %v, want SIGN_ERROR at once", err)
		}
		if err := verifies(t, other, m.MchID, serial, next); err != nil {
			t.Errorf("the new key on another node: %v", err)
		}
	})
}

// TestFreshSeesEveryChange: Fresh on one node sees, at once, every change
// made through another: the API keys, the newest signing key's scheme, and
// the settings Get may still hold for keyCacheTTL.
func TestFreshSeesEveryChange(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		other := service(t, e.core, e.clock)
		many := service(t, e.core, e.clock) // a third node, reading with FreshAll
		m := e.shop(t)
		fresh := func() merchant.Merchant {
			t.Helper()
			got, err := other.Fresh(ctx, m.MchID)
			if err != nil {
				t.Fatal(err)
			}
			all, errs := many.FreshAll(ctx, []string{m.MchID, "1900000000", m.MchID})
			if len(all) != 1 || !reflect.DeepEqual(all[m.MchID], got) || len(errs) != 1 || code(errs["1900000000"]) != fenfu.MchNotExists {
				t.Errorf("FreshAll = %+v, %v; want what Fresh has, %+v, and MCH_NOT_EXISTS for the unknown merchant", all, errs, got)
			}
			return got
		}
		if got := fresh(); got.APIv3Key != m.APIv3Key {
			t.Fatalf("Fresh = %+v, want the created merchant", got)
		}
		v3, err := e.ms.RotateAPIv3Key(ctx, m.MchID)
		if err != nil {
			t.Fatal(err)
		}
		if got := fresh(); got.APIv3Key != v3 {
			t.Errorf("API v3 key on another node after rotation = %q, want %q", got.APIv3Key, v3)
		}
		v2, err := e.ms.SetAPIv2Key(ctx, m.MchID, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := fresh(); got.APIv2Key != v2 {
			t.Errorf("API v2 key on another node = %q, want %q", got.APIv2Key, v2)
		}
		sm2, _ := scheme.Generate(scheme.SM2)
		pem, _ := scheme.PublicKeyPEM(scheme.Public(sm2))
		e.clock.Advance(time.Second)
		if _, err := e.ms.AddKey(ctx, m.MchID, pem); err != nil {
			t.Fatal(err)
		}
		if got := fresh(); got.Scheme != scheme.SM2 {
			t.Errorf("scheme on another node after an SM2 key = %s, want SM2", got.Scheme)
		}
		if err := e.ms.SetRollout(ctx, m.MchID, 42); err != nil {
			t.Fatal(err)
		}
		if got := fresh(); got.CreditRollout != 42 {
			t.Errorf("rollout through Fresh = %d, want 42", got.CreditRollout)
		}
		if err := e.core.Update(ctx, func(tx *db.Tx) error { return merchant.SetCreditPay(ctx, tx, m.MchID, true, true) }); err != nil {
			t.Fatal(err)
		}
		if got := fresh(); !got.CreditPay || !got.CreditSuspended {
			t.Errorf("credit pay through Fresh after a risk suspension = %v, suspended %v; want both set", got.CreditPay, got.CreditSuspended)
		}
		if _, err := other.Fresh(ctx, "1900000000"); code(err) != fenfu.MchNotExists {
			t.Errorf("Fresh of an unknown merchant: %v, want MCH_NOT_EXISTS", err)
		}
	})
}

// BenchmarkGet and BenchmarkFresh measure a cached merchant's read: Get
// takes the copy as it is, Fresh reads the merchant's version first.
func BenchmarkGet(b *testing.B)   { benchRead(b, (*merchant.Service).Get) }
func BenchmarkFresh(b *testing.B) { benchRead(b, (*merchant.Service).Fresh) }

func benchRead(b *testing.B, read func(*merchant.Service, context.Context, string) (merchant.Merchant, error)) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(b, db.SQLite, "core", clock)
	ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
	m, err := ms.CreateSandbox(ctx, "bench", scheme.RSA)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := read(ms, ctx, m.MchID); err != nil {
			b.Fatal(err)
		}
	}
}
