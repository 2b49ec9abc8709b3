package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/scheme"
	"golang.org/x/sync/errgroup"
)

// Schedule is WeChat Pay's retry schedule: after the first attempt, which
// is made as soon as the event happens, a failed delivery is retried after
// these intervals — 15 retries over 24 h 4 m — and then given up.
var Schedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute, 20 * time.Minute,
	30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// DefaultLease is how long a worker holds an event it is delivering
// before another may attempt it: a worker that dies mid-delivery delays
// the event by this much.
const DefaultLease = 2 * time.Minute

// Due is an event whose delivery is due, as claimed by a worker.
type Due struct {
	Subject
	Attempts int // attempts made before this one
}

// OutboxBell is the name of the core store's bell (db.Bell) that rings
// when a transaction that made a notification due commits in this
// process: the worker wakes to it instead of waiting for its next look.
const OutboxBell = "notify_outbox"

// DefaultGather is how long a worker woken by the bell waits before its
// round, so that the notifications of payments committing together go in
// one round, and one claim and one record, instead of a round each. An
// A/B of 10 and 50 ms (BENCHMARKS.md, "The SQLite payment's CPU") found
// 50 ms 2-3 % cheaper in server CPU per payment; a notification still
// leaves within about 50 ms of its payment, where polling took up to a
// second.
const DefaultGather = 50 * time.Millisecond

// Event is a notification before encryption.
type Event struct {
	EventType    string // TRANSACTION.SUCCESS, REFUND.SUCCESS, …
	Summary      string
	OriginalType string // transaction or refund
	CreateTime   time.Time
	Plaintext    []byte // the object the query API returns
	// V2, when set, makes this an API v2 notification: these parameters
	// are sent as XML, signed with the merchant's API v2 key (MD5), and
	// acknowledged by <return_code>SUCCESS</return_code>.
	V2 map[string]string
}

// RoundRenderer renders a round's due rows as their events, reading what
// they are about together: events[i] and errs[i] answer ds[i]. The
// protocol adapter supplies it.
type RoundRenderer func(ctx context.Context, ds []Due) (events []Event, errs []error)

// Worker delivers due notifications. Any number of workers, on any number
// of nodes sharing the store, may run at once: a row is claimed by moving
// its due_at to a lease deadline with a compare-and-set, so each
// attempt is made by one worker. A worker that dies mid-delivery loses its
// lease, and the event is attempted again when the lease runs out.
type Worker struct {
	DB        *db.DB // the core store
	Keys      *keyring.Keyring
	Merchants *merchant.Service
	// RenderRound renders each round's events in one call.
	RenderRound RoundRenderer
	Clock       fenfu.Clock
	// SignClock is the time notifications are signed at, which merchants
	// check against their own clocks: the system's, also on a sandbox
	// clock. Nil is Clock.
	SignClock fenfu.Clock
	IDs       fenfu.IDs
	HTTP      *http.Client
	Log       *slog.Logger
	Schedule  []time.Duration // default Schedule
	Lease     time.Duration   // default DefaultLease
	Batch     int             // rows claimed per round, default 100
	Parallel  int             // deliveries at once, default 16
	// Gather is how long a worker woken by the bell waits before its
	// round (default DefaultGather; negative: not at all).
	Gather time.Duration
	// Poll is how often Run looks for due rows without being woken
	// (default a second).
	Poll time.Duration
	V2   V2Codec // for orders made through API v2
	// Metrics counts delivery attempts by outcome
	// (fenfu_notify_attempts_total); nil counts nothing.
	Metrics *metrics.Registry
}

func (w *Worker) schedule() []time.Duration {
	if w.Schedule != nil {
		return w.Schedule
	}
	return Schedule
}

// Run delivers until ctx ends. It looks for due rows as soon as a
// transaction of this process that made one due commits (the store's
// OutboxBell), gathering for Gather the others committing with it, and
// every Poll: for events made due by other nodes sharing the store, and
// retries coming due.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	bell := w.DB.Bell(OutboxBell)
	gather := w.Gather
	if gather == 0 {
		gather = DefaultGather
	}
	for {
		rung := bell.Wait() // before the round, so a ring during it is heard
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("notify", "error", err)
		}
		if n > 0 && n >= w.batch() {
			continue // more are due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-rung:
			if gather > 0 {
				g := time.NewTimer(gather)
				select {
				case <-ctx.Done():
					g.Stop()
					return
				case <-g.C:
				}
			}
		}
	}
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return 100
}

