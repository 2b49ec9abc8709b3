package complaint_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

type world struct {
	t          testing.TB
	clock      *fenfu.FakeClock
	core       *db.DB
	pay        *pay.Service
	svc        *complaint.Service
	events     *notify.Events
	merchants  []merchant.Sandbox
	consumers  []string
	orderCount int
}

func newWorld(t testing.TB, engine db.Engine) *world {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 29, 10, 0, 0, 0, fenfu.Shanghai))
	w := &world{t: t, clock: clock}
	w.core = dbtest.Open(t, engine, "core", clock)
	credit := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.SeqIDs{}
	ms := merchant.New(w.core, ids, clock)
	for i := range 2 {
		m, err := ms.CreateSandbox(ctx, fmt.Sprintf("Shop %d", i), scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		w.merchants = append(w.merchants, m)
	}
	cs := consumer.New(w.core, credit, ids, clock)
	for range 2 {
		c, _, err := cs.Create(ctx, consumer.NewConsumer{CreditLimit: 1_000_000, Rating: "A", Balance: 1_000_000})
		if err != nil {
			t.Fatal(err)
		}
		w.consumers = append(w.consumers, c.ID)
	}
	w.pay = &pay.Service{Core: w.core, Credit: credit, Merchants: ms, Tokens: qr.NewSigner([]byte("test secret test secret test sec")),
		IDs: ids, Clock: clock}
	w.svc = &complaint.Service{Credit: credit, Core: w.core, Orders: w.pay, IDs: ids, Clock: clock}
	w.events = &notify.Events{DB: w.core, Clock: clock}
	return w
}

// paid makes an order of merchant m and has consumer c pay it on credit.
func (w *world) paid(m, c int, total fenfu.Fen) pay.Order {
	w.t.Helper()
	ctx := context.Background()
	w.orderCount++
	o, err := w.pay.CreateNative(ctx, pay.NativeOrder{MchID: w.merchants[m].MchID, AppID: w.merchants[m].AppID, Description: "Tea",
		OutTradeNo: fmt.Sprintf("CPL-%04d", w.orderCount), NotifyURL: "https://shop.example/notify", Total: total})
	if err != nil {
		w.t.Fatal(err)
	}
	if o, err = w.pay.Pay(ctx, o.Token, w.consumers[c], pay.ChannelCredit); err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) order(id string) pay.Order {
	w.t.Helper()
	o, err := w.pay.Get(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// wantCode fails unless err is a domain error of code (and field, if given).
func wantCode(t *testing.T, what string, err error, code fenfu.Code, field string) {
	t.Helper()
	var e *fenfu.Error
	if !errors.As(err, &e) || e.Code != code || (field != "" && e.Field != field) {
		t.Errorf("%s: got %v, want %s %s", what, err, code, field)
	}
}

func TestFastLane(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testFastLane(t, engine) })
	}
}

