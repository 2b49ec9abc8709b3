package notify_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/notify"
)

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

// TestReviewPublicRefusesZonedAddresses: an IPv6 address with a zone
// ("::1%lo") is the same address as without it, but netip.Prefix.Contains
// is false for any zoned address, so Public passes loopback, link-local
// and unique-local addresses once a zone is appended.
func TestReviewPublicRefusesZonedAddresses(t *testing.T) {
	lo := loopbackName(t)
	for _, a := range []string{"::1%" + lo, "fe80::1%" + lo, "fd00:ec2::254%" + lo, "::%" + lo} {
		if notify.Public(netip.MustParseAddr(a)) {
			t.Errorf("Public(%s) = true: a zone hides a non-public address", a)
		}
	}
}

// TestReviewDeliveryReachesZonedLoopback: the delivery client, which
// dials through PublicOnly, reaches a server on the node's own loopback
// when the notify_url names it as http://[::1%25lo]:port/.
func TestReviewDeliveryReachesZonedLoopback(t *testing.T) {
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
