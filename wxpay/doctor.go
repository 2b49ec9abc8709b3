package wxpay

import (
	"context"
	"net/http"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/merchant"
)

// doctorReport answers GET /v3/fenfu/doctor?notify_url=&platform_serial=&lang=zh|en:
// fenfu doctor's checks of the merchant's integration. The request itself
// is the proof of the merchant's key and the measure of its clock; the
// platform key it holds is the one it names in platform_serial or, as the
// SDKs send it, Wechatpay-Serial; the notify URL probed is notify_url,
// else the merchant's registered one, else the one of its newest delivery.
func (a *API) doctorReport(ctx context.Context, r *request) (int, any, error) {
	if a.Doctor == nil {
		return 0, nil, fenfu.Errorf(fenfu.ResourceNotExists, "this server runs no doctor")
	}
	q := r.URL.Query()
	u := q.Get("notify_url")
	if u != "" {
		if err := merchant.CheckNotifyURL("notify_url", u); err != nil {
			return 0, nil, err
		}
	}
	serial := q.Get("platform_serial")
	if serial == "" {
		serial = r.Header.Get("Wechatpay-Serial")
	}
	if err := fenfu.Text("platform_serial", serial); err != nil || len(serial) > 64 {
		return 0, nil, fenfu.FieldError("platform_serial", "platform_serial must be a public key ID or certificate serial of at most 64 characters")
	}
	m, err := a.Merchants.Get(ctx, r.MchID)
	if err != nil {
		return 0, nil, err
	}
	rep, err := a.Doctor.Run(ctx, doctor.Subject{MchID: r.MchID, Sandbox: m.Env == "sandbox", NotifyURL: u, Registered: m.NotifyURL,
		SignedAt: time.Unix(r.Auth.Timestamp, 0), KeySerial: r.Auth.SerialNo, Scheme: r.Auth.Scheme, PlatformSerial: serial},
		doctor.Lang(q.Get("lang")))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}
