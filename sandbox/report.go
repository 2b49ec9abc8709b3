package sandbox

import (
	"context"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/db"
)

// Scenario is one thing a merchant's integration must show it handles.
// What it is, the call that showed it and how to pass it are said in
// English and in Chinese (the _zh fields), as the merchant portal shows
// them in either.
type Scenario struct {
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	DescriptionZH string    `json:"description_zh"`
	Passed        bool      `json:"passed"`
	Evidence      string    `json:"evidence,omitempty"`
	EvidenceZH    string    `json:"evidence_zh,omitempty"`
	At            time.Time `json:"at,omitzero"`
	Hint          string    `json:"hint,omitempty"`
	HintZH        string    `json:"hint_zh,omitempty"`
}

// scenarioOf is a scenario not passed yet: what it is and how to pass
// it.
func scenarioOf(name string, description, hint catalog.Text) Scenario {
	return Scenario{Name: name, Description: description.EN, DescriptionZH: description.ZH, Hint: hint.EN, HintZH: hint.ZH}
}

// pass marks s passed at at, shown by evidence.
func (s *Scenario) pass(at time.Time, evidence catalog.Text) {
	s.Passed, s.At, s.Evidence, s.EvidenceZH, s.Hint, s.HintZH = true, at, evidence.EN, evidence.ZH, "", ""
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
	name              string
	description, hint catalog.Text
	route             string // a route pattern prefix, e.g. "POST /v3/pay/transactions/native"
	status            []int
	note              []string // every fragment must appear in the call's note
}

type text = catalog.Text

var scenarios = []scenario{
	{"create_order", text{EN: "creates a Native order and shows its code_url", ZH: "创建 Native 订单并展示其 code_url"},
		text{EN: "POST /v3/pay/transactions/native with your appid and a new out_trade_no",
			ZH: "用你的 appid 和一个新的 out_trade_no 调用 POST /v3/pay/transactions/native"},
		"POST /v3/pay/transactions/native", []int{200}, nil},
	{"credit_payment_success", text{EN: "sees a credit payment succeed: queries a paid order and finds SUCCESS with bank_type FENFU_CREDIT",
		ZH: "确认分付支付成功：查询已支付的订单，得到 SUCCESS，bank_type 为 FENFU_CREDIT"},
		text{EN: "pay an order with `fenfu sandbox pay --channel credit`, then query it",
			ZH: "用 `fenfu sandbox pay --channel credit` 支付一笔订单，再查询它"},
		"GET /v3/pay/transactions/", []int{200}, []string{"SUCCESS", "FENFU_CREDIT"}},
	{"credit_line_short", text{EN: "handles a payment that did not happen: queries an order that is still NOTPAY (as after a short credit line)",
		ZH: "处理没有成功的支付：查询仍为 NOTPAY 的订单（如分付额度不足之后）"},
		text{EN: "have a test consumer with a small line fail to pay (NOT_ENOUGH), then query the order",
			ZH: "让额度较小的测试用户支付失败（NOT_ENOUGH），再查询该订单"},
		"GET /v3/pay/transactions/", []int{200}, []string{"NOTPAY"}},
	{"close_order", text{EN: "closes an unpaid order", ZH: "关闭未支付的订单"},
		text{EN: "POST /v3/pay/transactions/out-trade-no/{no}/close", ZH: "调用 POST /v3/pay/transactions/out-trade-no/{no}/close"},
		"POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", []int{204}, nil},
	{"partial_refund", text{EN: "refunds part of a paid order", ZH: "对已支付的订单部分退款"},
		text{EN: "POST /v3/refund/domestic/refunds with amount.refund below amount.total",
			ZH: "调用 POST /v3/refund/domestic/refunds，amount.refund 小于 amount.total"},
		"POST /v3/refund/domestic/refunds", []int{200}, []string{"partial"}},
	{"refund_query", text{EN: "queries a refund", ZH: "查询退款"},
		text{EN: "GET /v3/refund/domestic/refunds/{out_refund_no}", ZH: "调用 GET /v3/refund/domestic/refunds/{out_refund_no}"},
		"GET /v3/refund/domestic/refunds/", []int{200}, nil},
	{"error_answer", text{EN: "receives an error answer (4xx with a code) without breaking", ZH: "收到错误应答（带错误码的 4xx）时正常处理"},
		text{EN: "for example, query an order that does not exist", ZH: "例如，查询一笔不存在的订单"},
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
	calls, err := db.Collect(rows, func(row db.Scanner) (c call, err error) {
		err = row.Scan(&c.at, &c.route, &c.status, &c.code, &c.note)
		return c, err
	})
	if err != nil {
		return r, fenfu.Internal("sandbox.Report", err)
	}
	r.Calls = len(calls)
	for _, sc := range scenarios {
		s := scenarioOf(sc.name, sc.description, sc.hint)
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
			ev := c.route + " → " + strconv.Itoa(c.status)
			if c.code != "" {
				ev += " " + c.code
			}
			if c.note != "" {
				ev += " (" + c.note + ")"
			}
			s.pass(db.Time(c.at), text{EN: ev, ZH: ev})
			break
		}
		r.Scenarios = append(r.Scenarios, s)
	}
	// Notification retries: an event the merchant's endpoint refused at
	// first and acknowledged later.
	retry := scenarioOf("notification_retries",
		text{EN: "acknowledges a notification after refusing or missing it first (retried on schedule)",
			ZH: "先拒收或错过一次通知，之后在按计划的重试中确认"},
		text{EN: "answer a payment notification with an error once; fenfu retries 15 s later; answer 200 or 204",
			ZH: "对一次支付通知先应答错误；fenfu 15 秒后重试；再应答 200 或 204"})
	ev, at, ok, err := svc.events.FirstRetriedDelivery(ctx, mchid)
	if err != nil {
		return r, err
	}
	if ok {
		retry.pass(at, text{EN: ev + " acknowledged after a failed attempt", ZH: ev + " 在一次失败之后确认"})
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
