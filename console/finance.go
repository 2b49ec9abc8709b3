package console

import (
	"encoding/json"
	"github.com/fenfu/fenfu/route"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/settle"
)

// Finance's pages: the settlement batches of a day with their progress,
// settlements (and the negative ones) with the check of each against its
// bills, settlement exception requests with their SLA timers, and the
// bills; every list downloads as CSV.

func (c *Console) financePages(mux route.Mux) {
	mux.Handle("GET /console/finance/batches", c.page(c.batches))
	mux.Handle("POST /console/finance/batches", c.action(c.runBatches))
	mux.Handle("GET /console/finance/settlements", c.page(c.settlements(false)))
	mux.Handle("GET /console/finance/negative", c.page(c.settlements(true)))
	mux.Handle("GET /console/finance/settlements/{id}", c.page(c.checkSettlement))
	mux.Handle("GET /console/finance/exceptions", c.page(c.exceptions))
	mux.Handle("GET /console/finance/exceptions/{id}", c.page(c.exception))
	mux.Handle("POST /console/finance/exceptions/{id}/resolve", c.action(c.resolveException))
	mux.Handle("GET /console/finance/bills", c.page(c.bills))
	mux.Handle("GET /console/finance/bills/file", c.page(c.billFile))
}

type batchesPage struct {
	Date    string
	Batches []settle.BatchStatus `json:"batches"`
	// Running is set while a batch runs: the page reloads itself.
	Running bool
	CanRun  bool
}

// batches shows each channel's batch of ?date= (default yesterday) and
// how many merchants it has done.
func (c *Console) batches(r *http.Request, v *view) error {
	v.Title, v.Active = "batches", "/console/finance/batches"
	d := &batchesPage{Date: v.Query.Get("date")}
	if d.Date == "" {
		d.Date = settle.Yesterday(c.Clock.Now())
	}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/settlements/batches", Query: url.Values{"date": {d.Date}}}, d); err != nil {
		return err
	}
	for _, b := range d.Batches {
		d.Running = d.Running || b.State == settle.Running
	}
	d.CanRun = v.allows("POST /admin/settlements/run")
	return nil
}

// runBatches starts (or resumes) a day's batches; the batches' page
// follows them.
func (c *Console) runBatches(r *http.Request, v *view) (string, error) {
	date := r.PostForm.Get("date")
	if err := v.do(admin.Call{Route: "POST /admin/settlements/run", Body: map[string]string{"date": date}}, nil); err != nil {
		return "", err
	}
	return "/console/finance/batches?date=" + url.QueryEscape(date) + "&done=settle-run", nil
}

// settlementsAnswer is GET /admin/settlements's answer.
type settlementsAnswer struct {
	Data []settle.Settlement `json:"data"`
	Next string              `json:"next"`
}

type settlementsPage struct {
	Negative    bool
	Settlements []settle.Settlement
	Listing
}

var settlementHeader = []string{"settlement_id", "settle_date", "channel", "mchid", "payments", "payment_amount", "payment_fees",
	"installment_fees", "refunds", "refund_amount", "refund_fees", "net", "state", "settled_at"}

// settlements lists settlements, the newest day first: ?mchid= &from=
// &to= &state=; negative lists only those below zero.
func (c *Console) settlements(negative bool) func(r *http.Request, v *view) error {
	return func(r *http.Request, v *view) error {
		v.Title, v.Active = "settlements", "/console/finance/settlements"
		name := "settlements.csv"
		q := v.filters("mchid", "from", "to", "state")
		if negative {
			v.Title, v.Page, v.Active, name = "negative", "settlements", "/console/finance/negative", "negative-settlements.csv"
			q.Set("negative", "true")
		}
		call := admin.Call{Route: "GET /admin/settlements", Query: q}
		if v.Query.Get("format") == "csv" {
			return v.export(name, settlementHeader, call, func(raw json.RawMessage) ([][]string, string, error) {
				var p settlementsAnswer
				err := json.Unmarshal(raw, &p)
				var rows [][]string
				for _, x := range p.Data {
					rows = append(rows, []string{x.ID, x.Date, x.Channel, x.MchID, strconv.Itoa(x.Payments), fenfu.Yuan(x.PaymentAmount),
						fenfu.Yuan(x.PaymentFees), fenfu.Yuan(x.PlanFees), strconv.Itoa(x.Refunds), fenfu.Yuan(x.RefundAmount),
						fenfu.Yuan(x.RefundFees), fenfu.Yuan(x.Net), x.State, stamp(x.SettledAt)})
				}
				return rows, p.Next, err
			})
		}
		d := &settlementsPage{Negative: negative}
		v.Data = d
		var out settlementsAnswer
		if err := v.do(call, &out); err != nil {
			return err
		}
		d.Settlements, d.Listing = out.Data, v.Listing(out.Next)
		return nil
	}
}

