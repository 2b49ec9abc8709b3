package wxpay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/route"
)

// The consumer complaints API 2.0, /v3/merchant-service/complaints-v2…
// and /v3/merchant-service/complaint-notifications, in WeChat's wire
// format: the merchant lists, reads and answers the complaints consumers
// filed on its orders, marks them handled, and keeps the URL complaint
// notifications go to.

// registerComplaints adds the complaint routes to mux.
func (a *API) registerComplaints(mux route.Mux) {
	mux.Handle("GET /v3/merchant-service/complaints-v2", a.v3(a.listComplaints))
	mux.Handle("GET /v3/merchant-service/complaints-v2/{complaint_id}", a.v3(a.getComplaint))
	mux.Handle("GET /v3/merchant-service/complaints-v2/{complaint_id}/negotiation-historys", a.v3(a.complaintHistory))
	mux.Handle("POST /v3/merchant-service/complaints-v2/{complaint_id}/response", a.v3(a.respondComplaint))
	mux.Handle("POST /v3/merchant-service/complaints-v2/{complaint_id}/complete", a.v3(a.completeComplaint))
	mux.Handle("POST /v3/merchant-service/complaint-notifications", a.v3(a.setComplaintURL(true)))
	mux.Handle("PUT /v3/merchant-service/complaint-notifications", a.v3(a.setComplaintURL(false)))
	mux.Handle("GET /v3/merchant-service/complaint-notifications", a.v3(a.getComplaintURL))
	mux.Handle("DELETE /v3/merchant-service/complaint-notifications", a.v3(a.deleteComplaintURL))
}

// complaintOrder is one entry of complaint_order_info.
type complaintOrder struct {
	TransactionID string    `json:"transaction_id"`
	OutTradeNo    string    `json:"out_trade_no"`
	Amount        fenfu.Fen `json:"amount"`
}

// complaintObject is a complaint as the list and detail answer it.
type complaintObject struct {
	ComplaintID           string           `json:"complaint_id"`
	ComplaintTime         string           `json:"complaint_time"`
	ComplaintDetail       string           `json:"complaint_detail"`
	ComplaintedMchID      string           `json:"complainted_mchid"`
	ComplaintState        string           `json:"complaint_state"`
	PayerOpenID           string           `json:"payer_openid"`
	ComplaintOrderInfo    []complaintOrder `json:"complaint_order_info"`
	ComplaintMediaList    []struct{}       `json:"complaint_media_list"`
	ComplaintFullRefunded bool             `json:"complaint_full_refunded"`
	IncomingUserResponse  bool             `json:"incoming_user_response"`
	UserComplaintTimes    int              `json:"user_complaint_times"`
	ProblemDescription    string           `json:"problem_description"`
	ProblemType           string           `json:"problem_type"`
	ApplyRefundAmount     fenfu.Fen        `json:"apply_refund_amount"`
	UserTagList           []string         `json:"user_tag_list"`
	InPlatformService     bool             `json:"in_platform_service"`
	NeedImmediateService  bool             `json:"need_immediate_service"`
}

// problemDescriptions are the words each problem_type is shown with.
var problemDescriptions = map[string]string{
	complaint.ProblemRefunds:        "申请退款",
	complaint.ProblemServiceNotWork: "服务未完成或商品未收到",
	complaint.ProblemOthers:         "其他",
}

// complaintObject answers complaint c, whose consumer has filed times
// complaints against its merchant.
func (a *API) complaintObject(ctx context.Context, c complaint.Complaint, times int) (complaintObject, error) {
	o, err := a.Pay.Get(ctx, c.TransactionID)
	if err != nil {
		return complaintObject{}, err
	}
	return complaintObject{ComplaintID: c.ID, ComplaintTime: timeString(c.CreatedAt), ComplaintDetail: c.Detail,
		ComplaintedMchID: c.MchID, ComplaintState: string(c.State), PayerOpenID: OpenID(a.Keys.Secret, c.AppID, c.ConsumerID),
		ComplaintOrderInfo:    []complaintOrder{{TransactionID: c.TransactionID, OutTradeNo: c.OutTradeNo, Amount: c.Amount}},
		ComplaintMediaList:    []struct{}{},
		ComplaintFullRefunded: o.Refunded >= o.Total, UserComplaintTimes: times,
		ProblemDescription: problemDescriptions[c.ProblemType], ProblemType: c.ProblemType, ApplyRefundAmount: c.ApplyRefund,
		UserTagList: []string{}, InPlatformService: c.InPlatformService()}, nil
}

