package admin

import (
	"context"

	"github.com/fenfu/fenfu/figures"
)

// chartRoutes are each figure's routes: GET /admin/charts/<name> answers
// its numbers as JSON, GET /admin/charts/<name>.svg its chart. Both take
// ?from= &to= (RFC 3339 or a date), and the A/B figure ?mchid=; the SVG
// ?lang=zh|en. Each is behind the permission of the department that
// owns the figure's data.
func (a *API) chartRoutes() []Route {
	var rs []Route
	for _, n := range figures.Names {
		if !a.Figures.Serves(n) {
			continue
		}
		rs = append(rs,
			Route{Pattern: "GET /admin/charts/" + string(n), Permission: n.Permission(), Handle: a.figure(n)},
			Route{Pattern: "GET /admin/charts/" + string(n) + ".svg", Permission: n.Permission(), Handle: a.figureSVG(n)})
	}
	return rs
}

func (a *API) figure(n figures.Name) handler {
	return func(ctx context.Context, c *call) (any, error) {
		q, err := figures.ParseQuery(n, c.URL.Query(), a.Clock.Now())
		if err != nil {
			return nil, err
		}
		return a.Figures.Figure(ctx, n, q)
	}
}

func (a *API) figureSVG(n figures.Name) handler {
	return func(ctx context.Context, c *call) (any, error) {
		q, err := figures.ParseQuery(n, c.URL.Query(), a.Clock.Now())
		if err != nil {
			return nil, err
		}
		svg, err := a.Figures.SVG(ctx, n, q)
		if err != nil {
			return nil, err
		}
		// A chart holds no personal data: its labels are industries,
		// cohorts, channels, rules and days.
		return File{Name: string(n) + ".svg", ContentType: "image/svg+xml; charset=utf-8", Data: svg}, nil
	}
}
