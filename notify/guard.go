package notify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// nonPublic are the address ranges a notification is never delivered to
// unless the server allows private targets: a notify_url is the merchant's
// input, and must not reach the platform's own network (SSRF).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this" network
	netip.MustParsePrefix("10.0.0.0/8"),     // private
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// Public reports whether an address is one notifications may reach. An
// IPv6 address with a zone ("fe80::1%eth0", "::1%lo") never is: the zone
// names one of the node's own interfaces, which no public address needs,
// and netip.Prefix.Contains is false for every zoned address, so the
// ranges below would not see it.
func Public(ip netip.Addr) bool {
	if ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return ip.IsValid()
}

// errNotPublic is PublicOnly's refusal. It names no address: the dial
// error it comes wrapped in does, and ForMerchant leaves that out.
var errNotPublic = errors.New("notify: notify_url resolves to a private or reserved address; fenfu delivers only to public addresses unless serve runs with --notify-private")

// PublicOnly is a net.Dialer Control function that refuses connections to
// non-public addresses. It sees the address after DNS resolution, so a
// host name that resolves (or later re-resolves) to an internal address is
// refused too.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("notify: dial %s: not an IP address", address)
	}
	if !Public(ip) {
		return errNotPublic
	}
	return nil
}

// ForMerchant is a delivery's or a probe's error as the merchant is told
// it, in the notification log (the portal, fenfu doctor, the v3 route)
// and in fenfu doctor's checks: a refusal of PublicOnly's without the
// address the notify_url's host resolved to, which would tell whoever
// sets a notify_url the inside address of a name only fenfu's network
// resolves. fenfu's own log keeps the whole error.
func ForMerchant(err error) string {
	if !errors.Is(err, errNotPublic) {
		return err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return (&url.Error{Op: ue.Op, URL: ue.URL, Err: errNotPublic}).Error()
	}
	return errNotPublic.Error()
}
