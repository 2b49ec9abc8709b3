package notify

import (
	"fmt"
	"net"
	"net/netip"
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
		return fmt.Errorf("notify: notify_url resolves to %s, a private or reserved address; fenfu delivers only to public addresses unless serve runs with --notify-private", ip)
	}
	return nil
}
