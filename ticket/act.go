package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
)

// held is what an act reads of a ticket under its row lock.
type held struct {
	Ticket
	first  int64 // first_response_at
	events int   // the events of its history
}

// lock locks a ticket's row in tx for an act of by and returns where it
// stands; a ticket by may not see is RESOURCE_NOT_EXISTS to it.
func lock(ctx context.Context, tx *db.Tx, by Actor, id string) (held, error) {
	var h held
	if !ValidID(id) {
		return h, notFound(id)
	}
	err := tx.QueryRowContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2
		RETURNING status, source, mchid, consumer_id, first_response_at, assignee, events`, db.Micros(tx.Now), id).
		Scan(&h.Status, &h.Source, &h.MchID, &h.ConsumerID, &h.first, &h.Assignee, &h.events)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !visible(by, h.Ticket) {
		return h, notFound(id)
	}
	h.ID = id
	return h, err
}

// move moves a locked ticket's status; set and args are the extra
// assignments, numbered from $1.
func move(ctx context.Context, tx *db.Tx, id string, from []Status, to Status, set string, args ...any) error {
	q, a, err := statuses.SQL(db.Move[Status]{From: from, To: to, Set: set, Where: fmt.Sprintf("id = $%d", len(args)+1),
		Args: append(args, id)})
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, q, a...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("ticket %s: not in %v", id, from)
	}
	return nil
}

// Message is a reply: its words and the files sent with it.
type Message struct {
	Body        string
	Attachments []NewAttachment
}

// Validate checks a reply.
func (m Message) Validate() error {
	if err := fenfu.Words("content", m.Body, MaxText, false); err != nil {
		return err
	}
	return checkAttachments(m.Attachments)
}

// Reply adds a reply to a ticket's history: by its opener or by staff. A
// closed ticket takes no more, nor one with MaxEvents events. The first staff reply answers the ticket:
// its SLA is met and it is escalated no further. The opener's reply to a
// resolved ticket reopens it.
func (s *Service) Reply(ctx context.Context, by Actor, id string, m Message) (Ticket, error) {
	if by.Kind == KindFenfu || by.ID == "" {
		return Ticket{}, fenfu.Errorf(fenfu.InvalidRequest, "a reply is written by a staff member or the ticket's opener")
	}
	if err := m.Validate(); err != nil {
		return Ticket{}, err
	}
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		h, err := lock(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if h.Status == Closed {
			return fenfu.Errorf(fenfu.InvalidRequest, "ticket %s is closed; open a new ticket", id)
		}
		if h.events >= MaxEvents {
			e := fenfu.Errorf(fenfu.InvalidRequest, "ticket %s has %d events in its history, as many as one ticket takes", id, h.events)
			e.Remedy = "Open a new ticket naming this one (" + id + ") in its description, and go on there."
			if by.platform() {
				e.Remedy = "Resolve or close the ticket with your answer; its opener can open a new ticket naming this one (" + id + ")."
			}
			return e
		}
		if _, err := s.record(ctx, tx, id, by, EventReplied, m.Body, nil, m.Attachments); err != nil {
			return err
		}
		now := db.Micros(tx.Now)
		switch {
		case by.Kind == KindStaff && h.Status == Open:
			return move(ctx, tx, id, []Status{Open}, Answered, ", first_response_at = $1, escalate_at = 0", now)
		case !by.platform() && h.Status == Resolved:
			if err := move(ctx, tx, id, []Status{Resolved}, Answered, ", resolved_at = 0, resolution = ''"); err != nil {
				return err
			}
			_, err := s.record(ctx, tx, id, by, EventReopened, "", nil, nil)
			return err
		}
		return nil
	})
	if err != nil {
		return Ticket{}, fenfu.Op("ticket.Reply", err)
	}
	return s.Get(ctx, by, id)
}

// Assign gives a ticket to a staff member (assignee; "" takes it from
// whoever has it), recorded in its history and, with the reason, in the
// core store's audit log, in one transaction.
func (s *Service) Assign(ctx context.Context, by Actor, id, assignee, reason string) (Ticket, error) {
	if by.Kind != KindStaff || by.ID == "" {
		return Ticket{}, fenfu.Errorf(fenfu.InvalidRequest, "a ticket is assigned by a staff member")
	}
	if err := fenfu.Words("reason", reason, MaxText, true); err != nil {
		return Ticket{}, err
	}
	if assignee != "" && s.Staff != nil {
		st, err := s.Staff.Get(ctx, assignee)
		if fenfu.ErrorCode(err) == fenfu.ResourceNotExists || err == nil && st.Disabled {
			return Ticket{}, fenfu.FieldError("assignee", "assignee must name a staff member who may log in; GET /admin/staff lists them")
		}
		if err != nil {
			return Ticket{}, err
		}
	}
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		h, err := lock(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if h.Status == Closed {
			return fenfu.Errorf(fenfu.InvalidRequest, "ticket %s is closed", id)
		}
		if h.Assignee == assignee {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee = $1 WHERE id = $2`, assignee, id); err != nil {
			return err
		}
		change := map[string]string{"from": h.Assignee, "to": assignee}
		if _, err := s.record(ctx, tx, id, by, EventAssigned, reason, change, nil); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: by.String(), Action: ActionAssign, Target: audit.Target{Kind: "ticket", ID: id},
			Reason: reason, Detail: audit.Detail(change)})
		return err
	})
	if err != nil {
		return Ticket{}, fenfu.Op("ticket.Assign", err)
	}
	return s.Get(ctx, by, id)
}

