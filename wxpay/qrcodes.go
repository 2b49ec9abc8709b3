package wxpay

import (
	"context"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/qr"
)

// verifyCode answers GET /v3/fenfu/qrcodes/verify?token=&mark=: whether
// the mark read under one of the merchant's codes is genuine now (this
// minute's or the last one's), with the minute it is of. A merchant
// verifies its own codes only: another merchant's is NO_AUTH before its
// mark is compared; platform inspectors verify any code on the staff
// API. Wrong marks spend the merchant's budget (--qr-verify-failures).
func (a *API) verifyCode(ctx context.Context, r *request) (int, any, error) {
	if a.Codes == nil {
		return 0, nil, qr.NoChecker()
	}
	q := r.URL.Query()
	v, err := a.Codes.Check("mch:"+r.MchID, q.Get("token"), q.Get("mark"), a.Services.Pay.Clock.Now(), func(c qr.Code) error {
		if c.MchID != r.MchID {
			e := fenfu.Errorf(fenfu.NoAuth, "this code is not one of merchant %s's: a merchant verifies its own codes' marks", r.MchID)
			e.Remedy = "If the code is displayed at your till, it was put there by someone else: take it down and report it. Platform inspectors verify any code."
			return e
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}
