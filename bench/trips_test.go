package bench

import (
	"math"
	"strings"
	"testing"
)

func TestPerPayment(t *testing.T) {
	read := func(s string) Trips {
		tr, err := parseTrips(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	before := read(`# HELP fenfu_db_roundtrips_total x
fenfu_db_roundtrips_total{store="core"} 100
fenfu_db_roundtrips_total{store="credit"} 50
fenfu_db_request_roundtrips_total{route="POST /q/{token}/pay",store="core"} 10
`)
	after := read(`fenfu_db_roundtrips_total{store="core"} 300
fenfu_db_roundtrips_total{store="credit"} 130
fenfu_db_request_roundtrips_total{route="POST /v3/pay/transactions/native",store="core"} 40
fenfu_db_request_roundtrips_total{route="POST /q/{token}/pay",store="core"} 90
fenfu_db_request_roundtrips_total{route="GET /v3/pay/transactions/out-trade-no/{out_trade_no}",store="core"} 40
fenfu_db_request_roundtrips_total{route="POST /q/{token}/pay",store="credit"} 80
fenfu_http_requests_total{route="POST /q/{token}/pay",status="OK"} 20
`)
	rt := PerPayment(before, after, 20)
	want := map[string]float64{"create": 2, "pay": 8, "query": 2, "other": 2}
	for c, w := range want {
		if math.Abs(rt.Calls[c]-w) > 1e-9 {
			t.Errorf("%s: %v per payment, want %v", c, rt.Calls[c], w)
		}
	}
	if rt.Total != 14 || rt.Store["core"]["total"] != 10 || rt.Store["core"]["other"] != 2 || rt.Store["credit"]["pay"] != 4 {
		t.Errorf("got %+v", rt)
	}
	if PerPayment(Trips{}, Trips{Store: map[string]float64{}}, 20) != nil {
		t.Error("a server without counters (SQLite) must give no round trips")
	}
}
