// Package ticket owns support tickets (工单, SPEC §8): a merchant or a
// consumer opens a ticket of a type, and the type's SLA lane says how soon
// platform staff must first answer it. Staff assign, answer, resolve and
// close tickets; the merchant or consumer who opened one follows it and
// answers back. An escalation run raises each ticket left unanswered past
// its due time to level 1, and to level 2 at twice its SLA, records it in
// the ticket's history, counts it, and alerts the on-duty staff, as a
// ticket of a lane that alerts on open (payment failure) does the moment
// it opens. A settlement exception request (package settle) is a
// SETTLEMENT_DELAY ticket, filed in the request's own transaction.
//
// The lanes, the tickets, every event of their histories, their
// attachments (sealed), the on-duty alerts and the row each opener's
// openings lock live in the core store.
package ticket

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/seal"
)

// Type is what a ticket is about; each type has its SLA lane.
type Type string

// Ticket types, the seed's problem types and a general one.
const (
	InterfaceTimeout Type = "INTERFACE_TIMEOUT" // the merchant's calls time out
	PaymentFailure   Type = "PAYMENT_FAILURE"   // a consumer's payment fails
	SettlementDelay  Type = "SETTLEMENT_DELAY"  // a settlement is late, short or missing
	General          Type = "GENERAL"           // anything else
)

// Types lists the ticket types.
var Types = []Type{InterfaceTimeout, PaymentFailure, SettlementDelay, General}

// ParseType checks a ticket type's name.
func ParseType(s string) (Type, error) {
	if t := Type(s); slices.Contains(Types, t) {
		return t, nil
	}
	return "", fenfu.FieldError("type", "type must be INTERFACE_TIMEOUT, PAYMENT_FAILURE, SETTLEMENT_DELAY or GENERAL")
}

// Status is where a ticket stands.
type Status string

// Ticket statuses.
const (
	Open     Status = "OPEN"     // no staff member has answered yet: its SLA runs
	Answered Status = "ANSWERED" // staff have answered; the SLA is met
	Resolved Status = "RESOLVED" // staff resolved it; the opener may answer back, which reopens it
	Closed   Status = "CLOSED"   // ended, resolved or not; it takes nothing more
)

// Statuses lists the statuses.
var Statuses = []Status{Open, Answered, Resolved, Closed}

// ParseStatus checks a status's name.
func ParseStatus(s string) (Status, error) {
	if st := Status(s); slices.Contains(Statuses, st) {
		return st, nil
	}
	return "", fenfu.FieldError("status", "status must be OPEN, ANSWERED, RESOLVED or CLOSED")
}

// statuses is the ticket state machine.
var statuses = db.Machine[Status]{Table: "tickets", Column: "status", Allowed: map[Status][]Status{
	Open:     {Answered, Resolved, Closed},
	Answered: {Resolved, Closed},
	Resolved: {Answered, Closed},
}}

// Source is who opened a ticket.
type Source string

// Sources of tickets.
const (
	FromMerchant Source = "MERCHANT"
	FromConsumer Source = "CONSUMER"
)

// Actor is who acts on a ticket: a merchant, a consumer, a staff member or
// fenfu itself. It is recorded as merchant:MCHID, consumer:ID, staff:NAME
// or fenfu.
type Actor struct{ Kind, ID string }

// Actor kinds.
const (
	KindMerchant = "merchant"
	KindConsumer = "consumer"
	KindStaff    = "staff"
	KindFenfu    = "fenfu"
)

// Merchant is the merchant mchid acting.
func Merchant(mchid string) Actor { return Actor{KindMerchant, mchid} }

// Consumer is the consumer id acting.
func Consumer(id string) Actor { return Actor{KindConsumer, id} }

// Staff is the staff member name acting.
func Staff(name string) Actor { return Actor{KindStaff, name} }

// Platform is fenfu acting by itself: the escalation run, and callers
// that answer for the platform without a staff member's name.
var Platform = Actor{Kind: KindFenfu}

func (a Actor) String() string {
	if a.ID == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.ID
}

// platform reports whether a acts for the platform: staff or fenfu.
func (a Actor) platform() bool { return a.Kind == KindStaff || a.Kind == KindFenfu }

