package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// chartWorld is a server with a day of payments on it: four paid on
// credit through the cashier (the fourth of a run the risk rules hold), one
// from balance, one left unpaid until it expired, and the day settled.
func chartWorld(t *testing.T, engine db.Engine) *creditWorld {
	t.Helper()
	w := startCreditWorld(t, engine) // 2026-11-27 10:00
	alice := w.consumer(10_000_00, 1_000_00)
	for i := range 3 {
		w.pay(alice, w.order(fmt.Sprintf("CHART-C%d", i), fenfu.Fen(100_00*(i+1))), 1)
		w.clock.Advance(time.Minute)
	}
	w.clock.Advance(time.Hour) // 11:03
	bob := w.consumer(10_000_00, 1_000_00)
	w.pay(bob, w.order("CHART-C3", 50_00), 1)
	o := w.order("CHART-B0", 30_00)
	var paid map[string]any
	w.do(bob.client, "POST", "/q/"+o.Token+"/pay", map[string]any{"channel": "balance", "pin": bob.pin}, &paid)
	if paid["trade_state"] != "SUCCESS" {
		t.Fatalf("balance payment: %v", paid)
	}
	w.order("CHART-U0", 70_00) // expires unpaid at 12:03
	w.toDay("2026-11-28")
	if _, err := w.a.settle.Run(t.Context(), "2026-11-27"); err != nil {
		t.Fatal(err)
	}
	return w
}

// get fetches a staff route with a bearer token and returns its status,
// content type and body.
func (w *creditWorld) get(path, bearer string) (int, string, []byte) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// svgValues reads the bars (or points) of an SVG: series/label → value,
// failing on anything that is not well-formed XML.
func svgValues(t *testing.T, svg []byte, class string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	d := xml.NewDecoder(bytes.NewReader(svg))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			a := map[string]string{}
			for _, at := range se.Attr {
				a[at.Name.Local] = at.Value
			}
			if a["class"] == class {
				v, err := strconv.ParseFloat(a["data-value"], 64)
				if err != nil {
					t.Fatalf("a %s without its value: %v", class, a)
				}
				out[a["data-series"]+"/"+a["data-label"]] = v
			}
		}
	}
}

// TestChartRoutes: each chart's JSON and SVG through the staff API, on
// each engine: the SVG's bars are the JSON's numbers, in the language
// asked for, behind the owning department's permission.
func TestChartRoutes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testChartRoutes(t, engine) })
	}
}

