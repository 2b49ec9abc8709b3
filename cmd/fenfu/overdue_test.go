package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestOverdueAndLinesEndToEnd walks a missed due day and staff line
// management through the HTTP APIs, on each engine: the overdue job
// charges each day's late fee once, the overdue consumer's credit payment
// is refused naming what to repay, a partner's repayment through the staff
// API clears it; staff lower, freeze and unfreeze the line, with the
// refusals, and every change is recorded.
func TestOverdueAndLinesEndToEnd(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testOverdueAndLinesEndToEnd(t, engine) })
	}
}

func testOverdueAndLinesEndToEnd(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	bob := w.consumer(1000_00, 0)
	w.pay(bob, w.order("CHAIR-0001", 400_00), 1)

	// Due on 10 December, unpaid on the 12th: two days late, 0.05 % of
	// 400.00 a day is 0.20.
	w.toDay("2026-12-12", bob)
	var run credit.OverdueRun
	w.staff("POST", "/admin/credit/overdue", nil, &run)
	if run.Day != "2026-12-12" || run.Marked != 1 || run.Charged != 2 || run.LateFees != 40 {
		t.Fatalf("overdue run %+v", run)
	}
	w.staff("POST", "/admin/credit/overdue", map[string]any{"date": "2026-12-12"}, &run)
	if run.Marked != 0 || run.Charged != 0 || run.LateFees != 0 {
		t.Fatalf("the same day again %+v", run)
	}
	if code, body := w.try(http.DefaultClient, "POST", "/admin/credit/overdue", map[string]any{"date": "2026-12-13"}, nil,
		w.staffAuth()...); code != 400 || !strings.Contains(body, "after today") {
		t.Errorf("a day after today: HTTP %d %s", code, body)
	}
	var acct struct {
		Overdue credit.Overdue `json:"overdue"`
	}
	w.staff("GET", "/admin/consumers/"+bob.id+"/credit", nil, &acct)
	if acct.Overdue.Amount != 400_40 || acct.Overdue.DueOn != "2026-12-10" || acct.Overdue.Days != 2 {
		t.Errorf("the account's overdue %+v", acct.Overdue)
	}
	w.prove()

	desk := w.order("DESK-0001", 50_00)
	form := map[string]any{"channel": "credit", "installment_number": 1, "phone": bob.phone, "pin": bob.pin}
	// The risk rules read overdue and overdue_days.
	rule := map[string]any{"name": "late-payers", "channels": []string{"credit"}, "expr": "overdue && overdue_days == 2",
		"decision": "REJECT", "reason": "two days overdue", "message": "two days overdue", "change_reason": "test"}
	w.staff("POST", "/admin/risk/rules", rule, nil)
	if code, body := w.try(bob.client, "POST", "/q/"+desk.Token+"/pay", form, nil); code != 403 || !strings.Contains(body, "two days overdue") {
		t.Fatalf("the rule on overdue_days: HTTP %d %s", code, body)
	}
	rule["enabled"] = false
	w.staff("POST", "/admin/risk/rules/late-payers", rule, nil)
	code, body := w.try(bob.client, "POST", "/q/"+desk.Token+"/pay", form, nil)
	if code != 403 || !strings.Contains(body, "RULE_LIMIT") || !strings.Contains(body, "repay ¥400.40 due on 2026-12-10") ||
		!strings.Contains(body, "Repay everything overdue") {
		t.Fatalf("credit payment while overdue: HTTP %d %s", code, body)
	}
	var rep credit.Repaid
	w.staff("POST", "/admin/consumers/"+bob.id+"/repayments", map[string]any{"partner": "bank", "amount": 400_40, "idempotency_key": "k1"}, &rep)
	if rep.Principal != 400_00 || rep.Fee != 40 {
		t.Fatalf("repaid %+v", rep)
	}
	w.pay(bob, desk, 1)
	w.prove()

	// Lines: never below what is used (50.00) unless frozen.
	staff := w.staffAuth()
	if code, body := w.try(http.DefaultClient, "POST", "/admin/consumers/"+bob.id+"/line",
		map[string]any{"credit_limit": 49_99, "reason": "risk review"}, nil, staff...); code != 400 || !strings.Contains(body, "below the 50.00 yuan used") {
		t.Errorf("lowered below used: HTTP %d %s", code, body)
	}
	if code, body := w.try(http.DefaultClient, "POST", "/admin/consumers/"+bob.id+"/line",
		map[string]any{"credit_limit": 2000_00}, nil, staff...); code != 400 || !strings.Contains(body, "reason") {
		t.Errorf("no reason: HTTP %d %s", code, body)
	}
	var ch credit.LineChanged
	w.staff("POST", "/admin/consumers/"+bob.id+"/line", map[string]any{"credit_limit": 10_00, "frozen": true, "reason": "fraud report"}, &ch)
	if ch.Actor != "staff:li.wei" || ch.Before.Limit != 1000_00 || ch.After.Limit != 10_00 || ch.After.State != credit.LineFrozen {
		t.Fatalf("frozen %+v", ch)
	}
	ch0 := ch.ID
	lamp := w.order("LAMP-0001", 5_00)
	if code, body := w.try(bob.client, "POST", "/q/"+lamp.Token+"/pay", form, nil); code != 403 || !strings.Contains(body, "frozen") {
		t.Fatalf("credit payment on a frozen line: HTTP %d %s", code, body)
	}
	w.staff("POST", "/admin/consumers/"+bob.id+"/line", map[string]any{"credit_limit": 3000_00, "rating": "B", "frozen": false, "reason": "cleared"}, &ch)
	if ch.After.State != credit.LineActive || ch.After.Rating != "B" || ch.After.Available != 2950_00 {
		t.Fatalf("unfrozen %+v", ch)
	}
	w.pay(bob, lamp, 1)
	var changes struct {
		Changes []credit.LineChanged `json:"changes"`
	}
	w.staff("GET", "/admin/consumers/"+bob.id+"/line/changes", nil, &changes)
	// Both changes, each with its reason (made at the same instant, so in
	// either order).
	if len(changes.Changes) != 2 || changes.Changes[0].Reason+"|"+changes.Changes[1].Reason != "cleared|fraud report" &&
		changes.Changes[0].Reason+"|"+changes.Changes[1].Reason != "fraud report|cleared" {
		t.Fatalf("changes %+v", changes)
	}
	// Each change is in the credit store's audit log, committed with it;
	// the refused ones left nothing there but their requests.
	logged, err := audit.List(t.Context(), w.a.credit, audit.Filter{Action: audit.ActionLineChange})
	if err != nil || len(logged) != 2 || logged[1].Reason != "fraud report" || logged[0].Reason != "cleared" ||
		logged[0].Actor != "staff:li.wei" || logged[0].Target != (audit.Target{Kind: "consumer", ID: bob.id}) ||
		string(logged[1].Detail) != `{"after":{"credit_limit":1000,"rating":"A","state":"FROZEN"},"before":{"credit_limit":100000,"rating":"A","state":"ACTIVE"},"change_id":"`+ch0+`"}` {
		t.Fatalf("audit log of line changes: %+v %v", logged, err)
	}
	if r, err := audit.Verify(t.Context(), w.a.credit, nil, nil); err != nil || !r.OK() {
		t.Fatalf("credit audit log: %v %v", r, err)
	}
	w.prove()
}

