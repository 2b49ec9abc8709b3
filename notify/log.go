package notify

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

func encodeSig(sig []byte) string { return base64.StdEncoding.EncodeToString(sig) }

// Attempt is one logged delivery attempt.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"time"`
	HTTPStatus int       `json:"http_status"`
	LatencyMS  float64   `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
}

// Status is an event's delivery state and history.
type Status struct {
	EventID     string    `json:"event_id"`
	EventType   string    `json:"event_type"`
	State       State     `json:"state"` // PENDING, DELIVERED, FAILED
	NotifyURL   string    `json:"notify_url"`
	Attempts    []Attempt `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt_at,omitzero"`
}

// find returns a merchant's event from the outbox, with its state, its
// notify_url and when it is next due.
func find(ctx context.Context, d *db.DB, mchid, eventID string) (Subject, State, int64, error) {
	id, ok := strings.CutPrefix(eventID, "EV-")
	if !ok {
		return Subject{}, "", 0, fenfu.FieldError("event_id", "event ids look like EV-…")
	}
	s := Subject{ID: id, MchID: mchid}
	var state State
	var due int64
	err := d.QueryRowContext(ctx, `SELECT kind, notify_url, state, due_at FROM notify_outbox WHERE ref = $1 AND mchid = $2`,
		id, mchid).Scan(&s.Kind, &s.NotifyURL, &state, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return s, "", 0, fenfu.Errorf(fenfu.ResourceNotExists, "no notification %s for this merchant", eventID)
	}
	if err != nil {
		return s, "", 0, fenfu.Internal("notify.find", err)
	}
	return s, state, due, nil
}

// Events answers merchants' and the sandbox's questions about delivered
// events, and resends them.
type Events struct {
	DB    *db.DB // the core store
	Clock fenfu.Clock
}

