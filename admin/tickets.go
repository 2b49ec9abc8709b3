package admin

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/ticket"
)

// The staff's side of support tickets (package ticket): the list with
// filters, a ticket with its history (staff named), its
// attachments, replies, assignment, resolution and closing, and the SLA
// lanes. Every act is recorded under the acting staff member; an
// assignment and a lane's change are also entries of the core store's
// audit log made by the ticket service in the act's own transaction.

// tickets lists tickets: ?type=&status=&mchid=&consumer_id=&assignee=
// &escalated=true&overdue=true&order=newest|due&limit=&cursor=.
func (a *API) tickets(ctx context.Context, c *call) (any, error) {
	f, err := ticket.FilterOf(c.URL.Query())
	if err != nil {
		return nil, err
	}
	return a.Tickets.List(ctx, ticket.Staff(c.Who.Name), f)
}

func (a *API) ticket(ctx context.Context, c *call) (any, error) {
	return a.Tickets.Get(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"))
}

func (a *API) ticketAttachment(ctx context.Context, c *call) (any, error) {
	return a.Tickets.Attachment(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), c.PathValue("attachment_id"))
}

// ticketReply answers a ticket (ticket.ReplyForm); the first staff reply
// meets its SLA.
func (a *API) ticketReply(ctx context.Context, c *call) (any, error) {
	var f ticket.ReplyForm
	if err := decode(c, &f); err != nil {
		return nil, err
	}
	m, err := f.Message()
	if err != nil {
		return nil, err
	}
	return a.Tickets.Reply(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), m)
}

// assignTicket gives a ticket to a staff member: {"assignee": "amy"
// (or "" to take it back), "reason": "…"}.
func (a *API) assignTicket(ctx context.Context, c *call) (any, error) {
	var in struct {
		Assignee *string `json:"assignee"`
		Reason   string  `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Assignee == nil {
		return nil, fenfu.FieldError("assignee", "name the staff member who takes the ticket (\"\" to take it back)")
	}
	return a.Tickets.Assign(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), *in.Assignee, in.Reason)
}

// resolveTicket resolves a ticket: {"resolution": "…"}, which its opener
// sees.
func (a *API) resolveTicket(ctx context.Context, c *call) (any, error) {
	var in struct {
		Resolution string `json:"resolution"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Tickets.Resolve(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), in.Resolution)
}

// closeTicket closes a ticket: {"reason": "…"}.
func (a *API) closeTicket(ctx context.Context, c *call) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Tickets.Close(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), in.Reason)
}

// escalateTickets runs the escalation now, as serve does every
// --ticket-every: it escalates the tickets past their SLA and delivers the
// on-duty alerts due.
func (a *API) escalateTickets(ctx context.Context, c *call) (any, error) {
	n, d, err := a.Tickets.Run(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"escalated": n, "alerts_delivered": d}, nil
}

func (a *API) ticketLanes(ctx context.Context, c *call) (any, error) {
	lanes, err := a.Tickets.Lanes(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"lanes": lanes}, nil
}

// changeLane changes a ticket type's lane: {"sla": "30m" (a duration),
// "alert_on_open": true, "reason": "…"}, either or both of the first two.
func (a *API) changeLane(ctx context.Context, c *call) (any, error) {
	var in struct {
		SLA         string `json:"sla"`
		AlertOnOpen *bool  `json:"alert_on_open"`
		Reason      string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	ch := ticket.LaneChange{AlertOnOpen: in.AlertOnOpen, Reason: in.Reason}
	if in.SLA != "" {
		d, err := time.ParseDuration(in.SLA)
		if err != nil {
			return nil, fenfu.FieldError("sla", "sla is a duration such as 30m, 5m or 24h")
		}
		ch.SLA = &d
	}
	t, err := ticket.ParseType(c.PathValue("type"))
	if err != nil {
		return nil, err
	}
	return a.Tickets.SetLane(ctx, ticket.Staff(c.Who.Name), t, ch)
}