// Duration is a length of time, written in JSON as Go writes it ("30m0s").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Text is the duration as a page says it (catalog.Duration).
func (d Duration) Text() catalog.Text { return catalog.Duration(time.Duration(d)) }

// UnmarshalJSON reads a duration written as text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Limits of what people write and send, in characters and bytes.
const (
	MaxSubject     = 100      // a ticket's subject
	MaxText        = 1000     // a description, reply, resolution or reason
	MaxAttachment  = 40 << 10 // one attachment's bytes, as a settlement exception's
	MaxAttachments = 3        // attachments of one message
	MaxPerTicket   = 20       // attachments of one ticket
	MaxContactName = 32
	// A consumer may have MaxOpenConsumer tickets not yet resolved at once,
	// a merchant MaxOpenMerchant, so that no one opener can flood the
	// on-duty staff's alerts.
	MaxOpenConsumer = 5
	MaxOpenMerchant = 100
	DefaultLimit    = 20  // tickets in a page of a list when none is asked
	MaxLimit        = 100 // tickets in a page of a list
	// A ticket is read with the newest MaxHistory events of its history
	// and takes replies until it has MaxEvents events, so that no ticket
	// grows without end: a conversation longer than that goes on in a
	// new ticket naming it.
	MaxHistory      = 500
	MaxEvents       = 1000
	maxAttachedName = 128
)

// Ticket is a support ticket. History and Attachments are filled when one
// ticket is read (Get), not in lists.
type Ticket struct {
	ID              string    `json:"ticket_id"`
	Type            Type      `json:"type"`
	Status          Status    `json:"status"`
	Source          Source    `json:"source"`
	MchID           string    `json:"mchid,omitempty"`
	ConsumerID      string    `json:"consumer_id,omitempty"`
	Subject         string    `json:"subject"`
	Description     string    `json:"description"`
	OutTradeNo      string    `json:"out_trade_no,omitempty"`
	TransactionID   string    `json:"transaction_id,omitempty"`
	ContactName     string    `json:"contact_name,omitempty"`
	ContactPhone    string    `json:"contact_phone,omitempty"`
	SLA             Duration  `json:"sla"`
	CreatedAt       time.Time `json:"created_at"`
	DueAt           time.Time `json:"due_at"`
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	// Overdue is set while an open ticket is at or past its due time
	// with no answer from staff.
	Overdue     bool         `json:"overdue"`
	Escalation  int          `json:"escalation_level"`
	EscalatedAt time.Time    `json:"escalated_at,omitzero"`
	Assignee    string       `json:"assignee,omitempty"`
	Resolution  string       `json:"resolution,omitempty"`
	ResolvedAt  time.Time    `json:"resolved_at,omitzero"`
	ClosedAt    time.Time    `json:"closed_at,omitzero"`
	UpdatedAt   time.Time    `json:"updated_at"`
	History     []Event      `json:"history,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`

	// HistoryOmitted is how many earlier events of the history, as the
	// viewer sees it, are left out of History, which holds the newest
	// MaxHistory.
	HistoryOmitted int `json:"history_omitted,omitempty"`
}

// EventType is what happened to a ticket.
type EventType string

// Event types.
const (
	EventOpened    EventType = "OPENED"
	EventReplied   EventType = "REPLIED"
	EventAssigned  EventType = "ASSIGNED"
	EventEscalated EventType = "ESCALATED"
	EventAlerted   EventType = "ALERTED" // an on-duty alert delivered, given up on, or dropped
	EventResolved  EventType = "RESOLVED"
	EventReopened  EventType = "REOPENED"
	EventClosed    EventType = "CLOSED"
)

// EventTypes lists the event types.
var EventTypes = []EventType{EventOpened, EventReplied, EventAssigned, EventEscalated, EventAlerted, EventResolved, EventReopened, EventClosed}