// maxComplaintSpan is the longest period one list query covers, as WeChat.
const maxComplaintSpan = 30

// ParseComplaintQuery reads a complaint list query as WeChat defines it:
// limit (1 to 50, default 10), offset (from 0), begin_date and end_date
// (required, yyyy-MM-dd in Asia/Shanghai, both days included, at most 30
// days apart) and complainted_mchid (optional; the signer's own).
func ParseComplaintQuery(q url.Values, signer string) (complaint.Filter, error) {
	f := complaint.Filter{MchID: signer}
	var err error
	if f.Limit, f.Offset, err = complaint.Page(q, complaint.MaxListLimit, complaint.DefaultListLimit); err != nil {
		return f, err
	}
	day := func(field string) (time.Time, error) {
		v := q.Get(field)
		t, err := time.ParseInLocation(time.DateOnly, v, fenfu.Shanghai)
		if v == "" || err != nil {
			return t, fenfu.FieldError(field, "%s is required, a date like 2026-11-29", field)
		}
		return t, nil
	}
	if f.From, err = day("begin_date"); err != nil {
		return f, err
	}
	end, err := day("end_date")
	if err != nil {
		return f, err
	}
	if end.Before(f.From) {
		return f, fenfu.FieldError("end_date", "end_date must not be before begin_date")
	}
	if end.After(f.From.AddDate(0, 0, maxComplaintSpan)) {
		return f, fenfu.FieldError("end_date", "begin_date and end_date may be at most %d days apart", maxComplaintSpan)
	}
	f.To = end.AddDate(0, 0, 1)
	if m := q.Get("complainted_mchid"); m != "" {
		if err := requireMchID(signer, m, "complainted_mchid"); err != nil {
			return f, err
		}
	}
	return f, nil
}

