package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// endpoint is a merchant's notify_url: it verifies each notification's
// signature and decrypts it, and fails the first failN deliveries of each
// event.
type endpoint struct {
	t      *testing.T
	keys   *keyring.Keyring
	apiv3  string
	clock  fenfu.Clock
	failN  int
	mu     sync.Mutex
	hits   map[string][]time.Time // event id → delivery times (fake clock)
	stamps []int64                // the Wechatpay-Timestamp of each delivery
	events map[string]map[string]any
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get("Wechatpay-Timestamp"), 10, 64)
	sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("Wechatpay-Signature"))
	pk := e.keys.Platform(scheme.Name(r.Header.Get("Wechatpay-Signature-Type")))
	if r.Header.Get("Wechatpay-Serial") != pk.ID ||
		scheme.Verify(scheme.Public(pk.Key), scheme.ResponseMessage(ts, r.Header.Get("Wechatpay-Nonce"), body), sig) != nil {
		e.t.Errorf("notification signature does not verify")
		w.WriteHeader(401)
		return
	}
	var env struct {
		ID        string          `json:"id"`
		EventType string          `json:"event_type"`
		Resource  notify.Resource `json:"resource"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		e.t.Errorf("notification body: %v", err)
	}
	pt, err := notify.Decrypt(env.Resource, e.apiv3)
	if err != nil {
		e.t.Errorf("decrypt: %v", err)
	}
	var obj map[string]any
	_ = json.Unmarshal(pt, &obj)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hits[env.ID] = append(e.hits[env.ID], e.clock.Now())
	e.stamps = append(e.stamps, ts)
	e.events[env.ID] = obj
	if len(e.hits[env.ID]) <= e.failN {
		http.Error(w, `{"code":"FAIL","message":"失败"}`, 500)
		return
	}
	w.WriteHeader(204)
}

type env struct {
	core, credit *db.DB
	pay          *pay.Service
	api          *wxpay.API
	keys         *keyring.Keyring
	m            merchant.Sandbox
	ms           *merchant.Service
	consumer     string
	clock        *fenfu.FakeClock
	ep           *endpoint
	url          string
}

func newEnv(t *testing.T, engine db.Engine, failN int) *env {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Now())
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	keys := keyringtest.Open(t, core)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(ctx, "shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner(keys.Secret), IDs: ids, Clock: clock}
	c, _, err := consumer.New(core, cr, ids, clock).Create(ctx, consumer.NewConsumer{CreditLimit: 1 << 40, Rating: "A"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &endpoint{t: t, keys: keys, apiv3: m.APIv3Key, clock: clock, failN: failN, hits: map[string][]time.Time{}, events: map[string]map[string]any{}}
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	api := &wxpay.API{Services: wxpay.Services{Pay: ps, Merchants: ms}, Keys: keys, Clock: clock, IDs: ids, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &env{core: core, credit: cr, pay: ps, api: api, keys: keys, m: m, ms: ms, consumer: c.ID, clock: clock, ep: ep, url: srv.URL}
}

func (e *env) worker(d *db.DB) *notify.Worker {
	return &notify.Worker{DB: d, Keys: e.keys, Merchants: e.ms, RenderRound: e.api.RenderRound, Clock: e.clock,
		IDs: &fenfu.RandomIDs{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// paid creates and pays an order whose notify_url is the endpoint.
func (e *env) paid(t *testing.T, no string) pay.Order {
	t.Helper()
	ctx := context.Background()
	o, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: e.m.MchID, AppID: e.m.AppID, Description: "tea", OutTradeNo: no,
		NotifyURL: e.url + "/notify", Total: 100})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = e.pay.Pay(ctx, o.Token, e.consumer, pay.ChannelCredit); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRetrySchedule(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 3) // fails three times, then acknowledges
			o := e.paid(t, "notify-0001")
			start := e.clock.Now()
			w := e.worker(e.core)
			// Step the fake clock a second at a time through the first two
			// minutes; restart the worker (a new instance on a new store
			// handle) half way.
			for i := range 120 {
				if i == 40 {
					d2, err := db.Open(ctx, "core", dsnOf(t, e.core), e.clock, db.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer d2.Close()
					w = e.worker(d2)
				}
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Second)
			}
			ev := "EV-" + o.ID
			var offsets []time.Duration
			for _, at := range e.ep.hits[ev] {
				offsets = append(offsets, at.Sub(start).Round(time.Second))
			}
			want := []time.Duration{0, 15 * time.Second, 30 * time.Second, 60 * time.Second}
			if fmt.Sprint(offsets) != fmt.Sprint(want) {
				t.Fatalf("deliveries at %v, want %v (15s, 15s, 30s after each failure)", offsets, want)
			}
			// Delivered: nothing more, ever.
			e.clock.Advance(48 * time.Hour)
			if n, _ := w.RunOnce(ctx); n != 0 || len(e.ep.hits[ev]) != 4 {
				t.Fatalf("after delivery: %d more attempts, %d hits", n, len(e.ep.hits[ev]))
			}
			if got := e.ep.events[ev]; got["trade_state"] != "SUCCESS" || got["out_trade_no"] != "notify-0001" {
				t.Fatalf("decrypted resource = %v", got)
			}
			st, err := (&notify.Events{DB: e.core, Clock: e.clock}).Lookup(ctx, e.m.MchID, ev)
			if err != nil || st.State != notify.Delivered || len(st.Attempts) != 4 || st.Attempts[0].HTTPStatus != 500 ||
				st.Attempts[3].HTTPStatus != 204 {
				t.Fatalf("delivery log = %+v, %v", st, err)
			}
		})
	}
}

// TestAheadClockNotDelayed: an event stored while the clock was ahead
// (6 minutes, or a day) is delivered at once by a worker whose clock is
// right, not when its clock catches up with the event's stamp. (fenfu
// chaos found it: notifications made during a 6-minute step ahead were
// delivered 6 minutes late.) An event another worker holds is not taken,
// though that worker's clock runs half a minute ahead.
func TestAheadClockNotDelayed(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		for _, ahead := range []time.Duration{6 * time.Minute, 24 * time.Hour} {
			t.Run(fmt.Sprintf("%s/%s", engine, ahead), func(t *testing.T) {
				ctx := context.Background()
				e := newEnv(t, engine, 0)
				right := fenfu.NewFakeClock(e.clock.Now())
				e.clock.Advance(ahead) // the stores' clock, which stamps the event
				o := e.paid(t, "notify-ahead")
				held := e.paid(t, "notify-held")
				// A worker whose clock is 30s ahead holds the second event.
				if _, err := e.core.Exec(ctx, `UPDATE notify_outbox SET due_at = $1 WHERE ref = $2`,
					db.Micros(right.Now().Add(30*time.Second+notify.DefaultLease)), held.ID); err != nil {
					t.Fatal(err)
				}
				w := e.worker(e.core)
				w.Clock = right
				n, err := w.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(e.ep.hits["EV-"+o.ID]); n != 1 || got != 1 {
					t.Fatalf("a worker on the right clock attempted %d events and delivered the one stored ahead %d times, want 1 and 1", n, got)
				}
				if got := len(e.ep.hits["EV-"+held.ID]); got != 0 {
					t.Fatalf("the event another worker holds was delivered %d times, want 0", got)
				}
			})
		}
	}
}

// On a sandbox clock, days ahead of the system's, a notification is
// signed at the system's time (SignClock), which the merchant checks
// against its own clock, and is still delivered at once.
func TestSignedAtTheSystemsTime(t *testing.T) {
	e := newEnv(t, db.SQLite, 0)
	system := fenfu.NewFakeClock(e.clock.Now())
	e.clock.Advance(30 * 24 * time.Hour)
	o := e.paid(t, "notify-sandbox")
	w := e.worker(e.core)
	w.SignClock = system
	if n, err := w.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("attempted %d: %v", n, err)
	}
	e.ep.mu.Lock()
	defer e.ep.mu.Unlock()
	if len(e.ep.hits["EV-"+o.ID]) != 1 || len(e.ep.stamps) != 1 || e.ep.stamps[0] != system.Now().Unix() {
		t.Errorf("delivered %d times, signed at %v, want once at %d", len(e.ep.hits["EV-"+o.ID]), e.ep.stamps, system.Now().Unix())
	}
}

func TestGiveUpAfterSchedule(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, db.SQLite, 1000) // never acknowledges
	o := e.paid(t, "notify-never")
	start := e.clock.Now()
	w := e.worker(e.core)
	var total time.Duration
	for _, d := range notify.Schedule {
		total += d
	}
	for e.clock.Now().Sub(start) <= total+time.Minute {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Second)
	}
	ev := "EV-" + o.ID
	if n := len(e.ep.hits[ev]); n != 1+len(notify.Schedule) {
		t.Fatalf("%d attempts, want %d", n, 1+len(notify.Schedule))
	}
	last := e.ep.hits[ev][len(e.ep.hits[ev])-1].Sub(start)
	if last < total || last > total+10*time.Second {
		t.Fatalf("last attempt at %v, want about %v (24h4m)", last, total)
	}
	st, _ := (&notify.Events{DB: e.core, Clock: e.clock}).Lookup(ctx, e.m.MchID, ev)
	if st.State != notify.Failed {
		t.Fatalf("state %s, want FAILED", st.State)
	}
	// A resend is one more attempt.
	e.ep.failN = 0
	if err := (&notify.Events{DB: e.core, Clock: e.clock}).Resend(ctx, e.m.MchID, ev); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.RunOnce(ctx); n != 1 {
		t.Fatalf("resend made %d attempts", n)
	}
	if st, _ = (&notify.Events{DB: e.core, Clock: e.clock}).Lookup(ctx, e.m.MchID, ev); st.State != notify.Delivered {
		t.Fatalf("after resend state %s", st.State)
	}
}

// TestTwoWorkersDeliverOnce runs two workers, each on its own handle to one
// store, against many due events at once: each event is delivered once.
func TestTwoWorkersDeliverOnce(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			const n = 60
			for i := range n {
				e.paid(t, fmt.Sprintf("twice-%04d", i))
			}
			d2, err := db.Open(ctx, "core", dsnOf(t, e.core), e.clock, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			workers := []*notify.Worker{e.worker(e.core), e.worker(d2)}
			regs := []*metrics.Registry{metrics.New(), metrics.New()}
			var wg sync.WaitGroup
			for i, w := range workers {
				w.Batch = 7 // many small rounds, so the two interleave
				w.Metrics = regs[i]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 30 {
						if _, err := w.RunOnce(ctx); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			if len(e.ep.hits) != n {
				t.Fatalf("%d events delivered, want %d", len(e.ep.hits), n)
			}
			for ev, h := range e.ep.hits {
				if len(h) != 1 {
					t.Fatalf("%s delivered %d times", ev, len(h))
				}
			}
			// Each worker counts what it delivered; together, each event
			// once.
			delivered := 0.0
			for _, r := range regs {
				d, _ := counter(r, `fenfu_notify_attempts_total{result="delivered"}`)
				delivered += d
			}
			if delivered != n {
				t.Fatalf("the workers count %v deliveries, want %d", delivered, n)
			}
		})
	}
}

// counter reads one sample of a registry's exposition by its name and
// labels as written, e.g. `x_total{result="delivered"}`.
func counter(r *metrics.Registry, series string) (float64, bool) {
	var b strings.Builder
	r.Write(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// dsnOf finds the DSN a test store was opened with, to open a second
// handle to it as another node would.
func dsnOf(t *testing.T, d *db.DB) string {
	t.Helper()
	if d.Engine == db.SQLite {
		var file string
		if err := d.R.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
			t.Fatal(err)
		}
		return file
	}
	var name string
	if err := d.R.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return dbtest.SameServer(t, name)
}

// TestRotatedKeyReachesWorkerAtOnce: once another process (`fenfu merchant
// rotate-v3-key`, or another node) has rotated a merchant's API v3 key, a
// running worker that has the merchant cached encrypts the next
// notification with the new key, without waiting for its cache to expire
// (issue 11, finding 8).
func TestRotatedKeyReachesWorkerAtOnce(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			w := e.worker(e.core)
			e.paid(t, "rotate-0001")
			if n, err := w.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("first delivery: %d, %v", n, err)
			}
			other := merchant.New(e.core, &fenfu.RandomIDs{}, e.clock) // the CLI's own service
			key, err := other.RotateAPIv3Key(ctx, e.m.MchID)
			if err != nil {
				t.Fatal(err)
			}
			e.ep.mu.Lock()
			e.ep.apiv3 = key // the merchant switches as it is told
			e.ep.mu.Unlock()
			o := e.paid(t, "rotate-0002") // no time passes
			if n, err := w.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("second delivery: %d, %v", n, err)
			}
			e.ep.mu.Lock()
			defer e.ep.mu.Unlock()
			if got := e.ep.events["EV-"+o.ID]; got["out_trade_no"] != "rotate-0002" {
				t.Fatalf("the notification after rotation decrypted to %v with the new key", got)
			}
		})
	}
}

