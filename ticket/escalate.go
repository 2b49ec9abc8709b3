package ticket

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Escalation levels: a ticket unanswered at its due time is raised to
// level 1, and at twice its SLA to level 2, the last.
const (
	Level1   = 1
	Level2   = 2
	maxLevel = Level2
)

// Alert states: waiting to be delivered (or being delivered by the node
// whose claim runs to next_at), delivered, written to the log for want of
// an on-duty URL, given up on after MaxAlertClaims deliveries failed, or
// dropped undelivered because its ticket was no longer open when its
// delivery came.
const (
	alertPending = "PENDING"
	alertSent    = "SENT"
	alertLogged  = "LOGGED"
	alertFailed  = "FAILED"
	alertDropped = "DROPPED"
)

// alertResults are the alert states' names in history events and in
// fenfu_ticket_alerts_total{result}; "retry" counts a failed delivery
// left pending.
var alertResults = map[string]string{alertSent: "sent", alertLogged: "logged", alertFailed: "failed", alertDropped: "dropped",
	alertPending: "retry"}

// How alerts are retried: a delivery posts up to Alerter.Tries times; a
// delivery that failed is tried again AlertRetry later, MaxAlertClaims
// deliveries in all; a node's claim on an alert it delivers lasts
// alertClaim.
const (
	AlertRetry     = time.Minute
	MaxAlertClaims = 5
	alertClaim     = 2 * time.Minute
)