// listComplaints answers GET /v3/merchant-service/complaints-v2.
func (a *API) listComplaints(ctx context.Context, r *request) (int, any, error) {
	f, err := ParseComplaintQuery(r.URL.Query(), r.MchID)
	if err != nil {
		return 0, nil, err
	}
	list, total, err := a.Complaints.List(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	consumers := make([]string, len(list))
	for i, c := range list {
		consumers[i] = c.ConsumerID
	}
	times, err := a.Complaints.Counts(ctx, f.MchID, consumers)
	if err != nil {
		return 0, nil, err
	}
	data := make([]complaintObject, 0, len(list))
	for _, c := range list {
		obj, err := a.complaintObject(ctx, c, times[c.ConsumerID])
		if err != nil {
			return 0, nil, err
		}
		data = append(data, obj)
	}
	return http.StatusOK, map[string]any{"data": data, "limit": f.Limit, "offset": f.Offset, "total_count": total}, nil
}

// merchantComplaint returns the signer's complaint named in the path.
func (a *API) merchantComplaint(ctx context.Context, r *request) (complaint.Complaint, error) {
	return a.Complaints.Of(ctx, r.MchID, r.PathValue("complaint_id"))
}

// getComplaint answers GET /v3/merchant-service/complaints-v2/{complaint_id}.
func (a *API) getComplaint(ctx context.Context, r *request) (int, any, error) {
	c, err := a.merchantComplaint(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	times, err := a.Complaints.Count(ctx, c.MchID, c.ConsumerID)
	if err != nil {
		return 0, nil, err
	}
	obj, err := a.complaintObject(ctx, c, times)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, obj, nil
}

type historyEntry struct {
	LogID          string   `json:"log_id"`
	Operator       string   `json:"operator"`
	OperateTime    string   `json:"operate_time"`
	OperateType    string   `json:"operate_type"`
	OperateDetails string   `json:"operate_details"`
	ImageList      []string `json:"image_list"`
}

// complaintHistory answers GET …/{complaint_id}/negotiation-historys
// (limit 1 to 300, default 100 as WeChat; offset from 0).
func (a *API) complaintHistory(ctx context.Context, r *request) (int, any, error) {
	c, err := a.merchantComplaint(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	limit, offset, err := complaint.Page(r.URL.Query(), complaint.MaxHistoryLimit, complaint.DefaultHistoryLimit)
	if err != nil {
		return 0, nil, err
	}
	h, err := a.Complaints.History(ctx, c.ID, limit, offset)
	if err != nil {
		return 0, nil, err
	}
	data := make([]historyEntry, 0, len(h))
	for _, e := range h {
		data = append(data, historyEntry{LogID: e.LogID, Operator: e.PublicOperator(), OperateTime: timeString(e.At),
			OperateType: e.OperateType, OperateDetails: e.Details, ImageList: []string{}})
	}
	return http.StatusOK, map[string]any{"data": data, "limit": limit, "offset": offset, "total_count": c.Entries}, nil
}

// respondComplaint answers POST …/{complaint_id}/response with 204.
func (a *API) respondComplaint(ctx context.Context, r *request) (int, any, error) {
	var in struct {
		ComplaintedMchID string   `json:"complainted_mchid"`
		ResponseContent  string   `json:"response_content"`
		ResponseImages   []string `json:"response_images"`
		JumpURL          string   `json:"jump_url"`
		JumpURLText      string   `json:"jump_url_text"`
	}
	if err := decode(r.Body, &in); err != nil {
		return 0, nil, err
	}
	if err := requireMchID(r.MchID, in.ComplaintedMchID, "complainted_mchid"); err != nil {
		return 0, nil, err
	}
	if len(in.ResponseImages) > 0 {
		return 0, nil, fenfu.FieldError("response_images", "fenfu keeps no complaint images; answer in response_content")
	}
	err := a.Complaints.Respond(ctx, r.MchID, r.PathValue("complaint_id"),
		complaint.Response{Content: in.ResponseContent, JumpURL: in.JumpURL, JumpURLText: in.JumpURLText})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// completeComplaint answers POST …/{complaint_id}/complete with 204.
func (a *API) completeComplaint(ctx context.Context, r *request) (int, any, error) {
	var in struct {
		ComplaintedMchID string `json:"complainted_mchid"`
	}
	if err := decode(r.Body, &in); err != nil {
		return 0, nil, err
	}
	if err := requireMchID(r.MchID, in.ComplaintedMchID, "complainted_mchid"); err != nil {
		return 0, nil, err
	}
	if err := a.Complaints.Complete(ctx, r.MchID, r.PathValue("complaint_id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

type complaintURL struct {
	MchID string `json:"mchid"`
	URL   string `json:"url"`
}

// setComplaintURL answers POST (create) and PUT (update)
// /v3/merchant-service/complaint-notifications.
func (a *API) setComplaintURL(create bool) handler {
	return func(ctx context.Context, r *request) (int, any, error) {
		var in struct {
			URL string `json:"url"`
		}
		if err := decode(r.Body, &in); err != nil {
			return 0, nil, err
		}
		if err := a.Complaints.SetNotifyURL(ctx, r.MchID, in.URL, create); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, complaintURL{MchID: r.MchID, URL: in.URL}, nil
	}
}

// getComplaintURL answers GET /v3/merchant-service/complaint-notifications.
func (a *API) getComplaintURL(ctx context.Context, r *request) (int, any, error) {
	u, err := a.Complaints.NotifyURL(ctx, r.MchID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, complaintURL{MchID: r.MchID, URL: u}, nil
}

// deleteComplaintURL answers DELETE /v3/merchant-service/complaint-notifications with 204.
func (a *API) deleteComplaintURL(ctx context.Context, r *request) (int, any, error) {
	if err := a.Complaints.DeleteNotifyURL(ctx, r.MchID); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// complaintNotice is the plaintext of a COMPLAINT.* notification.
type complaintNotice struct {
	ComplaintID string `json:"complaint_id"`
	ActionType  string `json:"action_type"`
}

// renderComplaint renders a complaint notification: the complaint and
// what happened to it; the merchant queries the complaint for the rest.
func (a *API) renderComplaint(ctx context.Context, d notify.Due) (notify.Event, error) {
	n, err := a.Complaints.NoticeOf(ctx, d.ID)
	if err != nil {
		return notify.Event{}, err
	}
	b, err := json.Marshal(complaintNotice{ComplaintID: n.ComplaintID, ActionType: n.ActionType})
	if err != nil {
		return notify.Event{}, err
	}
	summary := "投诉状态变化"
	if n.EventType() == "COMPLAINT.CREATE" {
		summary = "产生新投诉"
	}
	return notify.Event{EventType: n.EventType(), Summary: summary, OriginalType: "complaint", CreateTime: n.At, Plaintext: b}, nil
}
