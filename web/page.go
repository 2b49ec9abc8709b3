package web

import (
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
)

// Lists page by keyset, newest first: a page ends at its last row, and
// the next page's link carries that row's sort key and id as a cursor,
// so any page is read from an index at the cost of the first.

// MaxCursor bounds a cursor's length, as a link carries it.
const MaxCursor = 512

// cursorSep separates a cursor's parts: a byte no part holds.
const cursorSep = "\x1f"

// Cursor encodes where a page ends (the parts of its last row's sort
// key) for the next page's link: base64url, opaque to the person who
// follows it. A part holds no 0x1F byte.
func Cursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, cursorSep)))
}

// ParseCursor reads a cursor of n parts. A cursor that is not one Cursor
// made is PARAM_ERROR on the field "after", with the remedy of starting
// from the first page.
func ParseCursor(s string, n int) ([]string, error) {
	bad := func() error {
		e := fenfu.FieldError("after", "the page's cursor is not one this list made")
		e.Remedy = "Start again from the list's first page."
		return e
	}
	if len(s) > MaxCursor {
		return nil, bad()
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, bad()
	}
	parts := strings.Split(string(b), cursorSep)
	if len(parts) != n {
		return nil, bad()
	}
	return parts, nil
}

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
