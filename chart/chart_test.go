package chart_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/chart"
)

// element is an element of a drawn SVG: its name, attributes and text,
// with the text of its <title> child (a tooltip).
type element struct {
	name, text, tooltip string
	attr                map[string]string
	parents             []string // the classes of the groups around it
}

// parse reads an SVG with encoding/xml, failing on anything that is not
// well-formed XML, and returns its elements in document order.
func parse(t testing.TB, doc []byte) []*element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var out, stack []*element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			for _, p := range stack {
				e.parents = append(e.parents, p.attr["class"])
			}
			out = append(out, e)
			stack = append(stack, e)
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text += string(tok)
				if top.name == "title" && len(stack) > 1 {
					stack[len(stack)-2].tooltip += string(tok)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("the document is not an SVG:\n%s", doc)
	}
	return out
}

func byClass(es []*element, class string) []*element {
	var out []*element
	for _, e := range es {
		if strings.Contains(" "+e.attr["class"]+" ", " "+class+" ") {
			out = append(out, e)
		}
	}
	return out
}

func f(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return v
}

// viewBox is the SVG's width and height.
func viewBox(t testing.TB, es []*element) (w, h float64) {
	t.Helper()
	p := strings.Fields(es[0].attr["viewBox"])
	if len(p) != 4 || p[0] != "0" || p[1] != "0" {
		t.Fatalf("viewBox %q", es[0].attr["viewBox"])
	}
	return f(t, p[2]), f(t, p[3])
}

// TestGroupedBarsMatchData: every value is a bar of its series and
// category, whose height is proportional to it, within the viewBox, with
// a tooltip saying it in its unit; the axis ticks are nice numbers in ¥.
func TestGroupedBarsMatchData(t *testing.T) {
	c := chart.Chart{Lang: catalog.EN, Title: "Settled per day", Kind: chart.Bars, Labels: []string{"11-25", "11-26", "11-27"},
		XTitle: "Day", Y: chart.Axis{Title: "Net settled", Unit: chart.Money},
		Series: []chart.Series{{Name: "credit", Values: []float64{120000, 0, 345678}}, {Name: "ordinary", Values: []float64{5000, 99999, 1}}}}
	es := parse(t, c.SVG())
	w, h := viewBox(t, es)
	bars := byClass(es, "bar")
	if len(bars) != 6 {
		t.Fatalf("%d bars, want 6", len(bars))
	}
	perFen := 0.0
	for _, b := range bars {
		si, _ := strconv.Atoi(b.attr["data-series"])
		li := -1
		for i, l := range c.Labels {
			if l == b.attr["data-label"] {
				li = i
			}
		}
		want := c.Series[si].Values[li]
		if got := f(t, b.attr["data-value"]); got != want {
			t.Errorf("bar %s %s: value %v, want %v", c.Series[si].Name, c.Labels[li], got, want)
		}
		x, y, bw, bh := f(t, b.attr["x"]), f(t, b.attr["y"]), f(t, b.attr["width"]), f(t, b.attr["height"])
		if x < 0 || y < 0 || x+bw > w || y+bh > h || bw <= 0 {
			t.Errorf("bar %v outside the viewBox %vx%v", b.attr, w, h)
		}
		if want > 0 {
			if perFen == 0 {
				perFen = bh / want
			} else if math.Abs(bh/want-perFen) > 0.01*perFen+0.02/want {
				t.Errorf("bar of %v is %v high: not in proportion (%v per fen)", want, bh, perFen)
			}
		}
		if !strings.Contains(b.tooltip, c.Series[si].Name) || !strings.Contains(b.tooltip, "¥") {
			t.Errorf("tooltip %q", b.tooltip)
		}
	}
	var ticks []string
	for _, e := range byClass(es, "y") {
		if e.name == "text" && strings.Contains(e.attr["class"], "tick") {
			ticks = append(ticks, e.text)
		}
	}
	if strings.Join(ticks, " ") != "¥0 ¥1,000 ¥2,000 ¥3,000 ¥4,000" {
		t.Errorf("ticks %q", ticks)
	}
	if got := byClass(es, "legend"); len(got) != 2 || got[0].text != "credit" || got[1].text != "ordinary" {
		t.Errorf("legend %v", got)
	}
}

