package doctor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/notify"
)

// TestProbeRefusesZonedLoopback: with public addresses only (no
// --notify-private), the probe of https://[::1%25lo]:port/ fails the DNS
// check and never connects to the node's own loopback: a zone does not
// make an address public, and the probe's answer would tell the merchant
// what listens there.
func TestProbeRefusesZonedLoopback(t *testing.T) {
	var lo string
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			lo = i.Name
		}
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if lo == "" || err != nil {
		t.Skip("no IPv6 loopback")
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	d := &Doctor{Client: notify.Client{}}
	u := fmt.Sprintf("https://[::1%%25%s]:%d/", lo, ln.Addr().(*net.TCPAddr).Port)
	checks := d.Probe(t.Context(), u, false, time.Now(), catalog.EN)
	if accepted.Load() > 0 {
		t.Errorf("the probe of %s connected to the node's loopback; it must refuse it as NOTIFY_PRIVATE_ADDRESS", u)
	}
	for _, c := range checks {
		if c.Name == CheckDNS && c.Verdict == Pass {
			t.Errorf("dns check passed a loopback address: %s", c.Detail)
		}
		if c.Name == CheckHTTPS {
			t.Logf("https check told the merchant: %s", c.Detail)
		}
	}
}

// TestProbeBoundsAnswerHeader: the probe stops reading a HEAD answer's
// status line and headers at a bound, as deliveries do: a notify URL
// that streams one endless header line does not make fenfu read (and
// hold in memory) all it sends for as long as ProbeTimeout.
func TestProbeBoundsAnswerHeader(t *testing.T) {
	const most = 32 << 20 // far past any header a delivery accepts
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var written atomic.Int64
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		_, _ = c.Read(buf) // the HEAD request
		if n, err := c.Write([]byte("HTTP/1.1 200 OK\r\nX-Pad: ")); err == nil {
			written.Add(int64(n))
		}
		chunk := []byte(strings.Repeat("a", 64<<10))
		for written.Load() < most {
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	d := &Doctor{Client: notify.Client{Private: true}}
	checks := d.Probe(t.Context(), "http://"+ln.Addr().String()+"/", true, time.Now(), catalog.EN)
	if n := written.Load(); n >= most {
		t.Errorf("the probe read %d MiB of one answer's header and more was on offer; it must stop at a bound as deliveries do", n>>20)
	}
	https := slices.IndexFunc(checks, func(c Check) bool { return c.Name == CheckHTTPS })
	if https < 0 {
		t.Fatalf("no https check in %+v", checks)
	}
	if c := checks[https]; c.Verdict != Fail || c.Code != fenfu.NotifyHeaderTooLarge || !strings.Contains(c.Detail, "64 KiB") || c.Remedy == "" {
		t.Errorf("the https check: %+v; it must fail as NOTIFY_HEADER_TOO_LARGE, naming the bound", c)
	}
}

// TestProbesRateLimited: a merchant that asks again as soon as it is
// answered does not make fenfu open a connection to the host and port of
// its choosing each time: the merchant API's own rate limit is 5000
// requests a second by default, and fifty requests in a row must not be
// fifty probes of a third party's host.
func TestProbesRateLimited(t *testing.T) {
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

// TestProbeHidesInsideAddresses: the dns check does not tell the
// merchant the private addresses fenfu's own resolver gives a name: a
// name only fenfu's network resolves (its split-horizon DNS, a cloud's
// metadata.google.internal) would be mapped to its inside address for
// whoever asks, though fenfu refuses to connect to it.
func TestProbeHidesInsideAddresses(t *testing.T) {
	d := &Doctor{Client: notify.Client{}, Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("10.20.30.40")}, nil
	}}
	for _, c := range d.Probe(t.Context(), "https://postgres.core.svc.cluster.local/", false, time.Now(), catalog.EN) {
		if c.Name == CheckDNS && strings.Contains(c.Detail, "10.20.30.40") {
			t.Errorf("the dns check tells the merchant an inside address: %q", c.Detail)
		}
	}
	// A name that resolved to a public address for the dns check and to
	// a private one when dialled (its DNS rebinding) is refused by the
	// dialer, whose refusal the https check tells without the address.
	d.Resolve = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
	}
	checks := d.Probe(t.Context(), "http://localhost:1/", true, time.Now(), catalog.EN)
	https := slices.IndexFunc(checks, func(c Check) bool { return c.Name == CheckHTTPS })
	if https < 0 {
		t.Fatalf("no https check in %+v", checks)
	}
	if c := checks[https]; c.Verdict != Fail || !strings.Contains(c.Detail, "private or reserved address") ||
		strings.Contains(c.Detail, "127.0.0.1") || strings.Contains(c.Detail, "::1") {
		t.Errorf("the https check of a name dialled at loopback: %+v; it must tell the refusal without the address", c)
	}
}

// TestRunsPerMinute: a merchant's checks run DefaultPerMinute times at
// once, then once every 60/DefaultPerMinute seconds; a run past that is
// refused as FREQUENCY_LIMITED with a remedy saying when to try again.
// Another merchant's runs are its own, and PerMinute sets the budget.
func TestRunsPerMinute(t *testing.T) {
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	d := &Doctor{Clock: clock, SkewFail: 5 * time.Minute}
	run := func(mchid string) error {
		_, err := d.Run(t.Context(), Subject{MchID: mchid, SignedAt: clock.Now()}, catalog.EN)
		return err
	}
	for i := range DefaultPerMinute {
		if err := run("1900000001"); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	err := run("1900000001")
	if e := fenfu.AsError(err); err == nil || e.Code != fenfu.FrequencyLimited || !strings.Contains(e.Remedy, "Wait 20 seconds") ||
		!strings.Contains(e.Message, "again in 20 s") {
		t.Errorf("a run past the burst: %v (remedy %q); want FREQUENCY_LIMITED saying to wait 20 seconds", err, e.Remedy)
	}
	if err := run("1900000002"); err != nil {
		t.Errorf("another merchant's run: %v", err)
	}
	clock.Advance(15 * time.Second)
	if e := fenfu.AsError(run("1900000001")); e == nil || !strings.Contains(e.Remedy, "Wait 5 seconds") {
		t.Errorf("15 s on: %v, want a refusal saying to wait 5 seconds", e)
	}
	clock.Advance(5 * time.Second)
	if err := run("1900000001"); err != nil {
		t.Errorf("20 s after the burst: %v", err)
	}
	many := &Doctor{Clock: clock, SkewFail: 5 * time.Minute, PerMinute: 50}
	for i := range 50 {
		if _, err := many.Run(t.Context(), Subject{MchID: "1900000001", SignedAt: clock.Now()}, catalog.EN); err != nil {
			t.Fatalf("with PerMinute 50, run %d: %v", i, err)
		}
	}
}
