package main

import (
	"net/url"
	"strings"
	"testing"
)

// TestAggregateFormSentAgainIsNotAnotherOrder: a form sent again (a
// double tap, a resend after a slow answer, the back button after
// paying) makes no order, so it answers the order it made even when the
// consumer has started as many orders as --aggregate-per-minute allows,
// and with another amount is refused as such: the limit counts orders
// started, not the same form seen twice.
func TestAggregateFormSentAgainIsNotAnotherOrder(t *testing.T) {
	cfg := testConfig(t)
	cfg.AggregatePerMinute = 1
	w, path, s := aggregateWorld(t, cfg)
	_, _, page := s.send("GET", path, nil)
	form := url.Values{"amount": {"12.00"}, "nonce": {amountForm(page)}}
	status, cashier, body := s.send("POST", path, form)
	if status != 303 || !strings.HasPrefix(cashier, "/q/") {
		t.Fatalf("the form: HTTP %d to %q\n%s", status, cashier, body)
	}
	for i := range 3 {
		if status, again, body := s.send("POST", path, form); status != 303 || again != cashier {
			t.Errorf("the same form sent again (%d): HTTP %d to %q, want 303 to its order %s\n%s", i+1, status, again, cashier, body)
		}
	}
	form.Set("amount", "12.01")
	if status, _, body := s.send("POST", path, form); status == 429 || !strings.Contains(body, "already sent with another amount") {
		t.Errorf("the same form with another amount: HTTP %d, want it refused as sent with another amount, not FREQUENCY_LIMITED\n%s", status, body)
	}
	p, err := w.a.aggregate.Tokens.Parse(strings.TrimPrefix(path, "/a/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, n, err := w.a.aggregate.Orders(t.Context(), w.mchid, p.CodeID, 10, 0); err != nil || n != 1 {
		t.Errorf("the code has %d orders (%v), want the one", n, err)
	}
}
