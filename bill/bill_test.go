package bill_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// day is a known day of trades: three payments (two on credit, one from
// balance), a partial refund and a full one, and a payment the next day.
type day struct {
	bills  *bill.Service
	settle *settle.Service
	clock  *fenfu.FakeClock
	m      merchant.Sandbox
	orders []pay.Order
	pay    *pay.Service
	buyer  string // the consumer who pays
}

func knownDay(t *testing.T, engine db.Engine) *day {
	t.Helper()
	d := openDay(t, engine)
	d.trades(t)
	return d
}

// openDay opens the stores, a merchant and a consumer, at 09:30 on
// 2026-11-20, with no trades yet.
func openDay(t *testing.T, engine db.Engine) *day {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 20, 9, 30, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.SeqIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.CreateSandbox(ctx, "Golden shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	cs := consumer.New(core, cr, ids, clock)
	c, _, err := cs.Create(ctx, consumer.NewConsumer{CreditLimit: 10_000_000, Rating: "A", Balance: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("test secret test secret test sec")),
		IDs: ids, Clock: clock}
	d := &day{clock: clock, m: m,
		bills: &bill.Service{Core: core, Clock: clock,
			OpenID:   func(appid, consumerID string) string { return "o_" + appid + "_" + consumerID },
			BankType: func(ch string) string { return map[string]string{"credit": "FENFU_CREDIT", "balance": "OTHERS"}[ch] }},
		settle: &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "test"}, pay: ps, buyer: c.ID}
	return d
}

// trades makes the known day's trades.
func (d *day) trades(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ps, m, c, clock := d.pay, d.m, struct{ ID string }{d.buyer}, d.clock
	buy := func(no, desc string, total fenfu.Fen, channel pay.Channel) pay.Order {
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: desc, OutTradeNo: no,
			Attach: "table=7", NotifyURL: "https://shop.example/n", Total: total})
		if err != nil {
			t.Fatal(err)
		}
		o, err = ps.Pay(ctx, o.Token, c.ID, channel)
		if err != nil {
			t.Fatal(err)
		}
		d.orders = append(d.orders, o)
		return o
	}
	refund := func(o pay.Order, no string, amt fenfu.Fen) {
		if _, err := ps.Refund(ctx, pay.RefundRequest{MchID: m.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: no, Refund: amt,
			Total: o.Total}); err != nil {
			t.Fatal(err)
		}
	}
	a := buy("GOLD-0001", "Latte, large", 3800, pay.ChannelCredit)
	clock.Advance(47 * time.Minute)
	b := buy("GOLD-0002", "Headphones", 129900, pay.ChannelCredit)
	clock.Advance(2 * time.Hour)
	buy("GOLD-0003", "Croissant", 1250, pay.ChannelBalance)
	clock.Advance(3 * time.Hour)
	refund(b, "GOLD-R-0001", 50000)
	clock.Advance(10 * time.Minute)
	refund(a, "GOLD-R-0002", 3800)
	clock.Set(time.Date(2026, 11, 21, 0, 0, 5, 0, fenfu.Shanghai))
	buy("GOLD-0004", "Next day", 999, pay.ChannelCredit)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestTradeBillGolden(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := knownDay(t, engine)
			req := func(typ, ch string) bill.Request {
				return bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: typ, Channel: ch}
			}
			// Today's bill does not exist yet.
			if _, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-21", Kind: bill.Trade, Type: bill.All}, false); fenfu.ErrorCode(err) != fenfu.NoStatementExist {
				t.Fatalf("today's bill: %v", err)
			}
			d.clock.Advance(24 * time.Hour)
			// The batch renders the day's ALL bills, both channels and each,
			// in one pass; they are the snapshots every download answers.
			if n, err := d.bills.TradeDay(ctx, d.m.MchID, "2026-11-20"); err != nil || n != 3 {
				t.Fatalf("TradeDay stored %d: %v", n, err)
			}
			if n, err := d.bills.TradeDay(ctx, d.m.MchID, "2026-11-20"); err != nil || n != 0 {
				t.Fatalf("TradeDay again stored %d: %v", n, err)
			}
			for _, c := range []struct{ typ, ch, file string }{
				{bill.All, "", "tradebill_all.csv"},
				{bill.All, string(pay.ChannelCredit), "tradebill_credit.csv"},
				{bill.All, string(pay.ChannelBalance), "tradebill_ordinary.csv"},
				{bill.Refund, string(pay.ChannelCredit), "tradebill_credit_refund.csv"},
			} {
				f, err := d.bills.Get(ctx, req(c.typ, c.ch), false)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, c.file, string(f.Data))
			}
			// The stored snapshot answers later requests byte for byte, in
			// text and gzip, with the hash of what is served.
			a, _ := d.bills.Get(ctx, req(bill.All, ""), false)
			z, err := d.bills.Get(ctx, req(bill.All, ""), true)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bill.Gzip(a.Data), z.Data) || a.SHA1 == z.SHA1 || len(a.SHA1) != 40 {
				t.Errorf("gzip file or hashes wrong: %s %s", a.SHA1, z.SHA1)
			}
			// Bills reconcile with the merchant's records of the same day.
			entries, err := bill.ParseTrade(bytes.NewReader(z.Data))
			if err != nil {
				t.Fatal(err)
			}
			mine := "out_trade_no,amount,state\nGOLD-0001,38.00,SUCCESS\nGOLD-0002,1299.00,SUCCESS\nGOLD-0003,12.50,SUCCESS\n" +
				"GOLD-0002,500.00,REFUND\nGOLD-0001,38.00,REFUND\n"
			me, err := bill.ParseMine(strings.NewReader(mine))
			if err != nil {
				t.Fatal(err)
			}
			if rep := bill.Reconcile(entries, me); len(rep.Differences) != 0 || rep.Matched != 5 {
				t.Errorf("reconcile: %+v", rep)
			}
			// A day without trades has no bill, as WeChat answers.
			if _, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-19", Kind: bill.Trade, Type: bill.All}, false); fenfu.ErrorCode(err) != fenfu.NoStatementExist {
				t.Errorf("empty day: %v", err)
			}
		})
	}
}

