package fenfu

import (
	"encoding/base64"
	"strings"
)

// Keyset is one page of a list read in the order of its key (keyset
// pagination): at most Limit rows after the row whose key After holds, ""
// for the first page. A page is as fast on the millionth row as on the
// first, where OFFSET would read and drop every row before it.
type Keyset struct {
	After string
	Limit int
}

// Size is the page's limit: def when unset, at most max.
func (p Keyset) Size(def, max int) int {
	switch {
	case p.Limit <= 0:
		return def
	case p.Limit > max:
		return max
	}
	return p.Limit
}

// Key is the key After holds, n parts, or nil for the first page. A
// cursor that is not one of n parts is a PARAM_ERROR naming after.
func (p Keyset) Key(n int) ([]string, error) {
	if p.After == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(p.After)
	parts := strings.Split(string(raw), "\x1f")
	if err != nil || len(parts) != n || len(p.After) > 512 {
		e := FieldError("after", "after is the next cursor a page answered, passed back as it was")
		e.Remedy = "Start again from the first page, without after."
		return nil, e
	}
	return parts, nil
}

// Cursor is the cursor of a row's key, which the next page passes as
// After.
func Cursor(key ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(key, "\x1f")))
}
