package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// creditWorld is a server on a fake clock, for the credit product's
// end-to-end tests through the HTTP APIs.
type creditWorld struct {
	t     *testing.T
	a     *app
	clock *fenfu.FakeClock
	base  string
	mchid string
	appid string
	// log is what the server logged, in cfg's --log-format.
	log *syncBuffer
	// staffToken is li.wei's, a finance director's, bearer token.
	staffToken string
}

func startCreditWorld(t *testing.T, engine db.Engine) *creditWorld {
	t.Helper()
	return startWorld(t, engineConfig(t, engine))
}

// startWorld is startCreditWorld on the stores and settings of cfg.
func startWorld(t *testing.T, cfg Config) *creditWorld {
	t.Helper()
	return startWorldAt(t, cfg, time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
}

// startWorldAt is startWorld with its fake clock at start.
func startWorldAt(t *testing.T, cfg Config, start time.Time) *creditWorld {
	t.Helper()
	ctx := t.Context()
	clock := fenfu.NewFakeClock(start)
	log := &syncBuffer{}
	a := openLogging(t, cfg, clock, cfg.logger(log, cfg.LogLevel))
	m, err := a.merchants.CreateSandbox(ctx, "Installment shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(sctx, ln, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &creditWorld{t: t, a: a, clock: clock, base: "http://" + ln.Addr().String(), mchid: m.MchID, appid: m.AppID, log: log}
}

// engineConfig is testConfig on temporary stores of the engine.
func engineConfig(t *testing.T, engine db.Engine) Config {
	t.Helper()
	cfg := testConfig(t)
	if engine == db.Postgres {
		cfg.CoreDB, cfg.CreditDB = dbtest.DSN(t, engine, "core"), dbtest.DSN(t, engine, "credit")
	}
	return cfg
}

// openTest opens fenfu on cfg's stores and clock, closed when the test
// ends, logging nowhere.
func openTest(t *testing.T, cfg Config, clock fenfu.Clock) *app {
	t.Helper()
	return openLogging(t, cfg, clock, discardLogger())
}

// openLogging is openTest logging to log.
func openLogging(t *testing.T, cfg Config, clock fenfu.Clock, log *slog.Logger) *app {
	t.Helper()
	a, err := openAt(t.Context(), cfg, log, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a
}

// payer is a consumer logged in to the cashier.
type payer struct {
	id, phone, pin string
	client         *http.Client
}

func (w *creditWorld) consumer(limit, balance fenfu.Fen) payer {
	w.t.Helper()
	c, pin, err := w.a.consumers.Create(w.t.Context(), consumer.NewConsumer{CreditLimit: limit, Rating: "A", Balance: balance})
	if err != nil {
		w.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return payer{id: c.ID, phone: c.Phone, pin: pin, client: &http.Client{Jar: jar}}
}

// do sends a JSON request and decodes the answer into out, failing on any
// status but 200.
func (w *creditWorld) do(c *http.Client, method, path string, in, out any, header ...string) {
	w.t.Helper()
	if code, body := w.try(c, method, path, in, out, header...); code != 200 {
		w.t.Fatalf("%s %s: HTTP %d %s", method, path, code, body)
	}
}

func (w *creditWorld) try(c *http.Client, method, path string, in, out any, header ...string) (int, string) {
	w.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

// page gets an HTML page as the payer.
func (w *creditWorld) page(p payer, path string) string {
	w.t.Helper()
	resp, err := p.client.Get(w.base + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (w *creditWorld) staff(method, path string, in, out any) {
	w.t.Helper()
	w.do(http.DefaultClient, method, path, in, out, w.staffAuth()...)
}

// staffAuth returns the header of li.wei's bearer token, adding li.wei,
// a finance director (who changes lines and, as directors may, risk
// rules), the first time.
func (w *creditWorld) staffAuth() []string {
	w.t.Helper()
	if w.staffToken == "" {
		w.staffToken = accesstest.Named(w.t, w.a.access, "li.wei", access.Finance, access.Director)
	}
	return []string{"Authorization", "Bearer " + w.staffToken}
}

// order creates a Native order offering installments and returns its
// cashier token.
func (w *creditWorld) order(no string, total fenfu.Fen, offers ...pay.Offer) pay.Order {
	w.t.Helper()
	o, err := w.a.pay.CreateNative(w.t.Context(), pay.NativeOrder{MchID: w.mchid, AppID: w.appid, Description: "Sofa", OutTradeNo: no,
		NotifyURL: "https://shop.example/n", Total: total, Offers: offers, TimeExpire: w.clock.Now().Add(time.Hour)})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// pay pays an order on credit in n installments through the cashier's
// JSON API, logging in with phone and PIN, which starts the session the
// consumer's account and repayments use.
func (w *creditWorld) pay(p payer, o pay.Order, n int) {
	w.t.Helper()
	form := map[string]any{"channel": "credit", "installment_number": n, "phone": p.phone, "pin": p.pin}
	var paid map[string]any
	w.do(p.client, "POST", "/q/"+o.Token+"/pay", form, &paid)
	if paid["trade_state"] != "SUCCESS" || paid["installment_number"] != float64(max(n, 1)) {
		w.t.Fatalf("paid %v", paid)
	}
}

type account struct {
	CreditLimit fenfu.Fen `json:"credit_limit"`
	Used        fenfu.Fen `json:"credit_used"`
	Available   fenfu.Fen `json:"credit_available"`
	Owed        struct {
		NextDue string    `json:"next_due"`
		DueNow  fenfu.Fen `json:"due_now"`
		Payoff  fenfu.Fen `json:"payoff"`
	} `json:"owed"`
	Plans []credit.Plan `json:"plans"`
}

func (w *creditWorld) account(p payer) account {
	w.t.Helper()
	var a account
	w.do(p.client, "GET", "/cashier/credit", nil, &a)
	return a
}

// toDay moves the clock to noon of a day; the payers' sessions have
// expired by then, so they log in again.
func (w *creditWorld) toDay(date string, payers ...payer) {
	w.t.Helper()
	v, err := time.ParseInLocation(time.DateTime, date+" 12:00:00", fenfu.Shanghai)
	if err != nil {
		w.t.Fatal(err)
	}
	w.clock.Set(v)
	for _, p := range payers {
		w.login(p)
	}
}

func (w *creditWorld) prove() {
	w.t.Helper()
	if _, err := w.a.prove(w.t.Context()); err != nil {
		w.t.Fatalf("verify: %v", err)
	}
}

// TestInstallmentsEndToEnd walks the credit product through the HTTP APIs
// over months of a fake clock, on each engine: a 6-installment purchase
// with the fee borne by the consumer, repaid from balance on each due day
// with the line restored to the fen every time; a partial refund in month
// 2 that recomputes the rest; a merchant-borne 12-installment purchase paid
// off early by a partner's transfer through the staff API; statements.
func TestInstallmentsEndToEnd(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testInstallmentsEndToEnd(t, engine) })
	}
}

func testInstallmentsEndToEnd(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	ctx := t.Context()
	alice := w.consumer(10_000_00, 2_000_00)
	sofa := w.order("SOFA-0001", 1200_00, pay.Offer{Count: 3, MerchantPays: true}, pay.Offer{Count: 6}, pay.Offer{Count: 12})

	// The cashier offers pay in full and the three counts with their cost.
	var view struct {
		Installments []pay.Choice `json:"installments"`
	}
	w.do(http.DefaultClient, "GET", "/q/"+sofa.Token+"?format=json", nil, &view)
	if len(view.Installments) != 4 {
		t.Fatalf("choices %+v", view.Installments)
	}
	six := view.Installments[2]
	// 4.5 % of 1200.00 is 54.00: 6 × (200.00 + 9.00).
	if six.Installments != 6 || six.Fee != 54_00 || six.PerPeriod != 209_00 || six.Total != 1254_00 || six.FirstDue != "2026-12-10" {
		t.Errorf("6 installments: %+v", six)
	}
	if three := view.Installments[1]; !three.MerchantPays || three.Fee != 0 || three.Total != 1200_00 {
		t.Errorf("3 interest-free installments: %+v", three)
	}
	// A count the order does not offer is refused; the lamp is then paid
	// in full.
	lamp := w.order("LAMP-0001", 10_00)
	if code, body := w.try(alice.client, "POST", "/q/"+lamp.Token+"/pay", map[string]any{"channel": "credit", "installment_number": 6,
		"phone": alice.phone, "pin": alice.pin}, nil); code != 400 || !strings.Contains(body, "does not offer 6 installments") {
		t.Errorf("6 installments of an order offering none: HTTP %d %s", code, body)
	}
	w.pay(alice, lamp, 1)
	// The page shows the logged-in payer the same choices.
	page := w.page(alice, "/q/"+sofa.Token+"?lang=en")
	for _, want := range []string{`name="installment_number" value="6"`, "6 × ¥209.00", "fee ¥54.00 · total ¥1,254.00 · first due 2026-12-10",
		"3 × ¥400.00", "interest-free, fee paid by the merchant", "Pay ¥1,200.00"} {
		if !strings.Contains(page, want) {
			t.Errorf("the cashier page lacks %q", want)
		}
	}
	if code, body := w.try(alice.client, "POST", "/q/"+sofa.Token+"/pay", map[string]any{"channel": "credit", "installment_number": 4, "pin": alice.pin}, nil); code != 400 ||
		!strings.Contains(body, "4 installments") {
		t.Errorf("4 installments: HTTP %d %s", code, body)
	}
	w.pay(alice, sofa, 6)
	acct := w.account(alice)
	if acct.Used != 1210_00 || acct.Available != 8790_00 {
		t.Fatalf("after paying: %+v", acct)
	}
	o, err := w.a.pay.Get(ctx, sofa.ID)
	if err != nil || o.Installments != 6 {
		t.Fatalf("order %+v, %v", o, err)
	}
	// The page after paying shows the plan and its first due day.
	if page := w.page(alice, "/q/"+sofa.Token+"?lang=en"); !strings.Contains(page, `<td id="first-due">2026-12-10 · ¥209.00</td>`) ||
		!strings.Contains(page, "Credit (分付) · 6 installments · fee ¥54.00") {
		t.Errorf("the page after paying does not show the plan:\n%s", page)
	}

	// Month 1: repay what is due (the lamp in full and the first
	// installment) from balance; the line comes back by the principal.
	w.toDay("2026-12-08", alice)
	acct = w.account(alice)
	if acct.Owed.DueNow != 10_00+209_00 {
		t.Fatalf("due on 2026-12-10: %+v", acct.Owed)
	}
	var rep credit.Repaid
	w.do(alice.client, "POST", "/cashier/credit/repay", map[string]any{"amount": acct.Owed.DueNow, "idempotency_key": "dec"}, &rep)
	if rep.Principal != 210_00 || rep.Fee != 9_00 {
		t.Errorf("repaid %+v", rep)
	}
	if a := w.account(alice); a.Used != 1000_00 {
		t.Errorf("used after month 1: %d, want 100000", a.Used)
	}
	// The same key again is the same repayment.
	w.do(alice.client, "POST", "/cashier/credit/repay", map[string]any{"amount": acct.Owed.DueNow, "idempotency_key": "dec"}, &rep)
	if a := w.account(alice); a.Used != 1000_00 {
		t.Errorf("used after repeating: %d", a.Used)
	}
	w.prove()

	// Month 2: the merchant refunds 300.00; the five installments left
	// are recomputed, 140.00 of principal each with 6.30 of fee
	// (54.00 - 13.50 returned - 9.00 paid = 31.50 over five).
	w.toDay("2026-12-20", alice)
	if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, OutTradeNo: "SOFA-0001", OutRefundNo: "SOFA-0001-R1",
		Refund: 300_00, Total: 1200_00}); err != nil {
		t.Fatal(err)
	}
	acct = w.account(alice)
	if acct.Used != 700_00 {
		t.Errorf("used after the refund: %d, want 70000", acct.Used)
	}
	var plan credit.Plan
	for _, p := range acct.Plans {
		if p.OrderID == sofa.ID {
			plan = p
		}
	}
	for _, in := range plan.Schedule[1:] {
		if in.Principal != 140_00 || in.Fee != 6_30 {
			t.Errorf("installment %d after the refund: %+v", in.Seq, in)
		}
	}
	w.prove()

	// Months 2 to 6: repay each due day; the line is restored by exactly
	// each installment's principal.
	used := fenfu.Fen(700_00)
	for _, due := range []string{"2027-01-10", "2027-02-10", "2027-03-10", "2027-04-10", "2027-05-10"} {
		w.toDay(due, alice)
		acct = w.account(alice)
		if acct.Owed.DueNow != 146_30 {
			t.Fatalf("%s: due %+v, want 14630", due, acct.Owed)
		}
		w.do(alice.client, "POST", "/cashier/credit/repay", map[string]any{"amount": acct.Owed.DueNow, "idempotency_key": "k" + due}, &rep)
		used -= 140_00
		if a := w.account(alice); a.Used != used || a.Available != 10_000_00-used {
			t.Fatalf("%s: used %d available %d, want %d", due, a.Used, a.Available, used)
		}
	}
	c, err := w.a.consumers.Get(ctx, alice.id)
	if err != nil {
		t.Fatal(err)
	}
	// 2000.00 - 219.00 - 5 × 146.30
	if c.Balance != 2_000_00-219_00-5*146_30 {
		t.Errorf("balance %d", c.Balance)
	}
	w.prove()

	// Statements: the consumer's and the staff's are the same document.
	var mine, staffs credit.Statement
	w.do(alice.client, "GET", "/cashier/credit/statements/2027-01", nil, &mine)
	w.staff("GET", "/admin/consumers/"+alice.id+"/statements/2027-01", nil, &staffs)
	if mine.TotalDue != 146_30 || len(mine.Refunds) != 1 || len(mine.Repayments) != 1 || fmt.Sprint(mine) != fmt.Sprint(staffs) {
		t.Errorf("statement of 2027-01: %+v\nstaff's: %+v", mine, staffs)
	}

	// A merchant-borne 12-installment purchase: the consumer owes the
	// principal only and the merchant's pending settlement pays the fee;
	// a partner's transfer pays it off early through the staff API.
	bob := w.consumer(5_000_00, 0)
	pending := func() fenfu.Fen {
		v, err := ledger.Balance(ctx, w.a.credit, ledger.AccountOf(ledger.MerchantPending, w.mchid))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := pending()
	desk := w.order("DESK-0001", 2400_00, pay.Offer{Count: 12, MerchantPays: true})
	w.pay(bob, desk, 12)
	deskOrder, _ := w.a.pay.Get(ctx, desk.ID)
	// 7.5 % of 2400.00 = 180.00 out of the merchant's pending settlement.
	if got, want := pending()-before, 2400_00-deskOrder.Fee.Fee-180_00; got != want {
		t.Errorf("merchant pending grew by %d, want %d", got, want)
	}
	// A tenth is refunded: the merchant gets a tenth of the fee back.
	if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, OutTradeNo: "DESK-0001", OutRefundNo: "DESK-0001-R1",
		Refund: 240_00, Total: 2400_00}); err != nil {
		t.Fatal(err)
	}
	acct = w.account(bob)
	if acct.Owed.Payoff != 2160_00 || acct.Used != 2160_00 || acct.Plans[0].FeeReturned != 18_00 {
		t.Fatalf("bob owes %+v", acct)
	}
	var partner credit.Repaid
	w.staff("POST", "/admin/consumers/"+bob.id+"/repayments", map[string]any{"partner": "icbc", "amount": 2160_00, "idempotency_key": "T-1"}, &partner)
	if partner.Principal != 2160_00 || partner.Source != "partner:icbc" {
		t.Errorf("partner repayment %+v", partner)
	}
	w.staff("POST", "/admin/consumers/"+bob.id+"/repayments", map[string]any{"partner": "icbc", "amount": 2160_00, "idempotency_key": "T-1"}, &partner)
	if a := w.account(bob); a.Used != 0 || a.Available != 5_000_00 || a.Plans[0].State != credit.PlanPaid {
		t.Errorf("bob after paying off: %+v", a)
	}
	w.prove()

	// The merchant's settlement (of every unsettled day, up to this one)
	// is net of the installment fee it bears: it moves exactly what its
	// credit-store pending settlement holds, fee taken, to zero.
	owedMerchant := pending()
	w.toDay("2027-05-11")
	results, err := w.a.settle.Run(ctx, "2027-05-10")
	if err != nil {
		t.Fatal(err)
	}
	var net fenfu.Fen
	for _, r := range results {
		if r.Channel == string(pay.ChannelCredit) {
			net += r.Net
		}
	}
	if net != owedMerchant || deskOrder.PlanFee != 180_00 {
		t.Errorf("the credit settlement moved %d, want %d (order's installment fee %d)", net, owedMerchant, deskOrder.PlanFee)
	}
	if got := pending(); got != 0 {
		t.Errorf("merchant pending after settlement %d, want 0", got)
	}
	// The settlement shows the installment fee apart from the payment fees.
	list, err := w.a.settle.List(ctx, settle.Filter{MchID: w.mchid, Channel: string(pay.ChannelCredit)})
	if err != nil || len(list) != 1 || list[0].PlanFees != 180_00 || list[0].RefundPlanFees != 18_00 ||
		list[0].Net != list[0].PaymentAmount-list[0].PaymentFees-180_00-(list[0].RefundAmount-list[0].RefundFees-18_00) {
		t.Errorf("settlements %+v, %v", list, err)
	}
	w.prove()

	// An early payoff of a consumer-borne plan: the fee of installments
	// not yet due is waived (the default setting).
	w.toDay("2027-05-20")
	carol := w.consumer(5_000_00, 1_000_00)
	chair := w.order("CHAIR-0001", 300_00, pay.Offer{Count: 3})
	w.pay(carol, chair, 3)
	acct = w.account(carol)
	// 2.3 % of 300.00 is 6.90, 2.30 an installment; only the first is due
	// by the next due day.
	if acct.Owed.DueNow != 102_30 || acct.Owed.Payoff != 302_30 {
		t.Fatalf("carol owes %+v", acct.Owed)
	}
	if code, body := w.try(carol.client, "POST", "/cashier/credit/repay", map[string]any{"amount": 302_31, "idempotency_key": "too-much"}, nil); code != 400 {
		t.Errorf("repaying more than is owed: HTTP %d %s", code, body)
	}
	w.do(carol.client, "POST", "/cashier/credit/repay", map[string]any{"amount": 302_30, "idempotency_key": "all"}, &rep)
	if rep.Principal != 300_00 || rep.Fee != 2_30 || rep.Waived != 4_60 {
		t.Errorf("early payoff %+v", rep)
	}
	if a := w.account(carol); a.Used != 0 || a.Available != 5_000_00 {
		t.Errorf("carol after paying off: %+v", a)
	}
	w.prove()
}

// TestSettleCheck: `fenfu settle check` sets each settlement of a day
// against its merchant's BASIC fund-flow bill: a day with a
// merchant-borne installment fee and a refund's share of it agrees to the
// fen, and a settlement a fen off is named and fails the command.
func TestSettleCheck(t *testing.T) {
	w := startCreditWorld(t, db.SQLite)
	ctx := t.Context()
	// Days the command's own clock (the system's) still bills.
	day := time.Now().In(fenfu.Shanghai).AddDate(0, 0, -2).Format(time.DateOnly)
	next := time.Now().In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	alice := w.consumer(10_000_00, 0)
	w.toDay(day, alice)
	desk := w.order("DESK-0001", 2400_00, pay.Offer{Count: 12, MerchantPays: true})
	w.pay(alice, desk, 12)
	if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, OutTradeNo: "DESK-0001", OutRefundNo: "DESK-0001-R1",
		Refund: 240_00, Total: 2400_00}); err != nil {
		t.Fatal(err)
	}
	w.toDay(next)
	if _, err := w.a.settle.Run(ctx, day); err != nil {
		t.Fatal(err)
	}
	check := func() (string, []bill.SettlementCheck, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, []string{"settle", "check", "--data-dir", w.a.cfg.DataDir, "--date", day, "--channel", "CREDIT", "--json"},
			func(string) string { return "" }, nil, &stdout, &stderr)
		var checks []bill.SettlementCheck
		if jerr := json.Unmarshal(stdout.Bytes(), &checks); jerr != nil {
			t.Fatalf("settle check: %v %v\n%s%s", err, jerr, stdout.String(), stderr.String())
		}
		return stdout.String(), checks, err
	}
	out, checks, err := check()
	if err != nil || len(checks) != 1 || checks[0].Gap != 0 || checks[0].Settlement.PlanFees != 180_00 ||
		checks[0].Settlement.RefundPlanFees != 18_00 || checks[0].Items != 2 || checks[0].Billed != checks[0].Settlement.Net {
		t.Fatalf("settle check of an agreeing day: %v\n%s", err, out)
	}
	if _, err := w.a.core.Exec(ctx, `UPDATE settlements SET net = net + 1 WHERE mchid = $1`, w.mchid); err != nil {
		t.Fatal(err)
	}
	if _, checks, err = check(); err == nil || !strings.Contains(err.Error(), "differs from its settlement") ||
		len(checks) != 1 || checks[0].Gap != -1 {
		t.Fatalf("settle check of a settlement a fen off: %v %+v", err, checks)
	}
}

