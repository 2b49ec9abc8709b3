package console

import (
	"path"
	"strings"
	"testing"
)

// TestReviewSafeNextLeavesTheConsole: a login's next page is "a console
// page, or the home page", but safeNext keeps a path that climbs out of
// /console/ with "..": the login's redirect (http.Redirect cleans the
// path) then sends the member to /admin/me, /portal/… or /cashier/….
// The portal's safeNext refuses "/..".
func TestReviewSafeNextLeavesTheConsole(t *testing.T) {
	for _, next := range []string{"/console/../admin/me", "/console/../portal/orders", "/console/x/../../cashier/"} {
		got := safeNext(next)
		if where := path.Clean(strings.SplitN(got, "?", 2)[0]); !strings.HasPrefix(where+"/", "/console/") {
			t.Errorf("safeNext(%q) = %q: the login sends the browser to %s, outside the console", next, got, where)
		}
	}
}
