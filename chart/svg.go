package chart

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu/catalog"
)

// Palette are the series' colours, in order: each keeps at least 3:1
// contrast against the white background (WCAG 2.1, 1.4.11), and neighbours
// differ in hue and lightness for the common colour-vision deficiencies.
var Palette = []string{"#0868AC", "#C4450C", "#117A5B", "#8E3F8F", "#8A6400", "#4B5563"}

// Colours of the chart's frame and text.
const (
	ink   = "#1F2933" // titles, labels: 14:1 on white
	muted = "#52606D" // ticks, notes: 6.5:1 on white
	grid  = "#D9DEE3"
	zero  = "#7B8794"
	// fontStack names Chinese faces first, as fenfu's other SVGs do; the
	// viewer picks what it has.
	fontStack = `"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","Droid Sans Fallback",sans-serif`
)

// Sizes of the chart's text, in viewBox units.
const (
	titleSize = 18
	textSize  = 15
	smallSize = 13
	pad       = 12.0
	plotH     = 220.0
	swatch    = 14.0
)

// words are the chart's own words in each language.
var words = struct {
	noData, rightAxis, chartOf, series catalog.Text
}{
	noData:    catalog.Text{ZH: "此期间没有数据", EN: "No data for this period"},
	rightAxis: catalog.Text{ZH: "（右轴）", EN: " (right axis)"},
	chartOf:   catalog.Text{ZH: "图表，共 %d 项：", EN: "Chart of %d categories: "},
	series:    catalog.Text{ZH: "、", EN: ", "},
}

// svg accumulates an SVG document.
type svg struct {
	strings.Builder
}