// TestStackedBarsPile: stacked bars of one stack pile up, the second
// starting where the first ends; stacks stand side by side.
func TestStackedBarsPile(t *testing.T) {
	c := chart.Chart{Lang: catalog.ZH, Title: "各规则每日决定", Kind: chart.Stacked, Labels: []string{"12-01", "12-02"},
		Series: []chart.Series{
			{Name: "a 复核", Stack: "a", Values: []float64{3, 1}}, {Name: "a 拒绝", Stack: "a", Values: []float64{2, 0}},
			{Name: "b 拒绝", Stack: "b", Values: []float64{4, 4}}}}
	es := parse(t, c.SVG())
	bars := byClass(es, "bar")
	if len(bars) != 6 {
		t.Fatalf("%d bars, want 6", len(bars))
	}
	at := func(series, label string) *element {
		for _, b := range bars {
			if b.attr["data-series"] == series && b.attr["data-label"] == label {
				return b
			}
		}
		t.Fatalf("no bar of series %s at %s", series, label)
		return nil
	}
	a1, a2, b1 := at("0", "12-01"), at("1", "12-01"), at("2", "12-01")
	if a1.attr["x"] != a2.attr["x"] {
		t.Error("the bars of one stack are not on top of each other")
	}
	if got, want := f(t, a2.attr["y"])+f(t, a2.attr["height"]), f(t, a1.attr["y"]); math.Abs(got-want) > 0.02 {
		t.Errorf("the second bar ends at %v, the first starts at %v", got, want)
	}
	if f(t, b1.attr["x"]) <= f(t, a1.attr["x"]) {
		t.Error("the second stack does not stand beside the first")
	}
	if h0, h1 := f(t, at("2", "12-01").attr["height"]), f(t, at("2", "12-02").attr["height"]); math.Abs(h0-h1) > 0.02 {
		t.Errorf("equal values drawn %v and %v high", h0, h1)
	}
}

// TestLinesMatchData: each point of a time series is a marker at its
// category, higher for a higher value, and a missing value breaks the
// line; the ratio axis is in percent.
func TestLinesMatchData(t *testing.T) {
	c := chart.Chart{Lang: catalog.EN, Title: "Success rate", Kind: chart.Lines, Labels: []string{"10:00", "11:00", "12:00", "13:00"},
		Y:      chart.Axis{Unit: chart.Ratio},
		Series: []chart.Series{{Name: "all", Values: []float64{0.5, 0.75, math.NaN(), 1}}, {Name: "credit", Values: []float64{0.25, 1, 0.5, 0}}}}
	es := parse(t, c.SVG())
	points := byClass(es, "point")
	if len(points) != 7 {
		t.Fatalf("%d points, want 7 (one value is NaN)", len(points))
	}
	ys := map[string]float64{}
	for _, p := range points {
		var y float64
		// The marker follows its group: a circle's cy, a rect's y + half
		// its height.
		idx := 0
		for i, e := range es {
			if e == p {
				idx = i + 1
			}
		}
		for es[idx].name == "title" {
			idx++
		}
		m := es[idx]
		switch m.name {
		case "circle":
			y = f(t, m.attr["cy"])
		case "rect":
			y = f(t, m.attr["y"]) + f(t, m.attr["height"])/2
		default:
			t.Fatalf("marker %s", m.name)
		}
		ys[p.attr["data-series"]+"/"+p.attr["data-label"]] = y
		if !strings.Contains(p.tooltip, "%") {
			t.Errorf("tooltip %q has no percentage", p.tooltip)
		}
	}
	if !(ys["0/10:00"] > ys["0/11:00"] && ys["0/11:00"] > ys["0/13:00"]) {
		t.Errorf("points not in the order of their values: %v", ys)
	}
	if ys["1/11:00"] != ys["0/13:00"] {
		t.Errorf("two 100%% points at different heights: %v", ys)
	}
	if lines := byClass(es, "line"); len(lines) != 2 {
		t.Errorf("%d line groups", len(lines))
	}
	polylines := 0
	for _, e := range es {
		if e.name == "polyline" {
			polylines++
		}
	}
	// "all" is broken by its NaN into a run of two points and one of a
	// single point, which is a marker without a line; "credit" is one run.
	if polylines != 2 {
		t.Errorf("%d lines drawn, want 2", polylines)
	}
	var ticks []string
	for _, e := range byClass(es, "tick") {
		if strings.Contains(e.attr["class"], "y") && !strings.Contains(e.attr["class"], "y2") {
			ticks = append(ticks, e.text)
		}
	}
	if strings.Join(ticks, " ") != "0% 20% 40% 60% 80% 100%" {
		t.Errorf("ticks %q", ticks)
	}
}