// testFastLane files a complaint, lets the merchant miss the 24-hour SLA
// by a second, answers it late, and has staff resolve it; with the
// notification of every act and the hold on the order carried out after a
// crash between the two stores.
func testFastLane(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	mch, other := w.merchants[0].MchID, w.merchants[1].MchID
	o := w.paid(0, 0, 12_000)
	someone := w.paid(0, 1, 500)

	// Input validation.
	long := strings.Repeat("长", complaint.MaxDetail+1)
	for _, c := range []struct {
		name  string
		in    complaint.NewComplaint
		code  fenfu.Code
		field string
	}{
		{"unknown order", complaint.NewComplaint{TransactionID: "4200000000000000000000000000", ProblemType: "OTHERS", Detail: "x"}, fenfu.OrderNotExist, ""},
		{"another consumer's order", complaint.NewComplaint{TransactionID: someone.ID, ProblemType: "OTHERS", Detail: "x"}, fenfu.OrderNotExist, ""},
		{"transaction id", complaint.NewComplaint{TransactionID: "../4200", ProblemType: "OTHERS", Detail: "x"}, fenfu.ParamError, "transaction_id"},
		{"problem type", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "ANGRY", Detail: "x"}, fenfu.ParamError, "problem_type"},
		{"empty detail", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "OTHERS", Detail: "  "}, fenfu.ParamError, "complaint_detail"},
		{"long detail", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "OTHERS", Detail: long}, fenfu.ParamError, "complaint_detail"},
		{"NUL in detail", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "OTHERS", Detail: "a\x00b"}, fenfu.ParamError, "complaint_detail"},
		{"refund above the order", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "REFUNDS", Detail: "x", ApplyRefund: 12_001}, fenfu.ParamError, "apply_refund_amount"},
		{"refund without REFUNDS", complaint.NewComplaint{TransactionID: o.ID, ProblemType: "OTHERS", Detail: "x", ApplyRefund: 1}, fenfu.ParamError, "apply_refund_amount"},
	} {
		c.in.ConsumerID = w.consumers[0]
		_, err := w.svc.File(ctx, c.in)
		wantCode(t, c.name, err, c.code, c.field)
	}
	if err := w.svc.SetNotifyURL(ctx, mch, "ftp://shop.example/c", true); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("an ftp complaint URL: %v", err)
	}
	if err := w.svc.SetNotifyURL(ctx, mch, "https://shop.example/old", false); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Errorf("updating a complaint URL that does not exist: %v", err)
	}
	if err := w.svc.SetNotifyURL(ctx, mch, "https://shop.example/complaints", true); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SetNotifyURL(ctx, mch, "https://shop.example/again", true); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("creating a second complaint URL: %v", err)
	}

	// Filed, and the process dies after the credit commit: neither the
	// notification nor the hold has reached the core store.
	crash := errors.New("crash")
	w.svc.SetCrashAfterCommit(func() error { return crash })
	c, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "REFUNDS",
		Detail: "The tea never came.", ApplyRefund: 12_000})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "200000020261129") || len(c.ID) != 27 || c.State != complaint.Pending || c.Hold != complaint.HoldWanted ||
		!c.RespondBy.Equal(c.CreatedAt.Add(24*time.Hour)) || !c.RetainUntil.Equal(c.CreatedAt.Add(complaint.Retention)) {
		t.Fatalf("filed %+v", c)
	}
	first := "EV-" + c.ID + "001"
	if _, err := w.events.Lookup(ctx, mch, first); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Fatalf("the notification is out before the sweep: %v", err)
	}
	if h := w.order(o.ID); !h.HoldUntil.IsZero() {
		t.Fatalf("the order is held before the sweep: %+v", h)
	}
	w.svc.SetCrashAfterCommit(nil)
	for range 2 { // a second sweep changes nothing
		if err := w.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := w.events.Lookup(ctx, mch, first); err != nil || s.State != notify.Pending || s.NotifyURL != "https://shop.example/complaints" {
		t.Fatalf("the COMPLAINT.CREATE notification after the sweep: %+v %v", s, err)
	}
	if h := w.order(o.ID); h.HoldReason != "complaint "+c.ID || !h.HoldUntil.Equal(c.CreatedAt.Add(complaint.DefaultHold)) {
		t.Fatalf("the order's hold after the sweep: until %s, %q", h.HoldUntil, h.HoldReason)
	}
	if x, _ := w.svc.Get(ctx, c.ID); x.Hold != complaint.HoldPlaced {
		t.Fatalf("hold state %s", x.Hold)
	}
	_, err = w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "OTHERS", Detail: "again"})
	wantCode(t, "a second open complaint on the order", err, fenfu.InvalidRequest, "")

	// Another merchant's complaint, or no complaint at all, is not found.
	_, err = w.svc.Of(ctx, other, c.ID)
	wantCode(t, "another merchant's complaint", err, fenfu.ResourceNotExists, "")
	_, err = w.svc.Of(ctx, mch, "20000002026112900000000000x")
	wantCode(t, "a complaint id that is not digits", err, fenfu.ResourceNotExists, "")
	err = w.svc.Respond(ctx, other, c.ID, complaint.Response{Content: "not mine"})
	wantCode(t, "another merchant answers", err, fenfu.ResourceNotExists, "")

	// The SLA: a second before 24 hours nothing is escalated; at 24 hours
	// the complaint is, once.
	w.clock.Advance(24*time.Hour - time.Second)
	if n, err := w.svc.Escalate(ctx); err != nil || n != 0 {
		t.Fatalf("escalated %d before the SLA: %v", n, err)
	}
	w.clock.Advance(time.Second)
	if n, err := w.svc.Escalate(ctx); err != nil || n != 1 {
		t.Fatalf("escalated %d at the SLA: %v", n, err)
	}
	if n, err := w.svc.Escalate(ctx); err != nil || n != 0 {
		t.Fatalf("escalated %d again: %v", n, err)
	}
	esc, _, err := w.svc.List(ctx, complaint.Filter{Escalated: true})
	if err != nil || len(esc) != 1 || esc[0].ID != c.ID || !esc[0].InPlatformService() {
		t.Fatalf("escalated complaints: %+v %v", esc, err)
	}

	// The merchant answers late.
	err = w.svc.Complete(ctx, mch, c.ID)
	wantCode(t, "completing before answering", err, fenfu.InvalidRequest, "")
	for _, bad := range []struct {
		r     complaint.Response
		field string
	}{
		{complaint.Response{Content: strings.Repeat("好", complaint.MaxResponse+1)}, "response_content"},
		{complaint.Response{Content: ""}, "response_content"},
		{complaint.Response{Content: "ok", JumpURL: "https://shop.example/r"}, "jump_url_text"},
		{complaint.Response{Content: "ok", JumpURLText: "here"}, "jump_url"},
		{complaint.Response{Content: "ok", JumpURL: "javascript:alert(1)", JumpURLText: "here"}, "jump_url"},
	} {
		wantCode(t, "response "+bad.field, w.svc.Respond(ctx, mch, c.ID, bad.r), fenfu.ParamError, bad.field)
	}
	w.clock.Advance(time.Hour)
	if err := w.svc.Respond(ctx, mch, c.ID, complaint.Response{Content: "Sorry, refunded today.",
		JumpURL: "https://shop.example/refund", JumpURLText: "查看退款"}); err != nil {
		t.Fatal(err)
	}
	c, _ = w.svc.Get(ctx, c.ID)
	if c.State != complaint.Processing || c.Escalation != complaint.Escalated || !c.FirstResponse.Equal(w.clock.Now()) {
		t.Fatalf("after the late answer: %+v", c)
	}
	err = w.svc.Complete(ctx, mch, c.ID)
	wantCode(t, "the merchant completes an escalated complaint", err, fenfu.InvalidRequest, "")

	// Staff note and resolve it: the complaint is closed and the hold lifted.
	if _, err := w.svc.Note(ctx, "staff:amy", c.ID, strings.Repeat("x", complaint.MaxNote+1)); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("a long note: %v", err)
	}
	if _, err := w.svc.Note(ctx, "amy", c.ID, "no staff prefix"); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("a note by no staff member: %v", err)
	}
	if e, err := w.svc.Note(ctx, "staff:amy", c.ID, "Merchant confirms the refund; checking with the consumer."); err != nil ||
		e.Operator != "staff:amy" || e.PublicOperator() != "分付平台" {
		t.Fatalf("note %+v %v", e, err)
	}
	r, err := w.svc.Resolve(ctx, "staff:amy", c.ID, "Refunded in full by the merchant.")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != complaint.Processed || r.Escalation != complaint.Resolved || r.ResolvedBy != "staff:amy" ||
		r.Hold != complaint.HoldReleased || !r.RetainUntil.Equal(w.clock.Now().Add(complaint.Retention)) {
		t.Fatalf("resolved %+v", r)
	}
	if _, err := w.svc.Resolve(ctx, "staff:amy", c.ID, "again"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("resolving twice: %v", err)
	}
	if h := w.order(o.ID); !h.HoldUntil.IsZero() || h.HoldReason != "" {
		t.Fatalf("the order's hold after resolution: until %s, %q", h.HoldUntil, h.HoldReason)
	}
	h, err := w.svc.History(ctx, c.ID, 0, 0)
	if err != nil || len(h) != 5 || r.Entries != 5 {
		t.Fatalf("history of %d, %d entries counted: %v", len(h), r.Entries, err)
	}
	var types []string
	for i, e := range h {
		types = append(types, e.OperateType)
		s, err := w.events.Lookup(ctx, mch, "EV-"+e.LogID)
		if err != nil || s.State != notify.Pending {
			t.Errorf("entry %d (%s) has no notification: %+v %v", i, e.OperateType, s, err)
		}
	}
	if got, want := strings.Join(types, " "), "USER_CREATE_COMPLAINT PLATFORM_RESPONSE MERCHANT_RESPONSE PLATFORM_RESPONSE PLATFORM_SERVICE_FINISHED"; got != want {
		t.Errorf("history %s, want %s", got, want)
	}
	n, err := w.svc.NoticeOf(ctx, h[0].LogID)
	if err != nil || n.EventType() != "COMPLAINT.CREATE" || n.ActionType != "CREATE_COMPLAINT" || n.ComplaintID != c.ID {
		t.Errorf("first notice %+v %v", n, err)
	}
	if n, _ := w.svc.NoticeOf(ctx, h[4].LogID); n.EventType() != "COMPLAINT.STATE_CHANGE" || n.ActionType != "PLATFORM_SERVICE_FINISHED" {
		t.Errorf("last notice %+v", n)
	}

	// With the order's complaint closed, the consumer may complain again.
	if _, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "OTHERS",
		Detail: strings.Repeat("长", complaint.MaxDetail)}); err != nil {
		t.Errorf("a new complaint after the first closed: %v", err)
	}
}