// TestFundFlowBill: each account's bill starts from the balance the day
// began with and its rows add up to where the day ended.
func TestFundFlowBill(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testFundFlow(t, engine) })
	}
}

func testFundFlow(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	d := knownDay(t, engine)
	if _, err := d.settle.Run(ctx, "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(24 * time.Hour)
	basic := func(date string) string {
		f, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: date, Kind: bill.FundFlow, Type: bill.Basic, Channel: string(pay.ChannelCredit)}, false)
		if err != nil {
			t.Fatal(err)
		}
		return string(f.Data)
	}
	golden(t, "fundflow_basic_credit_20.csv", basic("2026-11-20"))
	// On the 21st the credit settlement of the 20th leaves pending
	// settlement, and the next payment comes in.
	golden(t, "fundflow_basic_credit_21.csv", basic("2026-11-21"))
	f, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-21", Kind: bill.FundFlow, Type: bill.Operation}, false)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fundflow_operation_21.csv", string(f.Data))
	f, err = d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.FundFlow, Type: bill.Fees}, false)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fundflow_fees_20.csv", string(f.Data))
}

func TestRequestValidation(t *testing.T) {
	ctx := context.Background()
	d := knownDay(t, db.SQLite)
	for _, r := range []bill.Request{
		{MchID: d.m.MchID, Date: "2026-11-32", Kind: bill.Trade, Type: bill.All},
		{MchID: d.m.MchID, Date: "20261120", Kind: bill.Trade, Type: bill.All},
		{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: "RECHARGE_REFUND"},
		{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.FundFlow, Type: "ALL"},
		{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All, Channel: "cash"},
	} {
		if _, err := d.bills.Get(ctx, r, false); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%+v: %v", r, err)
		}
	}
	d.clock.Advance(100 * 24 * time.Hour)
	if _, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All}, false); fenfu.ErrorCode(err) != fenfu.NoStatementExist {
		t.Errorf("a bill older than three months: %v", err)
	}
}

