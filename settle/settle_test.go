package settle_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/settle"
)

type world struct {
	core, credit *db.DB
	clock        *fenfu.FakeClock
	pay          *pay.Service
	settle       *settle.Service
	merchants    []merchant.Sandbox
	consumers    []string
}

func newWorld(t *testing.T, engine db.Engine, start time.Time, nMerchants int) *world {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.NewFakeClock(start)
	w := &world{clock: clock}
	w.core = dbtest.Open(t, engine, "core", clock)
	w.credit = dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(w.core, ids, clock)
	for i := range nMerchants {
		m, err := ms.CreateSandbox(ctx, fmt.Sprintf("Shop %d", i), scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		w.merchants = append(w.merchants, m)
	}
	cs := consumer.New(w.core, w.credit, ids, clock)
	for range 6 {
		c, _, err := cs.Create(ctx, consumer.NewConsumer{CreditLimit: 1 << 40, Rating: "A", Balance: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		w.consumers = append(w.consumers, c.ID)
	}
	w.pay = &pay.Service{Core: w.core, Credit: w.credit, Merchants: ms, Tokens: qr.NewSigner([]byte("test secret test secret test sec")),
		IDs: ids, Clock: clock}
	w.settle = w.settler("node-a")
	return w
}

func (w *world) settler(owner string) *settle.Service {
	return &settle.Service{Core: w.core, Credit: w.credit, Clock: w.clock, Owner: owner}
}

// key names what one merchant's batch of one day and channel must settle.
type key struct {
	mchid   string
	channel pay.Channel
	day     string
}

// TestMonthOfSettlement runs a month of generated payments, refunds and
// holds for several merchants through the batch, day by day, and checks
// every settlement against the net the test computed from what each call
// answered; it reruns days, crashes a batch midway and races a second
// node, and proves the books at the end.
func TestMonthOfSettlement(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testMonth(t, engine) })
	}
}