func testChartRoutes(t *testing.T, engine db.Engine) {
	w := chartWorld(t, engine)
	w.staffAuth()
	boss := w.staffToken

	// Payments: the JSON's hours, and the SVG's bars of them.
	code, ct, body := w.get("/admin/charts/payments?from=2026-11-27T10:00:00%2B08:00&to=2026-11-27T12:00:00%2B08:00", boss)
	if code != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("payments JSON: %d %s %s", code, ct, body)
	}
	var payments struct {
		Data       []pay.HourStats `json:"data"`
		Definition string          `json:"definition"`
	}
	if err := json.Unmarshal(body, &payments); err != nil {
		t.Fatal(err)
	}
	if len(payments.Data) != 2 || payments.Data[0].Paid["credit"] != 3 || payments.Data[1].Paid["credit"] != 1 ||
		payments.Data[1].Paid["ordinary"] != 1 || payments.Data[1].Unpaid[pay.EndedExpired] != 1 || *payments.Data[0].SuccessRate != 1 {
		t.Errorf("payments %s", body)
	}
	code, ct, svg := w.get("/admin/charts/payments.svg?lang=en&from=2026-11-27T10:00:00%2B08:00&to=2026-11-27T12:00:00%2B08:00", boss)
	if code != 200 || ct != "image/svg+xml; charset=utf-8" {
		t.Fatalf("payments SVG: %d %s %s", code, ct, svg)
	}
	want := map[string]float64{}
	for _, h := range payments.Data {
		l := h.Hour.In(fenfu.Shanghai).Format("01-02 15:00")
		want["0/"+l], want["1/"+l], want["2/"+l] = float64(h.Paid["credit"]), float64(h.Paid["ordinary"]), float64(h.Unpaid[pay.EndedExpired])
	}
	if got := svgValues(t, svg, "bar"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("payments bars %v, want %v", got, want)
	}
	if got := svgValues(t, svg, "point"); got["3/11-27 10:00"] != 1 || got["3/11-27 11:00"] != *payments.Data[1].SuccessRate {
		t.Errorf("success rate points %v", got)
	}
	for _, s := range []string{"Payments per hour by channel", "paid · credit", "Success rate = orders paid ÷ orders ended"} {
		if !strings.Contains(string(svg), s) {
			t.Errorf("the English chart does not say %q", s)
		}
	}
	if _, _, zh := w.get("/admin/charts/payments.svg?lang=zh", boss); !strings.Contains(string(zh), "每小时支付笔数") {
		t.Error("the Chinese chart has no Chinese title")
	}

	// Settlements: the JSON's totals, and the SVG's bars of them.
	code, _, body = w.get("/admin/charts/settlements?from=2026-11-27&to=2026-11-27", boss)
	var settled struct {
		Data []settle.DayTotal `json:"data"`
	}
	if err := json.Unmarshal(body, &settled); code != 200 || err != nil || len(settled.Data) != 2 {
		t.Fatalf("settlements JSON: %d %s", code, body)
	}
	want = map[string]float64{}
	for _, d := range settled.Data {
		want[map[string]string{"credit": "0", "ordinary": "1"}[d.Channel]+"/11-27"] = float64(d.Net)
		if d.Channel == "credit" && (d.Payments != 3 || d.PaymentAmount != 350_00) {
			t.Errorf("credit settled %+v: the held fourth payment waits", d)
		}
	}
	_, _, svg = w.get("/admin/charts/settlements.svg?from=2026-11-27&to=2026-11-27", boss)
	if got := svgValues(t, svg, "bar"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("settlement bars %v, want %v", got, want)
	}

	// Risk: the run the rules held is one review of its rule.
	code, _, body = w.get("/admin/charts/risk?from=2026-11-27&to=2026-11-27", boss)
	var decided struct {
		Data []struct {
			Rule      string `json:"rule"`
			Evaluated int    `json:"evaluated"`
			Review    int    `json:"review"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &decided); code != 200 || err != nil {
		t.Fatalf("risk JSON: %d %s", code, body)
	}
	reviews := map[string]int{}
	for _, d := range decided.Data {
		reviews[d.Rule] = d.Review
		if d.Evaluated != 4 {
			t.Errorf("%s ran on %d payments, want the 4 on credit", d.Rule, d.Evaluated)
		}
	}
	if reviews["same-instrument-run"] != 1 || len(decided.Data) != 3 {
		t.Errorf("risk %s", body)
	}
	_, _, svg = w.get("/admin/charts/risk.svg?from=2026-11-27&to=2026-11-27&lang=en", boss)
	if got := svgValues(t, svg, "bar"); got["0/11-27"] != 1 || got["1/11-27"] != 0 || len(got) != 2 {
		t.Errorf("risk bars %v: want same-instrument-run's review and reject", got)
	}

	// Onboarding and the A/B report answer with their charts too.
	for _, path := range []string{"/admin/charts/onboarding", "/admin/charts/onboarding.svg", "/admin/charts/ab?mchid=" + w.mchid,
		"/admin/charts/ab.svg?lang=en&mchid=" + w.mchid} {
		if code, _, body := w.get(path, boss); code != 200 {
			t.Errorf("%s: %d %s", path, code, body)
		} else if strings.Contains(path, ".svg") {
			svgValues(t, body, "bar")
		}
	}

	// Each chart is its owners': support staff see none; finance staff
	// see settlements and not the risk rules'; bad queries are refused
	// with a remedy.
	support := accesstest.Named(t, w.a.access, "zhou", access.Support, access.StaffRank)
	finance := accesstest.Named(t, w.a.access, "qian", access.Finance, access.StaffRank)
	for _, c := range []struct {
		path, bearer string
		want         int
	}{
		{"/admin/charts/settlements.svg", support, 403},
		{"/admin/charts/payments", support, 403},
		{"/admin/charts/settlements.svg", finance, 200},
		{"/admin/charts/risk.svg", finance, 403},
		{"/admin/charts/risk.svg", "", 401},
		{"/admin/charts/payments.svg?lang=fr", boss, 400},
		{"/admin/charts/payments?from=2026-01-01&to=2026-11-01", boss, 400},
		{"/admin/charts/ab.svg", boss, 400},
	} {
		code, ct, body := w.get(c.path, c.bearer)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.path, code, body, c.want)
		}
		if code != 200 && (!strings.HasPrefix(ct, "application/json") || !strings.Contains(string(body), `"remedy"`)) {
			t.Errorf("%s: a refusal without its remedy: %s", c.path, body)
		}
	}
}

// TestChartInBrowser: a page serving the payments chart's SVG, as the
// console embeds it, shows a person its bars laid out inside the chart
// and its labels as text they can read, on a phone and on a desktop.
func TestChartInBrowser(t *testing.T) {
	w := chartWorld(t, db.SQLite)
	w.staffAuth()
	var svg []byte
	for _, l := range []string{"en", "zh"} {
		code, _, b := w.get("/admin/charts/payments.svg?lang="+l+"&from=2026-11-27T08:00:00%2B08:00&to=2026-11-27T14:00:00%2B08:00", w.staffToken)
		if code != 200 {
			t.Fatalf("the chart: %d %s", code, b)
		}
		svg = append(svg, b...)
	}
	page := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`+
			`<title>Charts</title><body style="margin:0;padding:8px"><main>%s</main></body></html>`, svg)
	}))
	t.Cleanup(page.Close)
	for _, s := range []screen{phone, desktop} {
		t.Run(s.name, func(t *testing.T) {
			p := newPersonAt(t, s)
			p.open(page.URL, "svg.fenfu-chart")
			// Every bar with a value has a size, and lies inside its chart.
			if !p.eval(`(() => {
				const charts = [...document.querySelectorAll('svg.fenfu-chart')];
				if (charts.length !== 2) return false;
				return charts.every(svg => {
					const box = svg.getBoundingClientRect();
					const bars = [...svg.querySelectorAll('rect.bar')].filter(b => +b.dataset.value > 0);
					return box.width > 300 && bars.length === 4 && bars.every(b => {
						const r = b.getBoundingClientRect();
						return r.width > 0 && r.height > 0 && r.left >= box.left && r.right <= box.right + 0.5 &&
							r.top >= box.top && r.bottom <= box.bottom + 0.5;
					});
				});
			})()`) {
				t.Error("the bars are not laid out inside the chart")
			}
			// Its words are text a person reads: the title, legend, ticks
			// and hours, drawn at least 9 px high and inside the chart.
			if !p.eval(`(() => {
				const svg = document.querySelector('svg.fenfu-chart');
				const box = svg.getBoundingClientRect();
				const texts = [...svg.querySelectorAll('text')];
				return texts.length > 10 && texts.every(t => {
					const r = t.getBoundingClientRect();
					return t.textContent.trim() !== '' && r.height >= 9 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
				});
			})()`) {
				t.Error("the chart's labels are not readable text inside it")
			}
			p.sees("main", "Payments per hour by channel, and success rate", "paid · credit", "ended unpaid", "11-27 10:00",
				"每小时支付笔数（按渠道）与成功率", "已支付 · 分付")
			if !p.eval(`document.querySelector('svg.fenfu-chart').getAttribute('role') === 'img'`) {
				t.Error("the chart is not an image to screen readers")
			}
			p.shot("payments-chart")
		})
	}
}