func TestHoldsKeepWhatTheyFound(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testHolds(t, engine) })
	}
}

// testHolds: a complaint on an order already held (a risk hold) keeps the
// order held past that hold while it is open, and gives the order its
// hold back when the merchant completes it; a merchant without a complaint
// URL is sent no notification.
func testHolds(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	mch := w.merchants[0].MchID
	o := w.paid(0, 0, 8_000)
	riskUntil := w.clock.Now().Add(48 * time.Hour)
	if err := pay.Hold(ctx, w.core, o.ID, riskUntil, "risk: 3 in a row"); err != nil {
		t.Fatal(err)
	}
	c, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "SERVICE_NOT_WORK",
		Detail: "Broken on arrival."})
	if err != nil {
		t.Fatal(err)
	}
	if h := w.order(o.ID); h.HoldReason != "risk: 3 in a row; complaint "+c.ID || !h.HoldUntil.Equal(c.CreatedAt.Add(complaint.DefaultHold)) {
		t.Fatalf("held until %s for %q", h.HoldUntil, h.HoldReason)
	}
	if h, _ := w.svc.History(ctx, c.ID, 0, 0); len(h) != 1 || c.Entries != 1 {
		t.Fatal("no history")
	} else if _, err := w.events.Lookup(ctx, mch, "EV-"+h[0].LogID); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Errorf("a notification without a complaint URL: %v", err)
	}
	if err := w.svc.Respond(ctx, mch, c.ID, complaint.Response{Content: "Replacement sent."}); err != nil {
		t.Fatal(err)
	}
	// Answered in time, the complaint is not escalated when its SLA runs
	// out while the merchant is still handling it.
	w.clock.Advance(complaint.DefaultSLA)
	if n, err := w.svc.Escalate(ctx); err != nil || n != 0 {
		t.Errorf("escalated a complaint answered in time: %d %v", n, err)
	}
	// The process dies after the completion commits: the order stays held
	// for the complaint until the sweep lifts it.
	w.svc.SetCrashAfterCommit(func() error { return errors.New("crash") })
	if err := w.svc.Complete(ctx, mch, c.ID); err != nil {
		t.Fatal(err)
	}
	w.svc.SetCrashAfterCommit(nil)
	if h := w.order(o.ID); !strings.HasSuffix(h.HoldReason, "complaint "+c.ID) {
		t.Fatalf("the hold was lifted before the sweep: %q", h.HoldReason)
	}
	if err := w.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if h := w.order(o.ID); h.HoldReason != "risk: 3 in a row" || !h.HoldUntil.Equal(riskUntil) {
		t.Fatalf("after completion held until %s for %q; want the risk hold back", h.HoldUntil, h.HoldReason)
	}
	if x, _ := w.svc.Get(ctx, c.ID); x.State != complaint.Processed || x.Hold != complaint.HoldReleased || x.Escalation != complaint.NotEscalated {
		t.Fatalf("completed %+v", x)
	}
	if n, err := w.svc.Escalate(ctx); err != nil || n != 0 {
		t.Errorf("escalated a completed complaint: %d %v", n, err)
	}
	if err := w.svc.Respond(ctx, mch, c.ID, complaint.Response{Content: "late"}); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("answering a processed complaint: %v", err)
	}
}

