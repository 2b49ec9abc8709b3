package notify_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2001:4860:4860::8888": true, "203.0.114.1": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "224.0.0.1": false, "255.255.255.255": false,
		"::1": false, "::": false, "fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
	} {
		if got := notify.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestPublicOnlyDialer: a client dialling through PublicOnly cannot reach
// a server on loopback, whatever name the URL uses.
func TestPublicOnlyDialer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, Control: notify.PublicOnly}).DialContext}}
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		_, err := c.Get(u)
		if err == nil || !strings.Contains(err.Error(), "private or reserved address") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// loopbackName is the name of the loopback interface, for an IPv6 zone.
func loopbackName(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

// TestPublicRefusesZonedAddresses: an IPv6 address with a zone ("::1%lo")
// is the same address as without it, and netip.Prefix.Contains is false
// for any zoned address: Public refuses loopback, link-local and
// unique-local addresses with a zone appended as it does without one.
func TestPublicRefusesZonedAddresses(t *testing.T) {
	lo := loopbackName(t)
	for _, a := range []string{"::1%" + lo, "fe80::1%" + lo, "fd00:ec2::254%" + lo, "::%" + lo} {
		if notify.Public(netip.MustParseAddr(a)) {
			t.Errorf("Public(%s) = true: a zone hides a non-public address", a)
		}
	}
}

// TestDeliveryRefusesZonedLoopback: the delivery client, which dials
// through PublicOnly, does not reach a server on the node's own loopback
// when the notify_url names it as http://[::1%25lo]:port/.
func TestDeliveryRefusesZonedLoopback(t *testing.T) {
	lo := loopbackName(t)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	reached := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case reached <- struct{}{}:
			default:
			}
			_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
	}()
	u := fmt.Sprintf("http://[::1%%25%s]:%d/notify", lo, ln.Addr().(*net.TCPAddr).Port)
	resp, err := notify.Client{}.HTTP().Post(u, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	select {
	case <-reached:
		t.Errorf("a delivery to %s reached the node's loopback (err %v); deliveries must reach public addresses only", u, err)
	default:
	}
}

// TestRefusalHidesTheAddress: a delivery PublicOnly refuses is logged
// with the reason but not the private address the notify_url's host
// resolved to: the notification log is the merchant's to read (the
// portal, fenfu doctor, the v3 route), and would map fenfu's own names
// to its inside addresses for whoever sets a notify_url.
func TestRefusalHidesTheAddress(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			e.url = strings.Replace(e.url, "127.0.0.1", "localhost", 1) // a name that resolves to loopback
			e.paid(t, "guard-0001")
			w := e.worker(e.core)
			w.HTTP = notify.Client{}.HTTP()
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			got, _, err := (&notify.Events{DB: e.core, Clock: e.clock}).Log(ctx, notify.LogFilter{MchID: e.m.MchID}, fenfu.Keyset{})
			if err != nil || len(got) != 1 {
				t.Fatalf("the log: %+v, %v", got, err)
			}
			msg := got[0].Error
			if !strings.Contains(msg, "resolves to a private or reserved address") || !strings.Contains(msg, e.url+"/notify") {
				t.Errorf("the refusal is logged as %q; it must give the notify_url and the reason", msg)
			}
			for _, inside := range []string{"127.0.0.1", "::1"} {
				if strings.Contains(msg, inside) {
					t.Errorf("the refusal logged for the merchant names %s: %q", inside, msg)
				}
			}
		})
	}
}
