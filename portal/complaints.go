package portal

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/web"
)

// complaintsView is a page of the merchant's complaints.
type complaintsView struct {
	Q          url.Values
	Complaints []complaint.Complaint
	Next       string
}

func (p *Portal) complaints(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	v := complaintsView{Q: q}
	f, at, id, err := c.complaintFilter(q)
	if err == nil {
		v.Complaints, err = p.Complaints.Newest(ctx, f, at, id)
	}
	if err != nil {
		return c.again(ctx, err, c.only("complaints", "complaints", v))
	}
	list := v.Complaints
	if len(list) == f.Limit {
		last := list[len(list)-1]
		v.Next = nextPage("/portal/complaints", q, web.Cursor(strconv.FormatInt(last.CreatedAt.UnixMicro(), 10), last.ID))
	}
	return c.page("complaints", "complaints", v, "")
}

// complaintFilter reads the complaint list's filter, and where its page
// starts: the user's merchant's complaints only.
func (c *call) complaintFilter(q url.Values) (f complaint.Filter, at time.Time, id string, err error) {
	f = complaint.Filter{MchID: c.user.MchID, Limit: complaint.MaxListLimit}
	if f.From, f.To, err = web.Dates(q); err != nil {
		return f, at, id, err
	}
	if s := q.Get("after"); s != "" {
		parts, err := web.ParseCursor(s, 2)
		if err != nil {
			return f, at, id, err
		}
		us, perr := strconv.ParseInt(parts[0], 10, 64)
		if perr != nil || parts[1] == "" {
			return f, at, id, fenfu.FieldError("after", "the page's cursor is not one this list made")
		}
		at, id = time.UnixMicro(us), parts[1]
	}
	return f, at, id, nil
}

// complaintView is one complaint with its negotiation history.
type complaintView struct {
	Complaint complaint.Complaint
	History   []complaint.Entry
	Open      bool
}

func (p *Portal) complaint(ctx context.Context, c *call) error {
	x, err := p.Complaints.Of(ctx, c.user.MchID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	h, err := p.Complaints.History(ctx, x.ID, 0, 0)
	if err != nil {
		return err
	}
	notice := ""
	switch c.r.URL.Query().Get("done") {
	case "response":
		notice = word(c.lang, "responded")
	case "complete":
		notice = word(c.lang, "completed")
	}
	return c.page("complaint", "complaints", complaintView{Complaint: x, History: h, Open: x.State != complaint.Processed}, notice)
}

// respond answers the consumer (complaint.Respond, as the v3 response
// route does).
func (p *Portal) respond(ctx context.Context, c *call) error {
	id := c.r.PathValue("id")
	f := c.r.PostForm
	if err := p.Complaints.Respond(ctx, c.user.MchID, id, complaint.Response{Content: strings.TrimSpace(f.Get("response_content")),
		JumpURL: strings.TrimSpace(f.Get("jump_url")), JumpURLText: strings.TrimSpace(f.Get("jump_url_text"))}); err != nil {
		return c.again(ctx, err, p.complaint)
	}
	return c.redirect("/portal/complaints/" + url.PathEscape(id) + "?done=response")
}

// complete marks an answered complaint handled (complaint.Complete).
func (p *Portal) complete(ctx context.Context, c *call) error {
	id := c.r.PathValue("id")
	if err := p.Complaints.Complete(ctx, c.user.MchID, id); err != nil {
		return c.again(ctx, err, p.complaint)
	}
	return c.redirect("/portal/complaints/" + url.PathEscape(id) + "?done=complete")
}