// Resolve resolves an open or answered ticket with staff's resolution,
// which its opener sees; it answers the ticket if no one had. by is a
// staff member, or Platform for a caller that answers for the platform.
func (s *Service) Resolve(ctx context.Context, by Actor, id, resolution string) (Ticket, error) {
	return s.end(ctx, by, id, Resolved, resolution)
}

// Close ends a ticket for good: a resolved one, or one that needs no fix
// (a duplicate, not a fault), whose reason is then its resolution. by is
// a staff member, or Platform.
func (s *Service) Close(ctx context.Context, by Actor, id, reason string) (Ticket, error) {
	return s.end(ctx, by, id, Closed, reason)
}

// end moves a ticket to Resolved or Closed with words: its resolution,
// or why it is closed, which is its resolution if it had none.
func (s *Service) end(ctx context.Context, by Actor, id string, to Status, words string) (Ticket, error) {
	field, event, at, op := "resolution", EventResolved, "resolved_at", "ticket.Resolve"
	if to == Closed {
		field, event, at, op = "reason", EventClosed, "closed_at", "ticket.Close"
	}
	if !by.platform() {
		return Ticket{}, fenfu.Errorf(fenfu.InvalidRequest, "a ticket is %s by staff", strings.ToLower(string(to)))
	}
	if err := fenfu.Words(field, words, MaxText, false); err != nil {
		return Ticket{}, err
	}
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		h, err := lock(ctx, tx, by, id)
		if err != nil {
			return err
		}
		now := db.Micros(tx.Now)
		switch {
		case h.Status == Closed || h.Status == to:
			return fenfu.Errorf(fenfu.InvalidRequest, "ticket %s is already %s", id, h.Status)
		case h.Status == Resolved: // closing what was resolved keeps its resolution
			err = move(ctx, tx, id, []Status{Resolved}, to, ", closed_at = $1", now)
		default:
			err = move(ctx, tx, id, []Status{Open, Answered}, to, `, resolution = $1, `+at+` = $2, escalate_at = 0,
				first_response_at = CASE WHEN first_response_at = 0 THEN $2 ELSE first_response_at END`, words, now)
		}
		if err != nil {
			return err
		}
		_, err = s.record(ctx, tx, id, by, event, words, nil, nil)
		return err
	})
	if err != nil {
		return Ticket{}, fenfu.Op(op, err)
	}
	return s.Get(ctx, by, id)
}