// TestWokenByTheCommit: a running worker delivers a payment's
// notification as soon as the payment commits, woken by the store's bell,
// not at its next look (here an hour away, so only the bell can explain
// a delivery within the minute the test waits).
func TestWokenByTheCommit(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			e := newEnv(t, engine, 0)
			w := e.worker(e.core)
			w.Poll = time.Hour
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			for i := range 3 {
				o := e.paid(t, fmt.Sprintf("woken-%d", i))
				ev := "EV-" + o.ID
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
					e.ep.mu.Lock()
					n := len(e.ep.hits[ev])
					e.ep.mu.Unlock()
					if n == 1 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("payment %d's notification was not delivered within a minute of its commit", i)
					}
				}
			}
		})
	}
}

// TestBellRingsOnCommitOnly: the outbox's bell rings when the transaction
// that enqueued a notification commits, and not when it rolls back.
func TestBellRingsOnCommitOnly(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			rung := func(ch <-chan struct{}) bool {
				select {
				case <-ch:
					return true
				default:
					return false
				}
			}
			bell := e.core.Bell(notify.OutboxBell)
			ch := bell.Wait()
			fail := fmt.Errorf("roll back")
			err := e.core.Update(ctx, func(tx *db.Tx) error {
				if err := notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: "rolled-back", MchID: e.m.MchID, NotifyURL: e.url}); err != nil {
					return err
				}
				if rung(ch) {
					t.Error("the bell rang before the commit")
				}
				return fail
			})
			if err != fail || rung(ch) {
				t.Fatalf("a rolled-back enqueue (%v) rang the bell: %v", err, rung(ch))
			}
			if err := e.core.Update(ctx, func(tx *db.Tx) error {
				return notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: "committed", MchID: e.m.MchID, NotifyURL: e.url})
			}); err != nil {
				t.Fatal(err)
			}
			if !rung(ch) {
				t.Fatal("a committed enqueue did not ring the bell")
			}
		})
	}
}

