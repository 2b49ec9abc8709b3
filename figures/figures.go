// Package figures draws fenfu's operating figures for staff: onboarding's
// first-time approval rate and days to activation per industry, the gray
// release's A/B comparison of a merchant's cohorts, payments and their
// success rate per hour and channel, the risk rules' decisions per day,
// and settlement totals per day. Each figure's numbers come from the
// package that owns their tables (onboard, pay, risk, settle), read-only
// and bounded by a period; figures turns them into a chart.Chart in
// Chinese or English. One table says, for each figure, who may see it,
// the period it covers, where its numbers come from and how they are
// drawn. The staff API serves a figure's numbers as JSON and its chart
// as SVG; the ops console shows the SVG through that route.
package figures

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/chart"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/settle"
)

// Name names a figure.
type Name string

// The figures.
const (
	Onboarding  Name = "onboarding"  // first-time approval rate and days to activation per industry
	AB          Name = "ab"          // the gray release's cohorts of one merchant
	Payments    Name = "payments"    // orders paid per hour by channel, and the success rate
	Risk        Name = "risk"        // each rule's review and reject decisions per day
	Settlements Name = "settlements" // net settled per day by channel
)

// Names lists the figures, in the order of their table.
var Names = func() []Name {
	var out []Name
	for _, f := range table {
		out = append(out, f.name)
	}
	return out
}()

// ParseName reads a figure's name.
func ParseName(s string) (Name, error) {
	if n := Name(s); slices.Contains(Names, n) {
		return n, nil
	}
	return "", fenfu.FieldError("name", "there is no figure %q: ask for onboarding, ab, payments, risk or settlements", s)
}

// Permission is the permission staff need to see the figure: that of
// the department that owns its data.
func (n Name) Permission() access.Permission {
	f, _ := lookup(n)
	return f.permission
}

// Service computes figures from their owners' stores.
type Service struct {
	Onboard *onboard.Service
	Pay     *pay.Service
	// Risk, if set, serves the risk figure.
	Risk   *risk.Engine
	Settle *settle.Service
}

// Serves says whether the service draws the figure: each of Names, but
// the risk figure only with a risk engine.
func (s *Service) Serves(n Name) bool {
	_, ok := lookup(n)
	return ok && (n != Risk || s.Risk != nil)
}

// Query is the period a figure covers, [From, To), its language and, for
// the A/B figure, the merchant.
type Query struct {
	From, To time.Time
	MchID    string
	Lang     catalog.Lang
}

// ParseQuery reads a figure's query: from and to, each RFC 3339 or a
// date (YYYY-MM-DD, Asia/Shanghai; a date's to includes that day), by
// default the figure's usual period up to now; mchid, which the A/B
// figure needs; lang, zh (the default) or en.
func ParseQuery(name Name, v url.Values, now time.Time) (Query, error) {
	q := Query{To: now, MchID: v.Get("mchid"), Lang: catalog.ZH}
	var err error
	if s := v.Get("to"); s != "" {
		if q.To, err = instant(s, true); err != nil {
			return q, fenfu.FieldError("to", "to must be RFC 3339 or a date like 2026-11-27, not %q", s)
		}
	}
	f, _ := lookup(name)
	q.From = q.To.Add(-f.span)
	if s := v.Get("from"); s != "" {
		if q.From, err = instant(s, false); err != nil {
			return q, fenfu.FieldError("from", "from must be RFC 3339 or a date like 2026-11-27, not %q", s)
		}
	}
	switch {
	case !q.To.After(q.From):
		return q, fenfu.FieldError("to", "to must be after from")
	case q.To.Sub(q.From) > f.maxSpan:
		return q, fenfu.FieldError("from", "the %s figure covers at most %d days; narrow from and to", name, int(f.maxSpan/(24*time.Hour)))
	case f.merchant && q.MchID == "":
		return q, fenfu.FieldError("mchid", "the A/B figure is of one merchant: give its mchid")
	}
	if s := v.Get("lang"); s != "" {
		l, ok := catalog.ParseLang(s)
		if !ok {
			return q, fenfu.FieldError("lang", "lang must be zh or en, not %q", s)
		}
		q.Lang = l
	}
	return q, nil
}

// instant reads an RFC 3339 time, or a date: its start, or for an end its
// end (the next day's start).
func instant(s string, end bool) (time.Time, error) {
	if !strings.Contains(s, "T") {
		d, err := time.ParseInLocation(time.DateOnly, s, fenfu.Shanghai)
		if err != nil {
			return d, err
		}
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Figure is a figure's numbers, as their owner computed them, and its
// chart.
type Figure struct {
	Name  Name      `json:"name"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	MchID string    `json:"mchid,omitempty"`
	// Data are the owner's numbers: onboard.IndustryStats,
	// pay.CohortStats, pay.HourStats, risk.RuleDay or settle.DayTotal.
	Data any `json:"data"`
	// Definition says what the figure counts, in the query's language.
	Definition string      `json:"definition"`
	Chart      chart.Chart `json:"-"`
}

// Figure computes the figure for the query and draws its chart in the
// query's language.
func (s *Service) Figure(ctx context.Context, name Name, q Query) (Figure, error) {
	f := Figure{Name: name, From: q.From, To: q.To}
	e, ok := lookup(name)
	if !ok {
		_, err := ParseName(string(name))
		return f, fenfu.Op("figures.Figure", err)
	}
	if !s.Serves(name) {
		return f, fenfu.Errorf(fenfu.ResourceNotExists, "this server runs no risk control")
	}
	if e.merchant {
		f.MchID = q.MchID
	}
	c, read := e.chart(q), q
	if e.daily {
		c.Labels, read.From, read.To = dayLabels(q)
		f.From, f.To = read.From, read.To
	}
	data, err := e.draw(s, ctx, read, &c)
	if err != nil {
		return f, fenfu.Op("figures.Figure", err)
	}
	c.Lang = q.Lang
	f.Data, f.Chart, f.Definition = data, c, c.Note
	return f, nil
}

// SVG draws the figure's chart for the query as an SVG document.
func (s *Service) SVG(ctx context.Context, name Name, q Query) ([]byte, error) {
	f, err := s.Figure(ctx, name, q)
	if err != nil {
		return nil, err
	}
	return f.Chart.SVG(), nil
}