// TestAccessible: the SVG is an image with a title and description for
// screen readers, sized by its viewBox alone; a right-axis series says so
// in the legend.
func TestAccessible(t *testing.T) {
	c := chart.Chart{Lang: catalog.ZH, Title: "行业首次通过率", Desc: "各行业首次审核通过率与开通天数。", Kind: chart.Bars,
		Labels: []string{"餐饮", "生活服务"}, Y: chart.Axis{Title: "首次通过率", Unit: chart.Ratio}, Y2: chart.Axis{Title: "天数", Unit: chart.Days},
		Series: []chart.Series{{Name: "首次通过率", Values: []float64{0.82, 0.49}}, {Name: "开通天数", Right: true, Values: []float64{3.2, 8.4}}}}
	es := parse(t, c.SVG())
	root := es[0]
	if root.attr["role"] != "img" || root.attr["aria-label"] != c.Title || root.attr["width"] != "" || root.attr["height"] != "" {
		t.Errorf("root %v", root.attr)
	}
	var title, desc *element
	for _, e := range es {
		switch e.name {
		case "title":
			if title == nil {
				title = e
			}
		case "desc":
			desc = e
		}
	}
	if title == nil || title.text != c.Title || desc == nil || !strings.Contains(desc.text, c.Desc) ||
		!strings.Contains(desc.text, "开通天数") || root.attr["aria-describedby"] != desc.attr["id"] {
		t.Errorf("title %v desc %v", title, desc)
	}
	legend := byClass(es, "legend")
	if len(legend) != 2 || legend[1].text != "开通天数（右轴）" {
		t.Errorf("legend %v", legend)
	}
	var y2 []string
	for _, e := range byClass(es, "y2") {
		if e.name == "text" && strings.Contains(e.attr["class"], "tick") {
			y2 = append(y2, e.text)
		}
	}
	if len(y2) < 2 || y2[0] != "0" {
		t.Errorf("right axis ticks %q", y2)
	}
	tb := c.Table()
	if len(tb.Rows) != 2 || tb.Rows[0][1] != "82.0%" || tb.Rows[1][2] != "8.4 天" {
		t.Errorf("table %+v", tb)
	}
}

// TestEscapesText: labels and names from merchants cannot add markup to
// the SVG or the table.
func TestEscapesText(t *testing.T) {
	evil := `</text><script>alert(1)</script><text x="0" onload="x()">&amp;"'`
	c := chart.Chart{Title: evil, Desc: evil, Note: evil, XTitle: evil, Labels: []string{evil, "ok\x00\x1b"},
		Y: chart.Axis{Title: evil}, Series: []chart.Series{{Name: evil, Values: []float64{1, 2}}}}
	doc := c.SVG()
	es := parse(t, doc)
	for _, e := range es {
		if e.name == "script" || e.attr["onload"] != "" {
			t.Fatalf("markup from a label got into the SVG:\n%s", doc)
		}
	}
	if !strings.Contains(es[0].attr["aria-label"], "<script>") {
		t.Errorf("the title is not kept as text: %q", es[0].attr["aria-label"])
	}
	var b strings.Builder
	if err := c.Table().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || !strings.Contains(b.String(), "&lt;script&gt;") {
		t.Errorf("table not escaped: %s", b.String())
	}
}

// TestEmptyChartSaysSo: a chart without values says there is no data, in
// its language.
func TestEmptyChartSaysSo(t *testing.T) {
	for _, l := range catalog.Langs {
		es := parse(t, chart.Chart{Lang: l, Title: "x", Labels: []string{"a"}, Series: []chart.Series{{Name: "s", Values: []float64{math.NaN()}}}}.SVG())
		empty := byClass(es, "empty")
		want := map[catalog.Lang]string{catalog.ZH: "此期间没有数据", catalog.EN: "No data for this period"}[l]
		if len(empty) != 1 || empty[0].text != want {
			t.Errorf("%s: %v", l, empty)
		}
		if len(byClass(es, "bar")) != 0 {
			t.Errorf("%s: bars drawn without data", l)
		}
	}
}

