package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/risk"
)

// TestConsoleReviewInBrowser: an operations reviewer logs in with their
// password and the TOTP code of the secret they enrolled, finds the
// application in the review queue, opens it (the legal person masked)
// and approves it with a reason: the store has it approved by them, and
// the audit log names them; at a phone's width and a desk's.
func TestConsoleReviewInBrowser(t *testing.T) {
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) { testConsoleReviewInBrowser(t, s) })
	}
}

func testConsoleReviewInBrowser(t *testing.T, s screen) {
	d := startDesk(t, db.SQLite)
	id := d.inReview("Tea house")
	mei := d.member("ops.mei", access.Operations, access.StaffRank)
	p := newPersonAt(t, s)
	d.login(p, mei)
	p.sees("#who", "ops.mei")

	p.click(`#nav a[href="/console/applications"]`, `#applications`)
	p.sees("#applications", "Tea house", "待人工审核")
	p.shot("queue")
	// On a phone the queue's rows read as cards, each cell under its
	// column's heading, and nothing runs off the screen's side.
	if s == phone && !p.eval(`(() => {
		const t = document.querySelector("#applications"), td = t.querySelector("tbody td");
		return t.classList.contains("cards") && td.dataset.label === t.querySelector("thead th").textContent.trim() &&
			getComputedStyle(td).display === "grid" && t.getBoundingClientRect().right <= window.innerWidth &&
			document.documentElement.scrollWidth <= window.innerWidth;
	})()`) {
		t.Error("on a phone the queue is not laid out as cards within the screen")
	}
	p.click(`#applications a[href="/console/applications/`+id+`"]`, `#application`)
	p.sees("#legal-person", "张**", "138****5678")
	if got := p.text("body"); strings.Contains(got, "13812345678") || strings.Contains(got, "张三丰") {
		t.Error("the reviewer, who may not see personal data, sees it in the clear")
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`#review-reason`), "执照与许可证一致"))
	p.click(`#approve`, `#notice`)
	p.sees("#notice", "已通过该申请")
	p.sees("#app-state", "已通过")
	p.shot("approved")

	rec, err := d.a.onboard.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	last := rec.Events[len(rec.Events)-1]
	if rec.State != onboard.Approved || last.Actor != "staff:ops.mei" || last.Reason != "执照与许可证一致" {
		t.Errorf("in the store: %s, last event %+v; want approved by staff:ops.mei with the reason", rec.State, last)
	}
	if !d.audited(d.a.core, "staff:ops.mei", "POST /admin/applications/{id}/review", id) {
		t.Error("the audit log does not name ops.mei for the review")
	}
	p.click(`#lang-switch`, `#application`)
	p.sees("#app-state", "Approved")
	p.sees("#title", "Application")
}

// TestConsoleReleaseHoldInBrowser: a risk supervisor finds a held
// payment in the queue and releases it with a reason: the order's hold
// is lifted in the store, the queue item is released by them, and the
// audit log names them; at a phone's width and a desk's.
func TestConsoleReleaseHoldInBrowser(t *testing.T) {
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) { testConsoleReleaseHoldInBrowser(t, s) })
	}
}

func testConsoleReleaseHoldInBrowser(t *testing.T, s screen) {
	d := startDesk(t, db.SQLite)
	o := d.held("SOFA-HOLD-1", 800_00)
	li := d.member("risk.li", access.Risk, access.Supervisor)
	p := newPersonAt(t, s)
	d.login(p, li)

	p.click(`#nav a[href="/console/risk/queue"]`, `#risk-queue`)
	p.sees("#risk-queue", o.ID, "¥800.00", "冻结", "big-hold")
	p.shot("queue")
	p.click(`#risk-queue tr[data-order="`+o.ID+`"] a`, `#risk-item`)
	p.sees("#item-state", "待处理")
	p.do(chromedp.SendKeys(chromedp.CSS(`#reason-release`), "来电核实为本人购买"))
	p.click(`#do-release`, `#notice`)
	p.sees("#notice", "已解除冻结")
	p.sees("#item-state", "已解冻")
	p.sees("#item-actions", "risk.li", "来电核实为本人购买")
	p.shot("released")

	ctx := t.Context()
	got, err := d.a.pay.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.HoldUntil.After(d.clock.Now()) {
		t.Errorf("the order is still held until %s", got.HoldUntil)
	}
	it, err := d.a.risk.Item(ctx, o.ID)
	if err != nil || it.State != risk.Released || len(it.Actions) != 1 || it.Actions[0].Actor != "staff:risk.li" {
		t.Errorf("queue item %+v, %v: want released by staff:risk.li", it, err)
	}
	if !d.audited(d.a.credit, "staff:risk.li", "POST /admin/risk/queue/{id}/{action}", it.AttemptID) {
		t.Error("the credit store's audit log does not name risk.li for the release")
	}
}

// TestConsoleSupportSeesMaskedInBrowser: a support agent looks a consumer
// up by phone and sees the phone masked (138****8000), and nowhere on the
// page the clear number; the page offers no unmasking, and a direct
// request to unmask the phone or to read an application's document is
// refused.
func TestConsoleSupportSeesMaskedInBrowser(t *testing.T) {
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) { testConsoleSupportSeesMaskedInBrowser(t, s) })
	}
}