// TestRoundRenderedAsOneByOne: a round rendered at once (the payments'
// orders read in one query) renders each event as rendering it alone
// does, and fails alone an event whose order is missing.
func TestRoundRenderedAsOneByOne(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			var ds []notify.Due
			for i := range 5 {
				o := e.paid(t, fmt.Sprintf("round-%d", i))
				ds = append(ds, notify.Due{Subject: notify.Subject{Kind: notify.Transaction, ID: o.ID, MchID: e.m.MchID}})
			}
			missing := notify.Due{Subject: notify.Subject{Kind: notify.Transaction, ID: "4200000000000000000000000000", MchID: e.m.MchID}}
			refund := notify.Due{Subject: notify.Subject{Kind: notify.Refund, ID: "no-such-refund", MchID: e.m.MchID}}
			ds = append([]notify.Due{ds[0], missing, refund}, ds[1:]...)
			ds = append(ds, ds[0]) // the same order twice in a round
			evs, errs := e.api.RenderRound(ctx, ds)
			if len(evs) != len(ds) || len(errs) != len(ds) {
				t.Fatalf("%d events and %d errors for %d rows", len(evs), len(errs), len(ds))
			}
			for i, d := range ds {
				want, werr := e.api.RenderNotification(ctx, d)
				if (werr == nil) != (errs[i] == nil) {
					t.Fatalf("row %d (%s %s): error %v, alone %v", i, d.Kind, d.ID, errs[i], werr)
				}
				if werr != nil {
					continue
				}
				got := evs[i]
				if got.EventType != want.EventType || !got.CreateTime.Equal(want.CreateTime) || string(got.Plaintext) != string(want.Plaintext) {
					t.Errorf("row %d: rendered in a round %s %v %s, alone %s %v %s", i, got.EventType, got.CreateTime, got.Plaintext,
						want.EventType, want.CreateTime, want.Plaintext)
				}
			}
			if errs[1] == nil || errs[2] == nil {
				t.Errorf("the missing order and refund rendered without error: %v, %v", errs[1], errs[2])
			}
		})
	}
}