// RunOnce claims the rows due now and attempts each once. It returns how
// many it attempted. A round costs one claiming statement, one read of
// what its events are about (with RenderRound), one read of its
// merchants' versions, and one statement (on SQLite one transaction) to
// record every outcome, whatever its size: on PostgreSQL four round trips.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.Clock.Now()
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	leaseUntil := db.Micros(now.Add(lease))
	// A lease taken on a clock up to one lease ahead of this one still
	// ends before ahead: only an event due beyond it was stamped ahead.
	ahead := db.Micros(now.Add(2 * lease))
	claimed, err := w.claim(ctx, now, leaseUntil, ahead)
	if err != nil {
		return 0, err
	}
	if len(claimed) == 0 {
		return 0, nil
	}
	events, errs := w.RenderRound(ctx, claimed)
	merchants := w.merchantsOf(ctx, claimed)
	par := w.Parallel
	if par <= 0 {
		par = 16
	}
	outcomes := make([]outcome, len(claimed))
	var g errgroup.Group
	g.SetLimit(par)
	for i, d := range claimed {
		g.Go(func() error {
			outcomes[i] = w.attempt(ctx, d, events[i], errs[i], merchants[d.MchID])
			return nil
		})
	}
	_ = g.Wait() // an attempt's failure is its outcome, recorded below
	return len(claimed), w.record(ctx, claimed, outcomes, leaseUntil)
}

// fresh is a merchant as the store had it at the start of a round.
type fresh struct {
	m   merchant.Merchant
	err error
}

// merchantsOf reads the merchants of a round as of now (their keys and
// scheme), for all its events: their versions in one read
// (merchant.Service.FreshAll), a merchant changed since it was cached
// loaded again.
func (w *Worker) merchantsOf(ctx context.Context, ds []Due) map[string]fresh {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.MchID
	}
	got, errs := w.Merchants.FreshAll(ctx, ids)
	ms := make(map[string]fresh, len(got)+len(errs))
	for id, m := range got {
		ms[id] = fresh{m: m}
	}
	for id, err := range errs {
		ms[id] = fresh{err: err}
	}
	return ms
}

// isDue is the condition of a row whose delivery is due at $1: its time
// has come; or it has never been attempted and is due after $2 (two
// leases on), further ahead than a worker's lease could make it even on a
// clock running a lease ahead of this one, which only a clock that was
// ahead when the event was stored can have done (a clock stepped back, or
// another node's running fast). Such an event would otherwise wait,
// undelivered, for as long as the clock was ahead.
const isDue = `due_at > 0 AND (due_at <= $1 OR (attempts = 0 AND due_at > $2))`

// claim takes up to a batch of the events whose delivery is due, oldest
// first, in one statement: it moves their due_at to the lease deadline
// and returns them. An event that another worker holds has due_at beyond
// now, so it is left out, and the outer condition repeats the inner one,
// so an event a concurrent claim took first (PostgreSQL re-reads a row it
// waited for) is left out too: each event goes to one worker. The attempt
// count comes back with the claim, so it is fresh. The statement is its
// own transaction (db.WriteAll): on PostgreSQL one round trip.
func (w *Worker) claim(ctx context.Context, now time.Time, leaseUntil, ahead int64) ([]Due, error) {
	return db.WriteAll(ctx, w.DB, func(r db.Scanner) (d Due, err error) {
		err = r.Scan(&d.Kind, &d.ID, &d.MchID, &d.NotifyURL, &d.Attempts)
		return d, err
	}, `UPDATE notify_outbox SET due_at = $3
		WHERE `+isDue+` AND ref IN (SELECT ref FROM notify_outbox WHERE `+isDue+` ORDER BY due_at LIMIT $4)
		RETURNING kind, ref, mchid, notify_url, attempts`, db.Micros(now), ahead, leaseUntil, w.batch())
}

// outcome is one delivery attempt's result.
type outcome struct {
	eventType string
	at        time.Time
	status    int
	latency   time.Duration
	ok        bool
	err       string // as the merchant's delivery log shows it
	logged    string // as fenfu's log shows it: err without the notify_url's query
}

// attempt delivers one claimed event once: ev as rendered (or the error
// rendering it met), to the merchant as read at the round's start.
func (w *Worker) attempt(ctx context.Context, d Due, ev Event, err error, m fresh) outcome {
	if err != nil {
		w.Log.Error("notify", "event", d.EventID(), "error", err)
		msg := "fenfu could not render the event: " + err.Error()
		return outcome{at: w.Clock.Now(), err: msg, logged: msg}
	}
	start := time.Now()
	var o outcome
	var derr error
	if m.err != nil {
		derr = m.err
	} else if ev.V2 != nil {
		o.status, o.ok, derr = w.deliverV2(ctx, d, ev, m.m)
		if derr == nil && !o.ok {
			o.err = fmt.Sprintf("merchant answered HTTP %d without <return_code>SUCCESS</return_code>", o.status)
		}
	} else {
		o.status, derr = w.deliver(ctx, d, ev, m.m)
		o.ok = derr == nil && (o.status == http.StatusOK || o.status == http.StatusNoContent)
		if derr == nil && !o.ok {
			o.err = fmt.Sprintf("merchant answered HTTP %d; only 200 or 204 acknowledge", o.status)
		}
	}
	o.latency = time.Since(start)
	o.logged = o.err
	if derr != nil {
		o.err, o.logged = ForMerchant(derr), redact(derr)
	}
	o.eventType, o.at = ev.EventType, w.Clock.Now()
	return o
}

