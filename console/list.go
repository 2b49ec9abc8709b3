package console

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/web"
)

// Every list reads a page at a time through its staff route, after the
// cursor the page before answered (?after=), never by OFFSET; the
// route caps the page's size. Its filters are the route's query.

// Listing is a list page's links: to its first page (when not on it),
// to the next (when there is one) and to its CSV download.
type Listing struct {
	First, Next, CSV string
}

// Listing is the links of the page v shows, whose route answered next.
func (v *view) Listing(next string) Listing { return v.listingBy("after", next) }

// listingBy is Listing of a route whose cursor is the query parameter
// param.
func (v *view) listingBy(param, next string) Listing {
	q := url.Values{}
	for k, vs := range v.Query {
		if k != param && k != "format" && k != "done" && k != "lang" {
			q[k] = vs
		}
	}
	path := v.r.URL.Path
	l := Listing{CSV: link(path, q, "format", "csv")}
	if v.Query.Get(param) != "" {
		l.First = link(path, q)
	}
	if next != "" {
		l.Next = link(path, q, param, next)
	}
	return l
}

// link is path with the query q and the pairs kv set.
func link(path string, q url.Values, kv ...string) string {
	c := url.Values{}
	for k, vs := range q {
		c[k] = vs
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	if len(c) == 0 {
		return path
	}
	return path + "?" + c.Encode()
}

// filters is the request's query as a list's route reads it: the named
// filters the page shows, the cursor and the page size.
func (v *view) filters(names ...string) url.Values {
	q := url.Values{}
	for _, n := range append(names, "after", "limit") {
		if s := v.Query.Get(n); s != "" {
			q.Set(n, s)
		}
	}
	return q
}

// csvRows is how a list's page becomes CSV rows, and its next cursor.
type csvRows func(page json.RawMessage) (rows [][]string, next string, err error)

// MaxExport is the most rows a CSV download holds; a list longer than
// that ends with a row saying so, for staff to narrow the filters.
const MaxExport = 20_000

// exportPage is the page size a download reads its route with.
const exportPage = 200

// export answers a CSV download of every page of call's list (its filters
// in call.Query), each page read through the route, so each is
// permitted, masked and recorded as the page itself is.
func (v *view) export(filename string, header []string, call admin.Call, rows csvRows) error {
	return v.exportBy("after", exportPage, filename, header, call, rows)
}

// exportBy is export of a route whose cursor is the query parameter
// param and whose pages hold at most size rows.
func (v *view) exportBy(param string, size int, filename string, header []string, call admin.Call, rows csvRows) error {
	q := url.Values{}
	for k, vs := range call.Query {
		if k != param && k != "limit" {
			q[k] = vs
		}
	}
	q.Set("limit", strconv.Itoa(size))
	call.Query = q
	var first json.RawMessage
	if err := v.do(call, &first); err != nil {
		return err // refused or wrong before anything is written: the page says why
	}
	v.answered = true
	out, err := web.StartCSV(v.w, filename, header)
	if err != nil {
		return nil
	}
	n, page := 0, first
	for {
		rs, next, err := rows(page)
		if err != nil {
			v.c.Log.Error("console CSV not finished", "file", filename, "error", err)
			_ = out.Row("…", err.Error())
			break
		}
		for _, r := range rs {
			if n >= MaxExport {
				_ = out.Row("…", word(v.Lang, "csv-truncated"))
				return out.Flush()
			}
			if err := out.Row(r...); err != nil {
				return nil
			}
			n++
		}
		if next == "" {
			break
		}
		q.Set(param, next)
		page = nil
		if err := v.do(call, &page); err != nil {
			_ = out.Row("…", err.Error())
			break
		}
	}
	if err := out.Flush(); err != nil {
		v.c.Log.Warn("console CSV not sent whole", "file", filename, "error", err)
	}
	return nil
}
