package sandbox

import (
	"context"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Scenario is one thing a merchant's integration must show it handles.
type Scenario struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Passed      bool      `json:"passed"`
	Evidence    string    `json:"evidence,omitempty"`
	At          time.Time `json:"at,omitzero"`
	Hint        string    `json:"hint,omitempty"`
}

// Report is the sandbox test report of a merchant.
type Report struct {
	MchID       string     `json:"mchid"`
	GeneratedAt time.Time  `json:"generated_at"`
	Calls       int        `json:"calls"`
	Passed      int        `json:"passed"`
	Total       int        `json:"total"`
	Scenarios   []Scenario `json:"scenarios"`
}

// scenario is a check over the merchant's recorded calls.
type scenario struct {
	name, description, hint string
	route                   string // a route pattern prefix, e.g. "POST /v3/pay/transactions/native"
	status                  []int
	note                    []string // every fragment must appear in the call's note
}

var scenarios = []scenario{
	{"create_order", "creates a Native order and shows its code_url", "POST /v3/pay/transactions/native with your appid and a new out_trade_no",
		"POST /v3/pay/transactions/native", []int{200}, nil},
	{"credit_payment_success", "sees a credit payment succeed: queries a paid order and finds SUCCESS with bank_type FENFU_CREDIT",
		"pay an order with `fenfu sandbox pay --channel credit`, then query it",
		"GET /v3/pay/transactions/", []int{200}, []string{"SUCCESS", "FENFU_CREDIT"}},
	{"credit_line_short", "handles a payment that did not happen: queries an order that is still NOTPAY (as after a short credit line)",
		"have a test consumer with a small line fail to pay (NOT_ENOUGH), then query the order",
		"GET /v3/pay/transactions/", []int{200}, []string{"NOTPAY"}},
	{"close_order", "closes an unpaid order", "POST /v3/pay/transactions/out-trade-no/{no}/close",
		"POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", []int{204}, nil},
	{"partial_refund", "refunds part of a paid order", "POST /v3/refund/domestic/refunds with amount.refund below amount.total",
		"POST /v3/refund/domestic/refunds", []int{200}, []string{"partial"}},
	{"refund_query", "queries a refund", "GET /v3/refund/domestic/refunds/{out_refund_no}",
		"GET /v3/refund/domestic/refunds/", []int{200}, nil},
	{"error_answer", "receives an error answer (4xx with a code) without breaking", "for example, query an order that does not exist",
		"", []int{400, 401, 403, 404}, nil},
}

// Report builds a merchant's sandbox test report from the calls it really
// made and from its notifications' delivery log.
func (svc *Service) Report(ctx context.Context, mchid string, now time.Time) (Report, error) {
	d := svc.db
	r := Report{MchID: mchid, GeneratedAt: now}
	type call struct {
		at     int64
		route  string
		status int
		code   string
		note   string
	}
	rows, err := d.QueryContext(ctx, `SELECT at, route, status, code, note FROM sandbox_calls WHERE mchid = $1 ORDER BY at`, mchid)
	if err != nil {
		return r, fenfu.Internal("sandbox.Report", err)
	}
	var calls []call
	for rows.Next() {
		var c call
		if err := rows.Scan(&c.at, &c.route, &c.status, &c.code, &c.note); err != nil {
			rows.Close()
			return r, fenfu.Internal("sandbox.Report", err)
		}
		calls = append(calls, c)
	}
	rows.Close()
	r.Calls = len(calls)
	for _, sc := range scenarios {
		s := Scenario{Name: sc.name, Description: sc.description, Hint: sc.hint}
	search:
		for _, c := range calls {
			if !strings.HasPrefix(c.route, sc.route) || !contains(sc.status, c.status) {
				continue
			}
			for _, n := range sc.note {
				if !strings.Contains(c.note, n) {
					continue search
				}
			}
			s.Passed, s.At, s.Hint = true, db.Time(c.at), ""
			s.Evidence = c.route + " → " + strconv.Itoa(c.status)
			if c.code != "" {
				s.Evidence += " " + c.code
			}
			if c.note != "" {
				s.Evidence += " (" + c.note + ")"
			}
			break
		}
		r.Scenarios = append(r.Scenarios, s)
	}
	// Notification retries: an event the merchant's endpoint refused at
	// first and acknowledged later.
	retry := Scenario{Name: "notification_retries", Description: "acknowledges a notification after refusing or missing it first (retried on schedule)",
		Hint: "answer a payment notification with an error once; fenfu retries 15 s later; answer 200 or 204"}
	ev, at, ok, err := svc.events.FirstRetriedDelivery(ctx, mchid)
	if err != nil {
		return r, err
	}
	if ok {
		retry.Passed, retry.At, retry.Evidence, retry.Hint = true, at, ev+" acknowledged after a failed attempt", ""
	}
	r.Scenarios = append(r.Scenarios, retry)
	r.Total = len(r.Scenarios)
	for _, s := range r.Scenarios {
		if s.Passed {
			r.Passed++
		}
	}
	return r, nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(fenfu.Shanghai).Format("2006-01-02 15:04:05")
	},
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Sandbox test report · {{.MchID}}</title>
<style>body{font-family:-apple-system,"PingFang SC",sans-serif;max-width:880px;margin:24px auto;color:#1a1a1a}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e6eb;padding:8px;text-align:left;vertical-align:top}
.ok{color:#389e0d;font-weight:600}.no{color:#cf1322;font-weight:600}small{color:#888}</style></head>
<body><h1>Sandbox test report</h1>
<p>Merchant <b>{{.MchID}}</b> · {{.Passed}} of {{.Total}} scenarios passed · {{.Calls}} signed calls recorded · generated {{time .GeneratedAt}}</p>
<table><tr><th></th><th>scenario</th><th>evidence</th></tr>
{{range .Scenarios}}<tr><td class="{{if .Passed}}ok{{else}}no{{end}}">{{if .Passed}}✓{{else}}✗{{end}}</td>
<td><b>{{.Name}}</b><br><small>{{.Description}}</small></td>
<td>{{if .Passed}}{{.Evidence}}<br><small>{{time .At}}</small>{{else}}<small>to pass: {{.Hint}}</small>{{end}}</td></tr>
{{end}}</table></body></html>
`))

// WriteHTML writes the report as a readable page.
func (r Report) WriteHTML(w io.Writer) error { return page.Execute(w, r) }
