package wxpay

import (
	"context"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/onboard"
)

// Merchant side of onboarding (fenfu extensions over signed v3 requests):
//
//	POST /v3/fenfu/applications               create a draft application
//	POST /v3/fenfu/applications/{id}/submit   submit it; the automatic checks run
//	GET  /v3/fenfu/applications/{id}          its state, checks with reasons, and history

func (a *API) createApplication(ctx context.Context, r *request) (int, any, error) {
	if a.Onboard == nil {
		return 0, nil, fenfu.Errorf(fenfu.NoAuth, "onboarding is not enabled on this server")
	}
	var app onboard.Application
	if err := decode(r.Body, &app); err != nil {
		return 0, nil, err
	}
	rec, err := a.Onboard.Create(ctx, r.MchID, app)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

func (a *API) ownApplication(ctx context.Context, r *request) (onboard.Record, error) {
	if a.Onboard == nil {
		return onboard.Record{}, fenfu.Errorf(fenfu.NoAuth, "onboarding is not enabled on this server")
	}
	rec, err := a.Onboard.Get(ctx, r.PathValue("id"))
	if err != nil {
		return rec, err
	}
	if rec.MchID != r.MchID {
		return onboard.Record{}, fenfu.Errorf(fenfu.ResourceNotExists, "application %s does not exist", r.PathValue("id"))
	}
	return rec, nil
}

func (a *API) submitApplication(ctx context.Context, r *request) (int, any, error) {
	if _, err := a.ownApplication(ctx, r); err != nil {
		return 0, nil, err
	}
	rec, err := a.Onboard.Submit(ctx, r.PathValue("id"), "merchant:"+r.MchID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

func (a *API) getApplication(ctx context.Context, r *request) (int, any, error) {
	rec, err := a.ownApplication(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}