// TestRefundOfRepaidPurchase: a refund of a purchase the consumer had
// already repaid gives what it repaid back to its balance, in the
// refund's own transaction, shown on the statement; verify proves every
// such payout, and a store whose refunds succeeded before payouts existed
// pays them at its next start.
func TestRefundOfRepaidPurchase(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testRefundOfRepaidPurchase(t, engine) })
	}
}

func testRefundOfRepaidPurchase(t *testing.T, engine db.Engine) {
	w := startCreditWorld(t, engine)
	ctx := t.Context()
	alice := w.consumer(1_000_00, 500_00)
	balance := func() fenfu.Fen {
		c, err := w.a.consumers.Get(ctx, alice.id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Balance
	}
	kettle := w.order("KETTLE-0001", 100_00)
	w.pay(alice, kettle, 1)
	var rep credit.Repaid
	w.do(alice.client, "POST", "/cashier/credit/repay", map[string]any{"amount": 100_00, "idempotency_key": "all"}, &rep)
	if a := w.account(alice); a.Used != 0 || balance() != 400_00 {
		t.Fatalf("after repaying: used %d, balance %d", a.Used, balance())
	}
	refund := func(no string, amount fenfu.Fen) {
		t.Helper()
		if _, err := w.a.pay.Refund(ctx, pay.RefundRequest{MchID: w.mchid, OutTradeNo: "KETTLE-0001", OutRefundNo: no,
			Refund: amount, Total: 100_00}); err != nil {
			t.Fatal(err)
		}
	}
	refund("KETTLE-R1", 60_00)
	if a := w.account(alice); a.Used != 0 || balance() != 460_00 {
		t.Fatalf("after refunding 60.00 of a repaid purchase: used %d, balance %d", a.Used, balance())
	}
	w.prove()
	w.clock.Advance(time.Minute)
	refund("KETTLE-R2", 40_00)
	if balance() != 500_00 {
		t.Fatalf("after refunding the rest: balance %d", balance())
	}
	w.prove()
	w.toDay("2026-12-02", alice)
	var st credit.Statement
	w.do(alice.client, "GET", "/cashier/credit/statements/2026-12", nil, &st)
	if len(st.Refunds) != 2 || st.Refunds[0].ToBalance != 60_00 || st.Refunds[1].ToBalance != 40_00 {
		t.Errorf("the statement's refunds: %+v", st.Refunds)
	}

	// A store from before payouts: the second refund's payout was never
	// posted. Verify names it; the next start's backfill pays it.
	r2, err := w.a.pay.QueryRefund(ctx, w.mchid, "KETTLE-R2")
	if err != nil {
		t.Fatal(err)
	}
	txn := ledger.TxnID("credit_overpaid_payout", r2.ID)
	unpost(t, w.a.core, txn)
	if _, err := w.a.core.Exec(ctx, `UPDATE ledger_accounts SET balance = balance + 4000 WHERE id = $1`,
		string(consumer.BalanceAccount(alice.id))); err != nil {
		t.Fatal(err)
	}
	// (The backfill runs at every start, even after it has run once: a
	// node of the previous release may finish such refunds meanwhile.)
	if _, err := w.a.prove(ctx); err == nil || !strings.Contains(err.Error(), "refund owed back without its payout") ||
		!strings.Contains(err.Error(), r2.ID) {
		t.Fatalf("verify of a refund whose payout is missing: %v", err)
	}
	n, err := w.a.pay.Backfill(ctx)
	if err != nil || n != 1 || balance() != 500_00 {
		t.Fatalf("backfill: %d rows, %v; balance %d", n, err, balance())
	}
	if n, err := w.a.pay.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("backfill again: %d rows, %v", n, err)
	}
	w.prove()
}