func testMonth(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, fenfu.Shanghai)
	w := newWorld(t, engine, start, 4)
	rng := rand.New(rand.NewPCG(6, 1))
	days := 30
	perDay := 14
	if engine == db.Postgres {
		perDay = 8
	}
	want := map[key]fenfu.Fen{}
	due := func(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.DateOnly) }
	var paidOrders []pay.Order
	volume := map[string]fenfu.Fen{} // credit volume by merchant and month, as the test paid it
	tiers := map[string]int{}
	var totalPaid, totalRefunded, totalFees fenfu.Fen
	seq := 0
	for d := range days {
		day := start.AddDate(0, 0, d)
		// The batch of the day before runs at 03:00.
		w.clock.Set(day.Add(3 * time.Hour))
		if d > 0 {
			prev := day.AddDate(0, 0, -1).Format(time.DateOnly)
			runDay(t, w, prev, d, want)
		}
		// Trades from 08:00 to about 23:50, in time order.
		at := day.Add(8 * time.Hour)
		for i := range perDay {
			at = at.Add(time.Duration(rng.IntN(60)+1) * time.Minute)
			w.clock.Set(at)
			m := w.merchants[(i+d)%len(w.merchants)]
			channel := pay.ChannelCredit
			if rng.IntN(3) == 0 {
				channel = pay.ChannelBalance
			}
			// The last merchant sells big tickets, crossing the fee tiers
			// within the month.
			amount := fenfu.Fen(rng.IntN(50000) + 1)
			if m.MchID == w.merchants[len(w.merchants)-1].MchID && channel == pay.ChannelCredit {
				amount = fenfu.Fen(rng.IntN(5_000_000)+1_000_000) * 10
			}
			seq++
			o, err := w.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Goods",
				OutTradeNo: fmt.Sprintf("M%05d", seq), NotifyURL: "https://shop.example/n", Total: amount})
			if err != nil {
				t.Fatal(err)
			}
			o, err = w.pay.Pay(ctx, o.Token, w.consumers[rng.IntN(len(w.consumers))], channel)
			if err != nil {
				t.Fatal(err)
			}
			if o.Fee.Rate == 0 || o.Fee.Fee != feeOf(o.Total, fenfu.Fen(o.Fee.Rate)) {
				t.Fatalf("order %s: fee %+v on %d", o.ID, o.Fee, o.Total)
			}
			if channel == pay.ChannelCredit {
				// The tier follows the merchant's credit volume this month
				// before the payment.
				k := m.MchID + "|" + credit.Month(o.PaidAt)
				want := fee.CreditPay.TierFor(volume[k])
				if o.Fee.Tier != want.Name || o.Fee.Rate != want.Combined() {
					t.Fatalf("order %s at month-to-date %d: fee %+v, want %s at %d ppm", o.ID, volume[k], o.Fee, want.Name, want.Combined())
				}
				volume[k] += o.Total
				tiers[o.Fee.Tier]++
			}
			totalPaid += o.Total
			totalFees += o.Fee.Fee
			settleOn := due(o.PaidAt)
			// One payment in ten is held for 48 hours.
			if rng.IntN(10) == 0 {
				until := o.PaidAt.Add(settle.DefaultHold)
				if err := w.settle.Hold(ctx, o.ID, until, "risk: test hold"); err != nil {
					t.Fatal(err)
				}
				settleOn = due(until)
			}
			want[key{m.MchID, channel, settleOn}] += o.Total - o.Fee.Fee
			paidOrders = append(paidOrders, o)
			// Now and then, a refund of an earlier payment, in part or whole.
			if rng.IntN(3) == 0 {
				po := paidOrders[rng.IntN(len(paidOrders))]
				cur, err := w.pay.Get(ctx, po.ID)
				if err != nil {
					t.Fatal(err)
				}
				left := cur.Total - cur.Refunded
				if left == 0 {
					continue
				}
				amt := left
				if rng.IntN(2) == 0 && left > 1 {
					amt = fenfu.Fen(rng.IntN(int(left-1))) + 1
				}
				seq++
				rec, err := w.pay.Refund(ctx, pay.RefundRequest{MchID: po.MchID, OutTradeNo: po.OutTradeNo,
					OutRefundNo: fmt.Sprintf("R%05d", seq), Refund: amt, Total: po.Total})
				if err != nil {
					t.Fatal(err)
				}
				if rec.Status != pay.RefundSuccess {
					t.Fatalf("refund %s: %s", rec.ID, rec.Status)
				}
				totalRefunded += amt
				totalFees -= rec.Fee
				want[key{po.MchID, po.Channel, due(rec.CreatedAt)}] -= amt - rec.Fee
			}
		}
		// A hold released early settles with the next batch.
		if d == 12 {
			for _, o := range paidOrders {
				cur, _ := w.pay.Get(ctx, o.ID)
				if !cur.HoldUntil.IsZero() && cur.SettlementID == "" && due(cur.HoldUntil) > due(w.clock.Now()) {
					if err := w.settle.Release(ctx, o.ID); err != nil {
						t.Fatal(err)
					}
					k := key{o.MchID, o.Channel, due(cur.HoldUntil)}
					want[k] -= o.Total - o.Fee.Fee
					want[key{o.MchID, o.Channel, due(w.clock.Now())}] += o.Total - o.Fee.Fee
					break
				}
			}
		}
	}
	// Settle the rest: the last day, and the holds beyond it.
	for d := days; d < days+3; d++ {
		day := start.AddDate(0, 0, d)
		w.clock.Set(day.Add(3 * time.Hour))
		runDay(t, w, day.AddDate(0, 0, -1).Format(time.DateOnly), d, want)
	}
	for k, v := range want {
		if v != 0 {
			t.Errorf("%v: %d fen expected but never settled", k, v)
		}
	}
	// Everything paid is settled: the pending accounts are empty and the
	// settlement accounts hold payments − refunds − fees.
	var settledTotal fenfu.Fen
	for _, m := range w.merchants {
		for _, books := range []*db.DB{w.core, w.credit} {
			p, err := ledger.Balance(ctx, books, ledger.AccountOf(ledger.MerchantPending, m.MchID))
			if err != nil {
				t.Fatal(err)
			}
			if p != 0 {
				t.Errorf("%s: %s pending settlement holds %d after the last batch", m.MchID, books.Name, p)
			}
			s, err := ledger.Balance(ctx, books, ledger.AccountOf(ledger.MerchantSettled, m.MchID))
			if err != nil {
				t.Fatal(err)
			}
			settledTotal += s
		}
	}
	if settledTotal != totalPaid-totalRefunded-totalFees {
		t.Errorf("settled %d, want payments %d − refunds %d − fees %d = %d", settledTotal, totalPaid, totalRefunded, totalFees,
			totalPaid-totalRefunded-totalFees)
	}
	if _, err := w.pay.Verify(ctx); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if tiers["tier2"] == 0 || tiers["tier3"] == 0 {
		t.Errorf("the month never crossed the fee tiers: %v", tiers)
	}
	checkFundFlow(t, w, start, days)
	n, err := w.settle.Verify(ctx)
	if err != nil {
		t.Fatalf("settle verify: %v", err)
	}
	if n == 0 {
		t.Fatal("no settlements")
	}
	// The books' proof catches a settlement that was tampered with.
	if _, err := w.core.Exec(ctx, `UPDATE settlements SET net = net + 1 WHERE id = (SELECT MIN(id) FROM settlements)`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil {
		t.Fatal("verify passed a tampered settlement")
	}
	if _, err := w.core.Exec(ctx, `UPDATE settlements SET net = net - 1 WHERE id = (SELECT MIN(id) FROM settlements)`); err != nil {
		t.Fatal(err)
	}
	// ... a posting that moved another amount ...
	if _, err := w.credit.Exec(ctx, `UPDATE ledger_entries SET amount = amount + 1 WHERE account LIKE 'merchant_pending:%'
		AND txn_id = (SELECT MIN(id) FROM ledger_txns WHERE kind = 'settlement')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil || !strings.Contains(err.Error(), "without its posting") {
		t.Fatalf("verify of a tampered posting: %v", err)
	}
	if _, err := w.credit.Exec(ctx, `UPDATE ledger_entries SET amount = amount - 1 WHERE account LIKE 'merchant_pending:%'
		AND txn_id = (SELECT MIN(id) FROM ledger_txns WHERE kind = 'settlement')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err != nil {
		t.Fatalf("verify after restoring: %v", err)
	}
	// ... a posting whose settled side went to another merchant ...
	var moved string
	if err := w.credit.R.QueryRowContext(ctx, `SELECT account FROM ledger_entries WHERE account LIKE 'merchant_settled:%'
		AND txn_id = (SELECT MIN(id) FROM ledger_txns WHERE kind = 'settlement')`).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	if _, err := w.credit.Exec(ctx, `UPDATE ledger_entries SET account = 'merchant_settled:other' WHERE account = $1
		AND txn_id = (SELECT MIN(id) FROM ledger_txns WHERE kind = 'settlement')`, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil || !strings.Contains(err.Error(), "without its posting") {
		t.Fatalf("verify of a posting to another merchant: %v", err)
	}
	if _, err := w.credit.Exec(ctx, `UPDATE ledger_entries SET account = $1 WHERE account = 'merchant_settled:other'`, moved); err != nil {
		t.Fatal(err)
	}
	// ... an order of another merchant in a settlement ...
	if _, err := w.core.Exec(ctx, `UPDATE orders SET mchid = 'other' WHERE id = (SELECT MIN(id) FROM orders WHERE settlement_id <> '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil || !strings.Contains(err.Error(), "another channel or merchant") {
		t.Fatalf("verify of a settlement that took another merchant's order: %v", err)
	}
	if _, err := w.core.Exec(ctx, `UPDATE orders SET mchid = (SELECT mchid FROM settlements WHERE id = orders.settlement_id)
		WHERE mchid = 'other'`); err != nil {
		t.Fatal(err)
	}
	// ... a settlement whose record is gone ...
	if _, err := w.core.Exec(ctx, `UPDATE orders SET settlement_id = 'A-gone' WHERE id = (SELECT MIN(id) FROM orders WHERE settlement_id <> '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil || !strings.Contains(err.Error(), "order names a missing settlement") {
		t.Fatalf("verify of an order naming a missing settlement: %v", err)
	}
	// ... and an order slipped out of its settlement.
	if _, err := w.core.Exec(ctx, `UPDATE orders SET settlement_id = '' WHERE id = (SELECT MIN(id) FROM orders WHERE settlement_id <> '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.Verify(ctx); err == nil {
		t.Fatal("verify passed a settlement missing one of its orders")
	}
}

func feeOf(amount, rate fenfu.Fen) fenfu.Fen { return (amount*rate + 500_000) / 1_000_000 }

// runDay runs a day's batches and checks them against want, consuming it.
// Some days it also crashes the batch midway, races a second node, and
// reruns the finished day.
func runDay(t *testing.T, w *world, date string, d int, want map[key]fenfu.Fen) {
	t.Helper()
	ctx := context.Background()
	snapshot := func() string {
		var n int
		var sum fenfu.Fen
		if err := w.core.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(net), 0) FROM settlements`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		var txns int
		for _, b := range []*db.DB{w.core, w.credit} {
			var k int
			if err := b.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_txns`).Scan(&k); err != nil {
				t.Fatal(err)
			}
			txns += k
		}
		return fmt.Sprintf("%d settlements, net %d, %d transactions", n, sum, txns)
	}
	if d%7 == 3 && d < 28 {
		// A crash after the second merchant's settlement is recorded and
		// before it is posted to the credit store's books.
		crash := errors.New("crash")
		a := w.settler("node-a")
		seen := 0
		settle.SetAfterMerchant(a, func(string) error {
			if seen++; seen == 2 {
				return crash
			}
			return nil
		})
		if _, err := a.Run(ctx, date); !errors.Is(err, crash) {
			t.Fatalf("%s: crash run: %v", date, err)
		}
		// Another node cannot take the batch while the lease lasts ...
		b := w.settler("node-b")
		if _, err := b.Run(ctx, date); fenfu.ErrorCode(err) != fenfu.BatchRunning {
			t.Fatalf("%s: second node during the lease: %v", date, err)
		}
		// ... and takes it over, resuming, once it has lapsed.
		w.clock.Advance(settle.DefaultLease + time.Second)
		results, err := b.Run(ctx, date)
		if err != nil {
			t.Fatalf("%s: resume: %v", date, err)
		}
		resumed := 0
		for _, r := range results {
			resumed += r.Resumed
		}
		if resumed == 0 {
			t.Errorf("%s: the resumed batch posted nothing left pending", date)
		}
		// The crashed node's lease is gone: it cannot write to the batch.
		if _, err := a.Run(ctx, date); err != nil {
			t.Fatalf("%s: rerun after takeover: %v", date, err)
		}
	} else {
		var progress []settle.Progress
		w.settle.Progress = func(p settle.Progress) { progress = append(progress, p) }
		results, err := w.settle.Run(ctx, date)
		w.settle.Progress = nil
		if err != nil {
			t.Fatalf("%s: %v", date, err)
		}
		if len(results) != 2 || results[0].Already {
			t.Fatalf("%s: results %+v", date, results)
		}
		// Progress counts each channel's merchants with something to
		// settle, one by one, to the last.
		totals := map[string]int{}
		for i, p := range progress {
			if i > 0 && p.Channel == progress[i-1].Channel && p.Done != progress[i-1].Done+1 {
				t.Fatalf("%s: progress %+v", date, progress)
			}
			if p.Done == p.Total {
				totals[p.Channel] = p.Total
			}
		}
		for _, r := range results {
			if totals[r.Channel] < r.Merchants || (r.Merchants > 0 && totals[r.Channel] == 0) {
				t.Fatalf("%s: results %+v, progress %+v", date, results, progress)
			}
		}
	}
	list, err := w.settle.List(ctx, settle.Filter{Date: date})
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]fenfu.Fen{}
	for _, x := range list {
		if x.State != settle.Settled {
			t.Errorf("%s: %s is %s", date, x.ID, x.State)
		}
		ch, _ := pay.ParseChannel(x.Channel)
		got[key{x.MchID, ch, date}] = x.Net
	}
	for k, v := range want {
		if k.day != date {
			continue
		}
		if got[k] != v {
			t.Errorf("%s: %s %s settled %d, want %d", date, k.mchid, k.channel, got[k], v)
		}
		delete(got, k)
		delete(want, k)
	}
	for k, v := range got {
		if v != 0 {
			t.Errorf("%s: %s %s settled %d, expected nothing", date, k.mchid, k.channel, v)
		}
	}
	// A rerun of the finished day changes nothing.
	before := snapshot()
	results, err := w.settler("node-c").Run(ctx, date)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Already {
			t.Errorf("%s: rerun of a finished batch ran: %+v", date, r)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("%s: rerun changed %s to %s", date, before, after)
	}
}

func TestRunRefusesOpenDayAndBadInput(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	w := newWorld(t, db.SQLite, now, 1)
	if _, err := w.settle.Run(ctx, "2026-11-27"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("today: %v", err)
	}
	for _, bad := range []string{"", "2026-11-31", "20261126", "2026-1-26"} {
		if _, err := w.settle.Run(ctx, bad); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := w.settle.Run(ctx, "2026-11-26"); err != nil {
		t.Errorf("yesterday: %v", err)
	}
	if err := w.settle.Hold(ctx, "nope", now, "x"); fenfu.ErrorCode(err) != fenfu.OrderNotExist {
		t.Errorf("hold of a missing order: %v", err)
	}
}

// TestExceptionSLA: an exception request is due 24 hours after it is
// filed, shows as overdue after that while open, and is answered once.
func TestExceptionSLA(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, db.SQLite, time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai), 2)
	ids := &fenfu.RandomIDs{}
	m := w.merchants[0]
	var err error
	if w.settle.Sealer, err = seal.New([]byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.FileException(ctx, ids, m.MchID, settle.NewException{OutTradeNo: "NO-SUCH-ORDER", Description: "x"}); fenfu.ErrorCode(err) != fenfu.OrderNotExist {
		t.Fatalf("unknown order: %v", err)
	}
	if _, err := w.settle.FileException(ctx, ids, m.MchID, settle.NewException{SettleDate: "2026-11-26", Description: "x",
		Attachment: make([]byte, settle.MaxAttachment+1), AttachmentName: "big.bin"}); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Fatalf("oversized attachment: %v", err)
	}
	x, err := w.settle.FileException(ctx, ids, m.MchID, settle.NewException{SettleDate: "2026-11-26", Description: "Nothing arrived",
		AttachmentName: "bank.csv", Attachment: []byte("date,amount\n2026-11-27,0.00\n")})
	if err != nil {
		t.Fatal(err)
	}
	// The attachment is sealed at rest.
	var stored string
	if err := w.core.QueryRowContext(ctx, `SELECT attachment FROM settlement_exceptions WHERE id = $1`, x.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !seal.Sealed(stored) || strings.Contains(stored, "ZGF0ZS") {
		t.Fatalf("attachment stored as %q", stored)
	}
	if x.Status != settle.ExceptionOpen || x.Overdue || !x.DueAt.Equal(x.CreatedAt.Add(24*time.Hour)) {
		t.Fatalf("filed: %+v", x)
	}
	w.clock.Advance(24*time.Hour + time.Minute)
	queue, err := w.settle.Exceptions(ctx, "")
	if err != nil || len(queue) != 1 || !queue[0].Overdue || string(queue[0].Attachment) != "date,amount\n2026-11-27,0.00\n" {
		t.Fatalf("staff queue: %+v %v", queue, err)
	}
	if _, err := w.settle.Exception(ctx, w.merchants[1].MchID, x.ID); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
		t.Fatalf("another merchant's view: %v", err)
	}
	if _, err := w.settle.ResolveException(ctx, x.ID, settle.ExceptionRejected, "No settlement was due: no trades on 2026-11-26."); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settle.ResolveException(ctx, x.ID, settle.ExceptionResolved, "again"); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Fatalf("answered twice: %v", err)
	}
	mine, err := w.settle.Exceptions(ctx, m.MchID)
	if err != nil || len(mine) != 1 || mine[0].Status != settle.ExceptionRejected || mine[0].Overdue || mine[0].Resolution == "" {
		t.Fatalf("merchant's list: %+v %v", mine, err)
	}
	if queue, _ := w.settle.Exceptions(ctx, ""); len(queue) != 0 {
		t.Fatalf("answered request still queued: %+v", queue)
	}
}

// TestResumeAfterNewlyDueItems: what becomes due between a crash and the
// resumed run (a released hold) never makes the resumed run settle a
// merchant twice; the merchant settled before the crash gets it the next
// day.
func TestResumeAfterNewlyDueItems(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			day := time.Date(2026, 11, 20, 0, 0, 0, 0, fenfu.Shanghai)
			w := newWorld(t, engine, day.Add(10*time.Hour), 2)
			var held []pay.Order
			for i, m := range w.merchants {
				for j := range 2 {
					o, err := w.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x",
						OutTradeNo: fmt.Sprintf("RES-%d-%d", i, j), NotifyURL: "https://shop.example/n", Total: 10000})
					if err != nil {
						t.Fatal(err)
					}
					if o, err = w.pay.Pay(ctx, o.Token, w.consumers[0], pay.ChannelCredit); err != nil {
						t.Fatal(err)
					}
					if j == 1 {
						if err := w.settle.Hold(ctx, o.ID, o.PaidAt.Add(settle.DefaultHold), "risk"); err != nil {
							t.Fatal(err)
						}
						held = append(held, o)
					}
				}
			}
			w.clock.Set(day.Add(27 * time.Hour))
			crash := errors.New("crash")
			a := w.settler("node-a")
			settle.SetAfterMerchant(a, func(string) error { return crash })
			if _, err := a.RunChannel(ctx, "2026-11-20", pay.ChannelCredit); !errors.Is(err, crash) {
				t.Fatalf("crash run: %v", err)
			}
			for _, o := range held {
				if err := w.settle.Release(ctx, o.ID); err != nil {
					t.Fatal(err)
				}
			}
			r, err := w.settler("node-a").RunChannel(ctx, "2026-11-20", pay.ChannelCredit)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if r.Resumed != 1 || r.Merchants != 1 || r.Payments != 2 {
				t.Fatalf("resume: %+v", r)
			}
			w.clock.Set(day.Add(51 * time.Hour))
			r, err = w.settle.RunChannel(ctx, "2026-11-21", pay.ChannelCredit)
			if err != nil || r.Payments != 1 {
				t.Fatalf("next day: %+v %v", r, err)
			}
			if n, err := w.settle.Verify(ctx); err != nil || n != 3 {
				t.Fatalf("verify: %d %v", n, err)
			}
		})
	}
}

// checkFundFlow: each merchant's BASIC fund-flow bills chain day to day,
// each day opening where the last one with movements closed, and the
// last closes at what its pending settlement holds in the books.
func checkFundFlow(t *testing.T, w *world, start time.Time, days int) {
	t.Helper()
	ctx := context.Background()
	// The last batch ran this morning: let this day end so its bill exists.
	w.clock.Set(start.AddDate(0, 0, days+3).Add(time.Hour))
	bills := &bill.Service{Core: w.core, Clock: w.clock,
		OpenID: func(a, c string) string { return c }, BankType: func(ch string) string { return ch }}
	for _, m := range w.merchants {
		for _, ch := range []pay.Channel{pay.ChannelCredit, pay.ChannelBalance} {
			var closing fenfu.Fen
			var prev []byte
			seen := 0
			for d := 0; d < days+3; d++ {
				date := start.AddDate(0, 0, d).Format(time.DateOnly)
				f, err := bills.Get(ctx, bill.Request{MchID: m.MchID, Date: date, Kind: bill.FundFlow, Type: bill.Basic, Channel: string(ch)}, false)
				if fenfu.ErrorCode(err) == fenfu.NoStatementExist {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				open, close := flowBalances(t, string(f.Data))
				if open != closing {
					t.Fatalf("%s %s %s: opens at %d, the last day closed at %d\n%s\nprevious:\n%s", m.MchID, ch, date, open, closing, f.Data, prev)
				}
				closing = close
				prev = f.Data
				seen++
			}
			books := w.core
			if ch == pay.ChannelCredit {
				books = w.credit
			}
			pending, err := ledger.Balance(ctx, books, ledger.AccountOf(ledger.MerchantPending, m.MchID))
			if err != nil {
				t.Fatal(err)
			}
			if seen == 0 || closing != pending {
				t.Fatalf("%s %s: %d bills, closing at %d, pending settlement holds %d", m.MchID, ch, seen, closing, pending)
			}
		}
	}
}

// flowBalances reads a fund-flow bill's opening and closing balances, in
// fen, from its first and last rows.
func flowBalances(t *testing.T, text string) (open, close fenfu.Fen) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(text), "\r\n")
	rows := lines[1 : len(lines)-2]
	yuan := func(s string) fenfu.Fen {
		v, err := fenfu.ParseYuan(strings.TrimPrefix(s, "`"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := strings.Split(rows[0], ",")
	amount := yuan(first[6])
	if strings.TrimPrefix(first[5], "`") == "支出" {
		amount = -amount
	}
	open = yuan(first[7]) - amount
	last := strings.Split(rows[len(rows)-1], ",")
	return open, yuan(last[7])
}
