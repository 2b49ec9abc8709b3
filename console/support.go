package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/ticket"
)

// Support's pages: tickets (package ticket) with their SLA lanes — the
// list with filters, a ticket with its history and attachments, and the
// reply, assignment, resolution and closing — each through its staff
// route.

func (c *Console) supportPages(mux route.Mux) {
	mux.Handle("GET /console/tickets", c.page(c.tickets))
	mux.Handle("GET /console/tickets/{id}", c.page(c.ticket))
	mux.Handle("GET /console/tickets/{id}/attachments/{attachment}", c.page(c.ticketAttachment))
	mux.Handle("POST /console/tickets/{id}/{act}", c.action(c.ticketAct))
}

type ticketsPage struct {
	Types    []ticket.Type
	Statuses []ticket.Status
	Tickets  []ticket.Ticket
	Listing
}

// tickets lists tickets: ?type= &status= &mchid= &assignee= &overdue=true
// &escalated=true &order=newest|due, a page at a time; CSV.
func (c *Console) tickets(r *http.Request, v *view) error {
	v.Title, v.Active = "tickets", "/console/tickets"
	q := url.Values{}
	for _, n := range []string{"type", "status", "mchid", "consumer_id", "assignee", "overdue", "escalated", "order", "cursor", "limit"} {
		if s := v.Query.Get(n); s != "" {
			q.Set(n, s)
		}
	}
	call := admin.Call{Route: "GET /admin/tickets", Query: q}
	if v.Query.Get("format") == "csv" {
		return v.exportBy("cursor", ticket.MaxLimit, "tickets.csv", []string{"ticket_id", "type", "status", "source", "mchid", "consumer_id", "subject",
			"assignee", "created_at", "due_at", "overdue", "escalation_level"}, call, func(raw json.RawMessage) ([][]string, string, error) {
			var p ticket.Page
			err := json.Unmarshal(raw, &p)
			var rows [][]string
			for _, t := range p.Tickets {
				rows = append(rows, []string{t.ID, string(t.Type), string(t.Status), string(t.Source), t.MchID, t.ConsumerID, t.Subject,
					t.Assignee, stamp(t.CreatedAt), stamp(t.DueAt), strconv.FormatBool(t.Overdue), strconv.Itoa(t.Escalation)})
			}
			return rows, p.Next, err
		})
	}
	d := &ticketsPage{Types: ticket.Types, Statuses: ticket.Statuses}
	v.Data = d
	var out ticket.Page
	if err := v.do(call, &out); err != nil {
		return err
	}
	d.Tickets, d.Listing = out.Tickets, v.listingBy("cursor", out.Next)
	return nil
}

type ticketPage struct {
	ticket.Ticket
	// CanAct is whether the ticket takes acts and the member may act.
	CanAct bool
}

func (c *Console) ticket(r *http.Request, v *view) error {
	v.Title, v.Active = "ticket", "/console/tickets"
	d := &ticketPage{}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/tickets/{id}", Path: map[string]string{"id": r.PathValue("id")}}, &d.Ticket); err != nil {
		return err
	}
	d.CanAct = d.Status != ticket.Closed && v.allows("POST /admin/tickets/{id}/replies")
	return nil
}

// ticketAttachment downloads a file sent with a ticket.
func (c *Console) ticketAttachment(r *http.Request, v *view) error {
	var a ticket.Attachment
	err := v.do(admin.Call{Route: "GET /admin/tickets/{id}/attachments/{attachment_id}",
		Path: map[string]string{"id": r.PathValue("id"), "attachment_id": r.PathValue("attachment")}}, &a)
	if err != nil {
		v.Title, v.Data = "problem", "/console/tickets/"+url.PathEscape(r.PathValue("id"))
		return err
	}
	v.answered = true
	admin.File{Name: a.Name, ContentType: a.ContentType, Data: a.Content}.ServeHTTP(v.w, r)
	return nil
}

// ticketActs are a ticket's forms: the staff route each posts to and the
// body it sends from the form.
var ticketActs = map[string]struct {
	route  string
	fields []string
}{
	"replies": {"POST /admin/tickets/{id}/replies", []string{"content"}},
	"assign":  {"POST /admin/tickets/{id}/assign", []string{"assignee", "reason"}},
	"resolve": {"POST /admin/tickets/{id}/resolve", []string{"resolution"}},
	"close":   {"POST /admin/tickets/{id}/close", []string{"reason"}},
}

// ticketAct replies to, assigns, resolves or closes a ticket.
func (c *Console) ticketAct(r *http.Request, v *view) (string, error) {
	id, act := r.PathValue("id"), r.PathValue("act")
	a, ok := ticketActs[act]
	if !ok {
		return "", errNoPage(r)
	}
	body := map[string]string{}
	for _, f := range a.fields {
		body[f] = r.PostForm.Get(f)
	}
	if err := v.do(admin.Call{Route: a.route, Path: map[string]string{"id": id}, Body: body}, nil); err != nil {
		return "", err
	}
	return "/console/tickets/" + url.PathEscape(id) + "?done=" + url.QueryEscape("ticket-"+act), nil
}