// unpost deletes a sealed transaction from d's books and takes the
// ledger chain back to just before its position, in one transaction, as
// if it had never been posted: for tests that make a store as an earlier
// release left it. A sealer running meanwhile seals what follows again.
func unpost(t *testing.T, d *db.DB, txn string) {
	t.Helper()
	ctx := context.Background()
	err := d.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_seal SET pos = pos`); err != nil { // holds the head
			return err
		}
		var pos int64
		err := tx.QueryRowContext(ctx, `SELECT pos FROM ledger_chain WHERE txn_id = $1`, txn).Scan(&pos)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		order, hash := int64(-1), ""
		if pos > 1 {
			if err := tx.QueryRowContext(ctx, `SELECT t.commit_order, c.hash FROM ledger_chain c JOIN ledger_txns t ON t.id = c.txn_id
				WHERE c.pos = $1`, pos-1).Scan(&order, &hash); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM ledger_chain WHERE pos >= $1`, `UPDATE ledger_seal SET pos = $1 - 1, commit_order = $2, hash = $3`} {
			if pos == 0 {
				break // not sealed yet: the chain stays as it is
			}
			args := []any{pos}
			if strings.HasPrefix(q, "UPDATE") {
				args = []any{pos, order, hash}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM ledger_entries WHERE txn_id = $1`, `DELETE FROM ledger_txns WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, txn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSettleCheckWithHeldOrder: a payment held out of its day's
// settlement is checked against the settlement that took it, so both
// days' settlements agree with their bills.
func TestSettleCheckWithHeldOrder(t *testing.T) {
	w := startCreditWorld(t, db.SQLite)
	ctx := t.Context()
	alice := w.consumer(10_000_00, 0)
	w.toDay("2026-12-01", alice)
	w.pay(alice, w.order("DESK-0001", 100_00), 1)
	held := w.order("LAMP-0001", 50_00)
	w.pay(alice, held, 1)
	if err := w.a.settle.Hold(ctx, held.ID, w.clock.Now().Add(30*time.Hour), "risk review"); err != nil {
		t.Fatal(err)
	}
	w.toDay("2026-12-02")
	if _, err := w.a.settle.Run(ctx, "2026-12-01"); err != nil {
		t.Fatal(err)
	}
	w.toDay("2026-12-03")
	if _, err := w.a.settle.Run(ctx, "2026-12-02"); err != nil {
		t.Fatal(err)
	}
	w.prove()
	list, err := w.a.settle.List(ctx, settle.Filter{MchID: w.mchid, Channel: string(pay.ChannelCredit)})
	if err != nil || len(list) != 2 {
		t.Fatalf("settlements %+v, %v", list, err)
	}
	for _, x := range list {
		c, err := w.a.bills.CheckSettlement(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if c.Gap != 0 || c.Items != 1 || len(c.Days) != 1 || c.Days[0] != "2026-12-01" {
			t.Errorf("settlement %s of %s: %+v", x.ID, x.Date, c)
		}
	}
}