// Event is one entry of a ticket's history: what happened, who did it and
// when.
type Event struct {
	Seq         int             `json:"seq"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	Type        EventType       `json:"type"`
	Body        string          `json:"body,omitempty"`
	Detail      json.RawMessage `json:"detail,omitempty"`
	Attachments []string        `json:"attachments,omitempty"` // the ids of the files sent with it
}

// Attachment is a file sent with a ticket or a reply. Content is filled
// only when the attachment itself is read (Service.Attachment).
type Attachment struct {
	ID          string    `json:"attachment_id"`
	Seq         int       `json:"seq"` // the event it came with
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
	Content     []byte    `json:"content,omitempty"`
}

// hiddenFromOpener are the events of a history that the merchant or
// consumer who opened the ticket does not see.
var hiddenFromOpener = []string{string(EventAssigned), string(EventAlerted)}

// For returns the ticket as viewer sees it. Staff see it whole; the
// merchant or consumer who opened it sees staff as the platform, never by
// name, and neither the assignment nor the on-duty alerts.
func (t Ticket) For(viewer Actor) Ticket {
	if viewer.platform() {
		return t
	}
	t.Assignee = ""
	if t.History != nil {
		h := make([]Event, 0, len(t.History))
		for _, e := range t.History {
			if slices.Contains(hiddenFromOpener, string(e.Type)) {
				continue
			}
			e.Actor = publicActor(e.Actor)
			if e.Type == EventEscalated {
				e.Detail = nil
			}
			h = append(h, e)
		}
		t.History = h
	}
	return t
}

// publicActor is how an actor is shown to merchants and consumers.
func publicActor(a string) string {
	kind, _, _ := strings.Cut(a, ":")
	switch kind {
	case KindMerchant, KindConsumer:
		return kind
	}
	return "platform"
}

// Service keeps tickets.
type Service struct {
	DB *db.DB // the core store
	// Orders, if set, resolves the orders tickets name; without it the
	// order a ticket names is taken as given.
	Orders *pay.Service
	// Staff, if set, checks that tickets are assigned to staff members
	// who exist and may log in.
	Staff *access.Service
	IDs   fenfu.IDs
	Clock fenfu.Clock
	Log   *slog.Logger
	// Sealer seals attachments and contacts at rest; nil stores them in
	// the clear, for tests only.
	Sealer *seal.Sealer
	// Metrics, if set, counts tickets opened, escalations and alerts.
	Metrics *metrics.Registry
	// Alerts delivers on-duty alerts; nil logs each at error level.
	Alerts *Alerter
	// Link, if set, returns the address staff open a ticket at, sent in
	// its on-duty alerts.
	Link func(id string) string
	// Go, if set, runs the delivery of the alerts an act raised after the
	// act's answer (serve's background work); nil delivers them before
	// the act returns.
	Go func(func(ctx context.Context))
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Service) ids() fenfu.IDs {
	if s.IDs == nil {
		return &fenfu.RandomIDs{}
	}
	return s.IDs
}

func (s *Service) count(name string, labels ...string) {
	if s.Metrics != nil {
		s.Metrics.Add(name, 1, labels...)
	}
}

// MetricsHelp describes the ticket metrics.
func MetricsHelp(m *metrics.Registry) {
	m.Help("fenfu_tickets_opened_total", "Support tickets opened through this node, by type.")
	m.Help("fenfu_ticket_escalations_total", "Tickets this node escalated for an SLA missed, by type and level.")
	m.Help("fenfu_ticket_alerts_total", "On-duty alerts this node delivered, logged (no --on-duty-url), gave up on, or dropped (the ticket answered or ended first), by result.")
	// The series the alert rules and the dashboard read exist from the
	// start, at 0, so an increase is seen from the first one.
	for _, t := range Types {
		m.Add("fenfu_tickets_opened_total", 0, "type", string(t))
		for _, level := range []string{"1", "2"} {
			m.Add("fenfu_ticket_escalations_total", 0, "type", string(t), "level", level)
		}
	}
	for _, result := range alertResults {
		m.Add("fenfu_ticket_alerts_total", 0, "result", result)
	}
}

// ValidID reports whether id can be a ticket's: 1 to 64 letters, digits
// and underscores.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return true
}

func notFound(id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return fenfu.Errorf(fenfu.ResourceNotExists, "no ticket %q", id)
}

// NewAttachment is a file sent with a ticket or a reply.
type NewAttachment struct {
	Name        string
	ContentType string
	Content     []byte
}

// New is a ticket as it is opened.
type New struct {
	// ID names the ticket; empty for a new id. A settlement exception
	// request's ticket has the request's id.
	ID          string
	Type        Type
	Subject     string // empty: the type's name
	Description string
	// The order the ticket is about, if any: a merchant names it by
	// out_trade_no or transaction_id, a consumer by transaction_id.
	OutTradeNo, TransactionID string
	// Whom staff may call back, if they should.
	ContactName, ContactPhone string
	Attachments               []NewAttachment
	// merchant is the merchant of the order a consumer's ticket names.
	merchant string
}

// Validate checks a ticket as opened, before any order is looked up.
func (n New) Validate() error {
	if _, err := ParseType(string(n.Type)); err != nil {
		return err
	}
	if n.ID != "" && !ValidID(n.ID) {
		return fenfu.FieldError("ticket_id", "a ticket id is 1 to 64 letters, digits and underscores")
	}
	if err := fenfu.Words("subject", n.Subject, MaxSubject, true); err != nil {
		return err
	}
	if strings.ContainsAny(n.Subject, "\r\n") {
		return fenfu.FieldError("subject", "subject is one line")
	}
	if err := fenfu.Words("description", n.Description, MaxText, false); err != nil {
		return err
	}
	if n.OutTradeNo != "" && !validOutTradeNo(n.OutTradeNo) {
		return fenfu.FieldError("out_trade_no", "out_trade_no is 6 to 32 letters, digits, _ - | *")
	}
	if n.TransactionID != "" && (len(n.TransactionID) > 32 || strings.Trim(n.TransactionID, "0123456789") != "") {
		return fenfu.FieldError("transaction_id", "transaction_id names a fenfu order: digits, at most 32")
	}
	if err := fenfu.Words("contact_name", n.ContactName, MaxContactName, true); err != nil {
		return err
	}
	if n.ContactPhone != "" && !validPhone(n.ContactPhone) {
		return fenfu.FieldError("contact_phone", "contact_phone is a phone number: 5 to 20 digits, an optional leading + and - or spaces between")
	}
	return checkAttachments(n.Attachments)
}

func validOutTradeNo(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("_-|*", r)) {
			return false
		}
	}
	return true
}

func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case (r == '-' || r == ' ') && i > 0:
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 20 && len(s) <= 24
}

// Open opens a ticket for a merchant or a consumer (by) and starts its SLA
// from its lane. A merchant's ticket may name one of its orders, a
// consumer's one it paid; any other order is ORDER_NOT_EXIST. A ticket of
// a lane that alerts on open alerts the on-duty staff at once.
func (s *Service) Open(ctx context.Context, by Actor, n New) (Ticket, error) {
	if by.Kind != KindMerchant && by.Kind != KindConsumer || by.ID == "" {
		return Ticket{}, fenfu.Errorf(fenfu.InvalidRequest, "a ticket is opened by a merchant or a consumer")
	}
	if err := n.Validate(); err != nil {
		return Ticket{}, err
	}
	if err := s.order(ctx, by, &n); err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := unresolved(ctx, tx, by); err != nil {
			return err
		}
		var err error
		t, err = s.File(ctx, tx, by, n)
		return err
	})
	if err != nil {
		return Ticket{}, fenfu.Op("ticket.Open", err)
	}
	s.Opened(ctx, t)
	return s.Get(ctx, by, t.ID)
}

// unresolved refuses a new ticket of an opener who has as many not yet
// resolved as it may. The opener's row in ticket_openers is the count's
// lock: on PostgreSQL the upsert locks it until tx ends, so openings of
// one opener on any number of nodes count and file one at a time and
// never pass the bound together.
func unresolved(ctx context.Context, tx *db.Tx, by Actor) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_openers (opener, opened_at) VALUES ($1, $2)
		ON CONFLICT (opener) DO UPDATE SET opened_at = EXCLUDED.opened_at`, by.String(), db.Micros(tx.Now)); err != nil {
		return err
	}
	q, most := `SELECT COUNT(*) FROM tickets WHERE consumer_id = $1 AND consumer_id <> '' AND status IN ('OPEN', 'ANSWERED')`, MaxOpenConsumer
	if by.Kind == KindMerchant {
		q, most = `SELECT COUNT(*) FROM tickets WHERE mchid = $1 AND source = 'MERCHANT' AND status IN ('OPEN', 'ANSWERED')`, MaxOpenMerchant
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, by.ID).Scan(&n); err != nil {
		return err
	}
	if n >= most {
		e := fenfu.Errorf(fenfu.FrequencyLimited, "you have %d tickets not yet resolved, as many as may be open at once", n)
		e.Remedy = "Follow your open tickets and answer them there; open another once one is resolved."
		return e
	}
	return nil
}

