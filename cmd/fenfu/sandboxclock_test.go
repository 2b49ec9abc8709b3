package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// sandboxConfig is a test configuration with the sandbox clock on.
func sandboxConfig(t *testing.T, engine db.Engine) Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.SandboxClock = true
	if engine == db.Postgres {
		cfg.CoreDB, cfg.CreditDB = dbtest.DSN(t, engine, "core"), dbtest.DSN(t, engine, "credit")
	}
	return cfg
}

// TestSandboxTimeTravel walks a sandbox merchant's integration through
// days advanced over the staff API, on each engine: a 6-installment
// purchase through the merchant API, settled with its bills the morning
// after; the first installment overdue with its late fees past its due
// day, which refuses a new credit payment until it is repaid; months of
// statements.
func TestSandboxTimeTravel(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testSandboxTimeTravel(t, engine) })
	}
}

func testSandboxTimeTravel(t *testing.T, engine db.Engine) {
	w := startWorld(t, sandboxConfig(t, engine))
	ctx := t.Context()
	m, err := w.a.merchants.CreateSandbox(ctx, "Furniture shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	// The merchant signs at the system's time (the world's fake one),
	// however far the sandbox clock is ahead.
	client := &wxpay.Client{BaseURL: w.base, MchID: m.MchID, SerialNo: m.SerialNo, Key: m.PrivateKey,
		PlatformKey: scheme.Public(w.a.keys.Platform(scheme.RSA).Key), PlatformKeyID: w.a.keys.Platform(scheme.RSA).ID, IDs: w.a.ids, Clock: w.clock}
	bob := w.consumer(5000_00, 0)
	order := func(no string, total int64, offers ...int) string {
		t.Helper()
		var plans []any
		for _, n := range offers {
			plans = append(plans, map[string]any{"subsidy_installment_num": n, "subsidy_percent": 0})
		}
		body := map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "Sofa", "out_trade_no": no,
			"notify_url": "https://shop.example/n", "amount": map[string]any{"total": total}}
		if len(plans) > 0 {
			body["subsidy_info"] = map[string]any{"subsidy_detail": []any{map[string]any{"subsidy_period_type": "PERIOD", "subsidy_plan": plans}}}
		}
		var created struct {
			CodeURL string `json:"code_url"`
		}
		if err := client.Do(ctx, "POST", "/v3/pay/transactions/native", body, &created); err != nil {
			t.Fatal(err)
		}
		_, token, ok := strings.Cut(created.CodeURL, "/q/")
		if !ok {
			t.Fatalf("code_url %q", created.CodeURL)
		}
		return token
	}
	advance := func(req map[string]any) sandbox.Advanced {
		t.Helper()
		var out sandbox.Advanced
		w.staff("POST", "/admin/sandbox/clock/advance", req, &out)
		return out
	}
	ran := func(out sandbox.Advanced, job, count string) int64 {
		var n int64
		for _, d := range out.Days {
			for _, j := range d.Jobs {
				if j.Job == job {
					n += j.Counts[count]
				}
			}
		}
		return n
	}

	// Bought on 27 November in 6 installments: 1200.00 + 4.5 %.
	sofa := order("SOFA-0001", 1200_00, 3, 6)
	w.pay(bob, pay.Order{Token: sofa}, 6)

	// A day later the 27th is settled, and its bills are there.
	out := advance(map[string]any{"duration": "24h"})
	if len(out.Days) != 1 || out.Days[0].Day != "2026-11-28" || ran(out, "settlement", "payments") != 1 || ran(out, "settlement", "bills") < 1 {
		t.Fatalf("a day advanced %+v", out)
	}
	if names := jobNames(out.Days[0]); names != "recover settlement overdue complaints tickets rescreen" {
		t.Errorf("the jobs ran in the order %s", names)
	}
	var batches struct {
		Batches []struct{ State string } `json:"batches"`
	}
	w.staff("GET", "/admin/settlements/batches?date=2026-11-27", nil, &batches)
	if len(batches.Batches) != 2 || batches.Batches[0].State != "DONE" || batches.Batches[1].State != "DONE" {
		t.Errorf("the batches of the 27th %+v", batches)
	}
	var bill struct {
		DownloadURL string `json:"download_url"`
	}
	if err := client.Do(ctx, "GET", "/v3/bill/tradebill?bill_date=2026-11-27", nil, &bill); err != nil || bill.DownloadURL == "" {
		t.Errorf("the trade bill of the 27th: %+v %v", bill, err)
	}

	// Past the first due day (10 December) unpaid: overdue, with the late
	// fee of the 11th and the 12th.
	out = advance(map[string]any{"to": "2026-12-12T12:00:00+08:00"})
	if len(out.Days) != 14 || out.Days[13].Day != "2026-12-12" || ran(out, "overdue", "marked") != 1 || ran(out, "overdue", "charged") != 2 {
		t.Fatalf("advanced past the due day %+v", out)
	}
	var acct struct {
		Overdue credit.Overdue `json:"overdue"`
	}
	w.staff("GET", "/admin/consumers/"+bob.id+"/credit", nil, &acct)
	if acct.Overdue.DueOn != "2026-12-10" || acct.Overdue.Days != 2 || acct.Overdue.Amount != 209_00+fenfu.Fen(ran(out, "overdue", "late_fees")) {
		t.Fatalf("overdue %+v, late fees %d", acct.Overdue, ran(out, "overdue", "late_fees"))
	}
	desk := order("DESK-0001", 50_00)
	form := map[string]any{"channel": "credit", "installment_number": 1, "phone": bob.phone, "pin": bob.pin}
	if code, body := w.try(bob.client, "POST", "/q/"+desk+"/pay", form, nil); code != 403 || !strings.Contains(body, "RULE_LIMIT") ||
		!strings.Contains(body, "due on 2026-12-10") || !strings.Contains(body, "Repay everything overdue") {
		t.Fatalf("credit payment while overdue: HTTP %d %s", code, body)
	}
	w.staff("POST", "/admin/consumers/"+bob.id+"/repayments", map[string]any{"partner": "bank", "amount": acct.Overdue.Amount, "idempotency_key": "k1"}, nil)
	w.staff("GET", "/admin/consumers/"+bob.id+"/credit", nil, &acct)
	if acct.Overdue.Amount != 0 {
		t.Fatalf("overdue after the repayment %+v", acct.Overdue)
	}
	w.pay(bob, pay.Order{Token: desk}, 1)

	// Months on, every month's statement is there, and the next is not.
	out = advance(map[string]any{"duration": "80d"})
	if len(out.Days) != 80 || out.Days[79].Day != "2027-03-02" {
		t.Fatalf("80 days advanced: %d days, to %s", len(out.Days), out.To)
	}
	for _, month := range []string{"2026-12", "2027-01", "2027-02", "2027-03"} {
		var st credit.Statement
		w.staff("GET", "/admin/consumers/"+bob.id+"/statements/"+month, nil, &st)
		if st.Month != month || len(st.Due) == 0 {
			t.Errorf("statement of %s: %+v", month, st)
		}
	}
	if code, body := w.try(http.DefaultClient, "GET", "/admin/consumers/"+bob.id+"/statements/2027-04", nil, nil,
		w.staffAuth()...); code != 404 {
		t.Errorf("the statement of April before its day: HTTP %d %s", code, body)
	}
	var shown sandbox.State
	w.staff("GET", "/admin/sandbox/clock", nil, &shown)
	if !shown.Enabled || shown.Now.Before(out.To) || shown.Offset == "0s" {
		t.Errorf("the clock shows %+v after advancing to %s", shown, out.To)
	}
	w.prove()
}

