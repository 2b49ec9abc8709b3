package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// TestSettleAndReconcileCLI: `fenfu settle` settles a past day once and
// refuses a day still open or malformed; `fenfu reconcile` lists each
// difference between a bill and a merchant's records and exits non-zero
// when there is one.
func TestSettleAndReconcileCLI(t *testing.T) {
	dir := t.TempDir()
	in := &instance{t: t, args: []string{"--data-dir", dir}}
	in.mustCLI(nil, "sandbox", "merchant")
	yesterday := time.Now().In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	out, err := in.cli("settle", "--date", yesterday)
	if err != nil || !strings.Contains(out, yesterday+" credit: 0 merchants settled") || !strings.Contains(out, "ordinary") {
		t.Fatalf("settle: %v %q", err, out)
	}
	if out, err := in.cli("settle", "--date", yesterday); err != nil || strings.Count(out, "already settled") != 2 {
		t.Fatalf("rerun: %v %q", err, out)
	}
	today := time.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	if _, err := in.cli("settle", "--date", today); err == nil || !strings.Contains(err.Error(), "INVALID_REQUEST") {
		t.Fatalf("today: %v", err)
	}
	if _, err := in.cli("settle", "--date", "2026-13-01"); err == nil || !strings.Contains(err.Error(), "PARAM_ERROR") {
		t.Fatalf("bad date: %v", err)
	}
	// A day older than the bills' three months still settles.
	old := time.Now().In(fenfu.Shanghai).AddDate(0, -4, 0).Format(time.DateOnly)
	if out, err := in.cli("settle", "--date", old); err != nil || !strings.Contains(out, old+" credit: 0 merchants settled") {
		t.Fatalf("settle of an old day: %v %q", err, out)
	}
	if out, err := in.cli("verify"); err != nil || !strings.Contains(out, "0 settlements") {
		t.Fatalf("verify: %v %q", err, out)
	}
	// bench verify reads what verify proved from its JSON.
	var proved map[string]json.RawMessage
	out, err = in.cli("verify", "--json")
	if err != nil || json.Unmarshal([]byte(out), &proved) != nil {
		t.Fatalf("verify --json: %v %q", err, out)
	}
	for _, k := range []string{"orders", "paid", "credit_paid", "refunds", "in_flight", "settlements", "ledger_chains"} {
		if _, ok := proved[k]; !ok {
			t.Errorf("verify --json has no %q: %v", k, proved)
		}
	}
	// and each store's chain positions checked, which its result records.
	var p proof
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if c := p.chainPositions(); len(c) != 2 || !hasKeys(c, "core", "credit") {
		t.Errorf("chain positions %v of %s", c, out)
	}

	billFile := filepath.Join("..", "..", "bill", "testdata", "tradebill_all.csv")
	mine := filepath.Join(dir, "mine.csv")
	write := func(s string) {
		if err := os.WriteFile(mine, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("out_trade_no,amount,state\nGOLD-0001,38.00,SUCCESS\nGOLD-0002,1299.00,SUCCESS\nGOLD-0003,12.50,SUCCESS\nGOLD-0002,500.00,REFUND\nGOLD-0001,38.00,REFUND\n")
	if out, err := in.cli("reconcile", "--bill", billFile, "--mine", mine); err != nil || !strings.Contains(out, "matched: 5; differences: 0") {
		t.Fatalf("reconcile, matching: %v %q", err, out)
	}
	write("GOLD-0001,38.00,SUCCESS\nGOLD-0002,1290.00,SUCCESS\nGOLD-0002,500.00,REFUND\nGOLD-0001,38.00,REFUND\nGOLD-0009,1.00,SUCCESS\n")
	out, err = in.cli("reconcile", "--bill", billFile, "--mine", mine)
	if err == nil || !strings.Contains(err.Error(), "3 differences") {
		t.Fatalf("reconcile, differing: %v", err)
	}
	for _, want := range []string{"AMOUNT_MISMATCH  GOLD-0002 SUCCESS bill 1299.00 yuan, records 1290.00 yuan",
		"MISSING_IN_MINE  GOLD-0003 SUCCESS 12.50 yuan", "MISSING_IN_BILL  GOLD-0009 SUCCESS 1.00 yuan"} {
		if !strings.Contains(out, want) {
			t.Errorf("reconcile output lacks %q:\n%s", want, out)
		}
	}
	if _, err := in.cli("reconcile", "--bill", mine, "--mine", mine); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("records given as the bill: %v", err)
	}
}

// TestSettleSchedule: serve's check settles yesterday once the settlement
// time has passed, and only then, and renders the day's trade bills.
func TestSettleSchedule(t *testing.T) {
	ctx := t.Context()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 26, 12, 0, 0, 0, fenfu.Shanghai))
	cfg := testConfig(t)
	cfg.SettleAt = 3 * time.Hour
	a, err := openAt(ctx, cfg, discardLogger(), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	a.metrics = metrics.New()
	// One order paid on the day.
	m, err := a.merchants.CreateSandbox(ctx, "Day shop", scheme.SM2)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{Balance: 10_000, Rating: "B"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x", OutTradeNo: "DAY-0001",
		NotifyURL: "https://shop.example/n", Total: 500})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.pay.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 11, 27, 2, 59, 0, 0, fenfu.Shanghai))
	a.scheduler().Due(ctx)
	if b, _ := a.settle.Batches(ctx, "2026-11-26"); len(b) != 0 {
		t.Fatalf("batches ran before the settlement time: %+v", b)
	}
	clock.Advance(time.Minute)
	a.scheduler().Due(ctx)
	b, err := a.settle.Batches(ctx, "2026-11-26")
	if err != nil || len(b) != 2 || b[0].State != "DONE" || b[1].State != "DONE" {
		t.Fatalf("batches after the settlement time: %+v %v", b, err)
	}
	var out strings.Builder
	a.metrics.Write(&out)
	if !strings.Contains(out.String(), `fenfu_settlement_batches_total{channel="credit",result="done"} 1`) {
		t.Errorf("metrics:\n%s", out.String())
	}
	// The day's trade bills are stored, of both channels and of each,
	// before any merchant asks for them.
	var bills int
	if err := a.core.QueryRowContext(ctx, `SELECT COUNT(*) FROM bills WHERE mchid = $1 AND bill_date = $2 AND kind = $3`,
		m.MchID, "2026-11-26", bill.Trade).Scan(&bills); err != nil || bills != 3 {
		t.Fatalf("%d trade bills stored for the day: %v", bills, err)
	}
	var all string
	if err := a.core.QueryRowContext(ctx, `SELECT content FROM bills WHERE mchid = $1 AND bill_date = $2 AND kind = $3 AND variant = $4`,
		m.MchID, "2026-11-26", bill.Trade, bill.All+"/all").Scan(&all); err != nil || !strings.Contains(all, "DAY-0001") {
		t.Fatalf("the day's bill of all trades: %v\n%s", err, all)
	}
	// The next check finds the day done and runs nothing.
	a.scheduler().Due(ctx)
	out.Reset()
	a.metrics.Write(&out)
	if !strings.Contains(out.String(), `fenfu_settlement_batches_total{channel="credit",result="done"} 1`) {
		t.Errorf("metrics after a second check:\n%s", out.String())
	}
}

