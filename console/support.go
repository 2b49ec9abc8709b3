package console

import (
	"github.com/fenfu/fenfu/route"
	"net/http"

	"github.com/fenfu/fenfu"
)

// Support's tickets and the charts are served by staff routes of their
// own packages. Until this server serves those routes, their navigation
// items stay hidden (nav.go) and their pages say so; each page reads its
// route through admin.API.Do as every other page does once it is.
const (
	ticketsRoute = "GET /admin/tickets"
	chartsRoute  = "GET /admin/charts"
)

func (c *Console) supportPages(mux route.Mux) {
	mux.Handle("GET /console/tickets", c.page(c.notServed("tickets", ticketsRoute)))
	mux.Handle("GET /console/charts", c.page(c.notServed("charts", chartsRoute)))
}

// notServed is a page whose staff route this server does not serve.
func (c *Console) notServed(title, route string) func(r *http.Request, v *view) error {
	return func(r *http.Request, v *view) error {
		v.Title = title
		if _, ok := c.Admin.Permission(route); !ok {
			e := fenfu.Errorf(fenfu.ResourceNotExists, "this fenfu does not serve %s yet", route)
			e.Remedy = "Upgrade fenfu to a version that has it."
			return e
		}
		return nil
	}
}
