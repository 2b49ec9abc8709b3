package admin

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
)

// The complaints fast lane's staff side: the complaints escalated because
// their merchant missed the SLA, read with their whole history, notes to
// both sides, and the resolution. Every note and resolution is recorded
// under the acting staff member, with what they wrote as the reason.

// complaints lists complaints, newest first: by default the escalated
// ones awaiting staff; ?mchid= lists a merchant's instead. A page at a
// time: ?after= (the next cursor of the page before) &limit= (1 to 50,
// default 10); ?offset= pages by offset instead, and counts them all in
// total_count.
func (a *API) complaints(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	f := complaint.Filter{MchID: q.Get("mchid"), Escalated: q.Get("mchid") == ""}
	if q.Has("offset") {
		var err error
		if f.Limit, f.Offset, err = complaint.Page(q, complaint.MaxListLimit, complaint.DefaultListLimit); err != nil {
			return nil, err
		}
		list, total, err := a.Complaints.List(ctx, f)
		if err != nil {
			return nil, err
		}
		return map[string]any{"complaints": list, "total_count": total}, nil
	}
	p, err := page(q)
	if err != nil {
		return nil, err
	}
	list, next, err := a.Complaints.ListAfter(ctx, f, p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"complaints": list, "next": next}, nil
}

// complaint returns a complaint with its whole history, staff named.
func (a *API) complaint(ctx context.Context, c *call) (any, error) {
	x, err := a.Complaints.Get(ctx, c.PathValue("id"))
	if err != nil {
		return nil, err
	}
	h, err := a.Complaints.History(ctx, x.ID, 0, 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{"complaint": x, "history": h}, nil
}

func (a *API) complaintNote(ctx context.Context, c *call) (any, error) {
	var in struct {
		Note string `json:"note"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Complaints.Note(ctx, c.Staff, c.PathValue("id"), in.Note)
}

func (a *API) resolveComplaint(ctx context.Context, c *call) (any, error) {
	var in struct {
		Resolution string `json:"resolution"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Resolution == "" {
		return nil, fenfu.FieldError("resolution", "say how the complaint is resolved; it is recorded and shown to both sides")
	}
	return a.Complaints.Resolve(ctx, c.Staff, c.PathValue("id"), in.Resolution)
}