// The CLI runs the overdue job for a day and changes a line as the staff
// API does, with the same refusals.
func TestCreditOverdueAndLineCLI(t *testing.T) {
	in := startServer(t, db.SQLite)
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "500000", "--rating", "A", "--balance", "0")
	var run credit.OverdueRun
	in.mustCLI(&run, "credit", "overdue", "--date", "2026-01-05")
	if run.Day != "2026-01-05" || run.Marked != 0 || run.Charged != 0 {
		t.Errorf("overdue run %+v", run)
	}
	if _, err := in.cli("credit", "overdue", "--date", "2999-01-01"); err == nil || !strings.Contains(err.Error(), "after today") {
		t.Errorf("a day after today: %v", err)
	}
	if _, err := in.cli("credit", "line", "--consumer", cons.ID, "--staff", "li.wei", "--limit", "100"); err == nil {
		t.Errorf("a change without a reason was made")
	}
	var ch credit.LineChanged
	in.mustCLI(&ch, "credit", "line", "--consumer", cons.ID, "--staff", "li.wei", "--reason", "review", "--limit", "100", "--rating", "C", "--freeze")
	if ch.Actor != "staff:li.wei" || ch.After.Limit != 100 || ch.After.Rating != "C" || ch.After.State != credit.LineFrozen {
		t.Errorf("changed %+v", ch)
	}
	in.mustCLI(&ch, "credit", "line", "--consumer", cons.ID, "--staff", "li.wei", "--reason", "cleared", "--unfreeze")
	if ch.Before.State != credit.LineFrozen || ch.After.State != credit.LineActive {
		t.Errorf("unfrozen %+v", ch)
	}
}