// esc is s escaped for XML text and attribute values. Characters XML
// cannot hold become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// num writes a coordinate.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// value writes a value for a data- attribute, so programs read back what
// was drawn.
func value(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (b *svg) text(x, y float64, size int, anchor, fill, s string, extra ...string) {
	fmt.Fprintf(b, `<text x="%s" y="%s" font-size="%d" text-anchor="%s" fill="%s"%s>%s</text>`,
		num(x), num(y), size, anchor, fill, strings.Join(extra, ""), esc(s))
}

// layout is where a chart's parts fall in its viewBox.
type layout struct {
	w, h                 float64
	title                []string
	legend               []legendItem
	legendTop            float64
	left, right          float64 // the plot's horizontal extent
	top, bottom          float64 // the plot's vertical extent
	axisTitles           float64 // baseline of the axes' titles
	xLabels, xTitle      float64 // baselines under the plot
	note                 []string
	noteTop              float64
	ys, y2s              scale
	hasY2                bool
	ticks, ticks2        []string
	band                 float64
	labelEvery, labelMax int
}

type legendItem struct {
	series int
	text   string
	x, y   float64
}

// SVG draws the chart as a standalone SVG document.
func (c Chart) SVG() []byte {
	l := c.layout()
	id := c.id()
	var b svg
	title := c.Title
	desc := c.description()
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="%s" aria-describedby="%s-desc" `+
		`font-family='%s' class="fenfu-chart" data-kind="%d" data-categories="%d">`,
		num(l.w), num(l.h), esc(title), id, fontStack, c.Kind, len(c.Labels))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(title), id, esc(desc))
	c.patterns(&b, id)
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="#FFFFFF"/>`, num(l.w), num(l.h))
	for i, line := range l.title {
		b.text(pad, pad+titleSize+float64(i)*22, titleSize, "start", ink, line, ` font-weight="bold" class="title"`)
	}
	c.drawLegend(&b, l, id)
	c.drawAxes(&b, l)
	if !c.hasData() {
		b.text((l.left+l.right)/2, (l.top+l.bottom)/2, textSize, "middle", muted, words.noData.In(c.Lang), ` class="empty"`)
	} else {
		c.drawBars(&b, l, id)
		c.drawLines(&b, l)
	}
	for i, line := range l.note {
		b.text(pad, l.noteTop+smallSize+float64(i)*16, smallSize, "start", muted, line, ` class="note"`)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// id names the chart's elements apart from another chart's on the same
// page: a hash of what it shows.
func (c Chart) id() string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%q", c.Title, c.Lang, c.Kind, c.Labels)
	for _, s := range c.Series {
		fmt.Fprintf(h, "\x00%s%v%t%t%s", s.Name, s.Values, s.Right, s.Line, s.Stack)
	}
	return fmt.Sprintf("fc%08x", h.Sum32())
}

// description is Desc followed by what the chart plots.
func (c Chart) description() string {
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	d := fmt.Sprintf(words.chartOf.In(c.Lang), len(c.Labels)) + strings.Join(names, words.series.In(c.Lang))
	if c.Desc != "" {
		d = c.Desc + " " + d
	}
	return d
}

// hasData reports whether any value is drawn.
func (c Chart) hasData() bool {
	for _, s := range c.Series {
		for i := range c.Labels {
			if _, ok := s.value(i); ok && !s.TableOnly {
				return true
			}
		}
	}
	return false
}

func (c Chart) width() float64 {
	if c.Width < 200 || c.Width > 4000 {
		return DefaultWidth
	}
	return float64(c.Width)
}

// legendName is the series' name in the legend: with "right axis" when it
// is measured there.
func (c Chart) legendName(s Series) string {
	if s.Right {
		return s.Name + words.rightAxis.In(c.Lang)
	}
	return s.Name
}

func (c Chart) layout() layout {
	l := layout{w: c.width()}
	inner := l.w - 2*pad
	l.title = wrap(c.Title, inner, titleSize)
	if len(l.title) > 2 {
		l.title = l.title[:2]
		l.title[1] = fit(l.title[1]+"…", inner, titleSize)
	}
	y := pad + float64(len(l.title))*22 + 6
	// The legend: items flow in rows.
	l.legendTop = y
	x := pad
	rowY := y
	for i, s := range c.Series {
		if s.TableOnly {
			continue
		}
		text := fit(c.legendName(s), inner-swatch-24, textSize)
		w := swatch + 6 + textWidth(text, textSize) + 18
		if x > pad && x+w > l.w-pad {
			x, rowY = pad, rowY+20
		}
		l.legend = append(l.legend, legendItem{series: i, text: text, x: x, y: rowY})
		x += w
	}
	if len(l.legend) > 0 {
		y = rowY + 20 + 6
	}
	// The scales and their ticks decide the margins.
	lo, hi, lo2, hi2 := c.extent()
	l.ys = niceScale(lo, hi, c.Y.Unit)
	for _, s := range c.Series {
		if s.Right && !s.TableOnly {
			l.hasY2 = true
		}
	}
	leftW, rightW := 0.0, 0.0
	for _, t := range l.ys.ticks() {
		s := c.Y.Unit.tick(t, l.ys.step, c.Lang)
		l.ticks = append(l.ticks, s)
		leftW = math.Max(leftW, textWidth(s, smallSize))
	}
	if l.hasY2 {
		l.y2s = niceScale(lo2, hi2, c.Y2.Unit)
		for _, t := range l.y2s.ticks() {
			s := c.Y2.Unit.tick(t, l.y2s.step, c.Lang)
			l.ticks2 = append(l.ticks2, s)
			rightW = math.Max(rightW, textWidth(s, smallSize))
		}
	}
	l.left = pad + leftW + 8
	l.right = l.w - pad - 8
	if l.hasY2 {
		l.right = l.w - pad - rightW - 8
	}
	if c.Y.Title != "" || c.Y2.Title != "" {
		l.axisTitles = y + smallSize
		y += smallSize + 10
	}
	l.top = y + 4
	l.bottom = l.top + plotH
	// The categories' labels: as many as fit side by side.
	n := len(c.Labels)
	if n > 0 {
		l.band = (l.right - l.left) / float64(n)
		widest := 0.0
		for _, s := range c.Labels {
			widest = math.Max(widest, textWidth(s, smallSize))
		}
		widest = math.Min(widest, 120)
		l.labelEvery = max(1, int(math.Ceil((widest+8)/l.band)))
		l.labelMax = int(l.band*float64(l.labelEvery)) - 4
	}
	y = l.bottom + smallSize + 8
	l.xLabels = y
	if c.XTitle != "" {
		y += smallSize + 8
		l.xTitle = y
	}
	y += 10
	l.noteTop = y
	l.note = wrap(c.Note, inner, smallSize)
	if len(l.note) > 6 {
		l.note = l.note[:6]
	}
	l.h = y + float64(len(l.note))*16 + pad
	return l
}

// extent is the lowest and highest values each axis must show: for
// stacked bars, the stacks' totals.
func (c Chart) extent() (lo, hi, lo2, hi2 float64) {
	for i := range c.Labels {
		pos, neg := map[stackKey]float64{}, map[stackKey]float64{}
		for si, s := range c.Series {
			v, ok := s.value(i)
			if !ok || s.TableOnly {
				continue
			}
			if !c.drawnAsLine(s) {
				k := c.stackOf(si)
				if v >= 0 {
					pos[k] = clamp(pos[k] + v)
					v = pos[k]
				} else {
					neg[k] = clamp(neg[k] + v)
					v = neg[k]
				}
			}
			if s.Right {
				lo2, hi2 = math.Min(lo2, v), math.Max(hi2, v)
			} else {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi, lo2, hi2
}

// stackKey names a pile of bars: the axis it is measured on and its stack.
type stackKey struct {
	right bool
	stack string
}

// stackOf is the pile series si's bars go on: its Stack in a stacked
// chart, else a pile of its own.
func (c Chart) stackOf(si int) stackKey {
	s := c.Series[si]
	if c.Kind == Stacked {
		return stackKey{s.Right, s.Stack}
	}
	return stackKey{s.Right, "\x00" + strconv.Itoa(si)}
}

// stacks are the piles of bars in each category, in the order their
// first series come.
func (c Chart) stacks() []stackKey {
	var out []stackKey
	seen := map[stackKey]bool{}
	for si, s := range c.Series {
		if c.drawnAsLine(s) || s.TableOnly {
			continue
		}
		if k := c.stackOf(si); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// patterns defines each bar series' fill: its colour, and over it white
// marks of a pattern of its own (none, stripes, dots, cross-hatching,
// horizontal or vertical lines), so bars are told apart without colour.
func (c Chart) patterns(b *svg, id string) {
	b.WriteString("<defs>")
	for i := range c.Series {
		col := colour(i)
		fmt.Fprintf(b, `<pattern id="%s-p%d" patternUnits="userSpaceOnUse" width="8" height="8"><rect width="8" height="8" fill="%s"/>`, id, i, col)
		switch patternOf(i) {
		case 1:
			b.WriteString(`<path d="M-2,2 L2,-2 M0,8 L8,0 M6,10 L10,6" stroke="#FFFFFF" stroke-width="1.6"/>`)
		case 2:
			b.WriteString(`<circle cx="4" cy="4" r="1.6" fill="#FFFFFF"/>`)
		case 3:
			b.WriteString(`<path d="M0,0 L8,8 M8,0 L0,8" stroke="#FFFFFF" stroke-width="1.2"/>`)
		case 4:
			b.WriteString(`<path d="M0,4 L8,4" stroke="#FFFFFF" stroke-width="1.6"/>`)
		case 5:
			b.WriteString(`<path d="M4,0 L4,8" stroke="#FFFFFF" stroke-width="1.6"/>`)
		}
		b.WriteString("</pattern>")
	}
	b.WriteString("</defs>")
}

func colour(i int) string { return Palette[i%len(Palette)] }

// patternOf is series i's pattern: no two of the first 36 series share
// both colour and pattern.
func patternOf(i int) int { return (i + i/len(Palette)) % 6 }

// dashes and markers tell line series apart without colour.
var dashes = []string{"", "7 4", "2 3", "10 3 2 3", "4 4", "1 5"}

func (c Chart) drawLegend(b *svg, l layout, id string) {
	for _, it := range l.legend {
		s := c.Series[it.series]
		fmt.Fprintf(b, `<g class="legend-item" data-series="%d">`, it.series)
		if c.drawnAsLine(s) {
			cy := it.y + swatch/2
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`,
				num(it.x-2), num(cy), num(it.x+swatch+2), num(cy), colour(it.series), dashAttr(it.series))
			marker(b, it.series, it.x+swatch/2, cy, "")
		} else {
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="url(#%s-p%d)" stroke="%s"/>`,
				num(it.x), num(it.y), num(swatch), num(swatch), id, it.series, colour(it.series))
		}
		b.text(it.x+swatch+6, it.y+swatch-2, textSize, "start", ink, it.text, ` class="legend"`)
		b.WriteString("</g>")
	}
}

func dashAttr(i int) string {
	if d := dashes[i%len(dashes)]; d != "" {
		return ` stroke-dasharray="` + d + `"`
	}
	return ""
}

// marker draws series i's point marker at (x, y): a circle, a square, a
// triangle, a diamond, a cross or a ring.
func marker(b *svg, i int, x, y float64, attrs string) {
	col := colour(i)
	const r = 3.6
	switch i % 6 {
	case 0:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>`, num(x), num(y), num(r), col, attrs)
	case 1:
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>`, num(x-r), num(y-r), num(2*r), num(2*r), col, attrs)
	case 2:
		fmt.Fprintf(b, `<path d="M%s,%s L%s,%s L%s,%s Z" fill="%s"%s/>`, num(x), num(y-r-1), num(x+r+1), num(y+r), num(x-r-1), num(y+r), col, attrs)
	case 3:
		fmt.Fprintf(b, `<path d="M%s,%s L%s,%s L%s,%s L%s,%s Z" fill="%s"%s/>`, num(x), num(y-r-1), num(x+r+1), num(y), num(x), num(y+r+1), num(x-r-1), num(y), col, attrs)
	case 4:
		fmt.Fprintf(b, `<path d="M%s,%s L%s,%s M%s,%s L%s,%s" stroke="%s" stroke-width="2.4" fill="none"%s/>`,
			num(x-r), num(y-r), num(x+r), num(y+r), num(x+r), num(y-r), num(x-r), num(y+r), col, attrs)
	default:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="%s" fill="#FFFFFF" stroke="%s" stroke-width="2"%s/>`, num(x), num(y), num(r), col, attrs)
	}
}

func (c Chart) drawAxes(b *svg, l layout) {
	b.WriteString(`<g class="axes">`)
	for i, t := range l.ys.ticks() {
		y := l.ys.at(t, l.bottom, l.top)
		stroke := grid
		if t == 0 {
			stroke = zero
		}
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(l.left), num(y), num(l.right), num(y), stroke)
		b.text(l.left-6, y+4, smallSize, "end", muted, l.ticks[i], ` class="tick y"`)
	}
	if l.hasY2 {
		for i, t := range l.y2s.ticks() {
			y := l.y2s.at(t, l.bottom, l.top)
			b.text(l.right+6, y+4, smallSize, "start", muted, l.ticks2[i], ` class="tick y2"`)
		}
	}
	if c.Y.Title != "" {
		b.text(pad, l.axisTitles, smallSize, "start", muted, fit(c.Y.Title, (l.w-2*pad)/2, smallSize), ` class="axis-title y"`)
	}
	if c.Y2.Title != "" && l.hasY2 {
		b.text(l.w-pad, l.axisTitles, smallSize, "end", muted, fit(c.Y2.Title, (l.w-2*pad)/2, smallSize), ` class="axis-title y2"`)
	}
	for i, s := range c.Labels {
		if i%l.labelEvery != 0 {
			continue
		}
		x := l.left + l.band*(float64(i)+0.5)
		shown := fit(s, float64(l.labelMax), smallSize)
		extra := ` class="tick x"`
		if shown != s {
			extra += ` data-full="` + esc(s) + `"`
		}
		b.text(x, l.xLabels, smallSize, "middle", muted, shown, extra)
	}
	if c.XTitle != "" {
		b.text((l.left+l.right)/2, l.xTitle, smallSize, "middle", muted, fit(c.XTitle, l.w-2*pad, smallSize), ` class="axis-title x"`)
	}
	b.WriteString("</g>")
}

// drawBars draws the bar series: in each category a group of stacks side
// by side, each stack's series piled from zero (negative values down).
// Every bar carries its series, label and value, and a tooltip.
func (c Chart) drawBars(b *svg, l layout, id string) {
	stacks := c.stacks()
	if len(stacks) == 0 {
		return
	}
	group := l.band * 0.8
	barW := group / float64(len(stacks))
	showValues := len(c.Labels)*len(stacks) <= 16
	b.WriteString(`<g class="bars">`)
	for i, label := range c.Labels {
		x0 := l.left + l.band*float64(i) + (l.band-group)/2
		for k, st := range stacks {
			sc := l.ys
			if st.right {
				sc = l.y2s
			}
			pos, neg := 0.0, 0.0
			x := x0 + float64(k)*barW
			total, drawn := 0.0, 0
			for si, s := range c.Series {
				if c.drawnAsLine(s) || s.TableOnly || c.stackOf(si) != st {
					continue
				}
				v, ok := s.value(i)
				if !ok {
					continue
				}
				var from, to float64
				if v >= 0 {
					from, to = pos, clamp(pos+v)
					pos = to
				} else {
					from, to = neg, clamp(neg+v)
					neg = to
				}
				y1, y2 := sc.at(from, l.bottom, l.top), sc.at(to, l.bottom, l.top)
				y, h := math.Min(y1, y2), math.Abs(y2-y1)
				unit := c.axis(s).Unit
				fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="url(#%s-p%d)" stroke="%s" stroke-width="0.5" `+
					`data-series="%d" data-label="%s" data-value="%s"><title>%s</title></rect>`,
					num(x+0.5), num(y), num(math.Max(barW-1, 0.5)), num(h), id, si, colour(si), si, esc(label), value(v),
					esc(s.Name+" · "+label+": "+unit.Format(v, c.Lang)))
				total += v
				drawn++
			}
			// A value is written over its bar where it fits the bar; a
			// stack's total only where there is one.
			if showValues && drawn > 0 && neg == 0 && (c.Kind != Stacked || total != 0) {
				unit := c.Y.Unit
				if st.right {
					unit = c.Y2.Unit
				}
				txt := unit.Format(total, c.Lang)
				if textWidth(txt, smallSize) <= barW+4 {
					b.text(x+barW/2, sc.at(pos, l.bottom, l.top)-4, smallSize, "middle", ink, txt, ` class="value"`)
				}
			}
		}
	}
	b.WriteString("</g>")
}

// drawLines draws the line series: a line through each run of points with
// values, and a marker at every point.
func (c Chart) drawLines(b *svg, l layout) {
	for si, s := range c.Series {
		if !c.drawnAsLine(s) || s.TableOnly {
			continue
		}
		sc := l.ys
		if s.Right {
			sc = l.y2s
		}
		unit := c.axis(s).Unit
		fmt.Fprintf(b, `<g class="line" data-series="%d">`, si)
		var run []string
		flush := func() {
			if len(run) > 1 {
				fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"%s/>`,
					strings.Join(run, " "), colour(si), dashAttr(si))
			}
			run = run[:0]
		}
		for i := range c.Labels {
			v, ok := s.value(i)
			if !ok {
				flush()
				continue
			}
			run = append(run, num(l.left+l.band*(float64(i)+0.5))+","+num(sc.at(v, l.bottom, l.top)))
		}
		flush()
		small := len(c.Labels) > 60
		for i, label := range c.Labels {
			v, ok := s.value(i)
			if !ok {
				continue
			}
			x, y := l.left+l.band*(float64(i)+0.5), sc.at(v, l.bottom, l.top)
			attrs := fmt.Sprintf(` class="point" data-series="%d" data-label="%s" data-value="%s"`, si, esc(label), value(v))
			if small {
				attrs += ` opacity="0.9" transform="translate(` + num(x) + `,` + num(y) + `) scale(0.6) translate(` + num(-x) + `,` + num(-y) + `)"`
			}
			fmt.Fprintf(b, `<g%s><title>%s</title>`, attrs, esc(s.Name+" · "+label+": "+unit.Format(v, c.Lang)))
			marker(b, si, x, y, "")
			b.WriteString("</g>")
		}
		b.WriteString("</g>")
	}
}
