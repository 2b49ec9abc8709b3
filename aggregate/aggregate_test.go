package aggregate_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
)

var secret = []byte("test secret test secret test sec")

type world struct {
	svc    *aggregate.Service
	clock  *fenfu.FakeClock
	shop   merchant.Sandbox
	other  merchant.Sandbox
	orders *pay.Service
}

func newWorld(t *testing.T, engine db.Engine) *world {
	t.Helper()
	clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	credit := dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	shop, err := ms.CreateSandbox(t.Context(), "Noodle House", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ms.CreateSandbox(t.Context(), "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	p := &pay.Service{Core: core, Credit: credit, Merchants: ms, Tokens: qr.NewSigner(secret), IDs: ids, Clock: clock}
	return &world{svc: &aggregate.Service{DB: core, Pay: p, Merchants: ms, Tokens: qr.NewCodeSigner(secret), IDs: ids, Clock: clock},
		clock: clock, shop: shop, other: other, orders: p}
}

func (w *world) code(t *testing.T, n aggregate.NewCode) aggregate.Code {
	t.Helper()
	if n.MchID == "" {
		n.MchID = w.shop.MchID
	}
	c, err := w.svc.Create(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Run("create list revoke", func(t *testing.T) { testCreateListRevoke(t, newWorld(t, engine)) })
			t.Run("open", func(t *testing.T) { testOpen(t, newWorld(t, engine)) })
			t.Run("order", func(t *testing.T) { testOrder(t, newWorld(t, engine)) })
		})
	}
}

func testCreateListRevoke(t *testing.T, w *world) {
	ctx := t.Context()
	for name, n := range map[string]aggregate.NewCode{
		"no label":         {Label: ""},
		"spaces":           {Label: "   "},
		"33 characters":    {Label: strings.Repeat("桌", 33)},
		"two lines":        {Label: "Till 3\nTill 4"},
		"ESC":              {Label: "Till \x1b3"},
		"bidi override":    {Label: "Till \u202e3"},
		"ftp notify_url":   {Label: "Till 3", NotifyURL: "ftp://shop.example/n"},
		"long description": {Label: "Till 3", Description: strings.Repeat("x", 128)},
	} {
		n.MchID = w.shop.MchID
		if _, err := w.svc.Create(ctx, n); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s: Create = %v, want PARAM_ERROR", name, err)
		}
	}
	if _, err := w.svc.Create(ctx, aggregate.NewCode{MchID: "1999999999", Label: "Till 3"}); fenfu.ErrorCode(err) != fenfu.MchNotExists {
		t.Errorf("an unknown merchant: %v", err)
	}
	first := w.code(t, aggregate.NewCode{Label: strings.Repeat("桌", 32)})
	w.clock.Advance(time.Second)
	second := w.code(t, aggregate.NewCode{Label: "Table 12", NotifyURL: "https://shop.example/agg"})
	w.code(t, aggregate.NewCode{MchID: w.other.MchID, Label: "Elsewhere"})
	if first.State != aggregate.Active || first.Token == "" || first.ID == second.ID {
		t.Fatalf("created %+v and %+v", first, second)
	}
	list, total, err := w.svc.List(ctx, w.shop.MchID, 1, 0)
	if err != nil || total != 2 || len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("List(limit 1) = %+v, %d, %v; want the newest of 2", list, total, err)
	}
	if list, _, _ := w.svc.List(ctx, w.shop.MchID, 10, 1); len(list) != 1 || list[0].ID != first.ID || list[0].Token != first.Token {
		t.Fatalf("List(offset 1) = %+v, want the first code with its token", list)
	}
	if _, err := w.svc.Get(ctx, w.other.MchID, first.ID); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Errorf("another merchant's Get = %v, want RESOURCE_NOT_EXISTS", err)
	}
	if _, err := w.svc.Revoke(ctx, w.other.MchID, first.ID); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Errorf("another merchant's Revoke = %v, want RESOURCE_NOT_EXISTS", err)
	}
	w.clock.Advance(time.Minute)
	r, err := w.svc.Revoke(ctx, w.shop.MchID, first.ID)
	if err != nil || r.State != aggregate.Revoked || !r.RevokedAt.Equal(w.clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("Revoke = %+v, %v", r, err)
	}
	w.clock.Advance(time.Minute)
	if again, err := w.svc.Revoke(ctx, w.shop.MchID, first.ID); err != nil || !again.RevokedAt.Equal(r.RevokedAt) {
		t.Errorf("revoking again = %+v, %v; want the code as it was revoked", again, err)
	}
}

