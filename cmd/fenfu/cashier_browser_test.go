package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// TestConsumerCashierInBrowser walks the cashier as a consumer does, at a
// phone's and a desktop's size, asserting what the page shows: in
// Chinese, a wrong PIN at the login keeps the merchant and amount on
// screen with the reason and lets the consumer try again; a credit line
// too short for the order says so and brings the form back on balance,
// which pays once the PIN confirms it; the paid page shows the time with
// its zone, the channel and what is left; reloading it, and going back
// and forward, pays nothing more; a credit payment shows its first
// repayment; refunded, its page says so; the switch shows it in English.
func TestConsumerCashierInBrowser(t *testing.T) {
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) { testConsumerCashierInBrowser(t, s) })
	}
}

func testConsumerCashierInBrowser(t *testing.T, s screen) {
	p := newPersonAt(t, s)
	w := startCreditWorld(t, db.SQLite)
	ctx := t.Context()
	carol := w.consumer(100_00, 500_00)
	lamp := w.order("LAMP-0001", 150_00)

	p.open(w.a.codeURL(lamp.Token)+"?lang=zh", `input[name=phone]`)
	if !p.eval(`document.documentElement.lang === 'zh-CN'`) {
		t.Error("the page is not marked Chinese")
	}
	p.sees("#merchant", "Installment shop")
	p.sees("#amount", "¥150.00")
	p.sees("body", "登录并付款", "北京时间")
	if !p.eval(`[...document.querySelectorAll('input:not([type=hidden])')].every(i => document.querySelector('label[for="' + i.id + '"]'))`) {
		t.Error("an input has no label")
	}
	p.shot("login")

	// A wrong PIN: the reason in Chinese, the order still on screen, the
	// developer's code folded away, and the form to try again.
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), carol.phone), chromedp.SendKeys(chromedp.CSS(`input[name=pin]`), "000000"))
	p.click(`form[action="/cashier/login"] button`, `#error`)
	p.sees("#error", "支付密码不正确", "还可以再试 4 次，之后将锁定 15 分钟")
	p.sees("#merchant", "Installment shop")
	p.sees("#amount", "¥150.00")
	if strings.Contains(p.text("#error"), "UNAUTHENTICATED") || p.eval(`document.getElementById('error-detail').open`) {
		t.Error("the developer's code is not folded away")
	}
	if !p.eval(`document.getElementById('error-detail').textContent.includes('UNAUTHENTICATED')`) {
		t.Error("the developer's code is not in the detail")
	}
	p.shot("wrong-pin")
	p.login(carol, `#pay-pin`)

	// The line is short: credit, chosen anyway, is refused with the
	// reason; the form comes back on balance, which pays with the PIN.
	p.do(chromedp.Click(chromedp.CSS(`#channel-credit`)), chromedp.SendKeys(chromedp.CSS(`#pay-pin`), carol.pin))
	p.click(`#pay-button`, `#error`)
	p.sees("#error", "分付额度不足", "改用零钱支付")
	p.sees("#amount", "¥150.00")
	if !p.eval(`document.getElementById('channel-balance').checked`) {
		t.Error("the form does not come back on balance")
	}
	p.shot("short-line")
	p.do(chromedp.SendKeys(chromedp.CSS(`#pay-pin`), carol.pin))
	p.click(`#pay-button`, `#paid`)
	p.sees("#paid", "支付成功")
	p.sees("#paid-at", "2026-11-27 10:00", "北京时间")
	p.sees("#paid-with", "零钱")
	p.sees("#remaining", "¥350.00")
	p.shot("paid-balance")

	// Reloads and back-and-forward read the order; they pay nothing.
	for range 2 {
		p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#paid`)))
	}
	p.do(chromedp.NavigateBack(), chromedp.WaitReady(chromedp.CSS(`body`)), chromedp.NavigateForward(), chromedp.WaitVisible(chromedp.CSS(`#paid`)))
	if c, err := w.a.consumers.Get(ctx, carol.id); err != nil || c.Balance != 350_00 || c.Credit.Available != 100_00 {
		t.Fatalf("after reloading the paid page: balance %v, credit %v, %v; want ¥350.00 and ¥100.00", c.Balance, c.Credit.Available, err)
	}

	// A credit payment, confirmed with the PIN, reloaded: one capture.
	bulb := w.order("BULB-0001", 30_00)
	p.open(w.a.codeURL(bulb.Token), `#pay-pin`)
	if !p.eval(`document.getElementById('channel-credit').checked`) {
		t.Error("credit, which covers ¥30.00, is not chosen first")
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`#pay-pin`), carol.pin))
	p.click(`#pay-button`, `#paid`)
	p.sees("#paid-with", "分付")
	p.sees("#remaining", "¥70.00")
	p.sees("#first-due", "2026-12-10", "¥30.00")
	for range 2 {
		p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#paid`)))
	}
	var captures int
	if err := w.a.credit.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_payments WHERE order_id = $1`, bulb.ID).Scan(&captures); err != nil || captures != 1 {
		t.Errorf("the bulb's credit payments after reloads: %d, %v; want 1", captures, err)
	}
	if c, _ := w.a.consumers.Get(ctx, carol.id); c.Credit.Available != 70_00 {
		t.Errorf("credit available after reloads: ¥%s, want ¥70.00", fenfu.Yuan(c.Credit.Available))
	}
	w.prove()
	p.shot("paid-credit")

	// Refunded: the page says so, in part with the amount, then in full;
	// the switch shows it in English.
	if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, TransactionID: bulb.ID, OutRefundNo: "R-1", Refund: 10_00, Total: 30_00}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#refunded`)))
	p.sees("#refunded", "部分退款 ¥10.00")
	if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, TransactionID: bulb.ID, OutRefundNo: "R-2", Refund: 20_00, Total: 30_00}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#refunded`)))
	p.sees("#refunded", "已退款")
	if p.eval(`document.getElementById('paid') !== null`) {
		t.Error("a refunded order still says paid")
	}
	p.shot("refunded")
	p.click(`#lang-switch`, `#refunded`)
	if !p.eval(`document.documentElement.lang === 'en'`) {
		t.Error("the switch did not mark the page English")
	}
	p.sees("#refunded", "Refunded")
	p.sees("#paid-at", "China Standard Time (UTC+8)")
	p.sees("#paid-with", "Credit")
	p.shot("refunded-en")
	// The language stays chosen on the next page.
	p.open(w.a.codeURL(lamp.Token), `#paid`)
	p.sees("#paid", "Paid")
}