// Lookup returns a merchant's event with its delivery log.
func (e *Events) Lookup(ctx context.Context, mchid, eventID string) (Status, error) {
	d := e.DB
	sub, state, next, err := find(ctx, d, mchid, eventID)
	if err != nil {
		return Status{}, err
	}
	s := Status{EventID: eventID, State: state, NotifyURL: sub.NotifyURL, Attempts: []Attempt{}}
	if s.State == Pending && next > 0 {
		s.NextAttempt = db.Time(next)
	}
	switch sub.Kind {
	case Refund:
		s.EventType = "REFUND.SUCCESS"
	case PayScore:
		s.EventType = "PAYSCORE." + sub.ID[strings.LastIndexByte(sub.ID, '-')+1:]
	case Complaint:
		// COMPLAINT.CREATE or .STATE_CHANGE, as the first attempt below
		// rendered it.
		s.EventType = "COMPLAINT"
	default:
		s.EventType = "TRANSACTION.SUCCESS"
	}
	rows, err := d.QueryContext(ctx, `SELECT attempt, at, http_status, latency_us, error, event_type FROM notify_log
		WHERE event_id = $1 ORDER BY attempt`, eventID)
	if err != nil {
		return s, fenfu.Internal("notify.Lookup", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attempt
		var at, lat int64
		var et string
		if err := rows.Scan(&a.Attempt, &at, &a.HTTPStatus, &lat, &a.Error, &et); err != nil {
			return s, fenfu.Internal("notify.Lookup", err)
		}
		if sub.Kind == Complaint && len(s.Attempts) == 0 && et != "" {
			s.EventType = et
		}
		a.At, a.LatencyMS = db.Time(at), float64(lat)/1000
		s.Attempts = append(s.Attempts, a)
	}
	return s, rows.Err()
}

// Resend makes a merchant's event due again now, whatever its state. It is
// one more attempt: if it fails, the retry schedule goes on from where the
// event was, so a resend of a given-up event is given up again at once.
// An event delivered or given up is pending again from now; one still
// pending stays pending since when it was.
func (e *Events) Resend(ctx context.Context, mchid, eventID string) error {
	d, clock := e.DB, e.Clock
	sub, _, _, err := find(ctx, d, mchid, eventID)
	if err != nil {
		return err
	}
	q, args, err := events.SQL(db.Move[State]{From: []State{Pending, Delivered, Failed}, To: Pending,
		Set:   ", due_at = $1, pending_since = CASE WHEN state = '" + string(Pending) + "' THEN pending_since ELSE $1 END",
		Where: "ref = $2", Args: []any{db.Micros(clock.Now()), sub.ID}})
	if err != nil {
		return fenfu.Internal("notify.Resend", err)
	}
	if _, err = d.Exec(ctx, q, args...); err != nil {
		return fenfu.Internal("notify.Resend", err)
	}
	d.Bell(OutboxBell).Ring()
	return nil
}

// FirstRetriedDelivery finds the merchant's first event that its endpoint
// acknowledged after refusing or missing an earlier attempt, and when; ok
// is false if there is none.
func (e *Events) FirstRetriedDelivery(ctx context.Context, mchid string) (eventID string, at time.Time, ok bool, err error) {
	var us int64
	err = e.DB.QueryRowContext(ctx, `SELECT ok.event_id, ok.at FROM notify_log ok WHERE ok.mchid = $1 AND ok.error = ''
		AND EXISTS (SELECT 1 FROM notify_log bad WHERE bad.event_id = ok.event_id AND bad.attempt < ok.attempt AND bad.error <> '')
		ORDER BY ok.at LIMIT 1`, mchid).Scan(&eventID, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fenfu.Internal("notify.FirstRetriedDelivery", err)
	}
	return eventID, db.Time(us), true, nil
}

// Recent is what a merchant's latest delivery attempts say.
type Recent struct {
	Attempts int // attempts read: of the window, at most the limit asked
	Failures int // of them, the attempts that failed
	// Last is the newest attempt, LastFailure the newest that failed,
	// each with its event; zero if none.
	Last, LastFailure Attempt
	LastEvent         string
	LastFailedEvent   string
}

// Recent reads a merchant's newest delivery attempts made since since, at
// most limit of them.
func (e *Events) Recent(ctx context.Context, mchid string, since time.Time, limit int) (Recent, error) {
	rows, err := e.DB.QueryContext(ctx, `SELECT event_id, attempt, at, http_status, latency_us, error FROM notify_log
		WHERE mchid = $1 AND at >= $2 ORDER BY at DESC, attempt DESC LIMIT $3`, mchid, db.Micros(since), limit)
	if err != nil {
		return Recent{}, fenfu.Internal("notify.Recent", err)
	}
	defer rows.Close()
	var r Recent
	for rows.Next() {
		var a Attempt
		var ev string
		var at, lat int64
		if err := rows.Scan(&ev, &a.Attempt, &at, &a.HTTPStatus, &lat, &a.Error); err != nil {
			return Recent{}, fenfu.Internal("notify.Recent", err)
		}
		a.At, a.LatencyMS = db.Time(at), float64(lat)/1000
		if r.Attempts == 0 {
			r.Last, r.LastEvent = a, ev
		}
		r.Attempts++
		if a.Error != "" {
			if r.Failures == 0 {
				r.LastFailure, r.LastFailedEvent = a, ev
			}
			r.Failures++
		}
	}
	if err := rows.Err(); err != nil {
		return Recent{}, fenfu.Internal("notify.Recent", err)
	}
	return r, nil
}

// LastURL is the notify URL of a merchant's newest delivery attempt, or
// "" if it has none.
func (e *Events) LastURL(ctx context.Context, mchid string) (string, error) {
	var u string
	err := e.DB.QueryRowContext(ctx, `SELECT notify_url FROM notify_log WHERE mchid = $1 ORDER BY at DESC LIMIT 1`, mchid).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fenfu.Internal("notify.LastURL", err)
	}
	return u, nil
}

// LogEntry is one delivery attempt of a merchant's event, with the
// event's delivery state now.
type LogEntry struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	NotifyURL string `json:"notify_url"`
	Attempt
	State State `json:"state"` // the event's, now: PENDING, DELIVERED or FAILED
}

