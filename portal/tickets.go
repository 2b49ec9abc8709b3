package portal

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
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

// maxUpload bounds a multipart form's body: a ticket's message with its
// most files, each of the most bytes, and its fields.
const maxUpload = ticket.MaxAttachments*ticket.MaxAttachment + maxForm

// attached reads the form's optional files (a multipart form's
// "attachment", a file input that takes several) as a message's
// attachments; each one's type is the one the browser declares, which
// package ticket checks against the content. More files than a message
// takes, or a file over the limit, is refused here, in the page's
// language, naming the file.
func (c *call) attached() ([]ticket.NewAttachment, error) {
	if err := c.r.ParseMultipartForm(maxForm); err != nil && err != http.ErrNotMultipart {
		return nil, said(fenfu.Errorf(fenfu.ParamError, "the form is too large or unreadable: at most %d files of %d KiB each",
			ticket.MaxAttachments, ticket.MaxAttachment>>10), tooLarge)
	}
	if c.r.MultipartForm == nil {
		return nil, nil
	}
	var out []ticket.NewAttachment
	for _, fh := range c.r.MultipartForm.File["attachment"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the file field left empty
		}
		if len(out) == ticket.MaxAttachments {
			return nil, said(fenfu.FieldError("attachments", "at most %d files go with one message", ticket.MaxAttachments), tooMany)
		}
		if fh.Size > ticket.MaxAttachment {
			return nil, said(fenfu.FieldError("attachments", "%s is %d KiB: a file is at most %d KiB", fh.Filename, (fh.Size+1023)>>10,
				ticket.MaxAttachment>>10), tooBig(fh.Filename))
		}
		f, err := fh.Open()
		if err != nil {
			return nil, fenfu.Errorf(fenfu.ParamError, "the attached file cannot be read")
		}
		b, err := io.ReadAll(io.LimitReader(f, ticket.MaxAttachment+1))
		f.Close()
		if err != nil {
			return nil, fenfu.Errorf(fenfu.ParamError, "the attached file cannot be read")
		}
		ct, _, _ := mime.ParseMediaType(fh.Header.Get("Content-Type"))
		out = append(out, ticket.NewAttachment{Name: fh.Filename, ContentType: ct, Content: b})
	}
	return out, nil
}

// The refusals of a message's files, as the page says them.
var (
	tooMany = catalog.Text{
		ZH: fmt.Sprintf("每条消息最多附 %d 个文件，请删去多余的文件后再提交。", ticket.MaxAttachments),
		EN: fmt.Sprintf("A message takes at most %d files: leave out the others and send it again.", ticket.MaxAttachments)}
	tooLarge = catalog.Text{
		ZH: fmt.Sprintf("提交的内容过大：最多 %d 个文件，每个不超过 %d KB。", ticket.MaxAttachments, ticket.MaxAttachment>>10),
		EN: fmt.Sprintf("What was sent is too large: at most %d files of %d KB each.", ticket.MaxAttachments, ticket.MaxAttachment>>10)}
)

// tooBig is the refusal of a file over the limit, naming it.
func tooBig(name string) catalog.Text {
	return catalog.Text{ZH: fmt.Sprintf("文件 %s 超过 %d KB，请压缩或截取后再提交。", name, ticket.MaxAttachment>>10),
		EN: fmt.Sprintf("The file %s is larger than %d KB: make it smaller and send it again.", name, ticket.MaxAttachment>>10)}
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