// order resolves the order a new ticket names, as its opener may see it.
func (s *Service) order(ctx context.Context, by Actor, n *New) error {
	if s.Orders == nil || n.OutTradeNo == "" && n.TransactionID == "" {
		return nil
	}
	var o pay.Order
	var err error
	switch {
	case by.Kind == KindConsumer && n.OutTradeNo != "":
		return fenfu.FieldError("out_trade_no", "name your order by its transaction_id")
	case by.Kind == KindConsumer:
		o, err = s.Orders.Get(ctx, n.TransactionID)
		if err == nil && o.ConsumerID != by.ID {
			err = fenfu.Errorf(fenfu.OrderNotExist, "order does not exist")
		}
	case n.OutTradeNo != "":
		o, err = s.Orders.QueryByOutTradeNo(ctx, by.ID, n.OutTradeNo)
	default:
		o, err = s.Orders.QueryByID(ctx, by.ID, n.TransactionID)
	}
	if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
		return fenfu.Errorf(fenfu.OrderNotExist, "you have no order %s", n.OutTradeNo+n.TransactionID)
	}
	if err != nil {
		return err
	}
	if n.TransactionID != "" && n.TransactionID != o.ID || n.OutTradeNo != "" && n.OutTradeNo != o.OutTradeNo {
		return fenfu.Errorf(fenfu.InvalidRequest, "out_trade_no %s and transaction_id %s are not one order", n.OutTradeNo, n.TransactionID)
	}
	n.OutTradeNo, n.TransactionID, n.merchant = o.OutTradeNo, o.ID, o.MchID
	return nil
}