// TestFormat: money in ¥ with separators, ratios as percentages, days in
// each language, and no "-0".
func TestFormat(t *testing.T) {
	for _, c := range []struct {
		u    chart.Unit
		v    float64
		l    catalog.Lang
		want string
	}{
		{chart.Money, 123456789, catalog.ZH, "¥1,234,567.89"},
		{chart.Money, -50, catalog.EN, "-¥0.50"},
		{chart.Ratio, 0.8234, catalog.EN, "82.3%"},
		{chart.Ratio, -0.0001, catalog.EN, "0.0%"},
		{chart.Days, 3.21, catalog.EN, "3.2 days"},
		{chart.Days, 8.4, catalog.ZH, "8.4 天"},
		{chart.Count, 1234567, catalog.EN, "1,234,567"},
		{chart.Count, math.NaN(), catalog.EN, "—"},
	} {
		if got := c.u.Format(c.v, c.l); got != c.want {
			t.Errorf("%v %v %s: %q, want %q", c.u, c.v, c.l, got, c.want)
		}
	}
}

// TestLargeNumbersAreShortOnTicks: an axis of millions writes its ticks
// with the language's scale words.
func TestLargeNumbersAreShortOnTicks(t *testing.T) {
	for l, want := range map[catalog.Lang]string{catalog.EN: "¥0 ¥50k ¥100k ¥150k ¥200k", catalog.ZH: "¥0 ¥5万 ¥10万 ¥15万 ¥20万"} {
		c := chart.Chart{Lang: l, Title: "t", Labels: []string{"a"}, Y: chart.Axis{Unit: chart.Money},
			Series: []chart.Series{{Name: "s", Values: []float64{18_000_000}}}}
		var ticks []string
		for _, e := range byClass(parse(t, c.SVG()), "tick") {
			if strings.HasSuffix(e.attr["class"], " y") {
				ticks = append(ticks, e.text)
			}
		}
		if got := strings.Join(ticks, " "); got != want {
			t.Errorf("%s: ticks %q, want %q", l, got, want)
		}
	}
}

// TestPaletteContrast: every series colour keeps 3:1 against white.
func TestPaletteContrast(t *testing.T) {
	lum := func(hex string) float64 {
		var rgb [3]float64
		for i := range rgb {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				rgb[i] = c / 12.92
			} else {
				rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	}
	for _, c := range chart.Palette {
		if r := 1.05 / (lum(c) + 0.05); r < 3 {
			t.Errorf("%s: contrast %.2f:1 against white", c, r)
		}
	}
}

// TestSeriesToldApartWithoutColour: every bar series has a fill pattern
// of its own, and every line series a dash or marker of its own.
func TestSeriesToldApartWithoutColour(t *testing.T) {
	c := chart.Chart{Title: "t", Labels: []string{"a"}}
	for i := range 6 {
		c.Series = append(c.Series, chart.Series{Name: strconv.Itoa(i), Values: []float64{float64(i + 1)}})
	}
	es := parse(t, c.SVG())
	seen := map[string]bool{}
	for i, e := range es {
		if e.name != "pattern" {
			continue
		}
		var shape strings.Builder
		for _, x := range es[i+2:] {
			if x.name == "pattern" {
				break
			}
			shape.WriteString(x.name + x.attr["d"] + x.attr["r"])
		}
		if seen[shape.String()] {
			t.Errorf("two series share the pattern %q", shape.String())
		}
		seen[shape.String()] = true
	}
	if len(seen) != 6 {
		t.Errorf("%d patterns", len(seen))
	}
}

// TestValuesOverBars: a chart of few bars writes each value over its bar,
// in its unit, where it fits; a stack's total only where there is one.
func TestValuesOverBars(t *testing.T) {
	c := chart.Chart{Lang: catalog.EN, Title: "t", Kind: chart.Bars, Labels: []string{"a", "b"}, Y: chart.Axis{Unit: chart.Ratio},
		Series: []chart.Series{{Name: "rate", Values: []float64{0.5, 0}}}}
	var got []string
	for _, e := range byClass(parse(t, c.SVG()), "value") {
		got = append(got, e.text)
	}
	if strings.Join(got, " ") != "50.0% 0.0%" {
		t.Errorf("values %q", got)
	}
	c.Kind, c.Y.Unit = chart.Stacked, chart.Count
	c.Series = []chart.Series{{Name: "x", Values: []float64{2, 0}}, {Name: "y", Values: []float64{3, 0}}}
	got = nil
	for _, e := range byClass(parse(t, c.SVG()), "value") {
		got = append(got, e.text)
	}
	if strings.Join(got, " ") != "5" {
		t.Errorf("stack totals %q, want only the one that is not zero", got)
	}
}
