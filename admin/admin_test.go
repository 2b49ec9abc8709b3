package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/figures"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/settle"
)

type env struct {
	srv       *httptest.Server
	clock     *fenfu.FakeClock
	core      *db.DB
	credit    *db.DB
	merchants *merchant.Service
	pay       *pay.Service
	consumers *consumer.Service
	log       *slog.Logger
	access    *access.Service
	onboard   *onboard.Service
	api       *admin.API
	// bearer is the token of "lin", a director, whom do calls as.
	bearer string
}

func each(t *testing.T, f func(t *testing.T, e *env)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { f(t, newEnv(t, engine)) })
	}
}

func newEnv(t *testing.T, engine db.Engine) *env {
	t.Helper()
	// The business day 2026-11-26 has ended by the staff API's clock and
	// by the settlement service's.
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 26, 10, 0, 0, 0, fenfu.Shanghai))
	return newEnvOn(t, dbtest.Open(t, engine, "core", clock), dbtest.Open(t, engine, "credit", clock), clock, nil)
}

// newEnvOn is an env over the given stores, with risk control by the
// engine if there is one.
func newEnvOn(t *testing.T, core, cr *db.DB, clock *fenfu.FakeClock, r *risk.Engine) *env {
	t.Helper()
	ids := &fenfu.RandomIDs{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ms := merchant.New(core, ids, clock)
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("admin test secret, 32 bytes long")),
		IDs: ids, Clock: clock, Log: log}
	if r != nil {
		ps.Risk = &pay.Risk{Engine: r}
	}
	staff := access.New(core, clock)
	sealer, err := seal.New([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ob := &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: core},
		IDs: ids, Clock: clock, Merchants: ms, Sealer: sealer}
	settleSvc := &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "staff-node", Log: log}
	api := &admin.API{
		Risk:       r,
		Access:     staff,
		Onboard:    ob,
		Merchants:  ms,
		Pay:        ps,
		Settle:     settleSvc,
		Figures:    &figures.Service{Onboard: ob, Pay: ps, Risk: r, Settle: settleSvc},
		Log:        log,
		Clock:      clock,
		Background: background(t),
		Audit:      &audit.Stores{Core: core, Credit: cr},
		Complaints: &complaint.Service{Credit: cr, Core: core, Orders: ps, IDs: ids, Clock: clock, Log: log},
		Repay: &repay.Service{Core: core, Credit: cr, IDs: ids, Clock: clock, Calendar: pay.DefaultPlans().Calendar,
			Payoff: pay.DefaultPlans().Payoff},
		Consumers:     consumer.New(core, cr, ids, clock),
		Bills:         &bill.Service{Core: core, Clock: clock},
		Notifications: &notify.Events{DB: core, Clock: clock},
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, clock: clock, core: core, credit: cr, merchants: ms, pay: ps,
		consumers: consumer.New(core, cr, ids, clock), log: log, access: staff, onboard: ob, api: api,
		bearer: accesstest.Named(t, staff, "lin", access.Engineering, access.Director)}
}

// background runs work that outlives its request, as serve does, and
// waits for it when the test ends.
func background(t *testing.T) func(func(context.Context)) {
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	return func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(context.Background())
		}()
	}
}

// do calls the staff API as staff member "lin", a director, unless
// headers say otherwise, and decodes the JSON answer.
func (e *env) do(t *testing.T, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.bearer)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasSuffix(req.URL.Path, ".svg") && resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		return resp.StatusCode, map[string]any{"svg": string(raw)}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, body %q is not a JSON object: %v", method, path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// fails checks that a call is refused with code, and with the status the
// one error table gives the code.
func (e *env) fails(t *testing.T, code fenfu.Code, status int, method, path, body string, headers ...string) {
	t.Helper()
	got, out := e.do(t, method, path, body, headers...)
	if out["code"] != string(code) || got != status || got != code.HTTPStatus() {
		t.Errorf("%s %s = %d %v, want %d %s", method, path, got, out, status, code)
	}
	if str(out["message"]) == "" || str(out["remedy"]) == "" || out["help"] != "/errors#"+string(code) {
		t.Errorf("%s %s: error without message, remedy or the catalogue's link: %v", method, path, out)
	}
}

