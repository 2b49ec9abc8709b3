package admin

import (
	"net/url"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
)

// Every staff list reads a page at a time in its key's order: ?after= is
// the next cursor the page before answered (as "next", "" after the
// last page), ?limit= the page's size, up to the list's cap.

// page reads a list's ?after= and ?limit=.
func page(q url.Values) (fenfu.Keyset, error) {
	p := fenfu.Keyset{After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, fenfu.FieldError("limit", "limit is a whole number, 1 or more (each list caps it)")
		}
		p.Limit = n
	}
	return p, nil
}

// days reads ?from= and ?to=, business days (YYYY-MM-DD, Asia/Shanghai),
// both inclusive, as the instants [from, to): to is the end of its day.
// Either may be absent (zero).
func days(q url.Values) (from, to time.Time, err error) {
	for _, d := range []struct {
		name string
		t    *time.Time
		end  bool
	}{{"from", &from, false}, {"to", &to, true}} {
		s := q.Get(d.name)
		if s == "" {
			continue
		}
		v, perr := time.ParseInLocation(time.DateOnly, s, fenfu.Shanghai)
		if perr != nil || v.Format(time.DateOnly) != s {
			return from, to, fenfu.FieldError(d.name, "%s is a date, YYYY-MM-DD", d.name)
		}
		if d.end {
			v = v.AddDate(0, 0, 1)
		}
		*d.t = v
	}
	return from, to, nil
}