func jobNames(d sandbox.Day) string {
	var names []string
	for _, j := range d.Jobs {
		names = append(names, j.Job)
	}
	return strings.Join(names, " ")
}

// A deployment on the sandbox clock takes sandbox merchants only: it
// refuses to create a production one (onboard's tests refuse to activate
// one), and neither serve starts nor the clock moves on a store that has
// one. Without the setting, the clock cannot
// be advanced.
func TestSandboxClockRefusals(t *testing.T) {
	ctx := t.Context()
	w := startWorld(t, sandboxConfig(t, db.SQLite))
	_, err := w.a.merchants.Create(ctx, "Real shop", "production", scheme.RSA)
	if e := fenfu.AsError(err); e.Code != fenfu.InvalidRequest || !strings.Contains(e.Message, "sandbox merchants only") ||
		!strings.Contains(e.Remedy, "--env sandbox") {
		t.Errorf("a production merchant on the sandbox clock: %v", err)
	}

	// A store with a production merchant, made without the setting.
	dir := t.TempDir()
	store := []string{"--data-dir", dir}
	if err := run(ctx, append([]string{"merchant", "create", "--env", "production"}, store...), func(string) string { return "" }, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	err = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--sandbox-clock"}, store...), func(string) string { return "" }, nil, io.Discard, &errb)
	if err == nil || !strings.Contains(err.Error(), "1 production merchants") {
		t.Errorf("serve with --sandbox-clock on a store with a production merchant: %v", err)
	}
	err = run(ctx, append([]string{"sandbox", "clock", "advance", "24h"}, store...), func(string) string { return "" }, nil, io.Discard, &errb)
	if err == nil || !strings.Contains(err.Error(), "no sandbox clock") {
		t.Errorf("advance without --sandbox-clock: %v", err)
	}
	err = run(ctx, append([]string{"sandbox", "clock", "advance", "24h", "--sandbox-clock"}, store...), func(string) string { return "" }, nil, io.Discard, &errb)
	if err == nil || !strings.Contains(err.Error(), "production merchants") {
		t.Errorf("advance with a production merchant: %v", err)
	}
	// Without the setting, the staff API refuses to advance the clock.
	plain := startCreditWorld(t, db.SQLite)
	code, body := plain.try(http.DefaultClient, "POST", "/admin/sandbox/clock/advance", map[string]any{"duration": "24h"}, nil,
		plain.staffAuth()...)
	if code != 400 || !strings.Contains(body, "INVALID_REQUEST") || !strings.Contains(body, "FENFU_SANDBOX_CLOCK") {
		t.Errorf("advance without the setting: HTTP %d %s", code, body)
	}
	var shown sandbox.State
	plain.staff("GET", "/admin/sandbox/clock", nil, &shown)
	if shown.Enabled || !shown.Now.Equal(plain.clock.Now()) {
		t.Errorf("the clock without the setting %+v", shown)
	}
	// Zero, backwards and too far are refused with the field named.
	for _, req := range []map[string]any{{"duration": "0s"}, {"duration": "-1h"}, {"duration": "401d"}, {"to": "2026-01-01T00:00:00+08:00"}} {
		code, body := w.try(http.DefaultClient, "POST", "/admin/sandbox/clock/advance", req, nil,
			w.staffAuth()...)
		if code != 400 || !strings.Contains(body, "PARAM_ERROR") {
			t.Errorf("advance %v: HTTP %d %s", req, code, body)
		}
	}
}

// Two service instances over one store tell the same time once one of
// them advances it: the other reads the offset again within a second.
func TestSandboxClockShared(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			cfg := sandboxConfig(t, engine)
			base := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			var apps [2]*app
			for i := range apps {
				a, err := openAt(ctx, cfg, discardLogger(), base)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(a.close)
				apps[i] = a
			}
			out, err := apps[0].sandboxClock.Advance(ctx, sandbox.AdvanceRequest{Duration: "72h"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := base.Now().Add(72 * time.Hour); !apps[0].clock.Now().Equal(want) || !out.To.Equal(want) {
				t.Fatalf("the advancing instance at %s, want %s", apps[0].clock.Now(), want)
			}
			base.Advance(time.Second)
			if a, b := apps[0].clock.Now(), apps[1].clock.Now(); !a.Equal(b) {
				t.Errorf("instances at %s and %s", a, b)
			}
			// The other instance's services and stores work on the advanced time.
			m, err := apps[1].merchants.CreateSandbox(ctx, "Later shop", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			if m.CreatedAt.Before(out.To) || apps[1].core.Clock.Now().Before(out.To) || apps[1].credit.Clock.Now().Before(out.To) {
				t.Errorf("the other instance made a merchant at %s, before %s", m.CreatedAt, out.To)
			}
		})
	}
}

// The CLI advances the clock of the store it opens, printing each day's
// jobs as it goes, and shows the clock; with --json it prints the
// advance's answer.
func TestSandboxClockCLI(t *testing.T) {
	ctx := t.Context()
	store := []string{"--data-dir", t.TempDir(), "--sandbox-clock"}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if err := run(ctx, append(args, store...), func(string) string { return "" }, nil, &out, &errb); err != nil {
			t.Fatalf("fenfu %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	start := time.Now()
	out := cli("sandbox", "clock", "advance", "48h")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], ": recover: nothing; settlement: ") || !strings.Contains(lines[2], "(2 days)") {
		t.Fatalf("advance printed %q", out)
	}
	var shown sandbox.State
	if err := json.Unmarshal([]byte(cli("sandbox", "clock", "show")), &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Enabled || shown.Now.Before(start.Add(48*time.Hour)) || shown.Unfinished != nil {
		t.Errorf("the clock shows %+v", shown)
	}
	var adv sandbox.Advanced
	if err := json.Unmarshal([]byte(cli("sandbox", "clock", "advance", "--json", "--to", shown.Now.Add(25*time.Hour).Format(time.RFC3339))), &adv); err != nil {
		t.Fatal(err)
	}
	if len(adv.Days) < 1 || adv.Days[0].Jobs[1].Job != "settlement" || adv.To.Before(shown.Now.Add(24*time.Hour)) {
		t.Errorf("advanced %+v", adv)
	}
}