func testOpen(t *testing.T, w *world) {
	ctx := t.Context()
	c := w.code(t, aggregate.NewCode{Label: "Till 3"})
	got, m, err := w.svc.Open(ctx, c.Token)
	if err != nil || got.ID != c.ID || m.Name != "Noodle House" {
		t.Fatalf("Open = %+v, %+v, %v", got, m, err)
	}
	// The other merchant's own code, and this one's token edited to name
	// it, or another code.
	theirs := w.code(t, aggregate.NewCode{MchID: w.other.MchID, Label: "Till 1"})
	enc, sig, _ := strings.Cut(c.Token, ".")
	tenc, _, _ := strings.Cut(theirs.Token, ".")
	for name, tok := range map[string]string{
		"edited to another merchant's code": tenc + "." + sig,
		"signed elsewhere":                  qr.NewCodeSigner([]byte("another secret of thirty-two byt")).Token(qr.CodePayload{CodeID: c.ID, MchID: w.other.MchID}),
		"an order's token":                  w.orderToken(t),
		"mac cut":                           enc + "." + sig[:10],
	} {
		if _, _, err := w.svc.Open(ctx, tok); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s: Open = %v, want PARAM_ERROR", name, err)
		}
	}
	// Signed with this platform's key for another merchant, which the
	// code is not: no such code.
	forged := qr.NewCodeSigner(secret).Token(qr.CodePayload{CodeID: c.ID, MchID: w.other.MchID})
	if _, _, err := w.svc.Open(ctx, forged); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("a code named with another merchant: %v, want PARAM_ERROR", err)
	}
	if _, err := w.svc.Revoke(ctx, w.shop.MchID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.Open(ctx, c.Token); fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "withdrawn") {
		t.Errorf("a revoked code: Open = %v, want INVALID_REQUEST, withdrawn", err)
	}
	if _, made, err := w.svc.Order(ctx, c.Token, "c_1", w.svc.Nonce(), 100, nil); made || fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("an order on a revoked code: made %v, %v", made, err)
	}
}

func (w *world) orderToken(t *testing.T) string {
	o, err := w.orders.CreateNative(t.Context(), pay.NativeOrder{MchID: w.shop.MchID, AppID: w.shop.AppID, Description: "x",
		OutTradeNo: "ORDER-0001", NotifyURL: "https://shop.example/n", Total: 100})
	if err != nil {
		t.Fatal(err)
	}
	return o.Token
}

