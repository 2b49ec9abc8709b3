package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// node is one fenfu node's v3 API on stores other nodes share, with the
// nonces in the core store, as serve runs on PostgreSQL.
type node struct {
	api    *wxpay.API
	srv    *httptest.Server
	client *wxpay.Client
	core   *db.DB
	tally  atomic.Pointer[db.Tally] // the round trips of the last request
}

// trips returns the round trips of the node's last request, on the core
// store.
func (n *node) trips() int64 { return n.tally.Load().Counts()["core"] }

// fixedNonce is IDs whose Nonce is n, when n is set.
type fixedNonce struct {
	fenfu.IDs
	n string
}

func (f *fixedNonce) Nonce(k int) string {
	if f.n != "" {
		return f.n
	}
	return f.IDs.Nonce(k)
}

func newNode(t *testing.T, coreDSN, creditDSN string, keys *keyring.Keyring, m merchant.Sandbox) *node {
	t.Helper()
	open := func(name, dsn string) *db.DB {
		d, err := db.Open(context.Background(), name, dsn, fenfu.SystemClock{}, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	n := &node{core: open("core", coreDSN)}
	cr := open("credit", creditDSN)
	clock, ids := fenfu.SystemClock{}, &fenfu.RandomIDs{}
	ms := merchant.New(n.core, ids, clock)
	ps := &pay.Service{Core: n.core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner(keys.Secret), IDs: ids, Clock: clock}
	n.api = &wxpay.API{Services: wxpay.Services{Pay: ps, Merchants: ms}, Keys: keys, Clock: clock, IDs: ids,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Nonces: &merchant.SharedNonces{DB: n.core, Window: 2 * wxpay.MaxClockSkew},
		PublicURL: func() string { return n.srv.URL }}
	mux := http.NewServeMux()
	n.api.Register(mux)
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, tally := db.WithTally(r.Context(), false)
		n.tally.Store(tally) // before the answer: the request's statements all precede it
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(n.srv.Close)
	sch, _ := scheme.Of(m.PrivateKey)
	n.client = &wxpay.Client{BaseURL: n.srv.URL, MchID: m.MchID, SerialNo: m.SerialNo, Key: m.PrivateKey,
		PlatformKey: scheme.Public(keys.Platform(sch).Key), PlatformKeyID: keys.Platform(sch).ID, IDs: &fixedNonce{IDs: ids}}
	return n
}

// TestGuardedRequests: a create and a query verified with a cached key
// cost one round trip each on PostgreSQL, their nonce and the merchant's
// keys checked with their own statement; a nonce used before is refused,
// on this node or another, and nothing of the refused request stands; a
// key retired on one node stops verifying on the other at once; a
// merchant changed otherwise is served as before.
func TestGuardedRequests(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			coreDSN, creditDSN := dbtest.DSN(t, engine, "core"), dbtest.DSN(t, engine, "credit")
			var keys *keyring.Keyring
			var m merchant.Sandbox
			for _, st := range []struct{ name, dsn string }{{"core", coreDSN}, {"credit", creditDSN}} {
				d, err := db.Open(ctx, st.name, st.dsn, fenfu.SystemClock{}, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if _, err := d.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				if st.name == "core" {
					keys = keyringtest.Open(t, d)
					if m, err = merchant.New(d, &fenfu.RandomIDs{}, fenfu.SystemClock{}).CreateSandbox(ctx, "shop", scheme.RSA); err != nil {
						t.Fatal(err)
					}
				}
			}
			a, b := newNode(t, coreDSN, creditDSN, keys, m), newNode(t, coreDSN, creditDSN, keys, m)
			pg := engine == db.Postgres
			query := func(c *wxpay.Client, no string) error {
				return c.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+m.MchID, nil, nil)
			}
			create := func(c *wxpay.Client, no string) error {
				var out map[string]string
				return c.Do(ctx, "POST", "/v3/pay/transactions/native", map[string]any{"appid": m.AppID, "mchid": m.MchID,
					"description": "tea", "out_trade_no": no, "notify_url": "https://shop.example/n", "amount": map[string]any{"total": 100}}, &out)
			}
			exists := func(no string) bool {
				_, err := a.api.Pay.QueryByOutTradeNo(ctx, m.MchID, no)
				return err == nil
			}
			// The first request on each node reads the merchant's key.
			for _, n := range []*node{a, b} {
				if c := code(query(n.client, "none")); c != "ORDER_NOT_EXIST" {
					t.Fatalf("first query: %s", c)
				}
			}
			for i := range 3 {
				no := fmt.Sprint("guarded-", i)
				if err := create(a.client, no); err != nil {
					t.Fatalf("create %d: %v", i, err)
				}
				if pg && i > 0 && a.trips() != 1 {
					t.Errorf("create %d: %d round trips, want 1", i, a.trips())
				}
				if err := query(a.client, no); err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				if pg && i > 0 && a.trips() != 1 {
					t.Errorf("query %d: %d round trips, want 1", i, a.trips())
				}
			}
			// A nonce used by one request is refused to any other, on
			// either node, and the create refused leaves no order.
			nonce := func(n string) {
				for _, x := range []*node{a, b} {
					x.client.IDs.(*fixedNonce).n = n
				}
			}
			nonce("USED-NONCE-1")
			if err := query(a.client, "guarded-0"); err != nil {
				t.Fatal(err)
			}
			for name, n := range map[string]*node{"a": a, "b": b} {
				if c := code(create(n.client, "replayed-"+name)); c != "SIGN_ERROR" || exists("replayed-"+name) {
					t.Fatalf("create with a used nonce on node %s: %q, order made %v", name, c, exists("replayed-"+name))
				}
				if c := code(query(n.client, "guarded-0")); c != "SIGN_ERROR" {
					t.Fatalf("query with a used nonce on node %s: %q", name, c)
				}
			}
			nonce("")
			// A key registered on node a changes the merchant's version:
			// node b checks the old key afresh, serves the request, and
			// then verifies with the key cached again (after the guard
			// failed, pgx prepares its statements again, once).
			newKey, _ := scheme.Generate(scheme.SM2)
			pubPEM, _ := scheme.PublicKeyPEM(scheme.Public(newKey))
			serial, err := a.api.Merchants.AddKey(ctx, m.MchID, pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			for i, no := range []string{"overlap-1", "overlap-2", "overlap-3"} {
				if err := create(b.client, no); err != nil || !exists(no) {
					t.Fatalf("create %s with the old key during the overlap: %v", no, err)
				}
				if pg && i > 1 && b.trips() != 1 {
					t.Errorf("create %s: %d round trips, want 1", no, b.trips())
				}
			}
			// The old key retired on node a: node b refuses it at once,
			// and the create refused leaves no order.
			if err := a.api.Merchants.RetireKey(ctx, m.MchID, m.SerialNo); err != nil {
				t.Fatal(err)
			}
			if c := code(create(b.client, "retired-key")); c != "SIGN_ERROR" || exists("retired-key") {
				t.Fatalf("create with a retired key: %q, order made %v", c, exists("retired-key"))
			}
			if c := code(query(b.client, "overlap-1")); c != "SIGN_ERROR" {
				t.Fatalf("query with a retired key: %q", c)
			}
			next := *b.client
			next.Key, next.SerialNo = newKey, serial
			next.PlatformKey, next.PlatformKeyID = scheme.Public(keys.Platform(scheme.SM2).Key), keys.Platform(scheme.SM2).ID
			for _, no := range []string{"new-key-1", "new-key-2", "new-key-3"} {
				if err := create(&next, no); err != nil || !exists(no) {
					t.Fatalf("create with the new key: %v", err)
				}
			}
			if pg && b.trips() != 1 {
				t.Errorf("create with the new key cached: %d round trips, want 1", b.trips())
			}
		})
	}
}

// code returns the error code of a v3 call's answer, "" for success.
func code(err error) string {
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Body.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
