// Package chart draws charts as SVG on the server, for pages that would
// rather show figures than tables of them: bars (grouped or stacked, with
// an optional line over them on a second axis) and lines (time series of
// several series), with axes whose ticks fall on nice numbers, money in ¥,
// ratios as percentages, a legend, and titles and labels in Chinese or
// English. A chart is data (Chart); SVG draws it and Table gives the same
// numbers as a table a page can show instead.
//
// What it draws is meant to be read by everyone: the SVG is an image with
// a title and a description for screen readers (role="img", aria-label,
// <title>, <desc>), sized only by its viewBox so it scales to any width,
// coloured from a palette that keeps 3:1 contrast against white, and
// each series is told apart without colour as well (a fill pattern per
// bar series, a dash and a marker shape per line series, and the legend).
// Every text is escaped, so labels may come from merchants. Values that
// are not finite are left out; no input makes it panic or write invalid
// XML. The package is pure: it reads no store and no clock.
package chart

import (
	"math"

	"github.com/fenfu/fenfu/catalog"
)

// Kind is how a chart draws its series.
type Kind int

// The kinds of chart.
const (
	// Bars stand side by side, one per series in each category, except
	// series with Line set, which are drawn as lines over the bars.
	Bars Kind = iota
	// Stacked bars pile the series of one Stack on each other; stacks
	// stand side by side.
	Stacked
	// Lines draw each series as a line through its points, for time
	// series.
	Lines
)

// Unit is what a chart's numbers measure, which decides how they are
// written.
type Unit int

// The units.
const (
	Count Unit = iota // a number of things: 1,234
	Money             // fen, written in yuan: ¥1,234.56
	Ratio             // a share, 0 to 1, written as a percentage: 82.0%
	Days              // a duration in days: 3.2
)

// Axis is a value axis: what it measures, in which unit.
type Axis struct {
	Title string
	Unit  Unit
}

// Series is one named row of values, one per label of the chart.
type Series struct {
	Name string
	// Values are the series' values, in the order of the chart's Labels;
	// a missing one, or one that is NaN or infinite, is not drawn.
	Values []float64
	// Right measures the series on the chart's right axis (Y2).
	Right bool
	// Line draws the series as a line over a bar chart's bars.
	Line bool
	// Stack names the pile a Stacked chart puts the series on; series of
	// one stack pile up, different stacks stand side by side.
	Stack string
	// TableOnly keeps the series out of the drawing: it is a column of
	// the data table only, for numbers that would dwarf the rest.
	TableOnly bool
}

// Chart is a chart's data and words.
type Chart struct {
	Lang  catalog.Lang
	Title string
	// Desc says what the chart shows, for screen readers; the series'
	// names are added to it.
	Desc string
	// Note is printed under the chart: what a number means, where it
	// comes from.
	Note string
	Kind Kind
	// Labels are the categories along the horizontal axis, in order: the
	// industries, or the hours of a time series.
	Labels []string
	XTitle string
	// Y is the left axis; Y2 the right, for the series with Right set.
	Y, Y2  Axis
	Series []Series
	// Width is the width of the viewBox (DefaultWidth if zero); the
	// height follows from the chart's content.
	Width int
}

// DefaultWidth is the viewBox's width when a chart names none: narrow
// enough that its text stays readable on a 390 px phone, where the chart
// is drawn at about 0.7 of its size.
const DefaultWidth = 560

// value is the series' i-th value, and whether it is one to draw.
func (s Series) value(i int) (float64, bool) {
	if i < 0 || i >= len(s.Values) {
		return 0, false
	}
	v := s.Values[i]
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return clamp(v), true
}

// limit bounds the values drawn, so the scale's arithmetic stays finite.
const limit = 1e300

func clamp(v float64) float64 { return math.Max(-limit, math.Min(limit, v)) }

// axis is the axis the series is measured on.
func (c Chart) axis(s Series) Axis {
	if s.Right {
		return c.Y2
	}
	return c.Y
}

// drawnAsLine reports whether the series is drawn as a line.
func (c Chart) drawnAsLine(s Series) bool { return c.Kind == Lines || s.Line }
