package web

import (
	"net/url"
	"time"

	"github.com/fenfu/fenfu"
)

// Dates reads a list's date filter, ?from= and ?to=, each a day
// (YYYY-MM-DD, Asia/Shanghai) or absent: from is the start of its day,
// to the end of its day, so a one-day range is from=D&to=D. A malformed
// or inverted range is PARAM_ERROR on its field.
func Dates(q url.Values) (from, to time.Time, err error) {
	day := func(field string) (time.Time, error) {
		v := q.Get(field)
		if v == "" {
			return time.Time{}, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, v, fenfu.Shanghai)
		if err != nil || d.Format(time.DateOnly) != v {
			return time.Time{}, fenfu.FieldError(field, "%s must be a date, YYYY-MM-DD", field)
		}
		return d, nil
	}
	if from, err = day("from"); err != nil {
		return
	}
	if to, err = day("to"); err != nil {
		return
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return time.Time{}, time.Time{}, fenfu.FieldError("to", "to must not be before from")
	}
	return from, to, nil
}
