package console

import (
	"encoding/json"
	"github.com/fenfu/fenfu/route"
	"net/http"
	"strconv"
	"time"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/scheme"
)

// Engineering's pages: the platform keys and where their rotation
// stands, and the backlog of merchants' notifications.

func (c *Console) engineeringPages(mux route.Mux) {
	mux.Handle("GET /console/engineering/keys", c.page(c.keys))
	mux.Handle("GET /console/engineering/notifications", c.page(c.notifications))
}

type keysPage struct {
	Keys []struct {
		Scheme    scheme.Name `json:"scheme"`
		Slot      string      `json:"slot"`
		ID        string      `json:"public_key_id"`
		Serial    string      `json:"certificate_serial_no"`
		NotBefore time.Time   `json:"not_before"`
		NotAfter  time.Time   `json:"not_after"`
	} `json:"keys"`
	Version int64 `json:"version"`
	// Rotating names the schemes whose rotation is under way: a next key
	// published, or a previous one still verifying.
	Rotating map[scheme.Name]string `json:"-"`
}

func (c *Console) keys(r *http.Request, v *view) error {
	v.Title, v.Active = "keys", "/console/engineering/keys"
	d := &keysPage{Rotating: map[scheme.Name]string{}}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/keys"}, d); err != nil {
		return err
	}
	for _, k := range d.Keys {
		if k.Slot != "current" {
			d.Rotating[k.Scheme] = "rotation-" + k.Slot
		}
	}
	return nil
}

type notificationsPage struct {
	notify.Waiting
	Listing
}

// notifications shows the notifications waiting to be delivered, in all
// and per merchant (?mchid= for one), the merchants a page at a time in
// mchid order after the cursor (?after=).
func (c *Console) notifications(r *http.Request, v *view) error {
	v.Title, v.Active = "notifications", "/console/engineering/notifications"
	call := admin.Call{Route: "GET /admin/notifications/backlog", Query: v.filters("mchid")}
	if v.Query.Get("format") == "csv" {
		return v.export("notification-backlog.csv", []string{"mchid", "pending", "oldest_since"}, call,
			func(raw json.RawMessage) ([][]string, string, error) {
				var b notify.Waiting
				err := json.Unmarshal(raw, &b)
				var rows [][]string
				for _, m := range b.Merchants {
					rows = append(rows, []string{m.MchID, strconv.Itoa(m.Pending), stamp(m.Oldest)})
				}
				return rows, b.Next, err
			})
	}
	d := &notificationsPage{}
	v.Data = d
	if err := v.do(call, &d.Waiting); err != nil {
		return err
	}
	d.Listing = v.Listing(d.Waiting.Next)
	return nil
}
