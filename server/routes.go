package server

import (
	"net/http"

	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/openapi"
	"github.com/fenfu/fenfu/route"
)

// routes is fenfu's whole HTTP surface in one place. openapi/fenfu.json
// documents every route, and a test fails on one it lacks.
func routes(mux route.Mux, d Deps) {
	// Merchant API, WeChat Pay v3:
	//   POST /v3/pay/transactions/native
	//   GET  /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=
	//   GET  /v3/pay/transactions/id/{transaction_id}?mchid=
	//   POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close
	//   POST /v3/pay/transactions/codepay                   code payment (付款码)
	//   POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse
	//   POST /v3/refund/domestic/refunds
	//   GET  /v3/refund/domestic/refunds/{out_refund_no}
	//   GET  /v3/fenfu/notifications/{event_id}          delivery state and log (fenfu)
	//   POST /v3/fenfu/notifications/{event_id}/resend   deliver again now (fenfu)
	//   GET  /v3/fenfu/transactions/out-trade-no/{out_trade_no}/receipt?format=escpos-58|escpos-80|pdf
	//   GET  /v3/fenfu/transactions/id/{transaction_id}/receipt?format=   a paid order's receipt (fenfu)
	//   GET  /r/{transaction_id}?v=CODE   public: is this receipt genuine (a page, or JSON)
	//   GET  /v3/fenfu/qrcodes/verify?token=&mark=   is the mark under one of the merchant's codes genuine (fenfu)
	//   GET  /v3/merchant-service/complaints-v2?limit=&offset=&begin_date=&end_date=&complainted_mchid=
	//   GET  /v3/merchant-service/complaints-v2/{complaint_id}[/negotiation-historys]
	//   POST /v3/merchant-service/complaints-v2/{complaint_id}/response|complete
	//   POST|GET|PUT|DELETE /v3/merchant-service/complaint-notifications
	//   GET  /v3/fenfu/doctor?notify_url=&platform_serial=&lang=   fenfu doctor's checks of the merchant's integration (fenfu)
	//   POST|GET /v3/fenfu/tickets, GET /v3/fenfu/tickets/{id}, POST /v3/fenfu/tickets/{id}/replies
	//   GET  /v3/fenfu/tickets/{id}/attachments/{attachment_id}, GET /v3/fenfu/ticket-lanes   support tickets (fenfu)
	d.API.Register(mux)
	// Merchant API, WeChat Pay v2 (XML, MD5 or HMAC-SHA256 sign):
	//   POST /pay/unifiedorder, /pay/orderquery, /pay/closeorder,
	//        /secapi/pay/refund, /pay/refundquery, /pay/micropay, /secapi/pay/reverse
	d.API.RegisterV2(mux)
	// Consumer cashier:
	//   GET  /q/{token}          the cashier page (JSON with ?format=json)
	//   GET  /q/{token}.png|.svg?size=screen|print   the QR code in the credit-pay style, with this minute's mark
	//   POST /q/{token}/pay      pay (form or JSON)
	//   POST /cashier/login, /cashier/logout
	//   GET  /cashier/paycode/orders/{transaction_id}          a code payment waiting for the consumer's PIN
	//   POST /cashier/paycode/orders/{transaction_id}/confirm  confirm it with the PIN
	//   POST /q/{token}/complaints, POST|GET /cashier/complaints   a consumer's complaints
	//   POST|GET /cashier/tickets, GET /cashier/tickets/{id}, POST /cashier/tickets/{id}/replies,
	//   GET  /cashier/tickets/{id}/attachments/{attachment_id}, /cashier/ticket-lanes   a consumer's support tickets (JSON)
	//   GET  /cashier/credit     the consumer's credit account (a page for Accept: text/html, else JSON)
	//   POST /cashier/credit/repay                repay plans from balance (the page's form, or JSON)
	//   GET  /cashier/credit/statements/{month}   a monthly statement (a page or JSON, as the account)
	//   GET  /favicon.ico; any other /q/… or /cashier/… address: the cashier's 404 page
	d.Cashier.Register(mux)
	// Staff API (bearer token of a staff member's session or API token;
	// POST /admin/login starts a session; admin.API.Routes lists every
	// route with the permission it needs):
	//   GET  /admin/applications?state=, GET /admin/applications/{id}
	//   POST /admin/applications/{id}/review|deposit|activate|close
	//   POST /admin/rescreen, /admin/risk-list (CSV), /admin/history (CSV)
	//   POST /admin/merchants/{mchid}/rollout, GET /admin/merchants/{mchid}/ab-report|verification
	//   GET  /admin/complaints[?mchid=], GET /admin/complaints/{id}
	//   POST /admin/complaints/{id}/notes|resolve
	//   GET  /admin/tickets[?type=&status=&order=due…], GET /admin/tickets/{id}[/attachments/{attachment_id}]
	//   POST /admin/tickets/{id}/replies|assign|resolve|close, POST /admin/tickets/escalate
	//   GET  /admin/ticket-lanes, POST /admin/ticket-lanes/{type}   SLA lanes (audited)
	//   POST /admin/consumers/{id}/repayments (a partner's transfer, idempotency_key)
	//   GET  /admin/consumers/{id}/credit, /admin/consumers/{id}/statements/{month}
	//   GET  /admin/audit?store=core|credit   the audit log (every staff request is recorded in it)
	//   GET  /admin/qrcodes/verify?token=&mark=   an inspector's check of the mark under any code
	//   GET  /admin/charts/onboarding|ab|payments|risk|settlements[.svg]?from=&to=&lang=   figures as JSON or SVG
	//   POST /admin/login|logout, GET /admin/me, POST /admin/tokens, /admin/tokens/{id}/revoke
	//   GET|POST /admin/staff, /admin/policy; POST /admin/unmask {kind, id, field, reason}
	//   GET|POST /admin/merchants/{mchid}/users, POST …/users/{name}/disable   merchants' owners in the portal
	if d.Admin != nil {
		d.Admin.Register(mux)
	}
	// Merchant portal (a merchant user's session cookie, fenfu_merchant;
	// portal.Portal.Routes lists every route with the permission it needs):
	//   GET|POST /portal/login, POST /portal/logout
	//   GET  /portal/orders[.csv], /portal/orders/{transaction_id}; POST …/refunds
	//   GET  /portal/bills, /portal/bills/download?kind=&date=&type=&channel=&gzip=
	//   GET  /portal/notifications; POST /portal/notifications/{event_id}/resend
	//   GET  /portal/settlements[.csv], /portal/fees?month=
	//   GET|POST /portal/keys, POST /portal/keys/{serial}/retire|apiv3, POST /portal/notify-url
	//   GET  /portal/sandbox, GET|POST /portal/rollout
	//   GET  /portal/complaints[/{id}]; POST /portal/complaints/{id}/response|complete
	//   GET|POST /portal/tickets, GET /portal/tickets/{id}[/attachments/{attachment_id}], POST …/replies
	//   GET|POST /portal/users, POST /portal/users/{name}/disable|role|password|totp
	//   GET /portal/account, POST /portal/account/password|totp|totp/confirm
	if d.Portal != nil {
		d.Portal.Register(mux)
	}
	// The error catalogue, public: every code with its message and
	// remedy in Chinese and English, and the common problems.
	//   GET /errors.json, GET /errors?q=&lang=zh|en (anchors /errors#CODE)
	mux.Handle("GET /errors.json", handleErrorsJSON())
	mux.Handle("GET "+catalog.PagePath, handleErrorsPage(d.Log))
	// Staff console (web pages over the staff routes above, in-process;
	// session cookie fenfu_staff): GET|POST /console/login, POST
	// /console/logout, and the pages under /console/ (console.Register).
	if d.Console != nil {
		d.Console.Register(mux)
	}
	mux.Handle("GET /healthz", handleHealth(d.Health))
	mux.Handle("GET /version", handleVersion(d.Build))
	// /metrics only to the clients in MetricsFrom; anyone else 403.
	mux.Handle("GET /metrics", onlyFrom(d.MetricsFrom, d.Metrics))
	mux.Handle("GET /openapi.json", handleDocument())
	mux.Handle("GET /{$}", handleIndex(d.MetricsFrom))
}

// Patterns returns the pattern of every route a server of d serves, in the
// order routes registers them.
func Patterns(d Deps) []string {
	rec := &route.Recorder{Mux: http.NewServeMux()}
	routes(rec, d)
	return rec.Patterns
}

// handleDocument serves the OpenAPI document of fenfu's routes.
func handleDocument() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document())
	})
}
