package portal

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

// The merchant's tickets to the platform are package ticket's, opened and
// followed as the merchant: ticket.Merchant(mchid), as the v3 ticket
// routes do; the audit log names the user who acted.

// ticketsView is a page of the merchant's tickets and the form that opens
// one.
type ticketsView struct {
	Q       url.Values
	Tickets []ticket.Ticket
	Lanes   []ticket.Lane
	Types   []ticket.Type
	Status  []ticket.Status
	Next    string
}

func (p *Portal) tickets(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	lanes, err := p.Tickets.Lanes(ctx)
	if err != nil {
		return err
	}
	v := ticketsView{Q: q, Lanes: lanes, Types: ticket.Types, Status: ticket.Statuses}
	page, err := p.Tickets.List(ctx, ticket.Merchant(c.user.MchID), ticketFilter(q))
	if err != nil {
		return c.again(ctx, err, c.only("tickets", "tickets", v))
	}
	v.Tickets = page.Tickets
	if page.Next != "" {
		v.Next = nextPage("/portal/tickets", q, page.Next)
	}
	return c.page("tickets", "tickets", v, "")
}

// ticketFilter reads the ticket list's filter, which ticket.List checks.
func ticketFilter(q url.Values) ticket.Filter {
	return ticket.Filter{Order: ticket.Newest, Keyset: fenfu.Keyset{After: q.Get("after"), Limit: ticket.DefaultLimit},
		Type: ticket.Type(q.Get("type")), Status: ticket.Status(q.Get("status"))}
}

// attached reads the form's one optional file (a multipart form's
// "attachment") as a ticket's attachment; its type is the one the
// browser declares, which package ticket checks against the content.
func (c *call) attached() ([]ticket.NewAttachment, error) {
	if err := c.r.ParseMultipartForm(maxForm); err != nil && err != http.ErrNotMultipart {
		return nil, fenfu.Errorf(fenfu.ParamError, "the form is too large or unreadable: a file is at most %d KiB", ticket.MaxAttachment>>10)
	}
	if c.r.MultipartForm == nil || len(c.r.MultipartForm.File["attachment"]) == 0 {
		return nil, nil
	}
	fh := c.r.MultipartForm.File["attachment"][0]
	if fh.Size == 0 && fh.Filename == "" {
		return nil, nil // the file field left empty
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "the attached file cannot be read")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, ticket.MaxAttachment+1))
	if err != nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "the attached file cannot be read")
	}
	ct, _, _ := mime.ParseMediaType(fh.Header.Get("Content-Type"))
	return []ticket.NewAttachment{{Name: fh.Filename, ContentType: ct, Content: b}}, nil
}

// form is a value of the request's form, url-encoded or multipart.
func (c *call) form(name string) string { return strings.TrimSpace(c.r.PostFormValue(name)) }

// openTicket opens a ticket as the merchant (ticket.Service.Open, as POST
// /v3/fenfu/tickets does).
func (p *Portal) openTicket(ctx context.Context, c *call) error {
	t, err := p.open(ctx, c)
	if err != nil {
		return c.again(ctx, err, p.tickets)
	}
	c.done = map[string]any{"ticket_id": t.ID, "type": t.Type}
	return c.redirect("/portal/tickets/" + url.PathEscape(t.ID) + "?done=opened")
}

// open opens the ticket the form describes.
func (p *Portal) open(ctx context.Context, c *call) (ticket.Ticket, error) {
	files, err := c.attached()
	if err != nil {
		return ticket.Ticket{}, err
	}
	typ, err := ticket.ParseType(c.form("type"))
	if err != nil {
		return ticket.Ticket{}, err
	}
	n := ticket.New{Type: typ, Subject: c.form("subject"), Description: c.form("description"), ContactName: c.form("contact_name"),
		ContactPhone: c.form("contact_phone"), Attachments: files}
	if no := c.form("order"); no != "" {
		if len(no) == 28 && strings.Trim(no, "0123456789") == "" {
			n.TransactionID = no
		} else {
			n.OutTradeNo = no
		}
	}
	return p.Tickets.Open(ctx, ticket.Merchant(c.user.MchID), n)
}

// ticketView is a ticket with its history, the files sent with it, and
// the reply form.
type ticketView struct {
	Ticket ticket.Ticket
	Files  map[string]ticket.Attachment
	Open   bool
}

func (p *Portal) ticket(ctx context.Context, c *call) error {
	t, err := p.Tickets.Get(ctx, ticket.Merchant(c.user.MchID), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	v := ticketView{Ticket: t, Files: map[string]ticket.Attachment{}, Open: t.Status != ticket.Closed}
	for _, a := range t.Attachments {
		v.Files[a.ID] = a
	}
	notice := ""
	switch c.r.URL.Query().Get("done") {
	case "opened":
		notice = word(c.lang, "ticket-opened") + t.ID
	case "replied":
		notice = word(c.lang, "ticket-replied")
	}
	return c.page("ticket", "tickets", v, notice)
}

// replyTicket answers a ticket as the merchant (ticket.Service.Reply).
func (p *Portal) replyTicket(ctx context.Context, c *call) error {
	files, err := c.attached()
	id := c.r.PathValue("id")
	if err == nil {
		_, err = p.Tickets.Reply(ctx, ticket.Merchant(c.user.MchID), id, ticket.Message{Body: c.form("content"), Attachments: files})
	}
	if err != nil {
		return c.again(ctx, err, p.ticket)
	}
	return c.redirect("/portal/tickets/" + url.PathEscape(id) + "?done=replied")
}

// ticketFile answers one of a ticket's files as a download, never shown
// in the page's origin as a page of its own.
func (p *Portal) ticketFile(ctx context.Context, c *call) error {
	a, err := p.Tickets.Attachment(ctx, ticket.Merchant(c.user.MchID), c.r.PathValue("id"), c.r.PathValue("attachment_id"))
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", web.PagePolicy+"; sandbox")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(a.Content)
	return nil
}
