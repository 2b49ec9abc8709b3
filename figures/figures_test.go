package figures_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/figures"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// world is fenfu's services on two stores and a fake clock, with the
// figures made from them.
type world struct {
	t         *testing.T
	ctx       context.Context
	clock     *fenfu.FakeClock
	merchants *merchant.Service
	consumers *consumer.Service
	onboard   *onboard.Service
	pay       *pay.Service
	risk      *risk.Engine
	settle    *settle.Service
	figures   *figures.Service
	shop      merchant.Sandbox
	other     merchant.Sandbox
	n         int
}

func newWorld(t *testing.T, engine db.Engine, start time.Time) *world {
	t.Helper()
	ctx := context.Background()
	clock := fenfu.NewFakeClock(start)
	core, cr := dbtest.Open(t, engine, "core", clock), dbtest.Open(t, engine, "credit", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	policy, err := onboard.ParsePolicy([]byte(`{"version":"t","history_months":0,"industries":{
		"chain_supermarket":{"name":"Chain supermarket","name_zh":"连锁超市","required":[],"deposit_fen":100},
		"online_education":{"name":"Online education","name_zh":"在线教育","required":[],"deposit_fen":100}}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, clock: clock, merchants: ms, consumers: consumer.New(core, cr, ids, clock),
		onboard: &onboard.Service{DB: core, Policy: policy, Bureau: onboard.ListBureau{DB: core}, IDs: ids, Clock: clock},
		risk:    &risk.Engine{DB: cr, Clock: clock}}
	d := risk.DefaultDefaults()
	d.DailyLimit = 5000_00
	if err := w.risk.Seed(ctx, d.Rules()); err != nil {
		t.Fatal(err)
	}
	w.pay = &pay.Service{Core: core, Credit: cr, Merchants: ms, Tokens: qr.NewSigner([]byte("figures test secret, 32 bytes ok")),
		IDs: ids, Clock: clock, Risk: &pay.Risk{Engine: w.risk}}
	w.settle = &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w.figures = &figures.Service{Onboard: w.onboard, Pay: w.pay, Risk: w.risk, Settle: w.settle}
	if w.shop, err = ms.CreateSandbox(ctx, "Shop", scheme.SM2); err != nil {
		t.Fatal(err)
	}
	if w.other, err = ms.CreateSandbox(ctx, "Other shop", scheme.SM2); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) consumer(limit, balance fenfu.Fen) string {
	w.t.Helper()
	c, _, err := w.consumers.Create(w.ctx, consumer.NewConsumer{CreditLimit: limit, Rating: "A", Balance: balance})
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

// order makes an order of total at m.
func (w *world) order(m merchant.Sandbox, total fenfu.Fen) pay.Order {
	w.t.Helper()
	w.n++
	o, err := w.pay.CreateNative(w.ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Goods",
		OutTradeNo: fmt.Sprintf("FIG-%06d", w.n), NotifyURL: "https://shop.example/n", Total: total})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// pay pays an order through the payment path, as the cashier does.
func (w *world) payOrder(o pay.Order, consumerID string, ch pay.Channel) error {
	_, err := w.pay.Pay(w.ctx, o.Token, consumerID, ch)
	return err
}

// view records the consumer's view of the order at the cashier in a
// cohort, as the cashier does.
func (w *world) view(o pay.Order, consumerID, cohort string) {
	w.t.Helper()
	if _, err := w.pay.RecordExposure(w.ctx, pay.Exposure{Surface: pay.SurfaceCashier, MchID: o.MchID, OrderID: o.ID,
		ConsumerID: consumerID, Cohort: cohort, Shown: cohort == merchant.CohortCredit, Reason: "test"}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) must(_ onboard.Record, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// apply makes an application of the industry and submits it.
func (w *world) apply(industry string) string {
	w.t.Helper()
	m, err := w.merchants.CreateSandbox(w.ctx, "Applicant", scheme.SM2)
	if err != nil {
		w.t.Fatal(err)
	}
	w.n++
	r, err := w.onboard.Create(w.ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: fmt.Sprintf("L-%d", w.n),
		LicenceStatus: "normal", Industry: industry})
	if err != nil {
		w.t.Fatal(err)
	}
	if r, err = w.onboard.Submit(w.ctx, r.ID, "merchant"); err != nil || r.State != onboard.InReview {
		w.t.Fatalf("submit: %v %s", err, r.State)
	}
	return r.ID
}

// seed is a week of the platform: applications reviewed and activated
// from 11-25, payments on 11-27 (three in a row that a rule holds, one
// over the daily credit limit, one a shadow rule would have rejected,
// one from balance, one unpaid) and 11-28, the A/B cohorts' views, and
// 11-27's settlement.
func (w *world) seed() {
	w.t.Helper()
	ctx := w.ctx
	// 11-25 09:00: two chain supermarkets (one approved at once and
	// activated two days later, one rejected), one online school sent
	// back for material.
	first := w.apply("chain_supermarket")
	second := w.apply("chain_supermarket")
	school := w.apply("online_education")
	w.must(w.onboard.Review(ctx, first, "approve", "staff", "ok"))
	w.must(w.onboard.PayDeposit(ctx, first, "ref", "finance"))
	w.must(w.onboard.Review(ctx, second, "reject", "staff", "no"))
	w.must(w.onboard.Review(ctx, school, "request_material", "staff", "more"))
	w.clock.Set(time.Date(2026, 11, 27, 9, 0, 0, 0, fenfu.Shanghai))
	w.must(w.onboard.Activate(ctx, first, "product"))

	// 11-27 10:00: x pays the shop three times in a row on credit; the
	// third is held (same-instrument-run).
	w.clock.Set(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	x, y, z := w.consumer(10_000_00, 0), w.consumer(10_000_00, 1000_00), w.consumer(1000_00, 0)
	for i := range 3 {
		o := w.order(w.shop, 100_00)
		if i < 2 {
			w.view(o, x, merchant.CohortCredit)
		}
		if err := w.payOrder(o, x, pay.ChannelCredit); err != nil {
			w.t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
	}
	// A shadow rule starts: version 2.
	if _, err := w.risk.AddRule(ctx, "staff:risk", "watch big tickets", risk.Rule{Name: "big-ticket", Channels: []string{risk.Credit},
		Expr: "amount > 100000", Decision: risk.Reject, Reason: "a big ticket", Message: "no", Enabled: true, Shadow: true}); err != nil {
		w.t.Fatal(err)
	}
	// x's ¥4,800 elsewhere passes the day's ¥5,000 of credit: rejected
	// (and big-ticket would have).
	if err := w.payOrder(w.order(w.other, 4800_00), x, pay.ChannelCredit); fenfu.ErrorCode(err) != fenfu.RuleLimit {
		w.t.Fatalf("over the daily limit: %v", err)
	}
	// 11:00: y pays ¥2,000 on credit (big-ticket would have rejected
	// it) and ¥50 from balance; z views an order and leaves it.
	w.clock.Advance(time.Hour)
	if err := w.payOrder(w.order(w.shop, 2000_00), y, pay.ChannelCredit); err != nil {
		w.t.Fatal(err)
	}
	b := w.order(w.shop, 50_00)
	w.view(b, y, merchant.CohortControl)
	if err := w.payOrder(b, y, pay.ChannelBalance); err != nil {
		w.t.Fatal(err)
	}
	w.view(w.order(w.shop, 70_00), z, merchant.CohortControl)

	// 11-28 10:00: y pays ¥100 on credit; the day before is settled.
	w.clock.Set(time.Date(2026, 11, 28, 10, 0, 0, 0, fenfu.Shanghai))
	if err := w.payOrder(w.order(w.shop, 100_00), y, pay.ChannelCredit); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.settle.Run(ctx, "2026-11-27"); err != nil {
		w.t.Fatal(err)
	}
	w.clock.Advance(time.Hour)
}

// query is a figure's query of the values, in Chinese unless lang says.
func (w *world) query(name figures.Name, v url.Values) figures.Query {
	w.t.Helper()
	q, err := figures.ParseQuery(name, v, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

func (w *world) figure(name figures.Name, v url.Values) figures.Figure {
	w.t.Helper()
	f, err := w.figures.Figure(w.ctx, name, w.query(name, v))
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

// TestFigures computes each figure from a seeded week on each engine and
// checks its owner's numbers, and that its SVG draws exactly those
// numbers.
func TestFigures(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newWorld(t, engine, time.Date(2026, 11, 25, 9, 0, 0, 0, fenfu.Shanghai))
			w.seed()
			t.Run("onboarding", w.testOnboarding)
			t.Run("ab", w.testAB)
			t.Run("payments", w.testPayments)
			t.Run("risk", w.testRisk)
			t.Run("settlements", w.testSettlements)
		})
	}
}

func (w *world) testOnboarding(t *testing.T) {
	f := w.figure(figures.Onboarding, url.Values{"from": {"2026-11-25"}, "to": {"2026-11-28"}})
	stats := f.Data.([]onboard.IndustryStats)
	if len(stats) != 2 {
		t.Fatalf("stats %+v", stats)
	}
	if s := stats[0]; s.Industry != "chain_supermarket" || s.Submitted != 2 || s.Decided != 2 || s.FirstTimeApproved != 1 ||
		s.FirstTimeApprovalRate != 0.5 || s.Activated != 1 || math.Abs(s.MeanDaysToActivation-2) > 1e-9 {
		t.Errorf("chain supermarkets: %+v", s)
	}
	if s := stats[1]; s.Industry != "online_education" || s.Decided != 1 || s.FirstTimeApproved != 0 || s.Activated != 0 {
		t.Errorf("online schools: %+v", s)
	}
	if got := strings.Join(f.Chart.Labels, ","); got != "连锁超市,在线教育" {
		t.Errorf("labels %s", got)
	}
	bars := drawn(t, f.Chart.SVG())
	want := map[string]float64{"0/连锁超市": 0.5, "1/连锁超市": 2, "0/在线教育": 0}
	if !sameBars(bars, want) {
		t.Errorf("bars %v, want %v (no bar of days for a school never activated)", bars, want)
	}
	// Nothing submitted before the period counts in it.
	if f := w.figure(figures.Onboarding, url.Values{"from": {"2026-11-26"}, "to": {"2026-11-28"}}); len(f.Data.([]onboard.IndustryStats)) != 0 {
		t.Errorf("a period after the submissions: %+v", f.Data)
	}
}

func (w *world) testAB(t *testing.T) {
	f := w.figure(figures.AB, url.Values{"mchid": {w.shop.MchID}, "lang": {"en"}, "from": {"2026-11-27"}, "to": {"2026-11-27"}})
	cohorts := f.Data.([]pay.CohortStats)
	if len(cohorts) != 2 {
		t.Fatalf("cohorts %+v", cohorts)
	}
	c, ctl := cohorts[1], cohorts[0]
	if c.Cohort != merchant.CohortCredit || c.Views != 2 || c.Paid != 2 || c.Conversion != 1 || c.AverageTicket != 100_00 || c.CreditShare != 1 {
		t.Errorf("credit cohort %+v", c)
	}
	if ctl.Cohort != merchant.CohortControl || ctl.Views != 2 || ctl.Paid != 1 || ctl.Conversion != 0.5 || ctl.AverageTicket != 50_00 || ctl.CreditShare != 0 {
		t.Errorf("control cohort %+v", ctl)
	}
	if got := strings.Join(f.Chart.Labels, ","); got != "not offered (control),offered credit" {
		t.Errorf("labels %s", got)
	}
	want := map[string]float64{}
	for _, st := range cohorts {
		l := map[string]string{merchant.CohortCredit: "offered credit", merchant.CohortControl: "not offered (control)"}[st.Cohort]
		want["0/"+l], want["1/"+l], want["2/"+l], want["3/"+l] = st.Conversion, st.RefundRate, st.CreditShare, float64(st.AverageTicket)
	}
	if bars := drawn(t, f.Chart.SVG()); !sameBars(bars, want) {
		t.Errorf("bars %v, want %v", bars, want)
	}
	if _, err := figures.ParseQuery(figures.AB, url.Values{}, w.clock.Now()); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("the A/B figure without a merchant: %v", err)
	}
}

func (w *world) testPayments(t *testing.T) {
	f := w.figure(figures.Payments, url.Values{"from": {"2026-11-27T10:00:00+08:00"}, "to": {"2026-11-27T12:00:00+08:00"}})
	hours := f.Data.([]pay.HourStats)
	if len(hours) != 2 {
		t.Fatalf("hours %+v", hours)
	}
	// 10:00: three paid on credit; the rejected one was made elsewhere
	// and left unpaid, open until it expires at 12:0x.
	if h := hours[0]; h.Created != 4 || h.Paid["credit"] != 3 || h.Open != 0 || h.Unpaid[pay.EndedExpired] != 1 || *h.SuccessRate != 0.75 {
		t.Errorf("10:00 %+v", h)
	}
	if h := hours[1]; h.Created != 3 || h.Paid["credit"] != 1 || h.Paid["ordinary"] != 1 || h.Unpaid[pay.EndedExpired] != 1 {
		t.Errorf("11:00 %+v", h)
	}
	want := map[string]float64{}
	for _, h := range hours {
		l := h.Hour.Format("01-02 15:00")
		want["0/"+l], want["1/"+l], want["2/"+l] = float64(h.Paid["credit"]), float64(h.Paid["ordinary"]), float64(h.Unpaid[pay.EndedExpired])
	}
	bars := drawn(t, f.Chart.SVG())
	if !sameBars(bars, want) {
		t.Errorf("bars %v, want %v", bars, want)
	}
	points := drawnPoints(t, f.Chart.SVG())
	if points["3/11-27 10:00"] != 0.75 || points["3/11-27 11:00"] != *hours[1].SuccessRate || len(points) != 2 {
		t.Errorf("success rate points %v", points)
	}
	if !strings.Contains(f.Definition, "成功率 = 已支付订单 ÷ 已结束订单") {
		t.Errorf("definition %q", f.Definition)
	}
}

func (w *world) testRisk(t *testing.T) {
	f := w.figure(figures.Risk, url.Values{"from": {"2026-11-27"}, "to": {"2026-11-28"}, "lang": {"en"}})
	days := f.Data.([]risk.RuleDay)
	want := []risk.RuleDay{
		{Day: "2026-11-27", Rule: "big-ticket", Evaluated: 2, Pass: 2, Shadow: 2},
		{Day: "2026-11-27", Rule: "daily-credit-limit", Evaluated: 5, Pass: 4, Reject: 1},
		{Day: "2026-11-27", Rule: "night-large-credit", Evaluated: 5, Pass: 5},
		{Day: "2026-11-27", Rule: "same-instrument-run", Evaluated: 5, Pass: 4, Review: 1},
		{Day: "2026-11-28", Rule: "big-ticket", Evaluated: 1, Pass: 1},
		{Day: "2026-11-28", Rule: "daily-credit-limit", Evaluated: 1, Pass: 1},
		{Day: "2026-11-28", Rule: "night-large-credit", Evaluated: 1, Pass: 1},
		{Day: "2026-11-28", Rule: "same-instrument-run", Evaluated: 1, Pass: 1},
	}
	if fmt.Sprint(days) != fmt.Sprint(want) {
		t.Errorf("rule days\n%+v\nwant\n%+v", days, want)
	}
	// The chart stacks the rules that stopped payments; each rule's
	// passes are in its table.
	bars := drawn(t, f.Chart.SVG())
	wantBars := map[string]float64{}
	for si, s := range f.Chart.Series {
		if s.TableOnly {
			continue
		}
		for _, d := range days {
			if strings.HasPrefix(s.Name, d.Rule+" · ") {
				v := float64(d.Review)
				if strings.HasSuffix(s.Name, "reject") {
					v = float64(d.Reject)
				}
				wantBars[strconv.Itoa(si)+"/"+d.Day[5:]] = v
			}
		}
	}
	if len(wantBars) != 8 || !sameBars(bars, wantBars) {
		t.Errorf("bars %v, want %v", bars, wantBars)
	}
	tb := f.Chart.Table()
	if !strings.Contains(strings.Join(tb.Head, "|"), "night-large-credit · pass") || tb.Rows[0][0] != "11-27" {
		t.Errorf("table %+v", tb)
	}
}

func (w *world) testSettlements(t *testing.T) {
	f := w.figure(figures.Settlements, url.Values{"from": {"2026-11-26"}, "to": {"2026-11-27"}})
	totals := f.Data.([]settle.DayTotal)
	if len(totals) != 2 {
		t.Fatalf("totals %+v", totals)
	}
	list, err := w.settle.List(w.ctx, settle.Filter{Date: "2026-11-27"})
	if err != nil {
		t.Fatal(err)
	}
	net := map[string]fenfu.Fen{}
	for _, s := range list {
		net[s.Channel] += s.Net
	}
	// The held third payment waits 48 hours; the rejected one was never
	// paid.
	by := map[string]settle.DayTotal{}
	for _, d := range totals {
		by[d.Channel] = d
	}
	if c := by["credit"]; c.Date != "2026-11-27" || c.Channel != "credit" || c.Merchants != 1 || c.Payments != 3 ||
		c.PaymentAmount != 2200_00 || c.Net != net["credit"] || c.Net != c.PaymentAmount-c.Fees || c.Fees <= 0 {
		t.Errorf("credit %+v (settlements' net %v)", c, net)
	}
	if o := by["ordinary"]; o.Date != "2026-11-27" || o.Payments != 1 || o.PaymentAmount != 50_00 || o.Net != net["ordinary"] {
		t.Errorf("ordinary %+v", o)
	}
	bars := drawn(t, f.Chart.SVG())
	want := map[string]float64{"0/11-26": 0, "1/11-26": 0, "0/11-27": float64(net["credit"]), "1/11-27": float64(net["ordinary"])}
	if !sameBars(bars, want) {
		t.Errorf("bars %v, want %v", bars, want)
	}
	if !strings.Contains(string(f.Chart.SVG()), "¥") {
		t.Error("no ¥ on the money axis")
	}
}

// TestParseQuery: periods as dates or instants, a date's end included,
// defaults, bounds, and the language.
func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 30, 0, 0, fenfu.Shanghai)
	q, err := figures.ParseQuery(figures.Risk, url.Values{"from": {"2026-11-01"}, "to": {"2026-11-02"}, "lang": {"en"}}, now)
	if err != nil || !q.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, fenfu.Shanghai)) ||
		!q.To.Equal(time.Date(2026, 11, 3, 0, 0, 0, 0, fenfu.Shanghai)) || q.Lang != catalog.EN {
		t.Errorf("%+v %v", q, err)
	}
	if q, err := figures.ParseQuery(figures.Payments, url.Values{}, now); err != nil || !q.To.Equal(now) ||
		q.To.Sub(q.From) != 24*time.Hour || q.Lang != catalog.ZH {
		t.Errorf("default %+v %v", q, err)
	}
	for name, v := range map[string]url.Values{
		"bad date":        {"from": {"2026-13-01"}},
		"bad instant":     {"to": {"2026-11-01T25:00:00Z"}},
		"reversed":        {"from": {"2026-11-02"}, "to": {"2026-11-01"}},
		"too long":        {"from": {"2026-01-01"}, "to": {"2026-11-01"}},
		"unknown lang":    {"lang": {"fr"}},
		"script for lang": {"lang": {"<script>"}},
	} {
		if _, err := figures.ParseQuery(figures.Risk, v, now); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := figures.ParseName("nope"); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("unknown figure: %v", err)
	}
}

// drawn reads an SVG's bars: series/label → value, failing on anything
// that is not well-formed XML.
func drawn(t *testing.T, svg []byte) map[string]float64 {
	t.Helper()
	return elements(t, svg, "bar")
}

func drawnPoints(t *testing.T, svg []byte) map[string]float64 {
	t.Helper()
	return elements(t, svg, "point")
}

func elements(t *testing.T, svg []byte, class string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			a := map[string]string{}
			for _, at := range se.Attr {
				a[at.Name.Local] = at.Value
			}
			if a["class"] != class {
				continue
			}
			v, err := strconv.ParseFloat(a["data-value"], 64)
			if err != nil {
				t.Fatalf("%s without a value: %v", class, a)
			}
			out[a["data-series"]+"/"+a["data-label"]] = v
		}
	}
}

func sameBars(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-v) > 1e-9 {
			return false
		}
	}
	return true
}

// TestLongestPeriods: a daily figure's longest period, not on day
// boundaries, widens to whole days its owner still answers.
func TestLongestPeriods(t *testing.T) {
	w := newWorld(t, db.SQLite, time.Date(2026, 12, 1, 9, 0, 0, 0, fenfu.Shanghai))
	to := w.clock.Now()
	for _, name := range []figures.Name{figures.Risk, figures.Settlements, figures.Payments, figures.Onboarding} {
		for _, span := range []string{"longest", "longer"} {
			v := url.Values{"to": {to.Format(time.RFC3339)}}
			longest := map[figures.Name]time.Duration{figures.Risk: 91 * 24 * time.Hour, figures.Settlements: 91 * 24 * time.Hour,
				figures.Payments: pay.MaxHourlySpan, figures.Onboarding: 366 * 24 * time.Hour}[name]
			v.Set("from", to.Add(-longest).Format(time.RFC3339))
			if span == "longer" {
				v.Set("from", to.Add(-longest-time.Hour).Format(time.RFC3339))
			}
			q, err := figures.ParseQuery(name, v, to)
			if span == "longer" {
				if fenfu.ErrorCode(err) != fenfu.ParamError {
					t.Errorf("%s over its longest period: %v", name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, err := w.figures.Figure(w.ctx, name, q); err != nil {
				t.Errorf("%s over its longest period: %v", name, err)
			}
		}
	}
}
