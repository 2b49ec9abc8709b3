package portal

import (
	"context"
	"net/url"
	"strings"

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
	f, err := c.complaintFilter(q)
	next := ""
	if err == nil {
		v.Complaints, next, err = p.Complaints.ListAfter(ctx, f, fenfu.Keyset{After: q.Get("after"), Limit: complaint.MaxListLimit})
	}
	if err != nil {
		return c.again(ctx, err, c.only("complaints", "complaints", v))
	}
	if next != "" {
		v.Next = nextPage("/portal/complaints", q, next)
	}
	return c.page("complaints", "complaints", v, "")
}

// complaintFilter reads the complaint list's filter: the user's
// merchant's complaints only.
func (c *call) complaintFilter(q url.Values) (f complaint.Filter, err error) {
	f = complaint.Filter{MchID: c.user.MchID}
	f.From, f.To, err = web.Dates(q)
	return f, err
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