// testConfig is the default configuration, whatever the environment,
// on a temporary store.
func testConfig(t *testing.T) Config {
	t.Helper()
	c := DefaultConfig(func(string) string { return "" })
	c.DataDir = t.TempDir()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestProgressToAPipe: off a terminal, progress is a line per tenth of
// the merchants, ending with the last.
func TestProgressToAPipe(t *testing.T) {
	var b strings.Builder
	p := progressPrinter(&b)
	for i := 1; i <= 250; i++ {
		p(settle.Progress{Date: "2026-11-26", Channel: "credit", Done: i, Total: 250})
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 11 || lines[10] != "settling 2026-11-26 credit: 250/250 merchants" || strings.Contains(b.String(), "\r") {
		t.Fatalf("progress:\n%s", b.String())
	}
}

// TestRenderBillsPastThreeMonths: settling a day older than the bills'
// three months settles it and skips its bills instead of failing.
func TestRenderBillsPastThreeMonths(t *testing.T) {
	ctx := t.Context()
	paidAt := time.Date(2026, 7, 10, 12, 0, 0, 0, fenfu.Shanghai)
	clock := fenfu.NewFakeClock(paidAt)
	cfg := testConfig(t)
	cfg.ExceptionSLA = 4 * time.Hour
	var log strings.Builder
	a, err := openAt(ctx, cfg, slog.New(slog.NewTextHandler(&log, nil)), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	m, err := a.merchants.CreateSandbox(ctx, "Old shop", scheme.SM2)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{Balance: 10_000, Rating: "B"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x", OutTradeNo: "OLD-0001",
		NotifyURL: "https://shop.example/n", Total: 500})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.pay.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	clock.Set(paidAt.AddDate(0, 4, 0))
	r, err := a.settle.Run(ctx, "2026-07-10")
	if err != nil || r[1].Payments != 1 {
		t.Fatalf("settle: %+v %v", r, err)
	}
	if n, err := a.scheduler().RenderBills(ctx, "2026-07-10"); err != nil || n != 0 {
		t.Fatalf("bills of a day past three months: %d %v", n, err)
	}
	// A settlement exception request past its SLA is called out.
	if _, err := a.settle.FileException(ctx, a.ids, m.MchID, settle.NewException{SettleDate: "2026-07-10", Description: "late"}); err != nil {
		t.Fatal(err)
	}
	if n := a.scheduler().AlertOverdue(ctx); n != 0 {
		t.Fatalf("%d overdue at once", n)
	}
	clock.Advance(cfg.ExceptionSLA + time.Minute)
	if n := a.scheduler().AlertOverdue(ctx); n != 1 {
		t.Fatalf("%d overdue after the SLA", n)
	}
	if !strings.Contains(log.String(), "past their SLA") || !strings.Contains(log.String(), "sla=4h0m0s") {
		t.Errorf("the warning does not give the SLA of the settings:\n%s", log.String())
	}
}

// hasKeys says whether m has every one of keys.
func hasKeys[V any](m map[string]V, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