func testConsoleSupportSeesMaskedInBrowser(t *testing.T, s screen) {
	d := startDesk(t, db.SQLite)
	c, _, err := d.a.consumers.Create(t.Context(), consumer.NewConsumer{Phone: "13800138000", CreditLimit: 5000_00, Rating: "A"})
	if err != nil {
		t.Fatal(err)
	}
	app := d.withDocument(d.inReview("Tea house"))
	kai := d.member("support.kai", access.Support, access.StaffRank)
	p := newPersonAt(t, s)
	d.login(p, kai)
	p.click(`#nav a[href="/console/consumers"]`, `#lookup`)
	p.do(chromedp.SendKeys(chromedp.CSS(`#q`), "13800138000"))
	p.click(`#find`, `#consumer`)
	p.sees("#consumer-phone", "138****8000")
	p.sees("#consumer-id", c.ID)
	if body := p.text("html"); strings.Contains(body, "13800138000") {
		t.Error("the page shows the clear phone number somewhere")
	}
	if p.eval(`document.documentElement.outerHTML.includes('13800138000')`) {
		t.Error("the page's markup holds the clear phone number (a field, an attribute, the address)")
	}
	if p.eval(`document.getElementById('unmask-form') !== null`) {
		t.Error("the page offers support staff an unmasking their policy does not grant")
	}
	p.shot("consumer")

	// Straight to the unmasking and to a document, with the session and
	// a good form token: refused.
	cl := d.client(kai)
	resp := d.post(cl, "/console/consumers/"+c.ID, "/console/consumers/"+c.ID+"/unmask", url.Values{"reason": {"curious"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || strings.Contains(string(b), "13800138000") {
		t.Errorf("unmask by support staff = %d %s", resp.StatusCode, text(string(b)))
	}
	code, page := d.get(cl, "/console/applications/"+app.id+"/documents/"+app.sha)
	if code != 403 || !strings.Contains(page, "onboarding") {
		t.Errorf("a document read by support staff = %d %s", code, text(page))
	}
	if list, _ := d.a.access.Unmaskings(t.Context(), "support.kai", 0); len(list) != 0 {
		t.Errorf("unmaskings recorded for support.kai: %+v", list)
	}
	// The lookup is in the audit log, naming the agent, the phone masked.
	logged, err := audit.List(t.Context(), d.a.core, audit.Filter{Actor: "staff:support.kai", Action: "GET /admin/consumers", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	byPhone := false
	for _, x := range logged {
		byPhone = byPhone || strings.Contains(string(x.Detail), `phone=138****8000`)
		if strings.Contains(string(x.Detail), "13800138000") {
			t.Errorf("an audit entry keeps the clear phone: %s", x.Detail)
		}
	}
	if !byPhone {
		t.Error("the audit log has no lookup by the masked phone")
	}
}

// TestConsoleNavigationByPolicyInBrowser: a member sees in the
// navigation only what their policy grants, and a page it does not grant
// answers a refusal naming the permission.
func TestConsoleNavigationByPolicyInBrowser(t *testing.T) {
	d := startDesk(t, db.SQLite)
	fang := d.member("finance.fang", access.Finance, access.StaffRank)
	p := newPersonAt(t, desktop)
	d.login(p, fang)
	for sel, want := range map[string]bool{
		`#nav a[href="/console/finance/settlements"]`: true, `#nav a[href="/console/finance/bills"]`: true,
		`#nav a[href="/console/consumers"]`: true, `#nav a[href="/console/applications"]`: false,
		`#nav a[href="/console/risk/queue"]`: false, `#nav a[href="/console/engineering/keys"]`: false,
	} {
		if got := p.eval(`document.querySelector('` + sel + `') !== null`); got != want {
			t.Errorf("%s in finance staff's navigation: %v, want %v", sel, got, want)
		}
	}
	p.open(d.base+"/console/risk/queue", `#problem`)
	p.sees("#problem", "risk.queue")
	p.sees("#title", "无法完成")
	p.shot("refused")
	code, _ := d.get(d.client(fang), "/console/risk/queue")
	if code != 403 {
		t.Errorf("the refused page answers %d, want 403", code)
	}
}

// TestConsoleCrossSitePostInBrowser: a page of another site that posts a
// review form to the console, in the browser of a logged-in reviewer, is
// refused, and the application stays in review.
func TestConsoleCrossSitePostInBrowser(t *testing.T) {
	d := startDesk(t, db.SQLite)
	id := d.inReview("Tea house")
	mei := d.member("ops.mei", access.Operations, access.StaffRank)
	p := newPersonAt(t, desktop)
	d.login(p, mei)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/console/applications/%s/review">
<input name="decision" value="approve"><input name="reason" value="forged"><input name="form_token" value="guess"></form>
<script>document.getElementById('f').submit()</script>`, d.base, id)
	}))
	t.Cleanup(evil.Close)
	p.open(evil.URL, `#problem`)
	p.sees("#problem", "NO_AUTH")
	p.shot("refused")
	rec, err := d.a.onboard.Get(t.Context(), id)
	if err != nil || rec.State != onboard.InReview {
		t.Errorf("after the cross-site post: %s, %v; want it still in review", rec.State, err)
	}
}
