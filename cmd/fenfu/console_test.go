package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// TestConsolePagesHTTP: each of the console's pages over HTTP, on each
// engine, as a director sees them: the lists a page at a time after a
// cursor, their filters and searches, their CSV downloads (formula-safe),
// an application's document, a settlement run and checked against its
// bills, an exception's SLA running out, a consumer found by phone; and
// every page with its security headers and no inline style.
func TestConsolePagesHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testConsolePagesHTTP(t, engine) })
	}
}

// rows counts the rows of a list page's table: those with a data- key.
func rows(page, table string) int {
	i := strings.Index(page, `id="`+table+`"`)
	if i < 0 {
		return -1
	}
	end := strings.Index(page[i:], "</table>")
	return len(regexp.MustCompile(`<tr data-`).FindAllString(page[i:i+end], -1))
}

// href is the address of the link with id on page, unescaped.
func href(page, id string) string {
	m := regexp.MustCompile(`id="` + id + `" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// download fetches a CSV and answers its records, checking it is a
// download in UTF-8 with a byte-order mark.
func (d *desk) download(c *http.Client, path string) [][]string {
	d.t.Helper()
	resp, err := c.Get(d.base + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || !bytes.HasPrefix(b, []byte("\ufeff")) {
		d.t.Fatalf("%s: %d %s %q", path, resp.StatusCode, resp.Header, b)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil {
		d.t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func testConsolePagesHTTP(t *testing.T, engine db.Engine) {
	d := startDesk(t, engine)
	ctx := t.Context()
	// Each a minute after the one before, so pages have an order to keep.
	var apps []string
	for _, name := range []string{"Tea house one", "=cmd|' /C calc'!A0 Noodle bar", "Tea house three"} {
		apps = append(apps, d.inReview(name))
		d.clock.Advance(time.Minute)
	}
	held := d.held("SOFA-H-1", 600_00)
	d.clock.Advance(time.Minute)
	d.held("SOFA-H-2", 700_00)
	d.clock.Advance(time.Minute)
	d.held("SOFA-H-3", 900_00)
	paid := d.order("LAMP-1", 120_00)
	shopper := d.consumer(10_000_00, 0)
	d.pay(shopper, paid, 1)
	lin := d.member("lin", access.Engineering, access.Director)
	c := d.client(lin)
	var b []byte

	// Applications: two a page, then the last; searches and filters.
	code, page := d.get(c, "/console/applications?limit=2")
	if code != 200 || rows(page, "applications") != 2 || href(page, "next-page") == "" || strings.Contains(page, `id="first-page"`) {
		t.Fatalf("applications' first page: %d, %d rows\n%s", code, rows(page, "applications"), page)
	}
	_, page = d.get(c, href(page, "next-page"))
	if rows(page, "applications") != 1 || !strings.Contains(page, apps[2]) || strings.Contains(page, `id="next-page"`) || href(page, "first-page") == "" {
		t.Errorf("applications' second page: %d rows\n%s", rows(page, "applications"), text(page))
	}
	for q, want := range map[string]int{"q=noodle": 1, "q=tea": 2, "industry=catering": 0, "industry=life_services": 3,
		"state=approved": 0, "from=2026-11-27&to=2026-11-27": 3, "from=2026-11-28": 0} {
		if _, page := d.get(c, "/console/applications?"+q); rows(page, "applications") != want {
			t.Errorf("applications ?%s: %d rows, want %d", q, rows(page, "applications"), want)
		}
	}
	if code, page := d.get(c, "/console/applications?after=not-a-cursor"); code != 400 || !strings.Contains(page, "after") {
		t.Errorf("a broken cursor: %d %s", code, text(page))
	}
	recs := d.download(c, "/console/applications?format=csv&limit=1")
	if len(recs) != 4 || recs[0][0] != "id" || recs[2][0] != apps[1] || recs[2][2] != "'=cmd|' /C calc'!A0 Noodle bar" {
		t.Errorf("applications CSV: %q", recs)
	}
	// An application's page shows its document, which is served through
	// the console only, as the image it is.
	doc := d.withDocument(apps[0])
	_, page = d.get(c, "/console/applications/"+apps[0])
	if !strings.Contains(page, `/console/applications/`+apps[0]+`/documents/`+doc.sha) {
		t.Errorf("the application's page does not show its document")
	}
	resp, err := c.Get(d.base + "/console/applications/" + apps[0] + "/documents/" + doc.sha)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(b, doc.data) ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("the document: %d %v, %d bytes", resp.StatusCode, resp.Header, len(b))
	}
	if code, _ := d.get(c, "/console/applications/"+apps[1]+"/documents/"+doc.sha); code != 404 {
		t.Errorf("another application's document: %d, want 404", code)
	}
	if code, _ := d.get(&http.Client{}, "/console/applications/"+apps[0]+"/documents/"+doc.sha); code != 200 {
		// A browser without the session is sent to log in (the login page).
		t.Logf("without a session: %d", code)
	}

	// Risk queue: the holds two a page; by decision; CSV.
	_, page = d.get(c, "/console/risk/queue?limit=2")
	if rows(page, "risk-queue") != 2 || href(page, "next-page") == "" || !strings.Contains(page, held.ID) {
		t.Errorf("risk queue's first page: %d rows\n%s", rows(page, "risk-queue"), text(page))
	}
	if _, page = d.get(c, href(page, "next-page")); rows(page, "risk-queue") != 1 {
		t.Errorf("risk queue's second page: %d rows", rows(page, "risk-queue"))
	}
	for q, want := range map[string]int{"decision=ALERT": 0, "decision=HOLD": 3, "state=RELEASED": 0, "mchid=" + d.mchid: 3, "mchid=1": 0} {
		if _, page := d.get(c, "/console/risk/queue?"+q); rows(page, "risk-queue") != want {
			t.Errorf("risk queue ?%s: %d rows, want %d", q, rows(page, "risk-queue"), want)
		}
	}
	if recs := d.download(c, "/console/risk/queue?format=csv"); len(recs) != 4 || recs[1][5] != "600.00" {
		t.Errorf("risk queue CSV: %q", recs)
	}
	// A backtest of the rules over today: the four credit payments, the
	// three holds by big-hold.
	resp = d.post(c, "/console/risk/backtest", "/console/risk/backtest", url.Values{"from": {"2026-11-27"}, "to": {"2026-11-27"}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `id="bt-payments">4<`) || !strings.Contains(string(b), `<td>big-hold</td><td class="n">3</td>`) {
		t.Errorf("backtest: %d %s", resp.StatusCode, text(string(b)))
	}
	// A rule switched off from its page: a new version, recorded.
	resp = d.post(c, "/console/risk/rules", "/console/risk/rules/big-hold/disable", url.Values{"change_reason": {"too many holds"}})
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Errorf("switching a rule off: %d", resp.StatusCode)
	}
	if set, err := d.a.risk.Current(ctx); err != nil || set.Reason != "too many holds" || set.Actor != "staff:lin" ||
		!slices.ContainsFunc(set.Rules, func(r risk.Rule) bool { return r.Name == "big-hold" && !r.Enabled }) {
		t.Errorf("after the switch: %+v, %v", set, err)
	}

	// A day's settlement run from its page, its batches done; the
	// settlement checked against its bills to the fen.
	d.clock.Advance(24 * time.Hour)
	c = d.client(lin) // the session of yesterday has ended
	resp = d.post(c, "/console/finance/batches?date=2026-11-27", "/console/finance/batches", url.Values{"date": {"2026-11-27"}})
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "done=settle-run") {
		t.Fatalf("running the settlement: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitBatches(t, d, "2026-11-27")
	if _, page = d.get(c, "/console/finance/batches?date=2026-11-27"); !strings.Contains(page, "已完成") || strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("batches page: %s", text(page))
	}
	_, page = d.get(c, "/console/finance/settlements?mchid="+d.mchid)
	if rows(page, "settlements") != 1 || !strings.Contains(page, "¥120.00") {
		t.Fatalf("settlements: %d rows\n%s", rows(page, "settlements"), text(page))
	}
	sid := settle.ID("2026-11-27", "credit", d.mchid)
	if _, page = d.get(c, "/console/finance/settlements/"+sid); !strings.Contains(page, `id="gap"`) || !strings.Contains(page, "一致") {
		t.Errorf("the settlement's reconciliation: %s", text(page))
	}
	if _, page = d.get(c, "/console/finance/settlements?from=2026-11-28"); rows(page, "settlements") != 0 {
		t.Errorf("settlements from a later day: %d rows", rows(page, "settlements"))
	}
	if _, page = d.get(c, "/console/finance/negative"); rows(page, "settlements") != 0 || !strings.Contains(page, `id="empty"`) {
		t.Errorf("negative settlements: %d rows", rows(page, "settlements"))
	}
	if recs := d.download(c, "/console/finance/settlements?format=csv"); len(recs) != 2 || recs[1][0] != sid || recs[1][11] == "" {
		t.Errorf("settlements CSV: %q", recs)
	}
	// The day's trade bill downloads as the merchant's, and is then
	// listed.
	resp, err = c.Get(d.base + "/console/finance/bills/file?mchid=" + d.mchid + "&date=2026-11-27&kind=trade&type=ALL&channel=ALL")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(b), "LAMP-1") {
		t.Errorf("the bill: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if _, page = d.get(c, "/console/finance/bills?date=2026-11-27"); rows(page, "bills") < 1 || !strings.Contains(page, "/console/finance/bills/file?") {
		t.Errorf("bills: %d rows %s", rows(page, "bills"), text(page))
	}
	if recs := d.download(c, "/console/finance/bills?format=csv&mchid="+d.mchid); len(recs) < 2 || recs[1][0] != d.mchid {
		t.Errorf("bills CSV: %q", recs)
	}

	// An exception request's SLA: due, then overdue.
	x, err := d.a.settle.FileException(ctx, d.a.ids, d.mchid, settle.NewException{SettleDate: "2026-11-27", Description: "missing a payment"})
	if err != nil {
		t.Fatal(err)
	}
	if _, page = d.get(c, "/console/finance/exceptions"); !strings.Contains(page, x.ID) || !strings.Contains(page, "剩余 24 小时") {
		t.Errorf("exceptions: %s", text(page))
	}
	d.clock.Advance(25 * time.Hour)
	c = d.client(lin)
	if _, page = d.get(c, "/console/finance/exceptions"); !strings.Contains(page, "已超时 1 小时") || !strings.Contains(page, `class="tag bad"`) {
		t.Errorf("an exception past its SLA: %s", text(page))
	}
	if recs := d.download(c, "/console/finance/exceptions?format=csv"); len(recs) != 2 || recs[1][0] != x.ID || recs[1][8] != "true" {
		t.Errorf("exceptions CSV: %q", recs)
	}

	// A consumer found by phone: the form posts, the page is at the
	// consumer's id; a director sees the phone in the clear.
	resp = d.post(c, "/console/consumers", "/console/consumers", url.Values{"q": {shopper.phone}})
	resp.Body.Close()
	if resp.StatusCode != 303 || strings.Contains(resp.Header.Get("Location"), shopper.phone) {
		t.Fatalf("lookup: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = d.get(c, resp.Header.Get("Location"))
	if !strings.Contains(page, shopper.id) || !strings.Contains(page, shopper.phone) || !strings.Contains(page, "LAMP") && rows(page, "plans") < 0 {
		t.Errorf("the consumer's page: %s", text(page))
	}
	if code, page := d.get(c, "/console/consumers/"+shopper.id+"/statements/2026-11"); code != 200 || !strings.Contains(page, `id="total-due"`) {
		t.Errorf("statement: %d %s", code, text(page))
	}

	// Every page of the navigation answers, with its policy and no inline
	// style; tickets and charts, not served by this build, are not in it.
	_, home := d.get(c, "/console/")
	visited := 0
	for _, m := range regexp.MustCompile(`data-nav="[a-z-]+"[^>]*|href="(/console/[a-z/-]+)" data-nav`).FindAllStringSubmatch(home, -1) {
		if m[1] == "" {
			continue
		}
		visited++
		resp, err := c.Get(d.base + m[1])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'nonce-") || strings.Contains(csp, "unsafe-inline") ||
			strings.Contains(string(b), ` style="`) || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d, policy %q\n%s", m[1], resp.StatusCode, csp, text(string(b)))
		}
	}
	if visited < 16 {
		t.Errorf("visited %d pages of the navigation; the pattern is broken", visited)
	}
	// Tickets: two a page after the list's cursor, by type; a reply from
	// the ticket's page meets its SLA, recorded under the member.
	var tks []string
	for i, ty := range []ticket.Type{ticket.InterfaceTimeout, ticket.General, ticket.General} {
		tk, err := d.a.tickets.Open(ctx, ticket.Merchant(d.mchid), ticket.New{Type: ty, Description: fmt.Sprintf("problem %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, tk.ID)
		d.clock.Advance(time.Second)
	}
	_, page = d.get(c, "/console/tickets?type=GENERAL&limit=1")
	if rows(page, "tickets") != 1 || href(page, "next-page") == "" || !strings.Contains(page, tks[2]) {
		t.Fatalf("general tickets' first page: %d rows\n%s", rows(page, "tickets"), text(page))
	}
	if _, page = d.get(c, href(page, "next-page")); rows(page, "tickets") != 1 || !strings.Contains(page, tks[1]) {
		t.Errorf("general tickets' second page: %d rows\n%s", rows(page, "tickets"), text(page))
	}
	// The exception request filed above is a ticket too.
	if _, page = d.get(c, "/console/tickets"); rows(page, "tickets") != 4 || !strings.Contains(page, x.ID) {
		t.Errorf("every ticket: %d rows", rows(page, "tickets"))
	}
	if recs := d.download(c, "/console/tickets?format=csv&type=INTERFACE_TIMEOUT"); len(recs) != 2 || recs[1][0] != tks[0] {
		t.Errorf("tickets CSV: %q", recs)
	}
	resp = d.post(c, "/console/tickets/"+tks[0], "/console/tickets/"+tks[0]+"/replies", url.Values{"content": {"we are on it"}})
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Errorf("reply: %d", resp.StatusCode)
	}
	if tk, err := d.a.tickets.Get(ctx, ticket.Staff("lin"), tks[0]); err != nil || tk.Status != ticket.Answered ||
		tk.History[len(tk.History)-1].Actor != "staff:lin" {
		t.Errorf("after the reply: %+v, %v", tk, err)
	}
	if _, page = d.get(c, "/console/tickets/"+tks[0]); !strings.Contains(page, "we are on it") || !strings.Contains(page, "已回复") {
		t.Errorf("the ticket's page: %s", text(page))
	}
	// A history longer than a page shows its newest events and says how
	// many earlier ones it leaves out: here the opening.
	padHistory(t, d.a.core, tks[1], ticket.MaxHistory)
	if _, page = d.get(c, "/console/tickets/"+tks[1]); !regexp.MustCompile(`id="history-omitted">[^<]* 1</p>`).MatchString(page) ||
		!strings.Contains(page, fmt.Sprintf("still waiting, %d<", ticket.MaxHistory-1)) {
		t.Errorf("a ticket of %d events: no word of the one left out, or not its newest\n%s", ticket.MaxHistory+1, text(page))
	}
	// The charts the member may see, each drawn through its staff route;
	// risk staff see only risk's.
	_, page = d.get(c, "/console/charts?from=2026-11-27&to=2026-11-28")
	srcs := regexp.MustCompile(`<img src="(/console/charts/[a-z]+\.svg\?[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(srcs) != 4 || strings.Contains(page, "chart-ab") {
		t.Errorf("charts: %d images\n%s", len(srcs), text(page))
	}
	for _, m := range srcs {
		resp, err := c.Get(d.base + strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml; charset=utf-8" || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s: %d %s", m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if _, page = d.get(c, "/console/charts?mchid="+d.mchid); !strings.Contains(page, `id="chart-ab"`) {
		t.Error("the A/B chart is not shown for a merchant")
	}
	risky := d.client(d.member("risk.wu", access.Risk, access.StaffRank))
	if _, page = d.get(risky, "/console/charts"); !strings.Contains(page, `id="chart-risk"`) || strings.Contains(page, `id="chart-settlements"`) {
		t.Errorf("risk staff's charts: %s", text(page))
	}
	if code, _ := d.get(risky, "/console/charts/settlements.svg"); code != 403 {
		t.Errorf("risk staff reading the settlements chart: %d, want 403", code)
	}
}

// waitBatches waits for the day's batches to finish.
func waitBatches(t *testing.T, d *desk, date string) {
	t.Helper()
	for range 200 {
		list, err := d.a.settle.Batches(t.Context(), date)
		if err != nil {
			t.Fatal(err)
		}
		done := len(list) > 0
		for _, b := range list {
			done = done && b.State == settle.Done
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the batches of %s did not finish", date)
}

// TestConsoleLoginHTTP: a wrong code is refused on the login page and
// recorded as a refused login; the right one starts a session whose
// cookie is HttpOnly, SameSite=Strict and scoped to /console/; logging
// out ends the session in the store, so the old cookie opens nothing.
func TestConsoleLoginHTTP(t *testing.T) {
	d := startDesk(t, db.SQLite)
	mei := d.member("ops.mei", access.Operations, access.StaffRank)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(code string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", d.base+"/console/login", strings.NewReader(url.Values{"name": {"ops.mei"},
			"password": {mei.password}, "totp": {code}, "next": {"//evil.example/x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := login("000000")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), `id="login-form"`) || !strings.Contains(string(b), "UNAUTHENTICATED") ||
		len(resp.Cookies()) != 0 {
		t.Errorf("a wrong code: %d %s", resp.StatusCode, text(string(b)))
	}
	if !d.audited(d.a.core, "unauthenticated", "login refused", "staff:ops.mei") {
		t.Error("the refused login is not in the audit log")
	}
	resp = login(d.code(mei))
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "fenfu_staff" {
			ck = c
		}
	}
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/console/" || ck == nil || !ck.HttpOnly ||
		ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" {
		t.Fatalf("login: %d to %q, cookie %+v", resp.StatusCode, resp.Header.Get("Location"), ck)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", d.base+"/console/applications", nil)
		req.AddCookie(ck)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("with the session: %d", got)
	}
	req, _ := http.NewRequest("GET", d.base+"/console/", nil)
	req.AddCookie(ck)
	resp, _ = noFollow.Do(req)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(string(page))
	req, _ = http.NewRequest("POST", d.base+"/console/logout", strings.NewReader(url.Values{"form_token": {token[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.base)
	req.AddCookie(ck)
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != 303 {
		t.Fatalf("logout: %v %v", resp, err)
	}
	if got := get(); got != 303 {
		t.Errorf("the old cookie after logout: %d, want 303 to the login page", got)
	}
}

// TestConsoleCookieLastsTheSessionOnAnAdvancedSandboxClock: staff
// sessions run on the system's clock, also in a sandbox whose clock was
// advanced (README, Staff and access), and the console's cookie lasts as
// the session does on that clock: two days ahead, a member who logs in
// stays logged in.
func TestConsoleCookieLastsTheSessionOnAnAdvancedSandboxClock(t *testing.T) {
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

// TestConsoleTicketShowsItsSLAAsADuration: a ticket's page in the
// console says its lane's SLA as a duration, never as a count of
// nanoseconds ("处理时限 86400000000000").
func TestConsoleTicketShowsItsSLAAsADuration(t *testing.T) {
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

// TestConsoleTicketFormsTakeNoMoreThanATicket: the console's reply
// and resolution forms let staff type no more than a ticket takes
// (ticket.MaxText): an answer as long as the form allows is accepted,
// never refused after it was written.
func TestConsoleTicketFormsTakeNoMoreThanATicket(t *testing.T) {
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

// TestConsoleLogoutIsAudited: the console's Log out is an entry of the
// audit log under the member, as POST /admin/logout is, and as the
// portal's logout is under its user.
func TestConsoleLogoutIsAudited(t *testing.T) {
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

// TestConsoleConsumersPageNeedsItsPermission: every page opened
// without its route's permission answers 403 (README, Ops console), the
// consumer lookup too: its form is not shown to members the policy does
// not let look consumers up (operations, engineering). So is the charts
// page to a member who may see none of its charts (support).
func TestConsoleConsumersPageNeedsItsPermission(t *testing.T) {
	d := startDesk(t, db.SQLite)
	c := d.client(d.member("ops.mei", access.Operations, access.StaffRank))
	if code, page := d.get(c, "/console/consumers"); code != http.StatusForbidden {
		t.Errorf("an operations member opens the consumer lookup: HTTP %d, want 403 (its form: %v)", code, strings.Contains(page, `id="lookup"`))
	}
	if code, _ := d.get(c, "/console/charts"); code != http.StatusOK {
		t.Errorf("an operations member opens the charts: HTTP %d, want 200", code)
	}
	sup := d.client(d.member("sup.wang", access.Support, access.StaffRank))
	if code, _ := d.get(sup, "/console/charts"); code != http.StatusForbidden {
		t.Errorf("a support member, who may see no chart, opens the charts: HTTP %d, want 403", code)
	}
}