// raise writes an on-duty alert of a ticket's level in tx, to be
// delivered once tx commits.
func raise(ctx context.Context, tx *db.Tx, ticketID string, level int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_alerts (id, ticket_id, level, state, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (id) DO NOTHING`, ticketID+"#"+strconv.Itoa(level), ticketID, level, alertPending, db.Micros(tx.Now))
	return err
}

// Opened carries out what opening ticket t raised once its transaction
// has committed: it counts the ticket and delivers the on-duty alert of a
// lane that alerts on open. What fails is left to the next run.
func (s *Service) Opened(ctx context.Context, t Ticket) {
	s.count("fenfu_tickets_opened_total", "type", string(t.Type))
	deliver := func(ctx context.Context) {
		if _, err := s.deliverAll(ctx, t.ID); err != nil && ctx.Err() == nil {
			s.log().Error("ticket: on-duty alert left to the next run", "ticket_id", t.ID, "error", err)
		}
	}
	if s.Go != nil {
		s.Go(deliver)
		return
	}
	deliver(ctx)
}

// Escalate raises every ticket that no staff member has answered by its
// due time to level 1, and at twice its SLA to level 2: each escalation
// is an event of the ticket's history, an on-duty alert (delivered by
// Deliver) and a count of fenfu_ticket_escalations_total. It returns how
// many it made. Any number of nodes may run it at once: each level of a
// ticket is reached once.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	// The condition matches the partial index tickets_escalate.
	ids, err := s.DB.Strings(ctx, `SELECT id FROM tickets WHERE escalate_at > 0 AND escalate_at <= $1 ORDER BY escalate_at LIMIT 500`,
		db.Micros(now))
	if err != nil {
		return 0, fenfu.Internal("ticket.Escalate", err)
	}
	n := 0
	for _, id := range ids {
		var typ Type
		level := 0
		err := s.DB.Update(ctx, func(tx *db.Tx) error {
			level = 0
			var status Status
			var created, sla, at int64
			var was int
			if err := tx.QueryRowContext(ctx, `SELECT type, status, created_at, sla_us, escalation, escalate_at FROM tickets WHERE id = $1`, id).
				Scan(&typ, &status, &created, &sla, &was, &at); err != nil {
				return err
			}
			now := db.Micros(tx.Now)
			if status != Open || at == 0 || at > now || was >= maxLevel {
				return nil // answered, or escalated by another node, meanwhile
			}
			second := created + 2*sla
			to, next := Level1, second
			if was >= Level1 || now >= second {
				to, next = Level2, 0
			}
			res, err := tx.ExecContext(ctx, `UPDATE tickets SET escalation = $1, escalated_at = $2, escalate_at = $3
				WHERE id = $4 AND escalation = $5 AND escalate_at = $6 AND status = $7`, to, now, next, id, was, at, string(Open))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return nil
			}
			level = to
			missed := time.Duration(sla) * time.Microsecond
			if to == Level2 {
				missed *= 2
			}
			if _, err := s.record(ctx, tx, id, Platform, EventEscalated,
				fmt.Sprintf("No staff answer within %s: escalated to level %d.", missed, to), map[string]int{"level": to}, nil); err != nil {
				return err
			}
			return raise(ctx, tx, id, to)
		})
		if err != nil {
			return n, fenfu.Op("ticket.Escalate", err)
		}
		if level > 0 {
			n++
			s.count("fenfu_ticket_escalations_total", "type", string(typ), "level", strconv.Itoa(level))
			s.log().Warn("ticket escalated: no staff answer within its SLA", "ticket_id", id, "type", typ, "level", level)
		}
	}
	return n, nil
}

// Deliver delivers the on-duty alerts due, and returns how many it
// delivered or logged.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	return s.deliverAll(ctx, "")
}

// deliverAll delivers the due alerts of one ticket, or of all ("").
func (s *Service) deliverAll(ctx context.Context, ticketID string) (int, error) {
	q, args := `SELECT id FROM ticket_alerts WHERE state = 'PENDING' AND next_at <= $1 ORDER BY next_at LIMIT 100`, []any{db.Micros(s.Clock.Now())}
	if ticketID != "" {
		q, args = `SELECT id FROM ticket_alerts WHERE state = 'PENDING' AND next_at <= $1 AND ticket_id = $2`, append(args, ticketID)
	}
	ids, err := s.DB.Strings(ctx, q, args...)
	if err != nil {
		return 0, fenfu.Internal("ticket.Deliver", err)
	}
	n := 0
	var errs []error
	for _, id := range ids {
		ok, err := s.deliver(ctx, id)
		if ok {
			n++
		}
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// deliver claims an alert and delivers it while it still stands, its
// ticket still open; it reports whether the alert reached the on-duty URL
// or the log. An alert of a ticket staff have answered, resolved or
// closed since it was raised is dropped. A failed delivery leaves the
// alert to be tried again AlertRetry later, until MaxAlertClaims
// deliveries have failed.
func (s *Service) deliver(ctx context.Context, id string) (bool, error) {
	now := s.Clock.Now()
	res, err := s.DB.Exec(ctx, `UPDATE ticket_alerts SET attempts = attempts + 1, next_at = $1 WHERE id = $2 AND state = 'PENDING' AND next_at <= $3`,
		db.Micros(now.Add(alertClaim)), id, db.Micros(now))
	if err != nil {
		return false, fenfu.Internal("ticket.deliver", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil // another node has it, or it is done
	}
	var al Alert
	var attempts int
	var due int64
	var status Status
	err = s.DB.QueryRowContext(ctx, `SELECT a.ticket_id, a.level, a.attempts, t.type, t.due_at, t.status FROM ticket_alerts a
		JOIN tickets t ON t.id = a.ticket_id WHERE a.id = $1`, id).Scan(&al.TicketID, &al.Level, &attempts, &al.Lane, &due, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fenfu.Internal("ticket.deliver", err)
	}
	al.Event, al.Due, al.At = "TICKET.ESCALATED", db.Time(due), now
	if al.Level == 0 {
		al.Event = "TICKET.OPENED"
	}
	if s.Link != nil {
		al.Link = s.Link(al.TicketID)
	}
	state, sendErr := alertSent, error(nil)
	if status != Open {
		state = alertDropped
		s.log().Info("on-duty alert dropped: the ticket is no longer open", "event", al.Event, "ticket_id", al.TicketID,
			"level", al.Level, "status", status)
	} else if s.Alerts == nil || s.Alerts.URL == "" {
		state = alertLogged
		s.log().Error("on-duty alert: no --on-duty-url is set, so the log carries it", "event", al.Event, "ticket_id", al.TicketID,
			"lane", al.Lane, "level", al.Level, "due", al.Due, "link", al.Link)
	} else if sendErr = s.Alerts.Send(ctx, al); sendErr != nil {
		state = alertPending
		if attempts >= MaxAlertClaims {
			state = alertFailed
		}
		s.log().Error("on-duty alert not delivered", "event", al.Event, "ticket_id", al.TicketID, "lane", al.Lane, "level", al.Level,
			"attempt", attempts, "given_up", state == alertFailed, "error", sendErr)
	}
	last := ""
	if sendErr != nil {
		last = sendErr.Error()
		if len(last) > 500 {
			last = last[:500]
		}
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		next, sent := db.Micros(tx.Now.Add(AlertRetry)), int64(0)
		if state != alertPending {
			next, sent = 0, db.Micros(tx.Now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_alerts SET state = $1, next_at = $2, sent_at = $3, last_error = $4
			WHERE id = $5 AND state = 'PENDING'`, state, next, sent, last, id); err != nil {
			return err
		}
		if state == alertPending {
			return nil
		}
		_, err := s.record(ctx, tx, al.TicketID, Platform, EventAlerted, "", map[string]any{"level": al.Level, "result": alertResults[state],
			"attempts": attempts}, nil)
		return err
	})
	if err != nil {
		return false, fenfu.Internal("ticket.deliver", err)
	}
	s.count("fenfu_ticket_alerts_total", "result", alertResults[state])
	return state == alertSent || state == alertLogged, nil
}

