package onboard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

func TestApplications(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testApplications(t, engine) })
	}
}

func testApplications(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 8, 10, 12, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	mk := func() merchant.Sandbox {
		m, err := ms.CreateSandbox(ctx, "shop", scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	shop, noodles, newcomer, listed, own := mk(), mk(), mk(), mk(), mk()

	// "own" earns its history on the platform: balance payments in
	// August, September and October.
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("onboard test secret, 32 bytes!!!")), IDs: ids, Clock: clock}
	c, _, err := consumer.New(core, cr, ids, clock).Create(ctx, consumer.NewConsumer{Rating: "A", Balance: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	for i, month := range []time.Month{8, 9, 10} {
		clock.Advance(time.Date(2026, month, 15, 12, 0, 0, 0, fenfu.Shanghai).Sub(clock.Now()))
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: own.MchID, AppID: own.AppID, Description: "x", OutTradeNo: fmt.Sprintf("hist-%06d", i),
			NotifyURL: "https://o.example/n", Total: 100})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai).Sub(clock.Now()))

	hist := "mchid,month,ordinary_count\n"
	for _, m := range []string{shop.MchID, listed.MchID} {
		hist += m + ",2026-08,520\n" + m + ",2026-09,610\n" + m + ",2026-10,580\n"
	}
	hist += noodles.MchID + ",2026-08,30\n" + noodles.MchID + ",2026-09,41\n" + noodles.MchID + ",2026-10,38\n"
	hist += "bad-line-without-count,2026-10,x\n" + shop.MchID + ",2026-13,1\n"
	res, err := onboard.ImportHistory(ctx, core, strings.NewReader(hist), "import-2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 9 || res.Skipped != 2 || len(res.Errors) != 2 {
		t.Fatalf("history import = %+v", res)
	}
	svc := &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: core}, IDs: ids, Clock: clock}
	if _, err := svc.ImportRiskList(ctx, strings.NewReader("licence_number,name,reason\n91310000BADBAD001X,Bad Co,fraud ring 2025-17\n"),
		"PBOC-2026-10"); err != nil {
		t.Fatal(err)
	}
	ecom := func(licence string) onboard.Application {
		return onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: licence, LicenceStatus: "normal",
			Industry: "ecommerce_retail", Qualifications: map[onboard.Qualification]string{onboard.ICPFiling: "京ICP备12345678号"}}
	}
	submit := func(m merchant.Sandbox, a onboard.Application) onboard.Record {
		t.Helper()
		r, err := svc.Create(ctx, m.MchID, a)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = svc.Submit(ctx, r.ID, "merchant:"+m.MchID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	failed := func(r onboard.Record) string {
		for _, c := range r.Checks {
			if !c.Passed {
				return c.Name + ": " + c.Reason
			}
		}
		return ""
	}

	// An e-commerce merchant: checks pass, staff approve.
	r := submit(shop, ecom("91110000MA01GOOD1X"))
	if r.State != onboard.InReview || len(r.Checks) != 4 || failed(r) != "" || r.Policy != "2026-11-01" {
		t.Fatalf("e-commerce application: %s %+v", r.State, r.Checks)
	}
	if r, err = svc.Review(ctx, r.ID, "approve", "staff:ops-li", "documents verified"); err != nil || r.State != onboard.Approved {
		t.Fatalf("approve: %v %s", err, r.State)
	}
	var trail []string
	for _, e := range r.Events {
		trail = append(trail, e.From+">"+e.To+"@"+strings.SplitN(e.Actor, ":", 2)[0])
		if e.At.IsZero() || e.Reason == "" {
			t.Errorf("event %+v lacks time or reason", e)
		}
	}
	if got := strings.Join(trail, " "); got != "draft>submitted@merchant submitted>checking@system checking>in_review@system in_review>approved@staff" {
		t.Fatalf("events = %s", got)
	}
	if _, err := svc.Review(ctx, r.ID, "reject", "staff:ops-li", "changed my mind"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Fatalf("reviewing an approved application: %v", err)
	}

	// A catering merchant without its food licence.
	cat := onboard.Application{EntityType: onboard.IndividualBusiness, LicenceNumber: "92310000MA1K00001Y", LicenceStatus: "normal",
		Industry: "catering", Qualifications: map[onboard.Qualification]string{}, Stores: []onboard.Store{{Name: "Noodles", Address: "徐汇区"}}}
	r = submit(noodles, cat)
	if r.State != onboard.Rejected || !strings.Contains(failed(r), "food_business_licence") ||
		!strings.Contains(r.Events[len(r.Events)-1].Reason, "food_business_licence") {
		t.Fatalf("catering without licence: %s %s", r.State, failed(r))
	}
	// A merchant without three months of history.
	r = submit(newcomer, ecom("91110000MA01NEW01X"))
	history := onboard.Check{Passed: true}
	for _, c := range r.Checks {
		if c.Name == onboard.CheckHistory {
			history = c
		}
	}
	if r.State != onboard.Rejected || history.Passed || !strings.Contains(history.Reason, "2026-08") {
		t.Fatalf("newcomer: %s %+v", r.State, history)
	}
	// A merchant on the risk list.
	if r = submit(listed, ecom("91310000BADBAD001X")); r.State != onboard.Rejected || !strings.Contains(failed(r), "fraud ring 2025-17") {
		t.Fatalf("listed: %s %s", r.State, failed(r))
	}
	// A merchant whose history is its own payments on fenfu (life services).
	life := onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1OWN01X", LicenceStatus: "normal",
		Industry: "life_services", Qualifications: map[onboard.Qualification]string{onboard.IndustryPermit: "SH-LS-0001"}}
	if r = submit(own, life); r.State != onboard.InReview {
		t.Fatalf("merchant with its own history: %s %s", r.State, failed(r))
	}
	// More material, then resubmission.
	if r, err = svc.Review(ctx, r.ID, "request_material", "staff:ops-li", "upload the permit's scan"); err != nil || r.State != onboard.MoreMaterial {
		t.Fatalf("request material: %v %s", err, r.State)
	}
	if r, err = svc.Submit(ctx, r.ID, "merchant:"+own.MchID); err != nil || r.State != onboard.InReview {
		t.Fatalf("resubmit: %v %s", err, r.State)
	}
	if _, err := svc.Review(ctx, r.ID, "approve", "staff:ops-li", ""); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Fatalf("a decision without a reason: %v", err)
	}
}

