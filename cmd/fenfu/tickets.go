package main

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/ticket"
)

// ticketFlags are the flags each tickets command takes, and which of them
// it requires: every act names the staff member acting.
var ticketFlags = map[string]struct{ takes, required []string }{
	"list":    {[]string{"type", "status", "mchid", "assignee", "order", "cursor"}, nil},
	"show":    {[]string{"id"}, []string{"id"}},
	"reply":   {[]string{"id", "content", "staff"}, []string{"id", "content", "staff"}},
	"assign":  {[]string{"id", "assignee", "reason", "staff"}, []string{"id", "assignee", "staff"}},
	"resolve": {[]string{"id", "resolution", "staff"}, []string{"id", "resolution", "staff"}},
	"close":   {[]string{"id", "reason", "staff"}, []string{"id", "reason", "staff"}},
	"lanes":   {nil, nil},
}

// cmdTickets works support tickets from the command line, on the stores
// directly, as the staff API does over HTTP: the list and a ticket with
// its history, replies, assignment, resolution and closing. Each act is
// recorded in the core store's audit log.
func cmdTickets(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	f := ticketFlags[sub]
	var typ, status, mchid, assignee, order, cursor, id, content, reason, resolution, staff string
	var limit int
	var escalated, overdue bool
	stringFlag(fs, f.takes, &typ, "type", "INTERFACE_TIMEOUT, PAYMENT_FAILURE, SETTLEMENT_DELAY or GENERAL")
	stringFlag(fs, f.takes, &status, "status", "OPEN, ANSWERED, RESOLVED or CLOSED")
	stringFlag(fs, f.takes, &mchid, "mchid", "the merchant's tickets only")
	stringFlag(fs, f.takes, &assignee, "assignee", "the staff member who has (list) or takes (assign) the ticket")
	stringFlag(fs, f.takes, &order, "order", "newest (default) or due: the tickets not yet resolved, the earliest due first")
	stringFlag(fs, f.takes, &cursor, "cursor", "the next_cursor of the page before")
	stringFlag(fs, f.takes, &id, "id", "the ticket")
	stringFlag(fs, f.takes, &content, "content", "the reply, which the ticket's opener sees")
	stringFlag(fs, f.takes, &reason, "reason", "why, recorded with the act")
	stringFlag(fs, f.takes, &resolution, "resolution", "the resolution, which the ticket's opener sees")
	stringFlag(fs, f.takes, &staff, "staff", "the staff member acting")
	if sub == "list" {
		fs.IntVar(&limit, "limit", ticket.DefaultLimit, "tickets in the page")
		fs.BoolVar(&escalated, "escalated", false, "only tickets escalated for a missed SLA")
		fs.BoolVar(&overdue, "overdue", false, "only open tickets past their due time")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, f.required...); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	by := ticket.Staff(staff)
	var out any
	switch sub {
	case "list":
		out, err = a.tickets.List(ctx, ticket.Platform, ticket.Filter{Type: ticket.Type(typ), Status: ticket.Status(status), MchID: mchid,
			Assignee: assignee, Escalated: escalated, Overdue: overdue, Order: ticket.Order(order), Keyset: fenfu.Keyset{After: cursor, Limit: limit}})
	case "show":
		out, err = a.tickets.Get(ctx, ticket.Platform, id)
	case "assign": // the ticket service records the assignment in the audit log
		out, err = a.tickets.Assign(ctx, by, id, assignee, reason)
	case "lanes":
		var lanes []ticket.Lane
		lanes, err = a.tickets.Lanes(ctx)
		out = list(lanes)
	case "reply", "resolve", "close":
		var t ticket.Ticket
		switch sub {
		case "reply":
			t, err = a.tickets.Reply(ctx, by, id, ticket.Message{Body: content})
		case "resolve":
			t, err = a.tickets.Resolve(ctx, by, id, resolution)
		default:
			t, err = a.tickets.Close(ctx, by, id, reason)
		}
		if err != nil {
			return err
		}
		rec := recordCLI(ctx, e, a.core, by.String(), "tickets "+sub, audit.Target{Kind: "ticket", ID: id}, reason,
			map[string]any{"os_user": cliActor("")})
		if err := printJSON(e.stdout, t); err != nil {
			return err
		}
		return rec
	}
	if err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}