// Run escalates the tickets past their SLA and delivers the alerts due:
// serve's periodic job, and the sandbox clock's at each midnight.
func (s *Service) Run(ctx context.Context) (escalated, delivered int, err error) {
	escalated, err = s.Escalate(ctx)
	d, derr := s.Deliver(ctx)
	return escalated, d, errors.Join(err, derr)
}

// Alert is what an on-duty alert says: the ticket, its lane, the
// escalation level (0 for a ticket that alerts as it opens), its due
// time, when the alert was raised, and where staff open the ticket.
type Alert struct {
	Event    string    `json:"event"` // TICKET.OPENED or TICKET.ESCALATED
	TicketID string    `json:"ticket_id"`
	Lane     Type      `json:"lane"`
	Level    int       `json:"level"`
	Due      time.Time `json:"due"`
	At       time.Time `json:"at"`
	Link     string    `json:"link,omitempty"`
}

// DefaultTries and DefaultBackoff are how an Alerter retries by default.
const (
	DefaultTries   = 3
	DefaultBackoff = time.Second
	// AlertTimeout bounds one post of an alert.
	AlertTimeout = 5 * time.Second
)

// Alerter posts on-duty alerts as JSON to the on-duty staff's URL
// (--on-duty-url: a paging service's or chat bot's webhook), which
// acknowledges one with any 2xx answer.
type Alerter struct {
	URL string
	// HTTP posts the alerts; nil is a client with AlertTimeout.
	HTTP *http.Client
	// Tries is how many times one delivery posts before it fails
	// (DefaultTries if zero); Backoff the pause before the second try,
	// doubled before each one after (DefaultBackoff if zero).
	Tries   int
	Backoff time.Duration
}

// Send posts the alert, trying again after a failure as the Alerter
// says; it returns the last failure.
func (a *Alerter) Send(ctx context.Context, al Alert) error {
	body, err := json.Marshal(al)
	if err != nil {
		return err
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: AlertTimeout}
	}
	tries, pause := a.Tries, a.Backoff
	if tries <= 0 {
		tries = DefaultTries
	}
	if pause <= 0 {
		pause = DefaultBackoff
	}
	for i := 0; ; i++ {
		err = post(ctx, hc, a.URL, body)
		if err == nil || i+1 >= tries {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause << i):
		}
	}
}

func post(ctx context.Context, hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the on-duty URL answered %s", resp.Status)
	}
	return nil
}
