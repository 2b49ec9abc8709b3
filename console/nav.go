package console

import "slices"

// section is a part of the navigation: its heading (a word key) and the
// items the member may open.
type section struct {
	Title string
	Items []item
}

// item is a page in the navigation: its address, its name (a word key),
// and the staff routes the page reads, whose permissions decide whether
// the member sees it: any one of them will do.
type item struct {
	Path, Title string
	routes      []string
}

func entry(path, title string, routes ...string) item { return item{path, title, routes} }

// sitemap is the whole navigation, in the order staff use it most.
var sitemap = []section{
	{"nav-merchants", []item{
		entry("/console/applications", "applications", "GET /admin/applications"),
	}},
	{"nav-risk", []item{
		entry("/console/risk/queue", "risk-queue", "GET /admin/risk/queue"),
		entry("/console/risk/rules", "risk-rules", "GET /admin/risk/rules"),
		entry("/console/risk/overview", "risk-overview", "GET /admin/risk/overview"),
		entry("/console/risk/backtest", "backtest", "POST /admin/risk/backtest"),
		entry("/console/complaints", "complaints", "GET /admin/complaints"),
	}},
	{"nav-consumers", []item{
		entry("/console/consumers", "consumers", "GET /admin/consumers"),
	}},
	{"nav-finance", []item{
		entry("/console/finance/batches", "batches", "GET /admin/settlements/batches"),
		entry("/console/finance/settlements", "settlements", "GET /admin/settlements"),
		entry("/console/finance/exceptions", "exceptions", "GET /admin/settlement-exceptions"),
		entry("/console/finance/bills", "bills", "GET /admin/bills"),
		entry("/console/finance/negative", "negative", "GET /admin/settlements"),
	}},
	{"nav-engineering", []item{
		entry("/console/engineering/keys", "keys", "GET /admin/keys"),
		entry("/console/engineering/notifications", "notifications", "GET /admin/notifications/backlog"),
	}},
	{"nav-support", []item{
		entry("/console/tickets", "tickets", "GET /admin/tickets"),
	}},
	{"nav-charts", []item{
		entry("/console/charts", "charts", chartRoutes()...),
	}},
}

// nav is the navigation the member's policy grants: each item whose
// route this server serves and whose permission the member holds.
func (c *Console) nav(v *view) []section {
	var out []section
	for _, s := range sitemap {
		var items []item
		for _, it := range s.Items {
			if slices.ContainsFunc(it.routes, v.allows) {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			out = append(out, section{Title: s.Title, Items: items})
		}
	}
	return out
}