func testOrder(t *testing.T, w *world) {
	ctx := t.Context()
	plain := w.code(t, aggregate.NewCode{Label: "Till 3"})
	described := w.code(t, aggregate.NewCode{Label: "Table 12", Description: "Dinner at table 12", NotifyURL: "https://shop.example/agg"})
	nonce := w.svc.Nonce()
	o, made, err := w.svc.Order(ctx, plain.Token, "c_alice", nonce, 2345, nil)
	if err != nil || !made {
		t.Fatalf("the form: made %v, %v", made, err)
	}
	if o.Total != 2345 || o.MchID != w.shop.MchID || o.TradeType != "NATIVE" || o.Description != "Till 3 · Noodle House" ||
		o.AggregateCode != plain.ID || o.Attach != plain.ID || o.NotifyURL != "" || o.Token == "" {
		t.Fatalf("order %+v", o)
	}
	if want := "AGG" + w.clock.Now().Format("060102150405"); !strings.HasPrefix(o.OutTradeNo, want) || len(o.OutTradeNo) != 32 {
		t.Errorf("out_trade_no %q, want %s… of 32 characters", o.OutTradeNo, want)
	}
	if got, err := w.orders.QueryByOutTradeNo(ctx, w.shop.MchID, o.OutTradeNo); err != nil || got.AggregateCode != plain.ID {
		t.Errorf("the stored order: %+v, %v", got, err)
	}
	// The same form sent again: the same order. Another consumer's, or a
	// new form: another.
	w.clock.Advance(2 * time.Second)
	if again, made, err := w.svc.Order(ctx, plain.Token, "c_alice", nonce, 2345, nil); err != nil || made || again.ID != o.ID || again.Token != o.Token {
		t.Errorf("the form sent twice: %+v, made %v, %v; want order %s, not made again", again, made, err, o.ID)
	}
	if _, made, err := w.svc.Order(ctx, plain.Token, "c_alice", nonce, 2346, nil); made || fenfu.ErrorCode(err) != fenfu.OutTradeNoUsed {
		t.Errorf("the same form with another amount: made %v, %v, want OUT_TRADE_NO_USED", made, err)
	}
	bob, made, err := w.svc.Order(ctx, plain.Token, "c_bob", nonce, 2345, nil)
	if err != nil || !made || bob.ID == o.ID {
		t.Errorf("another consumer with the same nonce: %+v, made %v, %v; want an order of its own", bob, made, err)
	}
	d, _, err := w.svc.Order(ctx, described.Token, "c_alice", w.svc.Nonce(), 100, nil)
	if err != nil || d.Description != "Dinner at table 12" || d.NotifyURL != "https://shop.example/agg" {
		t.Errorf("the described code's order: %+v, %v", d, err)
	}
	for name, n := range map[string]string{"empty": "", "no time": "abcdefghijklmnopqrst", "not ours": "1.abc",
		"an hour and a second old": w.nonceAt(-aggregate.NonceTTL - time.Second), "from the future": w.nonceAt(2 * time.Minute)} {
		if _, _, err := w.svc.Order(ctx, plain.Token, "c_alice", n, 100, nil); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("nonce %s: %v, want PARAM_ERROR", name, err)
		}
	}
	if _, _, err := w.svc.Order(ctx, plain.Token, "", w.svc.Nonce(), 100, nil); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
		t.Errorf("no consumer: %v, want UNAUTHENTICATED", err)
	}
	for _, amount := range []fenfu.Fen{0, -1, aggregate.MaxAmount + 1} {
		if _, _, err := w.svc.Order(ctx, plain.Token, "c_alice", w.svc.Nonce(), amount, nil); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("amount %d: %v, want PARAM_ERROR", amount, err)
		}
	}
	list, total, err := w.svc.Orders(ctx, w.shop.MchID, plain.ID, 10, 0)
	if err != nil || total != 2 || len(list) != 2 {
		t.Fatalf("the code's orders: %d %+v %v", total, list, err)
	}
	for _, x := range list {
		if x.AggregateCode != plain.ID || (x.ID != o.ID && x.ID != bob.ID) {
			t.Errorf("listed %+v", x)
		}
	}
	if _, _, err := w.svc.Orders(ctx, w.other.MchID, plain.ID, 10, 0); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Errorf("another merchant lists the code's orders: %v", err)
	}
}

// nonceAt is a form's nonce issued d from now.
func (w *world) nonceAt(d time.Duration) string {
	return strconv.FormatInt(w.clock.Now().Add(d).Unix(), 10) + ".abcdefghijklmnopqrst"
}

