package doctor

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/notify"
)

// TestReviewProbeReachesZonedLoopback: with public addresses only (no
// --notify-private), the probe of https://[::1%25lo]:port/ — a URL
// merchant.CheckNotifyURL and the doctor route accept — passes the DNS
// check and connects to the node's own loopback, and its answer tells
// the merchant what listens there.
func TestReviewProbeReachesZonedLoopback(t *testing.T) {
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

// TestReviewProbeReadsUnboundedAnswer: the probe reads the HEAD answer's
// status line and headers with http.ReadResponse, which bounds neither,
// for as long as ProbeTimeout: a notify URL that streams one endless
// header line makes fenfu read (and hold in memory) all it sends.
// Deliveries' http.Transport stops at MaxResponseHeaderBytes.
func TestReviewProbeReadsUnboundedAnswer(t *testing.T) {
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
	d.Probe(t.Context(), "http://"+ln.Addr().String()+"/", true, time.Now(), catalog.EN)
	if n := written.Load(); n >= most {
		t.Errorf("the probe read %d MiB of one answer's header and more was on offer; it must stop at a bound as deliveries do", n>>20)
	}
}
