package notify

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
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
	State       string    `json:"state"` // PENDING, DELIVERED, FAILED
	NotifyURL   string    `json:"notify_url"`
	Attempts    []Attempt `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt_at,omitzero"`
}

// kindOf finds which table an event's row is in.
func kindOf(ctx context.Context, d *db.DB, mchid, id string) (Kind, error) {
	for _, k := range []Kind{Transaction, Refund} {
		var one int
		err := d.QueryRowContext(ctx, `SELECT 1 FROM `+tables[k]+` WHERE id = $1 AND mchid = $2 AND notify_state <> ''`, id, mchid).Scan(&one)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fenfu.Internal(err)
		}
	}
	return "", fenfu.Errorf(fenfu.ResourceNotExists, "no notification %s for this merchant", "EV-"+id)
}

// Lookup returns a merchant's event with its delivery log.
func Lookup(ctx context.Context, d *db.DB, mchid, eventID string) (Status, error) {
	id, ok := strings.CutPrefix(eventID, "EV-")
	if !ok {
		return Status{}, fenfu.FieldError("event_id", "event ids look like EV-…")
	}
	k, err := kindOf(ctx, d, mchid, id)
	if err != nil {
		return Status{}, err
	}
	s := Status{EventID: eventID, Attempts: []Attempt{}}
	var next int64
	if err := d.QueryRowContext(ctx, `SELECT notify_state, notify_url, notify_at FROM `+tables[k]+` WHERE id = $1`, id).
		Scan(&s.State, &s.NotifyURL, &next); err != nil {
		return s, fenfu.Internal(err)
	}
	if s.State == Pending && next > 0 {
		s.NextAttempt = db.Time(next)
	}
	s.EventType = "TRANSACTION.SUCCESS"
	if k == Refund {
		s.EventType = "REFUND.SUCCESS"
	}
	rows, err := d.QueryContext(ctx, `SELECT attempt, at, http_status, latency_us, error FROM notify_log
		WHERE event_id = $1 ORDER BY attempt`, eventID)
	if err != nil {
		return s, fenfu.Internal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attempt
		var at, lat int64
		if err := rows.Scan(&a.Attempt, &at, &a.HTTPStatus, &lat, &a.Error); err != nil {
			return s, fenfu.Internal(err)
		}
		a.At, a.LatencyMS = db.Time(at), float64(lat)/1000
		s.Attempts = append(s.Attempts, a)
	}
	return s, rows.Err()
}

// Resend makes a merchant's event due again now, whatever its state. It is
// one more attempt: if it fails, the retry schedule goes on from where the
// event was, so a resend of a given-up event is given up again at once.
func Resend(ctx context.Context, d *db.DB, clock fenfu.Clock, mchid, eventID string) error {
	id, ok := strings.CutPrefix(eventID, "EV-")
	if !ok {
		return fenfu.FieldError("event_id", "event ids look like EV-…")
	}
	k, err := kindOf(ctx, d, mchid, id)
	if err != nil {
		return err
	}
	_, err = d.Exec(ctx, `UPDATE `+tables[k]+` SET notify_at = $1, notify_state = $2 WHERE id = $3 AND mchid = $4`,
		db.Micros(clock.Now()), Pending, id, mchid)
	if err != nil {
		return fenfu.Internal(err)
	}
	return nil
}
