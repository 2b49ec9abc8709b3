package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/fenfu/fenfu/db"
)

// Defects the console's and the portal's logins share.

// TestReviewWebLoginsHaveNoLimitPerSource: the portal's and the
// console's logins count wrong logins per user only; one address may try
// a password on any number of users without end (password spraying),
// where the consumers' login stops an address after
// --login-source-failures.
func TestReviewWebLoginsHaveNoLimitPerSource(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	const tries = 40
	limited := false
	for i := range tries {
		u := w.user(w.m.MchID, fmt.Sprintf("user%02d", i), "Summer2026!pass", "")
		status, _, _ := w.send(u, "POST", "/portal/login", url.Values{"mchid": {u.mchid}, "name": {u.name}, "password": {u.password}})
		if status == http.StatusTooManyRequests {
			limited = true
			break
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("a wrong login: HTTP %d", status)
		}
	}
	if !limited {
		t.Errorf("one address made %d wrong portal logins, each on another user, and none was refused", tries)
	}
	limited = false
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range tries {
		resp, err := noFollow.PostForm(w.base+"/console/login", url.Values{"name": {fmt.Sprintf("staff%02d", i)}, "password": {"Summer2026!pass"},
			"totp": {"123456"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Errorf("one address made %d wrong console logins, each on another name, and none was refused", tries)
	}
}