// record logs a round's attempts and schedules each event's next attempt,
// or marks it delivered or given up, at once: on PostgreSQL in one
// statement, on SQLite in one transaction. A row whose lease another
// worker has since taken over (due_at moved) is left alone; its attempt
// is logged all the same. Once recorded, each failed attempt is logged at
// warn, with when the next is due, and each event given up at error. If
// the round's outcomes are lost (the process dies first), the rows keep
// their lease and are attempted again when it runs out.
func (w *Worker) record(ctx context.Context, claimed []Due, outcomes []outcome, leaseUntil int64) error {
	sched := w.schedule()
	next := make([]int64, len(claimed))
	states := make([]State, len(claimed))
	for i, d := range claimed {
		attempts := d.Attempts + 1
		due, state := int64(0), Delivered
		if !outcomes[i].ok {
			if attempts > len(sched) {
				state = Failed
			} else {
				due, state = db.Micros(outcomes[i].at.Add(sched[attempts-1])), Pending
			}
		}
		if !events.Can(Pending, state) {
			return fmt.Errorf("notify: notify_outbox transition %s → %s is not in the state machine", Pending, state)
		}
		next[i], states[i] = due, state
	}
	var err error
	if w.DB.Engine == db.Postgres {
		err = w.recordPostgres(ctx, claimed, outcomes, states, next, leaseUntil)
	} else {
		err = w.DB.Update(ctx, func(tx *db.Tx) error {
			for i, d := range claimed {
				o := outcomes[i]
				attempts := d.Attempts + 1
				if _, err := tx.ExecContext(ctx, `INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at,
					http_status, latency_us, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
					d.EventID(), attempts, d.MchID, o.eventType, d.NotifyURL, db.Micros(o.at), o.status, o.latency.Microseconds(), o.err); err != nil {
					return err
				}
				q, args, err := events.SQL(db.Move[State]{From: []State{Pending}, To: states[i], Set: ", due_at = $1, attempts = $2",
					Where: "ref = $3 AND due_at = $4", Args: []any{next[i], attempts, d.ID, leaseUntil}})
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	for i, d := range claimed {
		w.report(d, outcomes[i], next[i])
	}
	return nil
}

// recordPostgres is record's one statement on PostgreSQL: the round's
// outcomes go as arrays, whatever their number, so its text is always the
// same (prepared once a connection); the attempts are logged by the
// statement's CTE and the events moved by its UPDATE, the two in one
// implicit transaction. It does what SQLite's loop does, row for row: the
// same notify_log rows (ON CONFLICT DO NOTHING), the same moves out of
// PENDING, each under the round's lease (the transitions checked against
// the state machine by record).
func (w *Worker) recordPostgres(ctx context.Context, claimed []Due, outcomes []outcome, states []State, next []int64, leaseUntil int64) error {
	n := len(claimed)
	var (
		eventIDs, refs, mchids, types, urls, errs, to = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attempts, ats, statuses, latencies = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	)
	for i, d := range claimed {
		o := outcomes[i]
		eventIDs[i], refs[i], mchids[i], types[i], urls[i], errs[i], to[i] = d.EventID(), d.ID, d.MchID, o.eventType, d.NotifyURL, o.err, string(states[i])
		attempts[i], ats[i], statuses[i], latencies[i] = int64(d.Attempts+1), db.Micros(o.at), int64(o.status), o.latency.Microseconds()
	}
	_, err := w.DB.Exec(ctx, `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
			$7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bigint[])
			AS v (event_id, ref, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error, state, due_at)),
		logged AS (INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error)
			SELECT event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error FROM v ON CONFLICT DO NOTHING)
		UPDATE notify_outbox o SET state = v.state, due_at = v.due_at, attempts = v.attempt FROM v
		WHERE o.ref = v.ref AND o.state = $13 AND o.due_at = $14`,
		eventIDs, refs, attempts, mchids, types, urls, ats, statuses, latencies, errs, to, next, string(Pending), leaseUntil)
	return err
}

// report logs and counts one recorded attempt: nothing is logged of a
// delivery, a failed attempt is logged at warn with when the next is due,
// and one that ends the schedule at error. The log names the merchant,
// the event, the attempt and the error, never the body, and the error
// without the notify_url's query, which may carry the merchant's token.
func (w *Worker) report(d Due, o outcome, next int64) {
	result := "delivered"
	switch {
	case o.ok:
	case next > 0:
		result = "retry"
		w.Log.Warn("notification delivery failed; it is retried", "mchid", d.MchID, "event_id", d.EventID(), "event_type", o.eventType,
			"attempt", d.Attempts+1, "http_status", o.status, "next_attempt_at", db.Time(next).UTC().Format(time.RFC3339), "error", o.logged)
	default:
		result = "given_up"
		w.Log.Error("notification given up: its retry schedule ran out; the merchant may resend it", "mchid", d.MchID, "event_id", d.EventID(),
			"event_type", o.eventType, "attempt", d.Attempts+1, "http_status", o.status, "error", o.logged)
	}
	if w.Metrics != nil {
		w.Metrics.Add("fenfu_notify_attempts_total", 1, "result", result)
	}
}

// redact is a delivery error as fenfu's log shows it: a request's error
// names the notify_url without its query or user, which may carry the
// merchant's secrets.
func redact(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return ue.Op + " (notify_url unparsable): " + ue.Err.Error()
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return ue.Op + " " + u.String() + ": " + ue.Err.Error()
}

// Backlog is the notifications waiting to be delivered.
type Backlog struct {
	Pending int   // pending events: due, being attempted, or waiting to be retried
	Oldest  int64 // when the longest-pending one became pending, in microseconds; 0 when none is
}

// PendingBacklog reads the backlog in one statement over the index of the
// pending events (notify_outbox_pending), for /metrics.
func PendingBacklog(ctx context.Context, d *db.DB) (Backlog, error) {
	return backlogOf(ctx, d, "")
}

// backlogOf is PendingBacklog, of mchid alone if set.
func backlogOf(ctx context.Context, d *db.DB, mchid string) (Backlog, error) {
	q, args := `SELECT COUNT(*), COALESCE(MIN(pending_since), 0) FROM notify_outbox WHERE due_at > 0`, []any{}
	if mchid != "" {
		q, args = q+` AND mchid = $1`, append(args, mchid)
	}
	var b Backlog
	err := d.QueryRowContext(ctx, q, args...).Scan(&b.Pending, &b.Oldest)
	return b, err
}

// envelope is the body of a v3 notification.
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     Resource `json:"resource"`
}

// body builds the notification body for a merchant as the round read it:
// the resource encrypted with its API v3 key (SM4-GCM for SM2 merchants),
// returned with the scheme to sign it with.
func (w *Worker) body(m merchant.Merchant, d Due, ev Event) ([]byte, scheme.Name, error) {
	alg := AES256GCM
	if m.Scheme == scheme.SM2 {
		alg = SM4GCM
	}
	res, err := Encrypt(alg, m.APIv3Key, w.IDs.Nonce(12), ev.OriginalType, ev.OriginalType, ev.Plaintext)
	if err != nil {
		return nil, "", err
	}
	body, err := json.Marshal(envelope{ID: d.EventID(), CreateTime: ev.CreateTime.In(fenfu.Shanghai).Format(time.RFC3339),
		ResourceType: "encrypt-resource", EventType: ev.EventType, Summary: ev.Summary, Resource: res})
	return body, m.Scheme, err
}

// DeliveryTimeout bounds one attempt.
const DeliveryTimeout = 5 * time.Second

func (w *Worker) deliver(ctx context.Context, d Due, ev Event, m merchant.Merchant) (int, error) {
	body, sch, err := w.body(m, d, ev)
	if err != nil {
		return 0, err
	}
	pk := w.Keys.Platform(sch)
	signAt := w.Clock
	if w.SignClock != nil {
		signAt = w.SignClock
	}
	ts := signAt.Now().Unix()
	nonce := w.IDs.Nonce(32)
	msg := scheme.ResponseMessage(ts, nonce, body)
	sig, err := scheme.Sign(pk.Key, msg)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("notify_url %q: %w", d.NotifyURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Request-ID", w.IDs.New(fenfu.RequestID, w.Clock.Now()))
	req.Header.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Wechatpay-Nonce", nonce)
	req.Header.Set("Wechatpay-Serial", pk.ID)
	req.Header.Set("Wechatpay-Signature", encodeSig(sig))
	req.Header.Set("Wechatpay-Signature-Type", string(pk.Scheme))
	hc := w.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