// TestLifecycle follows a production merchant from approval through its
// deposit, activation, suspension by the daily screening and departure,
// and checks what a consumer's credit payment meets at each step.
func TestLifecycle(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testLifecycle(t, engine) })
	}
}

func testLifecycle(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	m, err := ms.Create(ctx, "Tea Shop", "production", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("onboard test secret, 32 bytes!!!")), IDs: ids, Clock: clock}
	c, _, err := consumer.New(core, cr, ids, clock).Create(ctx, consumer.NewConsumer{Rating: "A", CreditLimit: 1 << 30, Balance: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	payCredit := func() error {
		n++
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "tea", OutTradeNo: fmt.Sprintf("life-%06d", n),
			NotifyURL: "https://t.example/n", Total: 100})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ps.Pay(ctx, o.Token, c.ID, pay.ChannelCredit)
		return err
	}
	if err := payCredit(); fenfu.ErrorCode(err) != fenfu.NoAuth || !strings.Contains(err.Error(), "not activated") {
		t.Fatalf("credit payment before activation: %v", err)
	}
	if _, err := onboard.ImportHistory(ctx, core, strings.NewReader("mchid,month,ordinary_count\n"+
		m.MchID+",2026-08,900\n"+m.MchID+",2026-09,900\n"+m.MchID+",2026-10,900\n"), "t"); err != nil {
		t.Fatal(err)
	}
	sealer, _ := seal.New([]byte("0123456789abcdef"))
	svc := &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: core, Sealer: sealer}, IDs: ids, Clock: clock,
		Merchants: ms, Sealer: sealer}
	legal := &onboard.Person{Name: "王茶香", IDNumber: "310101199001011234", Phone: "13912345678"}
	a := onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1TEA01X", LicenceStatus: "normal",
		Industry: "ecommerce_retail", Qualifications: map[onboard.Qualification]string{onboard.ICPFiling: "沪ICP备1号"},
		SettlementAccount: &onboard.BankAccount{Bank: "招商银行", AccountName: "Tea Shop Ltd", AccountNumber: "6225880212345678"},
		LegalPerson:       legal}
	if got, err := svc.Industry(ctx, m.MchID); err != nil || got != "" {
		t.Fatalf("industry before applying = %q, %v; want none", got, err)
	}
	r, err := svc.Create(ctx, m.MchID, a)
	if err != nil {
		t.Fatal(err)
	}
	// Risk rules read the merchant's industry.
	if got, err := svc.Industry(ctx, m.MchID); err != nil || got != "ecommerce_retail" {
		t.Fatalf("industry = %q, %v; want ecommerce_retail", got, err)
	}
	// The personal fields are stored sealed and read back opened, the
	// bank account masked.
	var raw string
	if err := core.QueryRowContext(ctx, `SELECT data FROM applications WHERE id = $1`, r.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"6225880212345678", "Tea Shop Ltd", "91310000MA1TEA01X", legal.Name, legal.IDNumber, legal.Phone} {
		if strings.Contains(raw, clear) || !strings.Contains(raw, "sm4env") {
			t.Fatalf("%s is stored in the clear: %s", clear, raw)
		}
	}
	if got := r.Application.SettlementAccount; got == nil || got.AccountNumber != "************5678" || got.Bank != "招商银行" {
		t.Fatalf("account as read: %+v", got)
	}
	if got := r.Application; got.LicenceNumber != a.LicenceNumber || got.LegalPerson == nil || *got.LegalPerson != *legal {
		t.Fatalf("application as read: %+v", got)
	}
	if r, err = svc.Submit(ctx, r.ID, "merchant"); err != nil || r.State != onboard.InReview {
		t.Fatalf("submit: %v %s", err, r.State)
	}
	if _, err := svc.Activate(ctx, r.ID, "product-center"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Fatalf("activating before approval and deposit: %v", err)
	}
	if r, err = svc.Review(ctx, r.ID, "approve", "staff", "ok"); err != nil {
		t.Fatal(err)
	}
	if r, err = svc.PayDeposit(ctx, r.ID, "BANK-TRF-0001", "finance"); err != nil || r.State != onboard.DepositPaid {
		t.Fatalf("deposit: %v %s", err, r.State)
	}
	if held, _ := ledger.Balance(ctx, core, onboard.DepositAccount(m.MchID)); held != 500000 {
		t.Fatalf("deposit held = %d, want 500000 (¥5,000 for e-commerce)", held)
	}
	if err := payCredit(); fenfu.ErrorCode(err) != fenfu.NoAuth {
		t.Fatalf("credit payment before activation: %v", err)
	}
	// A deployment that takes sandbox merchants only (a sandbox clock)
	// does not activate a production one.
	ms.SandboxOnly = true
	if _, err := svc.Activate(ctx, r.ID, "product-center"); fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "sandbox merchants only") {
		t.Fatalf("activating a production merchant on a sandbox clock: %v", err)
	}
	ms.SandboxOnly = false
	if r, err = svc.Activate(ctx, r.ID, "product-center"); err != nil || r.State != onboard.Active {
		t.Fatalf("activate: %v %s", err, r.State)
	}
	if err := payCredit(); err != nil {
		t.Fatalf("credit payment after activation: %v", err)
	}
	if acct, err := svc.SettlementAccount(ctx, m.MchID); err != nil || acct.AccountNumber != "6225880212345678" {
		t.Fatalf("settlement account for the batch: %+v %v", acct, err)
	}
	// The merchant appears on the risk list; the daily screening suspends it.
	if got, err := svc.Rescreen(ctx); err != nil || got.Suspended != 0 {
		t.Fatalf("rescreen before listing: %+v %v", got, err)
	}
	if _, err := svc.ImportRiskList(ctx, strings.NewReader("licence_number,name,reason\n91310000MA1TEA01X,Tea Shop,chargeback fraud\n"), "list-2"); err != nil {
		t.Fatal(err)
	}
	// The list is stored sealed and found by the licence's blind index.
	var listed, name, index string
	if err := core.QueryRowContext(ctx, `SELECT licence_number, name, licence_index FROM risk_list`).Scan(&listed, &name, &index); err != nil {
		t.Fatal(err)
	}
	if !seal.Sealed(listed) || !seal.Sealed(name) || index != sealer.Index("risk_list.licence_number", "91310000MA1TEA01X") {
		t.Fatalf("risk list row stored as %q %q %q", listed, name, index)
	}
	if got, err := svc.Rescreen(ctx); err != nil || got.Suspended != 1 || got.Screened != 1 {
		t.Fatalf("rescreen: %+v %v", got, err)
	}
	err = payCredit()
	var fe *fenfu.Error
	if !errors.As(err, &fe) || fe.Code != fenfu.NoAuth || !strings.Contains(fe.Message, "suspended") || fe.Remedy == "" {
		t.Fatalf("credit payment while suspended: %v", err)
	}
	// Balance payments still work.
	o, _ := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "tea", OutTradeNo: "life-balance",
		NotifyURL: "https://t.example/n", Total: 100})
	if _, err := ps.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
		t.Fatalf("balance payment while suspended: %v", err)
	}
	// The merchant leaves: the deposit is refunded through the ledger.
	if r, err = svc.Close(ctx, r.ID, "operations", "contract ended"); err != nil || r.State != onboard.Closed {
		t.Fatalf("close: %v %s", err, r.State)
	}
	if held, _ := ledger.Balance(ctx, core, onboard.DepositAccount(m.MchID)); held != 0 {
		t.Fatalf("deposit held after leaving = %d", held)
	}
	if _, err := ps.Verify(ctx); err != nil {
		t.Fatalf("the books: %v", err)
	}
}
