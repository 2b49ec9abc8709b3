package console

import (
	"github.com/fenfu/fenfu/route"
	"net/http"

	"github.com/fenfu/fenfu"
)

// Support's tickets are served by staff routes of their own package
// (ticket). Until this server serves them, the navigation item stays
// hidden (nav.go) and the page says so; the pages of the list, a ticket,
// its reply and its assignment belong here, each reading its route
// through admin.API.Do as every other page does.
const ticketsRoute = "GET /admin/tickets"

func (c *Console) supportPages(mux route.Mux) {
	mux.Handle("GET /console/tickets", c.page(c.notServed("tickets", ticketsRoute)))
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
