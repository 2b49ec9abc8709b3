package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ticket"
)

// TestConsumerTicketInBrowser: a consumer whose credit payment failed
// follows the page's link to fenfu's support, finds the form on the
// payment failure lane with the order named, and sends it; the ticket's
// page says when support will answer; support's answer shows as fenfu
// support's, never by name; the consumer answers back from the page; an
// order that is not theirs is refused with the form kept as sent; and
// logged out, the page asks them to log in and comes back to it.
func TestConsumerTicketInBrowser(t *testing.T) {
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) { testConsumerTicketInBrowser(t, s) })
	}
}

func testConsumerTicketInBrowser(t *testing.T, s screen) {
	p := newPersonAt(t, s)
	w := startCreditWorld(t, db.SQLite)
	ctx := t.Context()
	dan := w.consumer(10_00, 0)
	lamp := w.order("LAMP-0042", 150_00)

	// Logged out, the tickets page asks for the login and comes back.
	p.open(w.base+"/cashier/tickets?lang=zh", `input[name=phone]`)
	p.sees("body", "登录后可以提交和查看客服工单")
	p.login(dan, `#new-ticket`)
	p.sees("#no-tickets", "你还没有提交过工单")

	// The payment fails: the page offers fenfu's support.
	p.open(w.a.codeURL(lamp.Token), `#pay-pin`)
	p.do(chromedp.Click(chromedp.CSS(`#channel-credit`)), chromedp.SendKeys(chromedp.CSS(`#pay-pin`), dan.pin))
	p.click(`#pay-button`, `#error`)
	p.click(`#contact-support`, `#new-ticket`)
	if got := p.value(`#ticket-type`); got != string(ticket.PaymentFailure) {
		t.Errorf("the form opens on %q, want the payment failure lane", got)
	}
	if got := p.value(`#ticket-description`); !strings.Contains(got, "LAMP-0042") || !strings.Contains(got, "150.00") {
		t.Errorf("the description does not name the failed order: %q", got)
	}
	if !p.eval(`[...document.querySelectorAll('#new-ticket input, #new-ticket select, #new-ticket textarea')].every(i => document.querySelector('label[for="' + i.id + '"]'))`) {
		t.Error("a field of the form has no label")
	}
	p.sees("#ticket-type", "支付失败")
	p.shot("form")

	// An order that is not theirs: refused, the form as sent.
	p.do(chromedp.SendKeys(chromedp.CSS(`#ticket-order`), "4200000000000000000001"))
	p.click(`#open-ticket`, `#error`)
	if got := p.value(`#ticket-description`); !strings.Contains(got, "LAMP-0042") || p.value(`#ticket-order`) != "4200000000000000000001" {
		t.Errorf("the refused form lost what was sent: %q", got)
	}
	p.eval(`(document.getElementById('ticket-order').value = '') === ''`)
	p.do(chromedp.SendKeys(chromedp.CSS(`#ticket-phone`), "13800138000"))
	p.click(`#open-ticket`, `#done`)
	p.shot("opened")
	p.sees("#done", "已提交")
	p.sees("#ticket-status", "待回复")

	page, err := w.a.tickets.List(ctx, ticket.Consumer(dan.id), ticket.Filter{Order: ticket.Newest, Keyset: fenfu.Keyset{Limit: 10}})
	if err != nil || len(page.Tickets) != 1 {
		t.Fatalf("dan's tickets %+v %v", page, err)
	}
	tk := page.Tickets[0]
	if tk.Type != ticket.PaymentFailure || !strings.Contains(tk.Description, "LAMP-0042") {
		t.Errorf("the ticket in the store %+v", tk)
	}

	// Support answers; the consumer reads it as fenfu support's, and
	// answers back from the page.
	if _, err := w.a.tickets.Reply(ctx, ticket.Staff("li.wei"), tk.ID, ticket.Message{Body: "请更新 App 后重试，并检查分付额度"}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#history`)))
	p.sees("#history", "平台客服", "请更新 App 后重试")
	p.sees("#ticket-status", "已回复")
	if strings.Contains(p.text("body"), "li.wei") {
		t.Error("the consumer sees the staff member's name")
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`#reply-content`), "更新后可以了，谢谢"))
	p.click(`#send-reply`, `#done`)
	p.sees("#history", "更新后可以了，谢谢")
	got, err := w.a.tickets.Get(ctx, ticket.Staff("li.wei"), tk.ID)
	if err != nil || got.History[len(got.History)-1].Body != "更新后可以了，谢谢" {
		t.Errorf("the answer in the store: %+v %v", got.History, err)
	}
	p.shot("answered")

	// The list shows it; the switch shows the page in English.
	p.click(`#back`, `#tickets`)
	p.sees("#tickets", tk.ID)
	p.click(`#lang-switch`, `#tickets`)
	p.sees("body", "My support tickets")
}
