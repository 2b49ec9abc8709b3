package wxpay

import (
	"bytes"
	"context"
	"net/http"

	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/route"
)

// Aggregate codes (聚合码), fenfu's own routes beside WeChat Pay's:
//
//	POST /v3/fenfu/aggregate-codes                     create a code {label, description?, notify_url?}
//	GET  /v3/fenfu/aggregate-codes                     list the merchant's codes (limit, offset)
//	GET  /v3/fenfu/aggregate-codes/{code_id}           one code
//	POST /v3/fenfu/aggregate-codes/{code_id}/revoke    stop it for good
//	GET  /v3/fenfu/aggregate-codes/{code_id}/orders    the orders made from it (limit, offset)
func (a *API) registerAggregate(mux route.Mux) {
	mux.Handle("POST /v3/fenfu/aggregate-codes", a.v3(a.createAggregateCode))
	mux.Handle("GET /v3/fenfu/aggregate-codes", a.v3(a.listAggregateCodes))
	mux.Handle("GET /v3/fenfu/aggregate-codes/{code_id}", a.v3(a.getAggregateCode))
	mux.Handle("POST /v3/fenfu/aggregate-codes/{code_id}/revoke", a.v3(a.revokeAggregateCode))
	mux.Handle("GET /v3/fenfu/aggregate-codes/{code_id}/orders", a.v3(a.aggregateCodeOrders))
}

// AggregateCode is a code as the API answers it.
type AggregateCode struct {
	aggregate.Code
	CodeURL    string `json:"code_url"`
	CreateTime string `json:"create_time"`
	RevokeTime string `json:"revoke_time,omitempty"`
}

// AggregateCodeURL is the URL an aggregate code's QR carries.
func (a *API) AggregateCodeURL(token string) string { return a.PublicURL() + "/a/" + token }

func (a *API) aggregateCode(c aggregate.Code) AggregateCode {
	return AggregateCodeObject(c, a.AggregateCodeURL(c.Token))
}

// AggregateCodeObject is c as the API answers it, with the URL its QR
// carries.
func AggregateCodeObject(c aggregate.Code, codeURL string) AggregateCode {
	out := AggregateCode{Code: c, CodeURL: codeURL, CreateTime: timeString(c.CreatedAt)}
	if !c.RevokedAt.IsZero() {
		out.RevokeTime = timeString(c.RevokedAt)
	}
	return out
}

func (a *API) createAggregateCode(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		Label       string `json:"label"`
		Description string `json:"description"`
		NotifyURL   string `json:"notify_url"`
	}
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	c, err := a.Aggregate.Create(ctx, aggregate.NewCode{MchID: r.MchID, Label: req.Label, Description: req.Description, NotifyURL: req.NotifyURL})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.aggregateCode(c), nil
}

func (a *API) listAggregateCodes(ctx context.Context, r *request) (int, any, error) {
	limit, offset, err := complaint.Page(r.URL.Query(), aggregate.MaxLimit, aggregate.DefaultLimit)
	if err != nil {
		return 0, nil, err
	}
	list, total, err := a.Aggregate.List(ctx, r.MchID, limit, offset)
	if err != nil {
		return 0, nil, err
	}
	data := make([]AggregateCode, len(list))
	for i, c := range list {
		data[i] = a.aggregateCode(c)
	}
	return http.StatusOK, map[string]any{"data": data, "limit": limit, "offset": offset, "total_count": total}, nil
}

func (a *API) getAggregateCode(ctx context.Context, r *request) (int, any, error) {
	c, err := a.Aggregate.Get(ctx, r.MchID, r.PathValue("code_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.aggregateCode(c), nil
}

func (a *API) revokeAggregateCode(ctx context.Context, r *request) (int, any, error) {
	if len(bytes.TrimSpace(r.Body)) > 0 { // an empty body or {} both do
		var req struct{}
		if err := decode(r.Body, &req); err != nil {
			return 0, nil, err
		}
	}
	c, err := a.Aggregate.Revoke(ctx, r.MchID, r.PathValue("code_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.aggregateCode(c), nil
}

// aggregateCodeOrders answers the orders made from a code, newest first,
// each as the query API's transaction object.
func (a *API) aggregateCodeOrders(ctx context.Context, r *request) (int, any, error) {
	limit, offset, err := complaint.Page(r.URL.Query(), aggregate.MaxLimit, aggregate.DefaultLimit)
	if err != nil {
		return 0, nil, err
	}
	list, total, err := a.Aggregate.Orders(ctx, r.MchID, r.PathValue("code_id"), limit, offset)
	if err != nil {
		return 0, nil, err
	}
	data := make([]Transaction, len(list))
	for i, o := range list {
		data[i] = a.TransactionOf(o)
	}
	return http.StatusOK, map[string]any{"data": data, "limit": limit, "offset": offset, "total_count": total}, nil
}
