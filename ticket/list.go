package ticket

import (
	"context"
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
	// Keyset is the page: After the Next of the page before, empty for
	// the first; Limit its size, DefaultLimit if zero, at most MaxLimit.
	fenfu.Keyset
}

// Page is one page of a list. Next, when set, is the cursor of the page
// after it.
type Page struct {
	Tickets []Ticket `json:"tickets"`
	Next    string   `json:"next_cursor,omitempty"`
}

// after is where the page p of a list in order o starts: after the
// ticket id, whose sort key (created_at or due_at) was at; id is "" on
// the first page. A cursor carries its list's order: one of a list in
// another order is PARAM_ERROR, as any cursor the list did not answer.
func after(p fenfu.Keyset, o Order) (at int64, id string, err error) {
	key, err := p.Key(3)
	if err != nil || key == nil {
		return 0, "", err
	}
	if at, err = p.Int(key[1]); err != nil {
		return 0, "", err
	}
	if Order(key[0]) != o || at < 0 || !ValidID(key[2]) {
		return 0, "", fenfu.FieldError("after", "after is the next cursor a page of this list, in the same order, answered")
	}
	return at, key[2], nil
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
	at, id, err := after(f.Keyset, f.Order)
	if err != nil {
		return Page{}, err
	}
	if id != "" {
		cmp := "<"
		if f.Order == Urgent {
			cmp = ">"
		}
		args = append(args, at, id)
		n := len(args)
		// The bound on the index's key, then the ticket after the
		// cursor's: a range of the index (see fenfu.Keyset).
		where = append(where, fmt.Sprintf("%s %s= $%d AND (%s, id) %s ($%d, $%d)", key, cmp, n-1, key, cmp, n-1, n))
	}
	q := `SELECT ` + columns + ` FROM tickets`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY %s LIMIT %d`, order, f.Limit+1)
	tickets, err := db.All(ctx, s.DB, func(r db.Scanner) (Ticket, error) {
		t, err := s.scan(r)
		return t.For(viewer), err
	}, q, args...)
	if err != nil {
		return Page{}, fenfu.Internal("ticket.List", err)
	}
	var p Page
	p.Tickets, p.Next = fenfu.NextPage(tickets, f.Limit, func(t Ticket) []string {
		at := t.CreatedAt
		if f.Order == Urgent {
			at = t.DueAt
		}
		return []string{string(f.Order), strconv.FormatInt(db.Micros(at), 10), t.ID}
	})
	return p, nil
}
