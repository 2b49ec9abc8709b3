package chart

import (
	"html"
	"io"
	"strings"
)

// Table is a chart's numbers as a table: a row per label, a column per
// series, each value written in its unit. A page shows it to those who
// cannot see the chart, or would rather read the numbers.
type Table struct {
	Caption string     `json:"caption"`
	Head    []string   `json:"head"`
	Rows    [][]string `json:"rows"`
}

// Table is the chart's data table.
func (c Chart) Table() Table {
	t := Table{Caption: c.Title, Head: []string{c.XTitle}}
	for _, s := range c.Series {
		t.Head = append(t.Head, c.legendName(s))
	}
	for i, label := range c.Labels {
		row := []string{label}
		for _, s := range c.Series {
			v, ok := s.value(i)
			if !ok {
				row = append(row, "—")
				continue
			}
			row = append(row, c.axis(s).Unit.Format(v, c.Lang))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// WriteHTML writes the table as an HTML <table>, every text escaped.
func (t Table) WriteHTML(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`<table class="chart-data"><caption>` + html.EscapeString(t.Caption) + `</caption><thead><tr>`)
	for _, h := range t.Head {
		b.WriteString(`<th scope="col">` + html.EscapeString(h) + `</th>`)
	}
	b.WriteString(`</tr></thead><tbody>`)
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for i, v := range r {
			if i == 0 {
				b.WriteString(`<th scope="row">` + html.EscapeString(v) + `</th>`)
			} else {
				b.WriteString(`<td>` + html.EscapeString(v) + `</td>`)
			}
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
