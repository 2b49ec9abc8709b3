package ticket

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Order is how a list is sorted.
type Order string

// List orders.
const (
	Newest Order = "newest" // newest first
	Urgent Order = "due"    // tickets not yet resolved, the earliest due first
)

// Filter selects tickets to list. Every field is optional; a merchant's
// or consumer's list is narrowed to its own tickets whatever it asks.
type Filter struct {
	Type       Type
	Status     Status
	Source     Source
	MchID      string
	ConsumerID string
	Assignee   string
	// Escalated selects tickets escalated at least once; Overdue those
	// open at or past their due time.
	Escalated, Overdue bool
	Order              Order
	// Limit is the page's size (DefaultLimit if zero, at most MaxLimit);
	// Cursor the Next of the page before, empty for the first.
	Limit  int
	Cursor string
}

// Page is one page of a list. Next, when set, is the cursor of the page
// after it.
type Page struct {
	Tickets []Ticket `json:"tickets"`
	Next    string   `json:"next_cursor,omitempty"`
}

// cursor is where a page starts: after the ticket id, whose sort key
// (created_at or due_at) was key.
type cursor struct {
	order Order
	key   int64
	id    string
}

// String encodes the cursor for a client to send back as it is.
func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(c.order) + "." + strconv.FormatInt(c.key, 10) + "." + c.id))
}

// parseCursor decodes a page's cursor of a list in order o.
func parseCursor(s string, o Order) (cursor, error) {
	bad := fenfu.FieldError("cursor", "cursor must be the next_cursor of the page before, unchanged, with the same order")
	if len(s) > 128 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.SplitN(string(b), ".", 3)
	if len(parts) != 3 || Order(parts[0]) != o || !ValidID(parts[2]) {
		return cursor{}, bad
	}
	key, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || key < 0 || strconv.FormatInt(key, 10) != parts[1] {
		return cursor{}, bad
	}
	return cursor{order: o, key: key, id: parts[2]}, nil
}

// List returns a page of the tickets the filter selects that viewer may
// see, newest first or the most urgent first. Pages are found by their
// cursor (keyset), so the thousandth is as fast as the first.
func (s *Service) List(ctx context.Context, viewer Actor, f Filter) (Page, error) {
	switch viewer.Kind {
	case KindMerchant:
		f.Source, f.MchID, f.ConsumerID = FromMerchant, viewer.ID, ""
	case KindConsumer:
		f.Source, f.ConsumerID, f.MchID = FromConsumer, viewer.ID, ""
	case KindStaff, KindFenfu:
	default:
		return Page{}, fenfu.Errorf(fenfu.InvalidRequest, "tickets are listed for a merchant, a consumer or staff")
	}
	f.Order = f.order()
	if f.Order != Newest && f.Order != Urgent {
		return Page{}, fenfu.FieldError("order", "order must be newest or due")
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Page{}, fenfu.FieldError("limit", "limit must be from 1 to %d", MaxLimit)
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Type != "" {
		if _, err := ParseType(string(f.Type)); err != nil {
			return Page{}, err
		}
		add("type = $%d", string(f.Type))
	}
	if f.Status != "" {
		if _, err := ParseStatus(string(f.Status)); err != nil {
			return Page{}, err
		}
		add("status = $%d", string(f.Status))
	}
	if f.Source != "" {
		add("source = $%d", string(f.Source))
	}
	if f.MchID != "" {
		add("mchid = $%d", f.MchID)
	}
	if f.ConsumerID != "" {
		add("consumer_id = $%d", f.ConsumerID)
		where = append(where, "consumer_id <> ''") // the partial index tickets_consumer
	}
	if f.Assignee != "" {
		add("assignee = $%d", f.Assignee)
	}
	if f.Escalated {
		where = append(where, "escalation > 0")
	}
	if f.Overdue {
		add("status = 'OPEN' AND due_at <= $%d", db.Micros(s.Clock.Now()))
	}
	key, order := "created_at", "created_at DESC, id DESC"
	if f.Order == Urgent {
		// The literal matches the partial index tickets_due.
		where = append(where, "status IN ('OPEN', 'ANSWERED')")
		key, order = "due_at", "due_at, id"
	}
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor, f.Order)
		if err != nil {
			return Page{}, err
		}
		cmp := "<"
		if f.Order == Urgent {
			cmp = ">"
		}
		args = append(args, c.key, c.id)
		where = append(where, fmt.Sprintf("(%s, id) %s ($%d, $%d)", key, cmp, len(args)-1, len(args)))
	}
	q := `SELECT ` + columns + ` FROM tickets`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY %s LIMIT %d`, order, f.Limit+1)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fenfu.Internal("ticket.List", err)
	}
	defer rows.Close()
	p := Page{Tickets: []Ticket{}}
	for rows.Next() {
		t, err := s.scan(rows)
		if err != nil {
			return Page{}, fenfu.Internal("ticket.List", err)
		}
		p.Tickets = append(p.Tickets, t.For(viewer))
	}
	if err := rows.Err(); err != nil {
		return Page{}, fenfu.Internal("ticket.List", err)
	}
	if len(p.Tickets) > f.Limit {
		p.Tickets = p.Tickets[:f.Limit]
		last := p.Tickets[f.Limit-1]
		c := cursor{order: f.Order, key: db.Micros(last.CreatedAt), id: last.ID}
		if f.Order == Urgent {
			c.key = db.Micros(last.DueAt)
		}
		p.Next = c.String()
	}
	return p, nil
}
