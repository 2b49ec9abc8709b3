package web

import (
	"net/url"
	"strings"
)

// maxNext bounds the address a login or a form sends the browser on to.
const maxNext = 2048

// Within reports whether next is an address in section (a path such as
// "/console/" or "/portal/", its slashes included) that a login or a form
// may send the browser on to: a path on this host that begins with
// section and stays in it however a browser or http.Redirect reads it.
// Refused whole: another scheme or host; "//" or a backslash anywhere
// (which browsers read as the start of another host); a "." or ".."
// segment; a percent sign in the path, as no page's path needs one and
// an encoded dot, slash or backslash climbs out of section once decoded
// (%2e%2e is ".." to a browser); control characters; and an address of
// maxNext bytes or more. The query may hold any encoded text.
func Within(next, section string) bool {
	if len(next) >= maxNext || !strings.HasPrefix(next, section) || strings.Contains(next, "//") || strings.Contains(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil || strings.Contains(u.EscapedPath(), "%") ||
		u.RawPath != "" || !strings.HasPrefix(u.Path, section) {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
