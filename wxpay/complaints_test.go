package wxpay_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/wxpay"
)

// FuzzComplaintQuery: whatever query a merchant sends the complaint list,
// ParseComplaintQuery either refuses it with PARAM_ERROR or returns a
// filter of the signer's own complaints over at most 31 days, with a page
// WeChat allows.
func FuzzComplaintQuery(f *testing.F) {
	for _, q := range []string{
		"limit=10&offset=0&begin_date=2026-11-01&end_date=2026-11-29&complainted_mchid=1900000001",
		"begin_date=2026-11-29&end_date=2026-11-29",
		"begin_date=2026-01-01&end_date=2026-02-01",
		"limit=0&begin_date=2026-11-29&end_date=2026-11-29",
		"limit=51&offset=-1",
		"begin_date=2026-02-30&end_date=2026-03-01",
		"offset=999999999999&begin_date=2026-11-29&end_date=2026-11-29",
		"complainted_mchid=1900000002&begin_date=2026-11-29&end_date=2026-11-29",
		"begin_date=%00&end_date=%ff",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := wxpay.ParseComplaintQuery(q, "1900000001")
		if err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("%q: %v, want PARAM_ERROR", raw, err)
			}
			return
		}
		if flt.MchID != "1900000001" || flt.Limit < 0 || flt.Limit > 50 || flt.Offset < 0 || flt.From.IsZero() ||
			!flt.To.After(flt.From) || flt.To.Sub(flt.From) > 32*24*time.Hour {
			t.Fatalf("%q gave %+v", raw, flt)
		}
	})
}