// File opens a ticket in the caller's transaction, as Open does but
// without looking up the order it names: the caller has. After tx
// commits, the caller calls Opened, which alerts the on-duty staff if the
// ticket's lane says so at once; otherwise the next escalation run does.
func (s *Service) File(ctx context.Context, tx *db.Tx, by Actor, n New) (Ticket, error) {
	if err := n.Validate(); err != nil {
		return Ticket{}, err
	}
	lane, err := s.lane(ctx, tx, n.Type)
	if err != nil {
		return Ticket{}, err
	}
	now := tx.Now
	t := Ticket{ID: n.ID, Type: n.Type, Status: Open, Subject: n.Subject, Description: n.Description, OutTradeNo: n.OutTradeNo,
		TransactionID: n.TransactionID, ContactName: n.ContactName, ContactPhone: n.ContactPhone, SLA: lane.SLA,
		CreatedAt: now, DueAt: now.Add(time.Duration(lane.SLA)), UpdatedAt: now}
	switch by.Kind {
	case KindMerchant:
		t.Source, t.MchID = FromMerchant, by.ID
	case KindConsumer:
		// The merchant of the order, for staff: it does not see the
		// consumer's ticket.
		t.Source, t.ConsumerID, t.MchID = FromConsumer, by.ID, n.merchant
	default:
		return Ticket{}, fenfu.Errorf(fenfu.InvalidRequest, "a ticket is opened by a merchant or a consumer")
	}
	if t.ID == "" {
		t.ID = "TK" + s.ids().New(fenfu.RequestID, now)
	}
	if t.Subject == "" {
		t.Subject = lane.Name
	}
	contact, err := s.sealContact(t.ID, t.ContactName, t.ContactPhone)
	if err != nil {
		return Ticket{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, type, source, mchid, consumer_id, subject, description, out_trade_no,
		transaction_id, contact, status, sla_us, due_at, escalate_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $14)`,
		t.ID, string(t.Type), string(t.Source), t.MchID, t.ConsumerID, t.Subject, t.Description, t.OutTradeNo, t.TransactionID,
		contact, string(t.Status), time.Duration(lane.SLA).Microseconds(), db.Micros(t.DueAt), db.Micros(now)); err != nil {
		return Ticket{}, err
	}
	if _, err := s.record(ctx, tx, t.ID, by, EventOpened, "", nil, n.Attachments); err != nil {
		return Ticket{}, err
	}
	if lane.AlertOnOpen {
		if err := raise(ctx, tx, t.ID, 0); err != nil {
			return Ticket{}, err
		}
	}
	return t, nil
}

// record appends an event to a ticket's history in tx, numbered under the
// ticket's row lock, with the files sent with it, and returns its seq.
func (s *Service) record(ctx context.Context, tx *db.Tx, id string, by Actor, typ EventType, body string, detail any,
	files []NewAttachment) (int, error) {
	var seq, n int
	if err := tx.QueryRowContext(ctx, `UPDATE tickets SET events = events + 1, attachments = attachments + $1, updated_at = $2
		WHERE id = $3 RETURNING events, attachments`, len(files), db.Micros(tx.Now), id).Scan(&seq, &n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, notFound(id)
		}
		return 0, err
	}
	if n > MaxPerTicket {
		return 0, fenfu.Errorf(fenfu.InvalidRequest, "ticket %s already has %d attachments; at most %d are kept", id, n-len(files), MaxPerTicket)
	}
	d := ""
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return 0, err
		}
		d = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_events (ticket_id, seq, at, actor, type, body, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, seq, db.Micros(tx.Now), by.String(), string(typ), body, d); err != nil {
		return 0, err
	}
	for i, f := range files {
		if err := s.attach(ctx, tx, id, n-len(files)+i+1, seq, f); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

const columns = `id, type, status, source, mchid, consumer_id, subject, description, out_trade_no, transaction_id, contact, sla_us,
	created_at, due_at, first_response_at, escalation, escalated_at, assignee, resolution, resolved_at, closed_at, updated_at`

func (s *Service) scan(row interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var contact string
	var sla, created, due, first, escalated, resolved, closed, updated int64
	if err := row.Scan(&t.ID, &t.Type, &t.Status, &t.Source, &t.MchID, &t.ConsumerID, &t.Subject, &t.Description, &t.OutTradeNo,
		&t.TransactionID, &contact, &sla, &created, &due, &first, &t.Escalation, &escalated, &t.Assignee, &t.Resolution, &resolved,
		&closed, &updated); err != nil {
		return t, err
	}
	t.SLA = Duration(time.Duration(sla) * time.Microsecond)
	t.CreatedAt, t.DueAt, t.FirstResponseAt, t.EscalatedAt = db.Time(created), db.Time(due), db.Time(first), db.Time(escalated)
	t.ResolvedAt, t.ClosedAt, t.UpdatedAt = db.Time(resolved), db.Time(closed), db.Time(updated)
	var err error
	if t.ContactName, t.ContactPhone, err = s.openContact(t.ID, contact); err != nil {
		return t, err
	}
	// Overdue from the due time on, as Escalate escalates at it.
	t.Overdue = t.Status == Open && !s.Clock.Now().Before(t.DueAt)
	return t, nil
}

// visible reports whether viewer may see t: staff see every ticket, a
// merchant those it opened, a consumer theirs.
func visible(viewer Actor, t Ticket) bool {
	switch viewer.Kind {
	case KindStaff, KindFenfu:
		return true
	case KindMerchant:
		return t.Source == FromMerchant && t.MchID == viewer.ID
	case KindConsumer:
		return t.Source == FromConsumer && t.ConsumerID == viewer.ID
	}
	return false
}

// get reads a ticket as viewer may see it, without its history.
func (s *Service) get(ctx context.Context, viewer Actor, id string) (Ticket, error) {
	if !ValidID(id) {
		return Ticket{}, notFound(id)
	}
	t, err := s.scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM tickets WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !visible(viewer, t) {
		return Ticket{}, notFound(id)
	}
	if err != nil {
		return Ticket{}, fenfu.Internal("ticket.Get", err)
	}
	return t, nil
}

// Get returns a ticket with the newest MaxHistory events of its history,
// saying how many earlier ones are left out, and its attachments (without
// their content) as viewer sees it (Ticket.For). Any ticket viewer may
// not see is RESOURCE_NOT_EXISTS to it, as one that does not exist.
func (s *Service) Get(ctx context.Context, viewer Actor, id string) (Ticket, error) {
	t, err := s.get(ctx, viewer, id)
	if err != nil {
		return t, err
	}
	if t.History, t.HistoryOmitted, err = s.history(ctx, viewer, id); err != nil {
		return Ticket{}, fenfu.Internal("ticket.Get", err)
	}
	if t.Attachments, err = s.attachments(ctx, id); err != nil {
		return Ticket{}, fenfu.Internal("ticket.Get", err)
	}
	for i, a := range t.Attachments {
		for j := range t.History {
			if t.History[j].Seq == a.Seq {
				t.History[j].Attachments = append(t.History[j].Attachments, t.Attachments[i].ID)
			}
		}
	}
	return t.For(viewer), nil
}

// history reads the newest MaxHistory events of a ticket's history that
// viewer may see, in order, and how many earlier ones it leaves out.
func (s *Service) history(ctx context.Context, viewer Actor, id string) ([]Event, int, error) {
	where, args := `ticket_id = $1`, []any{id}
	if !viewer.platform() {
		ph, hidden := db.In(hiddenFromOpener, len(args))
		where, args = where+` AND type NOT IN (`+ph+`)`, append(args, hidden...)
	}
	out, err := db.All(ctx, s.DB, func(r db.Scanner) (e Event, err error) {
		var at int64
		var detail string
		err = r.Scan(&e.Seq, &at, &e.Actor, &e.Type, &e.Body, &detail)
		e.At = db.Time(at)
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		return e, err
	}, `SELECT seq, at, actor, type, body, detail FROM ticket_events WHERE `+where+` ORDER BY seq DESC LIMIT `+fmt.Sprint(MaxHistory), args...)
	if err != nil {
		return nil, 0, err
	}
	slices.Reverse(out)
	omitted := 0
	if len(out) == MaxHistory {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_events WHERE `+where+fmt.Sprintf(` AND seq < $%d`, len(args)+1),
			append(args, out[0].Seq)...).Scan(&omitted)
	}
	return out, omitted, err
}

