package wxpay

import (
	"context"
	"net/http"

	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/ticket"
)

// The merchant's side of support tickets (package ticket), signed v3
// requests like the rest of the API: a merchant opens a ticket of a type,
// lists and reads its own with their histories, answers back, fetches an
// attachment, and reads the lanes' SLAs. Another merchant's ticket is
// RESOURCE_NOT_EXISTS to it; staff are the platform, never named.

func (a *API) registerTickets(mux route.Mux) {
	mux.Handle("POST /v3/fenfu/tickets", a.v3(a.openTicket))
	mux.Handle("GET /v3/fenfu/tickets", a.v3(a.listTickets))
	mux.Handle("GET /v3/fenfu/tickets/{id}", a.v3(a.getTicket))
	mux.Handle("POST /v3/fenfu/tickets/{id}/replies", a.v3(a.replyTicket))
	mux.Handle("GET /v3/fenfu/tickets/{id}/attachments/{attachment_id}", a.v3(a.ticketAttachment))
	mux.Handle("GET /v3/fenfu/ticket-lanes", a.v3(a.ticketLanes))
}

// openTicket answers POST /v3/fenfu/tickets (ticket.Form): the ticket
// with its due time.
func (a *API) openTicket(ctx context.Context, r *request) (int, any, error) {
	var f ticket.Form
	if err := decode(r.Body, &f); err != nil {
		return 0, nil, err
	}
	n, err := f.New()
	if err != nil {
		return 0, nil, err
	}
	t, err := a.Tickets.Open(ctx, ticket.Merchant(r.MchID), n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t, nil
}

// listTickets answers GET /v3/fenfu/tickets?type=&status=&order=&limit=&cursor=.
func (a *API) listTickets(ctx context.Context, r *request) (int, any, error) {
	f, err := ticket.FilterOf(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	p, err := a.Tickets.List(ctx, ticket.Merchant(r.MchID), f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// getTicket answers GET /v3/fenfu/tickets/{id}: the ticket with its
// history.
func (a *API) getTicket(ctx context.Context, r *request) (int, any, error) {
	t, err := a.Tickets.Get(ctx, ticket.Merchant(r.MchID), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t, nil
}

// replyTicket answers POST /v3/fenfu/tickets/{id}/replies
// (ticket.ReplyForm): the ticket as it stands after.
func (a *API) replyTicket(ctx context.Context, r *request) (int, any, error) {
	var f ticket.ReplyForm
	if err := decode(r.Body, &f); err != nil {
		return 0, nil, err
	}
	m, err := f.Message()
	if err != nil {
		return 0, nil, err
	}
	t, err := a.Tickets.Reply(ctx, ticket.Merchant(r.MchID), r.PathValue("id"), m)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t, nil
}

// ticketAttachment answers GET /v3/fenfu/tickets/{id}/attachments/{attachment_id}:
// the file, its content in base64.
func (a *API) ticketAttachment(ctx context.Context, r *request) (int, any, error) {
	att, err := a.Tickets.Attachment(ctx, ticket.Merchant(r.MchID), r.PathValue("id"), r.PathValue("attachment_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, att, nil
}

// ticketLanes answers GET /v3/fenfu/ticket-lanes: each type's SLA and
// advice.
func (a *API) ticketLanes(ctx context.Context, r *request) (int, any, error) {
	lanes, err := a.Tickets.Lanes(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"data": lanes}, nil
}