func TestOpenComplaintKeepsOrderOutOfSettlement(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testSettlement(t, engine) })
	}
}

// testSettlement: the T+1 batch leaves out an order with an open
// complaint; once the merchant completes the complaint, the next batch
// settles it.
func testSettlement(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	st := &settle.Service{Core: w.core, Credit: w.pay.Credit, Clock: w.clock, Owner: "node-a"}
	mch := w.merchants[0].MchID
	o := w.paid(0, 0, 5_000)
	plain := w.paid(0, 0, 700)
	c, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "OTHERS", Detail: "Cold."})
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Set(time.Date(2026, 11, 30, 3, 0, 0, 0, fenfu.Shanghai))
	if _, err := st.Run(ctx, "2026-11-29"); err != nil {
		t.Fatal(err)
	}
	if got := w.order(o.ID); got.SettlementID != "" {
		t.Fatalf("the order with an open complaint was settled in %s", got.SettlementID)
	}
	if got := w.order(plain.ID); got.SettlementID == "" {
		t.Fatal("the order without a complaint was not settled")
	}
	if err := w.svc.Respond(ctx, mch, c.ID, complaint.Response{Content: "A hot one is on its way."}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Complete(ctx, mch, c.ID); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(time.Date(2026, 12, 1, 3, 0, 0, 0, fenfu.Shanghai))
	if _, err := st.Run(ctx, "2026-11-30"); err != nil {
		t.Fatal(err)
	}
	if got := w.order(o.ID); got.SettlementID == "" {
		t.Fatal("the order was not settled after its complaint was completed")
	}
	// A complaint on a settled order has nothing to hold.
	c2, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: plain.ID, ProblemType: "OTHERS", Detail: "Small."})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Hold != complaint.HoldNone {
		t.Errorf("a complaint on a settled order: hold %s", c2.Hold)
	}
}

