package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/ticket"
)

// Defects of the ops console, each shown by one test over HTTP.

// TestReviewConsoleCookieExpiresAtOnceOnAdvancedSandboxClock: staff
// sessions run on the system's clock, also in a sandbox whose clock was
// advanced (README, Staff and access), but the console sets its cookie's
// lifetime against the sandbox clock: two days ahead, the cookie is
// already expired when it is set, and staff cannot stay logged in.
func TestReviewConsoleCookieExpiresAtOnceOnAdvancedSandboxClock(t *testing.T) {
	w := startWorld(t, sandboxConfig(t, db.SQLite))
	if _, err := w.a.sandboxClock.Advance(t.Context(), sandbox.AdvanceRequest{Duration: "48h"}, nil); err != nil {
		t.Fatal(err)
	}
	d := &desk{creditWorld: w, docs: map[string]doc{}}
	mei := d.member("ops.mei", access.Operations, access.StaffRank)
	form := url.Values{"name": {mei.name}, "password": {mei.password}, "totp": {d.code(mei)}, "next": {"/console/"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(d.base+"/console/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "fenfu_staff" {
			ck = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ck == nil {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	// The session lasts --staff-session-ttl (8h) on the system's clock.
	if ck.MaxAge < int((7 * time.Hour).Seconds()) {
		t.Errorf("the console's session cookie lasts %ds (Max-Age), want about 8h: set against the sandbox clock, not the session's",
			ck.MaxAge)
	}
	c := d.client(mei)
	if code, _ := d.get(c, "/console/applications"); code != 200 {
		t.Errorf("a member just logged in opens the review queue: HTTP %d, want 200 (the browser dropped the cookie)", code)
	}
}

// TestReviewConsoleTicketSLAShownAsNanoseconds: a ticket's page in the
// console shows its lane's SLA as a count of nanoseconds
// ("处理时限 86400000000000") instead of a duration.
func TestReviewConsoleTicketSLAShownAsNanoseconds(t *testing.T) {
	d := startDesk(t, db.SQLite)
	tk, err := d.a.tickets.Open(t.Context(), ticket.Merchant(d.mchid), ticket.New{Type: ticket.General, Description: "a question"})
	if err != nil {
		t.Fatal(err)
	}
	c := d.client(d.member("sup.wang", access.Support, access.StaffRank))
	code, page := d.get(c, "/console/tickets/"+tk.ID+"?lang=zh")
	if code != 200 {
		t.Fatalf("the ticket's page: HTTP %d", code)
	}
	if ns := strconv.FormatInt(int64(time.Duration(tk.SLA)), 10); strings.Contains(page, ns) {
		t.Errorf("the ticket's page shows its SLA as %s (nanoseconds), not as %s", ns, time.Duration(tk.SLA))
	}
}

// TestReviewConsoleTicketFormsTakeTextTicketsRefuse: the console's reply
// and resolution forms let staff type 2,000 characters, but a ticket
// takes at most ticket.MaxText (1,000): an answer as long as the form
// allows is refused after it was written.
func TestReviewConsoleTicketFormsTakeTextTicketsRefuse(t *testing.T) {
	d := startDesk(t, db.SQLite)
	tk, err := d.a.tickets.Open(t.Context(), ticket.Merchant(d.mchid), ticket.New{Type: ticket.General, Description: "a question"})
	if err != nil {
		t.Fatal(err)
	}
	c := d.client(d.member("sup.wang", access.Support, access.StaffRank))
	_, page := d.get(c, "/console/tickets/"+tk.ID)
	m := regexp.MustCompile(`<textarea[^>]*name="content"[^>]*maxlength="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the ticket's page has no reply field with a maxlength")
	}
	n, _ := strconv.Atoi(m[1])
	answer := strings.Repeat("核", n) // as long as the form lets staff type
	resp := d.post(c, "/console/tickets/"+tk.ID, "/console/tickets/"+tk.ID+"/replies", url.Values{"content": {answer}})
	b := readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a reply of %d characters, which the reply form allows: HTTP %d (a ticket takes %d)\n%s", n, resp.StatusCode,
			ticket.MaxText, regexp.MustCompile(`id="problem-message">[^<]*`).FindString(b))
	}
}

// TestReviewConsoleLogoutNotAudited: POST /admin/logout is an entry of
// the audit log under the member, as the portal's logout is under its
// user; the console's Log out ends the session without going through the
// route, and nothing records it.
func TestReviewConsoleLogoutNotAudited(t *testing.T) {
	d := startDesk(t, db.SQLite)
	c := d.client(d.member("ops.mei", access.Operations, access.StaffRank))
	resp := d.post(c, "/console/", "/console/logout", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: HTTP %d", resp.StatusCode)
	}
	if code, _ := d.get(c, "/console/applications"); code != http.StatusSeeOther {
		t.Fatalf("after logout: HTTP %d, want 303 to the login page", code)
	}
	entries, err := audit.List(t.Context(), d.a.core, audit.Filter{Actor: "staff:ops.mei", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Action, "logout") {
			return
		}
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	t.Errorf("the console's logout is not in the audit log; ops.mei's entries: %q", actions)
}

// TestReviewConsoleConsumersPageOpensWithoutPermission: every page opened
// without its route's permission answers 403 (README, Ops console), but
// the consumer lookup answers its form to members the policy does not
// let look consumers up (operations, engineering).
func TestReviewConsoleConsumersPageOpensWithoutPermission(t *testing.T) {
	d := startDesk(t, db.SQLite)
	c := d.client(d.member("ops.mei", access.Operations, access.StaffRank))
	if code, page := d.get(c, "/console/consumers"); code != http.StatusForbidden {
		t.Errorf("an operations member opens the consumer lookup: HTTP %d, want 403 (its form: %v)", code, strings.Contains(page, `id="lookup"`))
	}
}
