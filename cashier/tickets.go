package cashier

import (
	"encoding/json"
	"net/http"
	"regexp"

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
	if !wantsPage(r) {
		r.Header.Set("Accept", "application/json") // a program's answers are JSON
	}
	if r.Method == http.MethodPost && !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site ticket requests are refused")))
		return ""
	}
	id, err := c.session(r)
	if err == nil && id == "" && wantsPage(r) && r.Method == http.MethodGet {
		next := "/cashier/tickets"
		if ticketPath.MatchString(r.URL.Path) {
			next = r.URL.Path
		}
		c.render(w, r, http.StatusUnauthorized, "tickets.html", ticketsPage{Next: next})
		return ""
	}
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
	if wantsPage(r) {
		c.openTicketFromPage(w, r, id)
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
	if wantsPage(r) {
		q := r.URL.Query()
		c.renderTickets(w, r, id, http.StatusOK, ticket.Form{Type: q.Get("type"), Description: q.Get("description"),
			TransactionID: q.Get("transaction_id")}, nil)
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
	if wantsPage(r) {
		c.render(w, r, http.StatusOK, "ticket.html", ticketPageOf(t, r.URL.Query().Get("done"), "", nil))
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
	if wantsPage(r) {
		c.replyFromPage(w, r, id)
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

// The consumer's ticket pages: /cashier/tickets lists their tickets and
// opens a new one (its form may be prefilled from the address, as the
// page of a payment that failed links to it), /cashier/tickets/{id}
// shows one with its history and takes an answer. A browser's forms post
// to the same addresses as programs do and are answered with the page.

// ticketPath is the address of one ticket's page.
var ticketPath = regexp.MustCompile(`^/cashier/tickets/[0-9A-Za-z_]{1,64}$`)

// ticketsPage is what the tickets page shows.
type ticketsPage struct {
	LoggedIn bool
	// Next is where the login form comes back to.
	Next    string
	Lanes   []ticket.Lane
	Tickets []ticket.Ticket
	// More is set when the consumer has more tickets than the page shows.
	More bool
	// Form is the new ticket's form, as sent when it was refused.
	Form    ticket.Form
	Problem *problem
}

// ticketPage is what one ticket's page shows.
type ticketPage struct {
	Ticket ticket.Ticket
	// Subject is the ticket's subject when its opener wrote one, ""
	// when it is its type's name.
	Subject string
	// History is what the consumer reads of it: opening, answers,
	// resolution, closing.
	History []ticket.Event
	// Done is what was just done: "opened", "replied".
	Done string
	// Reply is the answer, as sent when it was refused.
	Reply   string
	Problem *problem
}

// ticketsShown is how many of a consumer's tickets the page lists.
const ticketsShown = 20

func ticketPageOf(t ticket.Ticket, done, reply string, p *problem) ticketPage {
	v := ticketPage{Ticket: t, Reply: reply, Problem: p, Subject: t.Subject}
	for _, lane := range ticket.DefaultLanes() {
		if lane.Type == t.Type && lane.Name == t.Subject {
			v.Subject = ""
		}
	}
	if done == "opened" || done == "replied" {
		v.Done = done
	}
	for _, e := range t.History {
		switch e.Type {
		case ticket.EventOpened, ticket.EventReplied, ticket.EventResolved, ticket.EventReopened, ticket.EventClosed:
			v.History = append(v.History, e)
		}
	}
	return v
}

// renderTickets shows the tickets page of consumer id, with the new
// ticket's form f and why it was refused, if it was.
func (c *Cashier) renderTickets(w http.ResponseWriter, r *http.Request, id string, status int, f ticket.Form, refused error) {
	v := ticketsPage{LoggedIn: true, Form: f, Problem: c.problemOf(r, refused, "", nil)}
	if f.Type == "" {
		v.Form.Type = string(ticket.PaymentFailure)
	}
	var err error
	if v.Lanes, err = c.Tickets.Lanes(r.Context()); err != nil {
		c.failAs(w, r, id, err)
		return
	}
	p, err := c.Tickets.List(r.Context(), ticket.Consumer(id), ticket.Filter{Order: ticket.Newest, Keyset: fenfu.Keyset{Limit: ticketsShown}})
	if err != nil {
		c.failAs(w, r, id, err)
		return
	}
	v.Tickets, v.More = p.Tickets, p.Next != ""
	c.render(w, r, status, "tickets.html", v)
}

// openTicketFromPage opens the ticket the page's form sends and shows it;
// a ticket refused shows the form again, as sent, with why.
func (c *Cashier) openTicketFromPage(w http.ResponseWriter, r *http.Request, id string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTicketBody)
	f := ticket.Form{Type: r.PostFormValue("type"), Subject: r.PostFormValue("subject"), Description: r.PostFormValue("description"),
		TransactionID: r.PostFormValue("transaction_id"), ContactPhone: r.PostFormValue("contact_phone")}
	n, err := f.New()
	if err == nil {
		var t ticket.Ticket
		if t, err = c.Tickets.Open(r.Context(), ticket.Consumer(id), n); err == nil {
			http.Redirect(w, r, "/cashier/tickets/"+t.ID+"?done=opened", http.StatusSeeOther)
			return
		}
	}
	c.logFailure(r, fenfu.AsError(err), err)
	c.renderTickets(w, r, id, fenfu.ErrorCode(err).HTTPStatus(), f, err)
}

// replyFromPage adds the answer the ticket page's form sends; an answer
// refused shows the page again with it, as sent, and why.
func (c *Cashier) replyFromPage(w http.ResponseWriter, r *http.Request, id string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTicketBody)
	content := r.PostFormValue("content")
	m, err := ticket.ReplyForm{Content: content}.Message()
	if err == nil {
		var t ticket.Ticket
		if t, err = c.Tickets.Reply(r.Context(), ticket.Consumer(id), r.PathValue("id"), m); err == nil {
			http.Redirect(w, r, "/cashier/tickets/"+t.ID+"?done=replied", http.StatusSeeOther)
			return
		}
	}
	t, gerr := c.Tickets.Get(r.Context(), ticket.Consumer(id), r.PathValue("id"))
	if gerr != nil {
		c.failAs(w, r, id, err)
		return
	}
	c.logFailure(r, fenfu.AsError(err), err)
	c.render(w, r, fenfu.ErrorCode(err).HTTPStatus(), "ticket.html", ticketPageOf(t, "", content, c.problemOf(r, err, "", nil)))
}
