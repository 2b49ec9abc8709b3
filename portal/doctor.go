package portal

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/web"
)

// The integration check: fenfu doctor's probes of the merchant's notify
// URL (DNS, HTTPS, the certificate's chain and expiry), the platform key
// its code holds if named, and its notifications of the last day, run by
// the same Doctor as GET /v3/fenfu/doctor. A user's click is not a signed
// request, so the merchant's clock and key are left to fenfu doctor run
// from its server, as the report says.

// doctorView is the check's form, as sent, and its report once run.
type doctorView struct {
	NotifyURL, PlatformSerial string
	Registered                string
	Report                    *doctor.Report
}

func (p *Portal) doctorForm(ctx context.Context, c *call) error {
	m, err := p.Merchants.Get(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	return c.page("doctor", "doctor", doctorView{Registered: m.NotifyURL}, "")
}

// runDoctor runs the checks the form asks for and shows the report.
func (p *Portal) runDoctor(ctx context.Context, c *call) error {
	m, err := p.Merchants.Get(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	v := doctorView{NotifyURL: c.r.PostFormValue("notify_url"), PlatformSerial: c.r.PostFormValue("platform_serial"), Registered: m.NotifyURL}
	if v.NotifyURL != "" {
		if err := merchant.CheckNotifyURL("notify_url", v.NotifyURL); err != nil {
			return err
		}
	}
	if err := fenfu.Text("platform_serial", v.PlatformSerial); err != nil || len(v.PlatformSerial) > 64 {
		return fenfu.FieldError("platform_serial", "platform_serial must be a public key ID or certificate serial of at most 64 characters")
	}
	rep, err := p.Doctor.Run(ctx, doctor.Subject{MchID: m.MchID, Sandbox: m.Env == "sandbox", NotifyURL: v.NotifyURL, Registered: m.NotifyURL,
		PlatformSerial: v.PlatformSerial, Unsigned: true}, web.LangOf(c.r))
	if err != nil {
		return err
	}
	v.Report = &rep
	return c.page("doctor", "doctor", v, "")
}
