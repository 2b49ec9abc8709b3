package doctor

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/notify"
)

// TestReviewProbesAsOftenAsAsked: a merchant's checks are only kept one
// at a time (Run's running map); nothing bounds how often they run, and
// the merchant API's rate limit is 5000 requests a second by default. A
// merchant that asks again as soon as it is answered makes fenfu open a
// connection to the host and port of its choosing each time: fifty
// requests in a row are fifty probes of a third party's host.
func TestReviewProbesAsOftenAsAsked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var probes atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			probes.Add(1)
			c.Close() // a closed door: the quickest answer
		}
	}()
	d := &Doctor{Client: notify.Client{Private: true}, Clock: fenfu.SystemClock{}, SkewFail: 5 * time.Minute}
	const asks = 50
	start := time.Now()
	for range asks {
		if _, err := d.Run(t.Context(), Subject{MchID: "1900000001", NotifyURL: "http://" + ln.Addr().String() + "/", Sandbox: true,
			SignedAt: time.Now()}, catalog.EN); err != nil && fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
			t.Fatal(err)
		}
	}
	if n := probes.Load(); n > 10 {
		t.Errorf("%d requests in %s made fenfu probe the merchant's chosen host %d times; a merchant's probes must be rate-limited",
			asks, time.Since(start).Round(time.Millisecond), n)
	}
}

// TestReviewProbeTellsInsideAddresses: the dns check answers the merchant
// with the addresses fenfu's own resolver gives a name, the private ones
// too: a name only fenfu's network resolves (its split-horizon DNS, a
// cloud's metadata.google.internal) is mapped to its inside address for
// whoever asks, though fenfu refuses to connect to it.
func TestReviewProbeTellsInsideAddresses(t *testing.T) {
	d := &Doctor{Client: notify.Client{}, Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("10.20.30.40")}, nil
	}}
	for _, c := range d.Probe(t.Context(), "https://postgres.core.svc.cluster.local/", false, time.Now(), catalog.EN) {
		if c.Name == CheckDNS && strings.Contains(c.Detail, "10.20.30.40") {
			t.Errorf("the dns check tells the merchant an inside address: %q", c.Detail)
		}
	}
}