func TestEscalatedOnce(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testEscalatedOnce(t, engine) })
	}
}

// testEscalatedOnce: several nodes escalating the same overdue complaints
// at once escalate each exactly once.
func testEscalatedOnce(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	var ids []string
	for range 5 {
		o := w.paid(0, 1, 300)
		c, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[1], TransactionID: o.ID, ProblemType: "OTHERS", Detail: "Late."})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	w.clock.Advance(complaint.DefaultSLA)
	const nodes = 4
	counts := make(chan int, nodes)
	for range nodes {
		node := *w.svc // another node on the same stores
		go func() {
			n, err := node.Escalate(ctx)
			if err != nil {
				t.Error(err)
			}
			counts <- n
		}()
	}
	total := 0
	for range nodes {
		total += <-counts
	}
	if total != len(ids) {
		t.Errorf("%d escalations of %d complaints", total, len(ids))
	}
	mch := w.merchants[0].MchID
	if n, err := w.svc.Counts(ctx, mch, []string{w.consumers[1], w.consumers[0], w.consumers[1]}); err != nil ||
		len(n) != 1 || n[w.consumers[1]] != len(ids) {
		t.Errorf("complaints of the consumers against the merchant: %v %v", n, err)
	}
	if n, err := w.svc.Count(ctx, mch, w.consumers[1]); err != nil || n != len(ids) {
		t.Errorf("complaints of the consumer against the merchant: %d %v", n, err)
	}
	if n, err := w.svc.Count(ctx, w.merchants[1].MchID, w.consumers[1]); err != nil || n != 0 {
		t.Errorf("complaints of the consumer against another merchant: %d %v", n, err)
	}
	hs, err := w.svc.Histories(ctx, ids)
	if err != nil || len(hs) != len(ids) {
		t.Fatalf("histories of %d complaints: %d %v", len(ids), len(hs), err)
	}
	for _, id := range ids {
		h, err := w.svc.History(ctx, id, 0, 0)
		c, _ := w.svc.Get(ctx, id)
		if err != nil || len(h) != 2 || c.Entries != 2 {
			t.Errorf("complaint %s has %d history entries, %d counted: %v", id, len(h), c.Entries, err)
		}
		if fmt.Sprint(hs[id]) != fmt.Sprint(h) {
			t.Errorf("complaint %s: Histories gave %v, History %v", id, hs[id], h)
		}
	}
}