// LogFilter selects a merchant's delivery attempts, newest first; empty
// fields select all.
type LogFilter struct {
	MchID    string // required
	EventID  string
	Failed   bool      // only attempts the endpoint refused or missed
	From, To time.Time // attempted in [From, To)
}

// Page sizes of Log.
const (
	DefaultLogPage = 50
	MaxLogPage     = 500
)

// Log returns the page p of a merchant's delivery log f selects: each
// attempt, newest first, with its HTTP status, latency and error, and its
// event's state now; and the cursor of the next page ("" after the
// last). The page is a range of the index of the merchant's attempts by
// time.
func (e *Events) Log(ctx context.Context, f LogFilter, p fenfu.Keyset) ([]LogEntry, string, error) {
	if f.MchID == "" {
		return nil, "", fenfu.Errorf(fenfu.ParamError, "a delivery log needs its merchant")
	}
	key, err := p.Key(3)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"mchid = $1"}, []any{f.MchID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.EventID != "" {
		add("event_id = $?", f.EventID)
	}
	if f.Failed {
		where = append(where, "error <> ''")
	}
	if !f.From.IsZero() {
		add("at >= $?", db.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < $?", db.Micros(f.To))
	}
	if key != nil {
		at, err := p.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		attempt, err := p.Int(key[2])
		if err != nil {
			return nil, "", err
		}
		// The bound on the index's time, then the attempt after the
		// cursor's: a range of the index however deep the page (see
		// fenfu.Keyset).
		add("at <= $?", at)
		n := len(args)
		args = append(args, key[1], attempt)
		where = append(where, fmt.Sprintf("(at, event_id, attempt) < ($%d, $%d, $%d)", n, n+1, n+2))
	}
	limit := p.Size(DefaultLogPage, MaxLogPage)
	rows, err := e.DB.QueryContext(ctx, `SELECT event_id, attempt, event_type, notify_url, at, http_status, latency_us, error FROM notify_log
		WHERE `+strings.Join(where, " AND ")+` ORDER BY at DESC, event_id DESC, attempt DESC LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, "", fenfu.Internal("notify.Log", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (l LogEntry, err error) {
		var at, lat int64
		err = r.Scan(&l.EventID, &l.Attempt.Attempt, &l.EventType, &l.NotifyURL, &at, &l.HTTPStatus, &lat, &l.Error)
		l.At, l.LatencyMS = db.Time(at), float64(lat)/1000
		return l, err
	})
	if err != nil {
		return nil, "", fenfu.Internal("notify.Log", err)
	}
	out, next := fenfu.NextPage(out, limit, func(l LogEntry) []string {
		return []string{strconv.FormatInt(db.Micros(l.At), 10), l.EventID, strconv.Itoa(l.Attempt.Attempt)}
	})
	if len(out) == 0 {
		return out, next, nil
	}
	refs := make([]string, len(out))
	for i, l := range out {
		refs[i] = strings.TrimPrefix(l.EventID, "EV-")
	}
	ph, refArgs := db.In(slices.Compact(slices.Sorted(slices.Values(refs))), 1)
	srows, err := e.DB.QueryContext(ctx, `SELECT ref, state FROM notify_outbox WHERE mchid = $1 AND ref IN (`+ph+`)`,
		append([]any{f.MchID}, refArgs...)...)
	if err != nil {
		return nil, "", fenfu.Internal("notify.Log", err)
	}
	defer srows.Close()
	states := map[string]State{}
	for srows.Next() {
		var ref string
		var st State
		if err := srows.Scan(&ref, &st); err != nil {
			return nil, "", fenfu.Internal("notify.Log", err)
		}
		states["EV-"+ref] = st
	}
	if err := srows.Err(); err != nil {
		return nil, "", fenfu.Internal("notify.Log", err)
	}
	for i := range out {
		out[i].State = states[out[i].EventID]
	}
	return out, next, nil
}
