package aggregate_test

import (
	"net/http"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/db"
)

// TestCodeRefusesANotifyURLNoDeliveryReaches: a code keeps its
// notify_url for every order it makes, so one that no notification can
// ever be sent to (no host, a line break or a tab in it) is refused when
// the code is created, not found out at each payment.
func TestCodeRefusesANotifyURLNoDeliveryReaches(t *testing.T) {
	w := newWorld(t, db.SQLite)
	for _, u := range []string{"https://", "http://", "https:///notify", "https://shop.example/n\n", "https://shop.example/\tn", "https://shop.example\r\n/n"} {
		if req, err := http.NewRequest(http.MethodPost, u, nil); err == nil && req.URL.Host != "" {
			t.Fatalf("%q: net/http can send to it (host %q); not a URL no delivery reaches", u, req.URL.Host)
		}
		c, err := w.svc.Create(t.Context(), aggregate.NewCode{MchID: w.shop.MchID, Label: "Till 3", NotifyURL: u})
		if e := fenfu.AsError(err); err == nil || e.Code != fenfu.ParamError || e.Field != "notify_url" {
			t.Errorf("notify_url %q: Create = %+v, %v; want PARAM_ERROR on notify_url", u, c.NotifyURL, err)
		}
	}
}