func TestClosedWhileHolding(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testClosedWhileHolding(t, engine) })
	}
}

// testClosedWhileHolding: a complaint that closes, and has its release run,
// while its hold is being placed does not leave the order held.
func testClosedWhileHolding(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	mch := w.merchants[0].MchID
	o := w.paid(0, 0, 1_000)
	w.svc.SetCrashAfterCommit(func() error { return errors.New("crash") })
	c, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "OTHERS", Detail: "Wrong size."})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.SetCrashAfterCommit(nil)
	other := *w.svc // another node closes the complaint meanwhile
	w.svc.SetBeforeHold(func() {
		w.svc.SetBeforeHold(nil)
		if err := other.Respond(ctx, mch, c.ID, complaint.Response{Content: "Exchanged."}); err != nil {
			t.Error(err)
		}
		if err := other.Complete(ctx, mch, c.ID); err != nil {
			t.Error(err)
		}
		if x, _ := other.Get(ctx, c.ID); x.Hold != complaint.HoldReleased {
			t.Errorf("the other node's release left hold %s", x.Hold)
		}
	})
	if err := w.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if h := w.order(o.ID); !h.HoldUntil.IsZero() || h.HoldReason != "" {
		t.Errorf("the order of a closed complaint is held until %s for %q", h.HoldUntil, h.HoldReason)
	}
}

func TestHoldFor(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testHoldFor(t, engine) })
	}
}

// testHoldFor: a complaint holds its order for the service's HoldFor, and
// an order already held for longer stays held as long.
func testHoldFor(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	w.svc.HoldFor = 7 * 24 * time.Hour
	plain, held := w.paid(0, 0, 600), w.paid(0, 0, 900)
	riskUntil := w.clock.Now().Add(30 * 24 * time.Hour)
	if err := pay.Hold(ctx, w.core, held.ID, riskUntil, "risk: review"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o     pay.Order
		until time.Time
	}{
		{plain, w.clock.Now().Add(w.svc.HoldFor)},
		{held, riskUntil},
	} {
		x, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: c.o.ID, ProblemType: "OTHERS", Detail: "Late."})
		if err != nil {
			t.Fatal(err)
		}
		if h := w.order(c.o.ID); !h.HoldUntil.Equal(c.until) || !strings.HasSuffix(h.HoldReason, "complaint "+x.ID) {
			t.Errorf("order %s held until %s for %q, want until %s", c.o.ID, h.HoldUntil, h.HoldReason, c.until)
		}
	}
}

func TestOneOpenComplaint(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testOneOpenComplaint(t, engine) })
	}
}

// testOneOpenComplaint: a consumer filing on the same order several times
// at once gets one complaint, and is told of it every other time.
func testOneOpenComplaint(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	w := newWorld(t, engine)
	o := w.paid(0, 0, 400)
	const tries = 6
	errs := make(chan error, tries)
	for range tries {
		go func() {
			_, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: o.ID, ProblemType: "OTHERS", Detail: "Twice."})
			errs <- err
		}()
	}
	filed := 0
	for range tries {
		switch err := <-errs; fenfu.ErrorCode(err) {
		case "":
			filed++
		case fenfu.InvalidRequest:
		default:
			t.Errorf("filing at once: %v", err)
		}
	}
	if filed != 1 {
		t.Errorf("%d complaints filed on one order", filed)
	}
}
