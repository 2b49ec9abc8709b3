package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db"
)

// TestPortalDoctor: an owner runs fenfu doctor's checks from the portal:
// the sandbox merchant's http notify URL is a warning, the DNS and the
// answer are checked, and the merchant's clock and key, which a click
// does not prove, are not checked, the report saying where they are; the
// report is in the page's language; a malformed notify URL is refused
// with the form kept; a support user may not run the checks.
func TestPortalDoctor(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(endpoint.Close)
	owner := w.owner(w.m.MchID, "li")
	w.login(owner)

	status, _, body := w.send(owner, "GET", "/portal/doctor", nil)
	if status != 200 || !strings.Contains(body, `id="doctor-form"`) || !strings.Contains(body, `id="nav-doctor"`) {
		t.Fatalf("the doctor page: HTTP %d\n%s", status, body)
	}
	status, _, body = w.send(owner, "POST", "/portal/doctor?lang=en", url.Values{"notify_url": {endpoint.URL + "/notify"}})
	if status != 200 || !strings.Contains(body, `id="doctor-report"`) {
		t.Fatalf("running the checks: HTTP %d\n%s", status, body)
	}
	for _, want := range []string{`data-check="notify_url" data-verdict="warn"`, `data-check="dns" data-verdict="pass"`,
		`data-check="https" data-verdict="pass"`, `data-check="clock" data-verdict="skip"`, `data-check="merchant_key" data-verdict="skip"`,
		`data-check="platform_key" data-verdict="skip"`, "the sandbox delivers to it", "run fenfu doctor"} {
		if !strings.Contains(body, want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	// In Chinese.
	status, _, body = w.send(owner, "POST", "/portal/doctor?lang=zh", url.Values{"notify_url": {endpoint.URL + "/notify"}})
	if status != 200 || !strings.Contains(body, "检查结果") || !strings.Contains(body, "回调地址") || strings.Contains(body, "the sandbox delivers to it") {
		t.Errorf("the report in Chinese: HTTP %d\n%s", status, body)
	}

	// A malformed notify URL: refused, the form as sent.
	status, _, body = w.send(owner, "POST", "/portal/doctor?lang=en", url.Values{"notify_url": {"ftp://shop.example/n"}})
	if status != 400 || !strings.Contains(body, "notify_url") {
		t.Errorf("a malformed notify URL: HTTP %d\n%s", status, body)
	}

	// Support may not.
	amy := w.add(owner, "amy", "support", false)
	w.login(amy)
	if status, _, _ := w.send(amy, "GET", "/portal/doctor", nil); status != 403 {
		t.Errorf("support opens the doctor page: HTTP %d", status)
	}
	if status, _, _ := w.send(amy, "POST", "/portal/doctor", url.Values{}); status != 403 {
		t.Errorf("support runs the checks: HTTP %d", status)
	}
}