func (e *env) ok(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	got, out := e.do(t, method, path, body)
	if got != http.StatusOK {
		t.Fatalf("%s %s = %d %v, want 200", method, path, got, out)
	}
	return out
}

func TestAuth(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name    string
			headers []string
		}{
			{"no Authorization", []string{"Authorization", ""}},
			{"wrong token", []string{"Authorization", "Bearer not-the-token"}},
			{"token without Bearer", []string{"Authorization", e.bearer}},
			{"another scheme", []string{"Authorization", "Basic " + e.bearer}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.fails(t, fenfu.Unauthenticated, http.StatusUnauthorized, "GET", "/admin/applications", "", tc.headers...)
				e.fails(t, fenfu.Unauthenticated, http.StatusUnauthorized, "POST", "/admin/rescreen", "", tc.headers...)
			})
		}
		// The actor is the token's member whatever a header claims.
		code, out := e.do(t, "GET", "/admin/me", "", "X-Fenfu-Staff", "somebody-else")
		if me, _ := out["staff"].(map[string]any); code != 200 || me["name"] != "lin" {
			t.Errorf("GET /admin/me = %d %v, want lin", code, out)
		}
	})
}

// TestAuthWithoutStaff: a server with no staff accounts refuses everyone,
// including a request that sends an empty token.
func TestAuthWithoutStaff(t *testing.T) {
	api := &admin.API{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	mux := http.NewServeMux()
	api.Register(mux)
	for _, auth := range []string{"Bearer ", "Bearer", ""} {
		req := httptest.NewRequest("GET", "/admin/applications", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"UNAUTHENTICATED"`) {
			t.Errorf("Authorization %q: %d %s", auth, w.Code, w.Body)
		}
	}
}

func TestApplications(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		out := e.ok(t, "GET", "/admin/applications", "")
		if out["state"] != string(onboard.InReview) {
			t.Errorf("queue = %v, want the %s queue", out, onboard.InReview)
		}
		e.fails(t, fenfu.ResourceNotExists, http.StatusNotFound, "GET", "/admin/applications/APP-none", "")
		e.fails(t, fenfu.ResourceNotExists, http.StatusNotFound, "POST", "/admin/applications/APP-none/activate", "")
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/applications/APP-none/close", `{}`)
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/applications/APP-none/review", `{"decision":`)
	})
}

func TestRiskScreening(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		out := e.ok(t, "POST", "/admin/risk-list?source=PBOC-2026-11",
			"licence_number,name,reason\n91310000BADBAD001X,Bad Co,fraud ring\n,No licence,x\n")
		if out["rows"] != 1.0 || out["skipped"] != 1.0 {
			t.Errorf("risk list import = %v, want one row and one skipped", out)
		}
		out = e.ok(t, "POST", "/admin/rescreen", "")
		if out["screened"] != 0.0 || out["suspended"] != 0.0 {
			t.Errorf("rescreen with no active merchants = %v", out)
		}
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/history", "not,the,header\n")
	})
}

func TestMerchants(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m, err := e.merchants.CreateSandbox(ctx, "Shop", scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		out := e.ok(t, "POST", "/admin/merchants/"+m.MchID+"/rollout", `{"percent": 30}`)
		if out["credit_rollout"] != 30.0 {
			t.Errorf("rollout answer %v", out)
		}
		if got, _ := e.merchants.Get(ctx, m.MchID); got.CreditRollout != 30 {
			t.Errorf("rollout stored = %d, want 30", got.CreditRollout)
		}
		e.ok(t, "POST", "/admin/merchants/"+m.MchID+"/discount", `{"discount_ppm": 1000, "until": "2026-12-31T00:00:00+08:00"}`)
		if got, _ := e.merchants.Get(ctx, m.MchID); got.FeeDiscount != 1000 {
			t.Errorf("discount stored = %d, want 1000", got.FeeDiscount)
		}
		e.ok(t, "GET", "/admin/merchants/"+m.MchID+"/verification?from=2026-11-20&days=3", "")
		e.ok(t, "GET", "/admin/merchants/"+m.MchID+"/ab-report", "")

		e.fails(t, fenfu.MchNotExists, http.StatusBadRequest, "POST", "/admin/merchants/1900000000/rollout", `{"percent": 30}`)
		e.fails(t, fenfu.MchNotExists, http.StatusBadRequest, "POST", "/admin/merchants/1900000000/discount", `{"discount_ppm": 1}`)
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/merchants/"+m.MchID+"/rollout", `{}`)
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/merchants/"+m.MchID+"/rollout", `{"percent": 101}`)
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "GET", "/admin/merchants/"+m.MchID+"/ab-report?from=yesterday", "")
	})
}

// TestSettlement: a paid order is held and released, a day's run meets a
// batch another node is running (BATCH_RUNNING), and settles the order
// once that node's lease has lapsed.
func TestSettlement(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m, err := e.merchants.CreateSandbox(ctx, "Shop", scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := e.consumers.Create(ctx, consumer.NewConsumer{Rating: "A", CreditLimit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "tea", OutTradeNo: "admin-0001",
			NotifyURL: "https://shop.example/n", Total: 2500})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pay.Pay(ctx, o.Token, c.ID, pay.ChannelCredit); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(24 * time.Hour) // 2026-11-27 10:00: the 26th has ended

		out := e.ok(t, "POST", "/admin/orders/"+o.ID+"/hold", `{"hours": 1, "reason": "complaint"}`)
		if out["transaction_id"] != o.ID || str(out["hold_until"]) == "" {
			t.Errorf("hold answer %v", out)
		}
		e.ok(t, "POST", "/admin/orders/"+o.ID+"/release", "")
		e.fails(t, fenfu.OrderNotExist, http.StatusNotFound, "POST", "/admin/orders/none/hold", `{"reason": "x"}`)

		// Another node stops midway through the day's credit batch, as if
		// it had crashed after its first merchant; its lease still runs.
		stopped, stop := context.WithCancel(ctx)
		defer stop()
		other := &settle.Service{Core: e.core, Credit: e.credit, Clock: e.clock, Owner: "other-node", Log: e.log,
			Progress: func(settle.Progress) { stop() }}
		if _, err := other.Run(stopped, "2026-11-26"); err == nil {
			t.Fatal("the stopped run finished")
		}
		e.fails(t, fenfu.BatchRunning, http.StatusConflict, "POST", "/admin/settlements/run", `{"date": "2026-11-26"}`)

		e.clock.Advance(settle.DefaultLease + time.Second)
		out = e.ok(t, "POST", "/admin/settlements/run", `{"date": "2026-11-26"}`)
		batches, _ := out["batches"].([]any)
		if len(batches) == 0 {
			t.Fatalf("run answer %v", out)
		}
		for _, b := range batches {
			if st := b.(map[string]any)["state"]; st != settle.Done {
				t.Errorf("batch %v, want %s", b, settle.Done)
			}
		}
		out = e.ok(t, "GET", "/admin/settlements?mchid="+m.MchID, "")
		if out["total_count"] != 1.0 {
			t.Errorf("settlements of the merchant = %v, want one", out)
		}
		e.ok(t, "GET", "/admin/settlements/batches?date=2026-11-26", "")
		// A settled order can no longer be held.
		e.fails(t, fenfu.InvalidRequest, http.StatusBadRequest, "POST", "/admin/orders/"+o.ID+"/hold", `{"reason": "late"}`)
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "GET", "/admin/settlements?state=DONE", "")
		e.fails(t, fenfu.ParamError, http.StatusBadRequest, "POST", "/admin/settlements/run", `{"date": "26/11/2026"}`)
	})
}

func TestSettlementExceptions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		out := e.ok(t, "GET", "/admin/settlement-exceptions", "")
		if out["open"] != 0.0 || out["overdue"] != 0.0 {
			t.Errorf("exceptions = %v, want none", out)
		}
		e.fails(t, fenfu.ResourceNotExists, http.StatusNotFound, "GET", "/admin/settlement-exceptions/EX-none", "")
	})
}

// str is a decoded JSON value as a string, "" if absent or not one.
func str(v any) string {
	s, _ := v.(string)
	return s
}