// TestRoundRecordedAtOnce: a round of several merchants' notifications,
// some acknowledged and some refused, is logged and scheduled row for row
// as each outcome says; on PostgreSQL the round costs four round trips
// whatever its size and its merchants: the claim, the orders' read, the
// merchants' versions and the record.
func TestRoundRecordedAtOnce(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 1) // the first merchant refuses each event's first attempt
			m2, err := e.ms.CreateSandbox(ctx, "shop2", scheme.SM2)
			if err != nil {
				t.Fatal(err)
			}
			ep2 := &endpoint{t: t, keys: e.keys, apiv3: m2.APIv3Key, clock: e.clock, hits: map[string][]time.Time{}, events: map[string]map[string]any{}}
			srv2 := httptest.NewServer(ep2)
			defer srv2.Close()
			paid2 := func(no string) pay.Order {
				o, err := e.pay.CreateNative(ctx, pay.NativeOrder{MchID: m2.MchID, AppID: m2.AppID, Description: "tea", OutTradeNo: no,
					NotifyURL: srv2.URL + "/notify", Total: 100})
				if err != nil {
					t.Fatal(err)
				}
				if o, err = e.pay.Pay(ctx, o.Token, e.consumer, pay.ChannelCredit); err != nil {
					t.Fatal(err)
				}
				return o
			}
			w := e.worker(e.core)
			// A first round of the same size prepares the statements on
			// their connection and caches both merchants.
			var refused, acknowledged []string
			for round := range 2 {
				refused, acknowledged = nil, nil
				for i := range 3 {
					refused = append(refused, e.paid(t, fmt.Sprintf("once-a%d%d", round, i)).ID)
					acknowledged = append(acknowledged, paid2(fmt.Sprintf("once-b%d%d", round, i)).ID)
				}
				if round == 1 {
					break
				}
				if n, err := w.RunOnce(ctx); err != nil || n != 6 {
					t.Fatalf("first round: %d, %v", n, err)
				}
			}
			tctx, tally := db.WithTally(ctx, false)
			if n, err := w.RunOnce(tctx); err != nil || n != 6 {
				t.Fatalf("second round: %d, %v", n, err)
			}
			if got := tally.Total(); engine == db.Postgres && got != 4 {
				t.Errorf("a round of 6 notifications of 2 merchants: %d round trips, want 4", got)
			}
			row := func(ref string) (state string, attempts int, due int64) {
				t.Helper()
				if err := e.core.QueryRowContext(ctx, `SELECT state, attempts, due_at FROM notify_outbox WHERE ref = $1`, ref).
					Scan(&state, &attempts, &due); err != nil {
					t.Fatal(err)
				}
				return
			}
			ev := &notify.Events{DB: e.core, Clock: e.clock}
			for _, id := range refused {
				st, err := ev.Lookup(ctx, e.m.MchID, "EV-"+id)
				state, attempts, due := row(id)
				if err != nil || state != string(notify.Pending) || attempts != 1 || len(st.Attempts) != 1 || st.Attempts[0].HTTPStatus != 500 ||
					due != db.Micros(st.Attempts[0].At.Add(notify.Schedule[0])) {
					t.Errorf("refused %s: %s, attempts %d, due %d; log %+v, %v", id, state, attempts, due, st, err)
				}
			}
			for _, id := range acknowledged {
				st, err := ev.Lookup(ctx, m2.MchID, "EV-"+id)
				state, attempts, due := row(id)
				if err != nil || state != string(notify.Delivered) || attempts != 1 || due != 0 || len(st.Attempts) != 1 ||
					st.Attempts[0].HTTPStatus != 204 || st.Attempts[0].Error != "" {
					t.Errorf("acknowledged %s: %s, attempts %d, due %d; log %+v, %v", id, state, attempts, due, st, err)
				}
			}
			if b, err := notify.PendingBacklog(ctx, e.core); err != nil || b.Pending != 6 {
				t.Errorf("backlog %+v, %v, want the first merchant's 6 refused", b, err)
			}
		})
	}
}
