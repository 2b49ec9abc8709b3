package chart_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/chart"
)

// FuzzSVG draws charts of any labels and values — none, one point, huge,
// tiny, negative, NaN, infinite, text that is not UTF-8 or holds control
// characters — and checks the renderer never panics, always writes
// well-formed XML, draws no more bars or points than there are values,
// and keeps every bar inside the viewBox.
func FuzzSVG(fz *testing.F) {
	vals := func(fs ...float64) []byte {
		b := make([]byte, 8*len(fs))
		for i, v := range fs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	fz.Add(uint8(0), "a|b|c", "s1|s2", vals(1, 2, 3, 4, 5, 6))
	fz.Add(uint8(1), "", "", []byte{})
	fz.Add(uint8(2), "one", "x", vals(42))
	fz.Add(uint8(0), "a|b", "x", vals(1e308, -1e308))
	fz.Add(uint8(1), "a|b|c", "x|y", vals(math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, -3))
	fz.Add(uint8(2), "\xff\xfe|<&>\x00|\x1b[31m", "\"'|]]>", vals(1, -1, 0.5, 2))
	fz.Add(uint8(5), "日|月|火|水|木|金|土", "收入", vals(-5, -4, -3, -2, -1, 0, 1))
	fz.Fuzz(func(t *testing.T, kind uint8, labels, names string, raw []byte) {
		c := chart.Chart{Title: names + labels, Note: labels, XTitle: names, Lang: catalog.Langs[int(kind/8)%2],
			Kind: chart.Kind(kind % 3), Y: chart.Axis{Title: names, Unit: chart.Unit(kind % 4)}, Y2: chart.Axis{Unit: chart.Unit(kind / 4 % 4)}}
		if labels != "" {
			c.Labels = strings.Split(labels, "|")
		}
		if len(c.Labels) > 400 {
			c.Labels = c.Labels[:400]
		}
		var values []float64
		for i := 0; i+8 <= len(raw) && i < 8*2000; i += 8 {
			values = append(values, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		if names != "" {
			for i, n := range strings.Split(names, "|") {
				if i >= 12 {
					break
				}
				s := chart.Series{Name: n, Right: kind&16 != 0 && i%2 == 1, Line: kind&32 != 0 && i == 0, Stack: n[:min(1, len(n))]}
				for j := range c.Labels {
					if k := i*len(c.Labels) + j; k < len(values) {
						s.Values = append(s.Values, values[k])
					}
				}
				c.Series = append(c.Series, s)
			}
		}
		es := parse(t, c.SVG())
		w, h := viewBox(t, es)
		if !(w > 0 && h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) {
			t.Fatalf("viewBox %v x %v", w, h)
		}
		finite := 0
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					finite++
				}
			}
		}
		if n := len(byClass(es, "bar")) + len(byClass(es, "point")); n > finite {
			t.Fatalf("%d bars and points for %d values", n, finite)
		}
		for _, b := range byClass(es, "bar") {
			x, y, bw, bh := f(t, b.attr["x"]), f(t, b.attr["y"]), f(t, b.attr["width"]), f(t, b.attr["height"])
			if x < -0.01 || y < -0.01 || x+bw > w+0.01 || y+bh > h+0.01 || bh < 0 {
				t.Fatalf("bar %v outside the viewBox %v x %v", b.attr, w, h)
			}
		}
		tb := c.Table()
		if len(tb.Rows) != len(c.Labels) {
			t.Fatalf("%d rows for %d labels", len(tb.Rows), len(c.Labels))
		}
	})
}
