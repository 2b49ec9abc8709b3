package admin

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/scheme"
)

// bills lists the bills rendered and kept, the newest day first: ?mchid=
// &date= (YYYY-MM-DD) &after= &limit= (1 to 500, default 50).
func (a *API) bills(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	p, err := page(q)
	if err != nil {
		return nil, err
	}
	list, next, err := a.Bills.List(ctx, q.Get("mchid"), q.Get("date"), p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"bills": list, "next": next}, nil
}

// billFile answers a merchant's bill as the merchant downloads it:
// ?mchid= &date= &kind=trade|fundflow &type= (ALL, SUCCESS, REFUND; or
// BASIC, OPERATION, FEES) &channel= (CREDIT, ORDINARY or ALL).
func (a *API) billFile(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	r := bill.Request{MchID: q.Get("mchid"), Date: q.Get("date"), Kind: q.Get("kind"), Type: q.Get("type")}
	if r.MchID == "" {
		return nil, fenfu.FieldError("mchid", "name the merchant whose bill it is")
	}
	if r.Kind != bill.Trade && r.Kind != bill.FundFlow {
		return nil, fenfu.FieldError("kind", "kind is trade or fundflow")
	}
	var err error
	if r.Channel, err = bill.ParseChannel(q.Get("channel")); err != nil {
		return nil, err
	}
	f, err := a.Bills.Get(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return File{Name: r.Kind + "-" + r.MchID + "-" + r.Date + ".csv", ContentType: "text/csv; charset=utf-8", Data: f.Data}, nil
}

// platformKey is a platform key as staff see it: never the private key.
type platformKey struct {
	Scheme    scheme.Name `json:"scheme"`
	Slot      string      `json:"slot"`
	ID        string      `json:"public_key_id"`
	Serial    string      `json:"certificate_serial_no"`
	NotBefore time.Time   `json:"not_before"`
	NotAfter  time.Time   `json:"not_after"`
}

// platformKeys answers the platform keys of each scheme and where their
// rotation stands: the current key signs; a next key is published for
// merchants to fetch before it is promoted; a previous key still
// verifies until it is retired.
func (a *API) platformKeys(ctx context.Context, c *call) (any, error) {
	if _, err := a.Keys.Refresh(ctx); err != nil {
		return nil, fenfu.Internal("admin.platformKeys", err)
	}
	out := []platformKey{}
	for _, n := range []scheme.Name{scheme.RSA, scheme.SM2} {
		for _, k := range a.Keys.All(n) {
			out = append(out, platformKey{Scheme: n, Slot: k.Slot, ID: k.ID, Serial: k.Certificate.SerialNo,
				NotBefore: k.Certificate.NotBefore, NotAfter: k.Certificate.NotAfter})
		}
	}
	return map[string]any{"keys": out, "version": a.Keys.Version()}, nil
}

// backlog answers the notifications waiting to be delivered: in all, the
// age of the oldest, and a page of them per merchant in mchid order
// (?after= &limit=, up to notify.MaxWaitingPage); ?mchid= for one.
func (a *API) backlog(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	p, err := page(q)
	if err != nil {
		return nil, err
	}
	return a.Notifications.Waiting(ctx, q.Get("mchid"), p)
}
