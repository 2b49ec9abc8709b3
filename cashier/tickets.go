package cashier

import (
	"encoding/json"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

// The consumer's side of support tickets (package ticket), as JSON behind
// the consumer's login: a logged-in consumer opens a ticket of a type
// (a payment that failed, say, naming the order by its transaction_id),
// lists and reads their tickets with their histories, answers back and
// fetches an attachment. Another consumer's ticket is RESOURCE_NOT_EXISTS
// to them; staff are the platform, never named.

func (c *Cashier) registerTickets(mux route.Mux) {
	mux.HandleFunc("POST /cashier/tickets", c.handleOpenTicket)
	mux.HandleFunc("GET /cashier/tickets", c.handleTickets)
	mux.HandleFunc("GET /cashier/tickets/{id}", c.handleTicket)
	mux.HandleFunc("POST /cashier/tickets/{id}/replies", c.handleTicketReply)
	mux.HandleFunc("GET /cashier/tickets/{id}/attachments/{attachment_id}", c.handleTicketAttachment)
	mux.HandleFunc("GET /cashier/ticket-lanes", c.handleTicketLanes)
}

// maxTicketBody bounds a ticket's or reply's body, as the merchant API
// bounds its own: room for one attachment of ticket.MaxAttachment in
// base64 and the words.
const maxTicketBody = 64 << 10

// ticketConsumer is the consumer of a ticket request, or "" after it
// answered the request with why there is none: a form posted from another
// site, or no login.
func (c *Cashier) ticketConsumer(w http.ResponseWriter, r *http.Request) string {
	r.Header.Set("Accept", "application/json") // every answer is JSON
	if r.Method == http.MethodPost && !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site ticket requests are refused")))
		return ""
	}
	id, err := c.session(r)
	if err == nil && id == "" {
		err = fenfu.Errorf(fenfu.Unauthenticated, "log in to open and follow your tickets")
	}
	if err != nil {
		c.fail(w, r, err)
		return ""
	}
	return id
}

// decodeTicketBody reads a ticket request's JSON body into v.
func decodeTicketBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxTicketBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fenfu.Errorf(fenfu.ParamError, "the body must be one JSON object of at most %d KiB", maxTicketBody>>10)
	}
	return nil
}

// handleOpenTicket opens a ticket (ticket.Form) and answers it with its
// due time.
func (c *Cashier) handleOpenTicket(w http.ResponseWriter, r *http.Request) {
	id := c.ticketConsumer(w, r)
	if id == "" {
		return
	}
	var f ticket.Form
	if err := decodeTicketBody(w, r, &f); err != nil {
		c.failAs(w, r, id, err)
		return
	}
	n, err := f.New()
	if err == nil {
		var t ticket.Ticket
		if t, err = c.Tickets.Open(r.Context(), ticket.Consumer(id), n); err == nil {
			web.WriteJSON(w, http.StatusOK, t)
			return
		}
	}
	c.failAs(w, r, id, err)
}

// handleTickets lists the consumer's tickets, newest first
// (?type=&status=&limit=&cursor=).
func (c *Cashier) handleTickets(w http.ResponseWriter, r *http.Request) {
	id := c.ticketConsumer(w, r)
	if id == "" {
		return
	}
	f, err := ticket.FilterOf(r.URL.Query())
	if err == nil {
		var p ticket.Page
		if p, err = c.Tickets.List(r.Context(), ticket.Consumer(id), f); err == nil {
			web.WriteJSON(w, http.StatusOK, p)
			return
		}
	}
	c.failAs(w, r, id, err)
}

// handleTicket answers one of the consumer's tickets with its history.
func (c *Cashier) handleTicket(w http.ResponseWriter, r *http.Request) {
	id := c.ticketConsumer(w, r)
	if id == "" {
		return
	}
	t, err := c.Tickets.Get(r.Context(), ticket.Consumer(id), r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, id, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, t)
}

// handleTicketReply adds the consumer's reply (ticket.ReplyForm) to one
// of their tickets.
func (c *Cashier) handleTicketReply(w http.ResponseWriter, r *http.Request) {
	id := c.ticketConsumer(w, r)
	if id == "" {
		return
	}
	var f ticket.ReplyForm
	if err := decodeTicketBody(w, r, &f); err != nil {
		c.failAs(w, r, id, err)
		return
	}
	m, err := f.Message()
	if err == nil {
		var t ticket.Ticket
		if t, err = c.Tickets.Reply(r.Context(), ticket.Consumer(id), r.PathValue("id"), m); err == nil {
			web.WriteJSON(w, http.StatusOK, t)
			return
		}
	}
	c.failAs(w, r, id, err)
}

// handleTicketAttachment answers an attachment of one of the consumer's
// tickets, its content in base64.
func (c *Cashier) handleTicketAttachment(w http.ResponseWriter, r *http.Request) {
	id := c.ticketConsumer(w, r)
	if id == "" {
		return
	}
	a, err := c.Tickets.Attachment(r.Context(), ticket.Consumer(id), r.PathValue("id"), r.PathValue("attachment_id"))
	if err != nil {
		c.failAs(w, r, id, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, a)
}

// handleTicketLanes answers each ticket type's SLA and advice; it needs no
// login.
func (c *Cashier) handleTicketLanes(w http.ResponseWriter, r *http.Request) {
	r.Header.Set("Accept", "application/json")
	lanes, err := c.Tickets.Lanes(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"data": lanes})
}
