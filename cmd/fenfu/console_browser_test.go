package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu/access"
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
