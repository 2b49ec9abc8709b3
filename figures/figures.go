// Package figures draws fenfu's operating figures for staff: onboarding's
// first-time approval rate and days to activation per industry, the gray
// release's A/B comparison of a merchant's cohorts, payments and their
// success rate per hour and channel, the risk rules' decisions per day,
// and settlement totals per day. Each figure's numbers come from the
// package that owns their tables (onboard, pay, risk, settle), read-only
// and bounded by a period; figures turns them into a chart.Chart in
// Chinese or English. The staff API serves both, as JSON and as SVG, and
// the ops console calls Figure or SVG directly.
package figures

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
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

// Names lists the figures.
var Names = []Name{Onboarding, AB, Payments, Risk, Settlements}

// ParseName reads a figure's name.
func ParseName(s string) (Name, error) {
	if n := Name(s); slices.Contains(Names, n) {
		return n, nil
	}
	return "", fenfu.FieldError("name", "there is no figure %q: ask for onboarding, ab, payments, risk or settlements", s)
}

// Service computes figures from their owners' stores.
type Service struct {
	Onboard *onboard.Service
	Pay     *pay.Service
	// Risk, if set, serves the risk figure.
	Risk   *risk.Engine
	Settle *settle.Service
}

// Query is the period a figure covers, [From, To), its language and, for
// the A/B figure, the merchant.
type Query struct {
	From, To time.Time
	MchID    string
	Lang     catalog.Lang
}

// defaultSpan is the period a figure covers when its query names none,
// ending now.
var defaultSpan = map[Name]time.Duration{
	Onboarding:  90 * 24 * time.Hour,
	AB:          7 * 24 * time.Hour,
	Payments:    24 * time.Hour,
	Risk:        14 * 24 * time.Hour,
	Settlements: 14 * 24 * time.Hour,
}

// maxSpan bounds the period of each figure, so no query reads without
// end. A daily figure's period widens to whole days, by up to a day, so
// its bound leaves the owner's a day to spare.
var maxSpan = map[Name]time.Duration{
	Onboarding:  366 * 24 * time.Hour,
	AB:          92 * 24 * time.Hour,
	Payments:    pay.MaxHourlySpan,
	Risk:        risk.MaxDailySpan - 24*time.Hour,
	Settlements: (settle.MaxDailyDays - 1) * 24 * time.Hour,
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
	q.From = q.To.Add(-defaultSpan[name])
	if s := v.Get("from"); s != "" {
		if q.From, err = instant(s, false); err != nil {
			return q, fenfu.FieldError("from", "from must be RFC 3339 or a date like 2026-11-27, not %q", s)
		}
	}
	switch {
	case !q.To.After(q.From):
		return q, fenfu.FieldError("to", "to must be after from")
	case q.To.Sub(q.From) > maxSpan[name]:
		return q, fenfu.FieldError("from", "the %s figure covers at most %d days; narrow from and to", name, int(maxSpan[name]/(24*time.Hour)))
	case name == AB && q.MchID == "":
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
	f := Figure{Name: name, From: q.From, To: q.To, MchID: q.MchID}
	if name != AB {
		f.MchID = ""
	}
	var err error
	switch name {
	case Onboarding:
		err = s.onboarding(ctx, q, &f)
	case AB:
		err = s.ab(ctx, q, &f)
	case Payments:
		err = s.payments(ctx, q, &f)
	case Risk:
		if s.Risk == nil {
			return f, fenfu.Errorf(fenfu.ResourceNotExists, "this server runs no risk control")
		}
		err = s.risk(ctx, q, &f)
	case Settlements:
		err = s.settlements(ctx, q, &f)
	default:
		_, err = ParseName(string(name))
	}
	if err != nil {
		return f, fenfu.Op("figures.Figure", err)
	}
	f.Chart.Lang = q.Lang
	f.Definition = f.Chart.Note
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
