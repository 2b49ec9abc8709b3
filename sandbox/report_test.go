package sandbox

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
)

func TestReportFromCalls(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite, "core", fenfu.SystemClock{})
	now := time.Now()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.W.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	call := func(id, route string, status int, note string) {
		exec(`INSERT INTO sandbox_calls (id, mchid, at, method, route, status, code, note) VALUES ($1, 'm1', $2, 'X', $3, $4, '', $5)`,
			id, db.Micros(now), route, status, note)
	}
	call("1", "POST /v3/pay/transactions/native", 200, "")
	call("2", "GET /v3/pay/transactions/out-trade-no/{out_trade_no}", 200, "SUCCESS FENFU_CREDIT")
	call("3", "POST /v3/refund/domestic/refunds", 200, "full") // a full refund is not a partial one
	call("4", "GET /v3/pay/transactions/out-trade-no/{out_trade_no}", 200, "SUCCESS OTHERS")
	// Another merchant's calls do not count.
	exec(`INSERT INTO sandbox_calls (id, mchid, at, method, route, status, code, note) VALUES ('5', 'm2', $1, 'X',
		'POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close', 204, '', '')`, db.Micros(now))
	exec(`INSERT INTO notify_log (event_id, attempt, mchid, event_type, notify_url, at, http_status, latency_us, error)
		VALUES ('EV-1', 1, 'm1', 'TRANSACTION.SUCCESS', 'u', 1, 500, 1, 'refused'), ('EV-1', 2, 'm1', 'TRANSACTION.SUCCESS', 'u', 2, 204, 1, '')`)
	r, err := New(d, &notify.Events{DB: d}, &fenfu.RandomIDs{}, nil).Report(ctx, "m1", now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"create_order": true, "credit_payment_success": true, "credit_line_short": false, "close_order": false,
		"partial_refund": false, "refund_query": false, "error_answer": false, "notification_retries": true}
	for _, s := range r.Scenarios {
		if s.Passed != want[s.Name] {
			t.Errorf("%s passed=%v, want %v", s.Name, s.Passed, want[s.Name])
		}
		if !s.Passed && s.Hint == "" {
			t.Errorf("%s fails without a hint", s.Name)
		}
		// Said in Chinese as well, as the portal shows it.
		if !chinese.MatchString(s.DescriptionZH) || !s.Passed && !chinese.MatchString(s.HintZH) || s.Passed && s.EvidenceZH == "" {
			t.Errorf("%s is not said in Chinese: %q, %q, %q", s.Name, s.DescriptionZH, s.HintZH, s.EvidenceZH)
		}
	}
	if r.Calls != 4 || r.Passed != 3 || r.Total != len(want) {
		t.Fatalf("report = %+v", r)
	}
}

// chinese finds a Chinese character.
var chinese = regexp.MustCompile(`\p{Han}`)