// TestParseAmount: what a consumer may enter, and what it is told
// otherwise.
func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want fenfu.Fen
		msg  string // for a refusal
	}{
		{"23.45", 2345, ""},
		{" 23.45 ", 2345, ""},
		{"¥23.45", 2345, ""},
		{"23.4", 2340, ""},
		{"23", 2300, ""},
		{"0.01", 1, ""},
		{"100000000", aggregate.MaxAmount, ""},
		{"0", 0, "more than ¥0.00"},
		{"0.00", 0, "more than ¥0.00"},
		{"-1", 0, "in yuan"},
		{"0.001", 0, "in yuan"},
		{"abc", 0, "in yuan"},
		{"", 0, "in yuan"},
		{"1e9", 0, "in yuan"},
		{"100000000.01", 0, "at most ¥100000000.00"},
		{"1000000000", 0, "at most ¥100000000.00"},
		{"+5", 0, "in yuan"},
		{"5,00", 0, "in yuan"},
		{"５", 0, "in yuan"},
	} {
		got, err := aggregate.ParseAmount(c.in)
		if c.msg == "" {
			if err != nil || got != c.want {
				t.Errorf("ParseAmount(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
			continue
		}
		e := fenfu.AsError(err)
		if err == nil || e.Code != fenfu.ParamError || e.Field != "amount" || !strings.Contains(e.Message, c.msg) || e.Remedy == "" || got != 0 {
			t.Errorf("ParseAmount(%q) = %d, %v; want PARAM_ERROR on amount saying %q, with a remedy", c.in, got, err, c.msg)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"23.45", "0", "-1", "0.001", "abc", "1e9", "¥1", "100000000.00", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := aggregate.ParseAmount(s)
		if err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError || got != 0 {
				t.Fatalf("ParseAmount(%q) = %d, %v", s, got, err)
			}
			return
		}
		if got <= 0 || got > aggregate.MaxAmount {
			t.Fatalf("ParseAmount(%q) = %d, outside (0, max]", s, got)
		}
		// What it read is what the consumer wrote: formatted back, it
		// reads the same.
		if again, err := aggregate.ParseAmount(fenfu.Yuan(got)); err != nil || again != got {
			t.Fatalf("ParseAmount(%q) = %d, but its yuan %q reads %d, %v", s, got, fenfu.Yuan(got), again, err)
		}
	})
}

// TestOrderAdmitsOnlyAFormWithNoOrder: the caller's admit (its limit of
// orders a consumer starts) is asked once for a form that makes an order,
// not for the same form sent again nor for one refused before; its error
// refuses the form and makes no order.
func TestOrderAdmitsOnlyAFormWithNoOrder(t *testing.T) {
	w := newWorld(t, db.SQLite)
	ctx := t.Context()
	c := w.code(t, aggregate.NewCode{Label: "Till 3"})
	asked := 0
	admit := func() error { asked++; return nil }
	nonce := w.svc.Nonce()
	o, made, err := w.svc.Order(ctx, c.Token, "c_alice", nonce, 2345, admit)
	if err != nil || !made || asked != 1 {
		t.Fatalf("a new form: made %v, %v, admit asked %d times; want made, asked once", made, err, asked)
	}
	for _, amount := range []fenfu.Fen{2345, 2346} {
		if again, made, err := w.svc.Order(ctx, c.Token, "c_alice", nonce, amount, admit); made || asked != 1 || (amount == 2345 && again.ID != o.ID) {
			t.Errorf("the form sent again for ¥%s: %s made %v, %v; admit asked %d times, want once in all", fenfu.Yuan(amount), again.ID, made, err, asked)
		}
	}
	if _, _, err := w.svc.Order(ctx, c.Token, "c_alice", "1.abc", 100, admit); fenfu.ErrorCode(err) != fenfu.ParamError || asked != 1 {
		t.Errorf("a form not issued here: %v, admit asked %d times", err, asked)
	}
	limited := fenfu.Errorf(fenfu.FrequencyLimited, "too many")
	if _, made, err := w.svc.Order(ctx, c.Token, "c_alice", w.svc.Nonce(), 100, func() error { return limited }); made || err != limited {
		t.Errorf("a new form admit refuses: made %v, %v; want its error", made, err)
	}
	if _, n, err := w.svc.Orders(ctx, w.shop.MchID, c.ID, 10, 0); err != nil || n != 1 {
		t.Errorf("the code has %d orders (%v), want 1", n, err)
	}
}
