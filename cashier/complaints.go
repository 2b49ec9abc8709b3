package cashier

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/web"
)

// The consumer's side of the complaints fast lane: a logged-in consumer
// files a complaint on an order they paid — from the order's cashier page,
// or as JSON naming the order's transaction_id — and reads their
// complaints with the merchant's and the platform's answers.

func (c *Cashier) registerComplaints(mux route.Mux) {
	mux.HandleFunc("POST /q/{token}/complaints", c.handleFileComplaint)
	mux.HandleFunc("POST /cashier/complaints", c.handleFileComplaint)
	mux.HandleFunc("GET /cashier/complaints", c.handleComplaints)
}

// complaintForm is a complaint as the page's form or a JSON body files it.
type complaintForm struct {
	TransactionID string    `json:"transaction_id"`
	ProblemType   string    `json:"problem_type"`
	Detail        string    `json:"complaint_detail"`
	ApplyRefund   fenfu.Fen `json:"apply_refund_amount"` // fen
}

// maxComplaintBody bounds a complaint's body: MaxDetail characters of up
// to 4 bytes each, with room for the rest.
const maxComplaintBody = 4*complaint.MaxDetail + 1024

func (c *Cashier) handleFileComplaint(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site complaint requests are refused")))
		return
	}
	consumerID, err := c.session(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if consumerID == "" {
		c.fail(w, r, fenfu.Errorf(fenfu.Unauthenticated, "log in to file a complaint"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxComplaintBody)
	var f complaintForm
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			c.failAs(w, r, consumerID, fenfu.Errorf(fenfu.ParamError,
				"the body must be a JSON object {transaction_id, problem_type, complaint_detail, apply_refund_amount}"))
			return
		}
	} else {
		f = complaintForm{TransactionID: r.PostFormValue("transaction_id"), ProblemType: r.PostFormValue("problem_type"),
			Detail: r.PostFormValue("complaint_detail")}
		if v := r.PostFormValue("apply_refund"); v != "" {
			if f.ApplyRefund, err = fenfu.ParseYuan(v); err != nil {
				c.failAs(w, r, consumerID, fenfu.FieldError("apply_refund", "the amount to ask back is yuan, like 12.50"))
				return
			}
		}
	}
	if tok := r.PathValue("token"); tok != "" {
		o, err := c.Orders.OrderForToken(r.Context(), tok)
		if err != nil {
			c.failAs(w, r, consumerID, err)
			return
		}
		f.TransactionID = o.ID
	}
	x, err := c.Complaints.File(r.Context(), complaint.NewComplaint{ConsumerID: consumerID, TransactionID: f.TransactionID,
		ProblemType: f.ProblemType, Detail: f.Detail, ApplyRefund: f.ApplyRefund})
	if err != nil {
		c.failAs(w, r, consumerID, err)
		return
	}
	if wantsJSON(r) {
		h, err := c.Complaints.History(r.Context(), x.ID, 0, 0)
		if err != nil {
			c.failAs(w, r, consumerID, err)
			return
		}
		web.WriteJSON(w, http.StatusOK, complaintViewOf(x, h))
		return
	}
	http.Redirect(w, r, "/cashier/complaints", http.StatusSeeOther)
}

// complaintView is a complaint as its consumer sees it: staff are the
// platform, never named.
type complaintView struct {
	ComplaintID       string          `json:"complaint_id"`
	TransactionID     string          `json:"transaction_id"`
	OutTradeNo        string          `json:"out_trade_no"`
	MchID             string          `json:"mchid"`
	Amount            fenfu.Fen       `json:"amount"`
	ProblemType       string          `json:"problem_type"`
	Detail            string          `json:"complaint_detail"`
	ApplyRefund       fenfu.Fen       `json:"apply_refund_amount"`
	State             complaint.State `json:"complaint_state"`
	Time              string          `json:"complaint_time"`
	RespondBy         string          `json:"respond_by"`
	InPlatformService bool            `json:"in_platform_service"`
	Resolution        string          `json:"resolution,omitempty"`
	History           []historyView   `json:"history"`
}

type historyView struct {
	Operator    string `json:"operator"`
	OperateType string `json:"operate_type"`
	Details     string `json:"operate_details"`
	JumpURL     string `json:"jump_url,omitempty"`
	JumpURLText string `json:"jump_url_text,omitempty"`
	Time        string `json:"operate_time"`
}

func shanghai(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.RFC3339) }

// complaintViewOf is complaint x, with its history h, as its consumer
// sees it.
func complaintViewOf(x complaint.Complaint, h []complaint.Entry) complaintView {
	v := complaintView{ComplaintID: x.ID, TransactionID: x.TransactionID, OutTradeNo: x.OutTradeNo, MchID: x.MchID, Amount: x.Amount,
		ProblemType: x.ProblemType, Detail: x.Detail, ApplyRefund: x.ApplyRefund, State: x.State, Time: shanghai(x.CreatedAt),
		RespondBy: shanghai(x.RespondBy), InPlatformService: x.InPlatformService(), Resolution: x.Resolution,
		History: make([]historyView, 0, len(h))}
	for _, e := range h {
		v.History = append(v.History, historyView{Operator: e.PublicOperator(), OperateType: e.OperateType, Details: e.Details,
			JumpURL: e.JumpURL, JumpURLText: e.JumpURLText, Time: shanghai(e.At)})
	}
	return v
}

// complaintsPage is what the complaints page shows.
type complaintsPage struct {
	LoggedIn   bool
	Complaints []complaintView
}

// handleComplaints lists the consumer's complaints, newest first (the 50
// latest), each with its history.
func (c *Cashier) handleComplaints(w http.ResponseWriter, r *http.Request) {
	consumerID, err := c.session(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if consumerID == "" {
		if wantsJSON(r) {
			c.fail(w, r, fenfu.Errorf(fenfu.Unauthenticated, "log in to see your complaints"))
			return
		}
		c.render(w, r, http.StatusUnauthorized, "complaints.html", complaintsPage{})
		return
	}
	list, _, err := c.Complaints.List(r.Context(), complaint.Filter{ConsumerID: consumerID, Limit: 50})
	if err != nil {
		c.failAs(w, r, consumerID, err)
		return
	}
	ids := make([]string, len(list))
	for i, x := range list {
		ids[i] = x.ID
	}
	hs, err := c.Complaints.Histories(r.Context(), ids)
	if err != nil {
		c.failAs(w, r, consumerID, err)
		return
	}
	page := complaintsPage{LoggedIn: true, Complaints: make([]complaintView, 0, len(list))}
	for _, x := range list {
		page.Complaints = append(page.Complaints, complaintViewOf(x, hs[x.ID]))
	}
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusOK, map[string]any{"complaints": page.Complaints})
		return
	}
	c.render(w, r, http.StatusOK, "complaints.html", page)
}
