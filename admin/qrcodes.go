package admin

import (
	"context"

	"github.com/fenfu/fenfu/qr"
)

// verifyCode answers GET /admin/qrcodes/verify?token=&mark=: an
// inspector's check of the mark under any merchant's code, the same check
// merchants make of their own. Wrong marks spend the member's budget.
func (a *API) verifyCode(_ context.Context, c *call) (any, error) {
	if a.Codes == nil {
		return nil, qr.NoChecker()
	}
	q := c.URL.Query()
	return a.Codes.Check("staff:"+c.Who.Name, q.Get("token"), q.Get("mark"), a.Clock.Now(), nil)
}
