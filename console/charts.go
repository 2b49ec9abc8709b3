package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/figures"
	"github.com/fenfu/fenfu/route"
)

// The charts page shows each figure the member's policy lets them see,
// drawn by fenfu as SVG (package figures) and read through its staff
// route, GET /admin/charts/<name>.svg, so each chart is permitted and
// recorded as the route is.

func (c *Console) chartPages(mux route.Mux) {
	mux.Handle("GET /console/charts", c.page(c.charts))
	mux.Handle("GET /console/charts/{name}", c.page(c.chart))
}

// chartRoute is the staff route of a figure's chart.
func chartRoute(n figures.Name) string { return "GET /admin/charts/" + string(n) + ".svg" }

// chartRoutes are the routes of every figure's chart.
func chartRoutes() []string {
	var out []string
	for _, n := range figures.Names {
		out = append(out, chartRoute(n))
	}
	return out
}

type chartsPage struct {
	// Charts are the figures the member may see, with their images'
	// addresses.
	Charts []chartImage
}

type chartImage struct {
	Name figures.Name
	Src  string
}

// charts shows the charts the member may see, over ?from= &to= (dates)
// when given, each figure's default period otherwise; the A/B figure
// needs ?mchid=.
func (c *Console) charts(r *http.Request, v *view) error {
	v.Title, v.Active = "charts", "/console/charts"
	d := &chartsPage{}
	v.Data = d
	if !slices.ContainsFunc(chartRoutes(), v.allows) {
		return v.may(chartRoute(figures.Names[0])) // no chart the member may see: the page is refused
	}
	for _, n := range figures.Names {
		if !v.allows(chartRoute(n)) || (n == figures.AB && v.Query.Get("mchid") == "") {
			continue
		}
		q := v.filters("from", "to")
		if n == figures.AB {
			q.Set("mchid", v.Query.Get("mchid"))
		}
		q.Set("lang", string(v.Lang))
		d.Charts = append(d.Charts, chartImage{Name: n, Src: "/console/charts/" + string(n) + ".svg?" + q.Encode()})
	}
	return nil
}

// chart is one figure's chart, the SVG its staff route draws.
func (c *Console) chart(r *http.Request, v *view) error {
	name, svg := strings.CutSuffix(r.PathValue("name"), ".svg")
	n := figures.Name(name)
	if !svg || !slices.Contains(figures.Names, n) {
		v.Title, v.Data = "problem", "/console/charts"
		return fenfu.Errorf(fenfu.ResourceNotExists, "fenfu draws no chart %s", r.PathValue("name"))
	}
	var f admin.File
	err := v.do(admin.Call{Route: chartRoute(n), Query: v.filters("from", "to", "mchid", "lang")}, &f)
	if err != nil {
		v.Title, v.Active, v.Data = "problem", "/console/charts", "/console/charts"
		return err
	}
	v.answered = true
	f.ServeHTTP(v.w, r)
	return nil
}