func TestReconcileFindsEveryDifference(t *testing.T) {
	b := []bill.Entry{
		{OutTradeNo: "A", State: "SUCCESS", Amount: 100},
		{OutTradeNo: "B", State: "SUCCESS", Amount: 200},
		{OutTradeNo: "C", State: "SUCCESS", Amount: 300},
		{OutTradeNo: "D", State: "REFUND", Amount: 50},
		{OutTradeNo: "E", State: "SUCCESS", Amount: 70},
	}
	mine := []bill.Entry{
		{OutTradeNo: "A", State: "SUCCESS", Amount: 100}, // matched
		{OutTradeNo: "B", State: "SUCCESS", Amount: 201}, // amount
		{OutTradeNo: "D", State: "SUCCESS", Amount: 50},  // state
		{OutTradeNo: "E", State: "SUCCESS", Amount: 70},  // matched
		{OutTradeNo: "F", State: "SUCCESS", Amount: 10},  // not in the bill
	}
	rep := bill.Reconcile(b, mine)
	got := []string{}
	for _, d := range rep.Differences {
		got = append(got, d.OutTradeNo+":"+d.Kind)
	}
	want := "B:AMOUNT_MISMATCH C:MISSING_IN_MINE D:STATE_MISMATCH F:MISSING_IN_BILL"
	if strings.Join(got, " ") != want || rep.Matched != 2 {
		t.Errorf("got %v, matched %d; want %s", got, rep.Matched, want)
	}
	if rep.Bill.Paid != 670 || rep.Bill.Refunded != 50 || rep.Mine.Paid != 431 || rep.Counts[bill.AmountMismatch] != 1 {
		t.Errorf("totals: %+v", rep)
	}
	if !strings.Contains(rep.Text(), "MISSING_IN_BILL  F SUCCESS 0.10 yuan") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

func TestParseTradeRefusesAlteredFiles(t *testing.T) {
	d := knownDay(t, db.SQLite)
	d.clock.Advance(24 * time.Hour)
	f, err := d.bills.Get(context.Background(), bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All}, false)
	if err != nil {
		t.Fatal(err)
	}
	text := string(f.Data)
	lines := strings.Split(text, "\r\n")
	for name, altered := range map[string]string{
		"truncated":       strings.Join(lines[:3], "\r\n"),
		"amount changed":  strings.Replace(text, "`500.00,`tier1", "`400.00,`tier1", 1),
		"row dropped":     strings.Join(append(append([]string{}, lines[:2]...), lines[3:]...), "\r\n"),
		"header replaced": "a,b,c\r\n" + strings.Join(lines[1:], "\r\n"),
	} {
		if _, err := bill.ParseTrade(strings.NewReader(altered)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	for _, bad := range []string{"A,1.2.3,SUCCESS", "A,12,PAID", ",1,SUCCESS", "A,1", "A,1.234,SUCCESS"} {
		if _, err := bill.ParseMine(strings.NewReader(bad)); err == nil {
			t.Errorf("records %q parsed", bad)
		}
	}
	if e, err := bill.ParseMine(strings.NewReader("\ufeffout_trade_no,amount,state\r\n`A`, 1.5 ,success\r\nA,0.5,SUCCESS\r\n")); err != nil ||
		len(e) != 1 || e[0].Amount != 200 {
		t.Errorf("records with BOM, backticks and repeats: %+v %v", e, err)
	}
}

func FuzzParseTrade(f *testing.F) {
	head := strings.Join(bill.TradeColumns, ",")
	f.Add([]byte(head + "\r\n" + strings.Join(bill.TradeSummaryColumns, ",") + "\r\n`0,`0.00,`0.00,`0.00,`0.00,`0.00,`0.00\r\n"))
	f.Add([]byte("garbage"))
	f.Add(bill.Gzip([]byte(head)))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := bill.ParseTrade(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.State != "SUCCESS" && e.State != "REFUND" {
				t.Fatalf("entry with state %q", e.State)
			}
		}
	})
}

func FuzzParseMine(f *testing.F) {
	f.Add([]byte("out_trade_no,amount,state\nA,1.00,SUCCESS\n"))
	f.Add([]byte("A,-0.5,refund"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := bill.ParseMine(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.OutTradeNo == "" || (e.State != "SUCCESS" && e.State != "REFUND") {
				t.Fatalf("bad entry %+v", e)
			}
		}
		_ = fmt.Sprint(bill.Reconcile(entries, entries))
	})
}