// Of returns the tickets of ids that exist, by id, without their
// histories: for packages that keep records of their own beside tickets
// (a settlement exception request and its ticket).
func (s *Service) Of(ctx context.Context, ids []string) (map[string]Ticket, error) {
	out := make(map[string]Ticket, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ph, args := db.In(ids, 0)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns+` FROM tickets WHERE id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fenfu.Internal("ticket.Of", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := s.scan(rows)
		if err != nil {
			return nil, fenfu.Internal("ticket.Of", err)
		}
		out[t.ID] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("ticket.Of", err)
	}
	return out, nil
}

// contact is what a ticket keeps of whom to call back, sealed.
type contact struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func contactContext(id string) string { return "tickets.contact:" + id }

func (s *Service) sealContact(id, name, phone string) (string, error) {
	if name == "" && phone == "" {
		return "", nil
	}
	b, err := json.Marshal(contact{Name: name, Phone: phone})
	if err != nil || s.Sealer == nil {
		return string(b), err
	}
	return s.Sealer.Seal(string(b), contactContext(id))
}

func (s *Service) openContact(id, stored string) (name, phone string, err error) {
	if stored == "" {
		return "", "", nil
	}
	if seal.Sealed(stored) {
		if s.Sealer == nil {
			return "", "", fmt.Errorf("ticket %s: the contact is sealed and no sealer is set", id)
		}
		if stored, err = s.Sealer.Open(stored, contactContext(id)); err != nil {
			return "", "", err
		}
	}
	var c contact
	if err := json.Unmarshal([]byte(stored), &c); err != nil {
		return "", "", fmt.Errorf("ticket %s: contact: %w", id, err)
	}
	return c.Name, c.Phone, nil
}

// Columns are the ticket's sealed columns: contacts and attachments.
func Columns() []seal.Column {
	return []seal.Column{{Table: "tickets", Key: "id", Value: "contact", Context: contactContext},
		{Table: "ticket_attachments", Key: "id", Value: "content", Context: attachmentContext}}
}