// checkSettlement shows a settlement reconciled with the fund-flow bills
// of the days it took payments and refunds from.
func (c *Console) checkSettlement(r *http.Request, v *view) error {
	v.Title, v.Active = "reconciliation", "/console/finance/settlements"
	var out bill.SettlementCheck
	v.Data = &out
	return v.do(admin.Call{Route: "GET /admin/settlements/{id}/check", Path: map[string]string{"id": r.PathValue("id")}}, &out)
}

type exceptionsPage struct {
	Open, Overdue int
	Exceptions    []settle.Exception `json:"data"`
	Next          string             `json:"next"`
	Now           time.Time
	// MchID is the merchant whose requests of every status are listed, a
	// page at a time, newest first; "" lists the open ones of every
	// merchant, the most urgent first.
	MchID string `json:"-"`
	Listing
}

// exceptions lists the open settlement exception requests, the most
// urgent first, each with its SLA: when it is due, and whether it is
// overdue; with ?mchid=, a merchant's requests of every status, newest
// first, a page at a time after the cursor (?after=).
func (c *Console) exceptions(r *http.Request, v *view) error {
	v.Title, v.Active = "exceptions", "/console/finance/exceptions"
	call := admin.Call{Route: "GET /admin/settlement-exceptions", Query: v.filters("mchid")}
	if v.Query.Get("format") == "csv" {
		return v.export("settlement-exceptions.csv", []string{"exception_id", "mchid", "settle_date", "out_trade_no", "description",
			"status", "created_at", "due_at", "overdue"}, call, func(raw json.RawMessage) ([][]string, string, error) {
			var p exceptionsPage
			err := json.Unmarshal(raw, &p)
			var rows [][]string
			for _, x := range p.Exceptions {
				rows = append(rows, []string{x.ID, x.MchID, x.SettleDate, x.OutTradeNo, x.Description, x.Status, stamp(x.CreatedAt),
					stamp(x.DueAt), strconv.FormatBool(x.Overdue)})
			}
			return rows, p.Next, err
		})
	}
	d := &exceptionsPage{Now: c.Clock.Now(), MchID: call.Query.Get("mchid")}
	v.Data = d
	if err := v.do(call, d); err != nil {
		return err
	}
	d.Listing = v.Listing(d.Next)
	return nil
}

type exceptionPage struct {
	settle.Exception
	CanResolve bool
}

func (c *Console) exception(r *http.Request, v *view) error {
	v.Title, v.Active = "exception", "/console/finance/exceptions"
	d := &exceptionPage{}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/settlement-exceptions/{id}", Path: map[string]string{"id": r.PathValue("id")}}, &d.Exception); err != nil {
		return err
	}
	d.CanResolve = d.Status == settle.ExceptionOpen && v.allows("POST /admin/settlement-exceptions/{id}/resolve")
	return nil
}

func (c *Console) resolveException(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if err := v.do(admin.Call{Route: "POST /admin/settlement-exceptions/{id}/resolve", Path: map[string]string{"id": id},
		Body: map[string]string{"status": r.PostForm.Get("status"), "resolution": r.PostForm.Get("resolution")}}, nil); err != nil {
		return "", err
	}
	return "/console/finance/exceptions/" + url.PathEscape(id) + "?done=exception-resolved", nil
}

type billsPage struct {
	Bills []bill.Stored
	Listing
}

// bills lists the bills rendered and kept, the newest day first:
// ?mchid= &date=; each downloads.
func (c *Console) bills(r *http.Request, v *view) error {
	v.Title, v.Active = "bills", "/console/finance/bills"
	call := admin.Call{Route: "GET /admin/bills", Query: v.filters("mchid", "date")}
	type answer struct {
		Bills []bill.Stored `json:"bills"`
		Next  string        `json:"next"`
	}
	if v.Query.Get("format") == "csv" {
		return v.export("bills.csv", []string{"mchid", "bill_date", "kind", "type", "channel", "bytes", "created_at"}, call,
			func(raw json.RawMessage) ([][]string, string, error) {
				var p answer
				err := json.Unmarshal(raw, &p)
				var rows [][]string
				for _, b := range p.Bills {
					rows = append(rows, []string{b.MchID, b.Date, b.Kind, b.Type, b.Channel, strconv.Itoa(b.Size), stamp(b.CreatedAt)})
				}
				return rows, p.Next, err
			})
	}
	d := &billsPage{}
	v.Data = d
	var out answer
	if err := v.do(call, &out); err != nil {
		return err
	}
	d.Bills, d.Listing = out.Bills, v.Listing(out.Next)
	return nil
}

// billFile downloads a bill as its merchant would.
func (c *Console) billFile(r *http.Request, v *view) error {
	var f admin.File
	if err := v.do(admin.Call{Route: "GET /admin/bills/file", Query: v.filters("mchid", "date", "kind", "type", "channel")}, &f); err != nil {
		v.Title, v.Active, v.Data = "problem", "/console/finance/bills", "/console/finance/bills"
		return err
	}
	v.answered = true
	f.ServeHTTP(v.w, r)
	return nil
}
