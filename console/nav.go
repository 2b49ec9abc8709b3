package console

// section is a part of the navigation: its heading (a word key) and the
// items the member may open.
type section struct {
	Title string
	Items []item
}

// item is a page in the navigation: its address, its name (a word key),
// and the staff route the page reads, whose permission decides whether
// the member sees it.
type item struct {
	Path, Title string
	route       string
}

// sitemap is the whole navigation, in the order staff use it most.
var sitemap = []section{
	{"nav-merchants", []item{
		{"/console/applications", "applications", "GET /admin/applications"},
	}},
	{"nav-risk", []item{
		{"/console/risk/queue", "risk-queue", "GET /admin/risk/queue"},
		{"/console/risk/rules", "risk-rules", "GET /admin/risk/rules"},
		{"/console/risk/overview", "risk-overview", "GET /admin/risk/overview"},
		{"/console/risk/backtest", "backtest", "POST /admin/risk/backtest"},
		{"/console/complaints", "complaints", "GET /admin/complaints"},
	}},
	{"nav-consumers", []item{
		{"/console/consumers", "consumers", "GET /admin/consumers"},
	}},
	{"nav-finance", []item{
		{"/console/finance/batches", "batches", "GET /admin/settlements/batches"},
		{"/console/finance/settlements", "settlements", "GET /admin/settlements"},
		{"/console/finance/exceptions", "exceptions", "GET /admin/settlement-exceptions"},
		{"/console/finance/bills", "bills", "GET /admin/bills"},
		{"/console/finance/negative", "negative", "GET /admin/settlements"},
	}},
	{"nav-engineering", []item{
		{"/console/engineering/keys", "keys", "GET /admin/keys"},
		{"/console/engineering/notifications", "notifications", "GET /admin/notifications/backlog"},
	}},
	// Tickets and charts are served by the staff routes of their own
	// packages; until this server has those routes, their items stay
	// hidden and their pages say they are not served (support.go).
	{"nav-support", []item{
		{"/console/tickets", "tickets", ticketsRoute},
	}},
	{"nav-charts", []item{
		{"/console/charts", "charts", chartsRoute},
	}},
}

// nav is the navigation the member's policy grants: each item whose
// route this server serves and whose permission the member holds.
func (c *Console) nav(v *view) []section {
	var out []section
	for _, s := range sitemap {
		var items []item
		for _, it := range s.Items {
			if v.allows(it.route) {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			out = append(out, section{Title: s.Title, Items: items})
		}
	}
	return out
}
