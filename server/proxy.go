package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/fenfu/fenfu"
)

// Networks are address prefixes: whom a setting names by address.
type Networks []netip.Prefix

// ParseNetworks reads a comma-separated list of addresses and prefixes
// (10.0.0.0/8, 192.0.2.7, ::1); an address is the prefix of itself alone.
func ParseNetworks(s string) (Networks, error) {
	var ns Networks
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, &net.ParseError{Type: "IP address or prefix", Text: f}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		ns = append(ns, p.Masked())
	}
	return ns, nil
}

func (ns Networks) String() string {
	s := make([]string, len(ns))
	for i, p := range ns {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Contains reports whether a is in one of the networks.
func (ns Networks) Contains(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range ns {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admits reports whether the client of a request that clientAddr has
// resolved (its RemoteAddr: the peer's host:port, or the address a
// trusted proxy named) is in one of the networks.
func (ns Networks) admits(r *http.Request) bool {
	a, ok := fenfu.AddrOf(r.RemoteAddr)
	return ok && ns.Contains(a)
}

// Proxies are the reverse proxies (load balancers, TLS terminators) fenfu
// sits behind, as address prefixes. A request whose peer is one of them
// comes from the address the proxies recorded in X-Forwarded-For; any
// other request comes from its peer, whatever headers it carries.
type Proxies Networks

// ParseProxies reads a comma-separated list of addresses and prefixes
// (10.0.0.0/8, 192.0.2.7, ::1); an empty list trusts no proxy.
func ParseProxies(s string) (Proxies, error) {
	ns, err := ParseNetworks(s)
	return Proxies(ns), err
}

func (ps Proxies) String() string { return Networks(ps).String() }

func (ps Proxies) trusts(a netip.Addr) bool { return Networks(ps).Contains(a) }

// maxForwarded bounds how many X-Forwarded-For entries are read: a chain
// of proxies longer than this is not one fenfu is deployed behind.
const maxForwarded = 16

// Client returns the address a request came from: its peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one. Entries are read from the right, since each proxy appends the
// address it was reached from and only the trusted ones' entries can be
// believed; a malformed entry ends the walk at the last address known
// good.
func (ps Proxies) Client(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || len(ps) == 0 || !ps.trusts(peer.Addr()) {
		return r.RemoteAddr
	}
	client := peer.Addr()
	hops := r.Header.Values("X-Forwarded-For")
	n := 0
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			if n++; n > maxForwarded {
				return client.String()
			}
			a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				return client.String()
			}
			client = a.Unmap().WithZone("")
			if !ps.trusts(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

// clientAddr sets each request's RemoteAddr to its client's address, so
// every per-source limit and log line downstream names the consumer or
// merchant rather than the proxy in front of them. X-Forwarded-Proto (the
// scheme the client used, which makes the cashier's cookies Secure) is
// kept only on a request from a trusted proxy; anyone else's is removed.
func clientAddr(ps Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trusted := false
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && len(ps) > 0 {
			trusted = ps.trusts(peer.Addr())
		}
		c := ps.Client(r)
		if c != r.RemoteAddr || (!trusted && r.Header.Get("X-Forwarded-Proto") != "") {
			r2 := *r
			r2.RemoteAddr = c
			if !trusted {
				r2.Header = r.Header.Clone()
				r2.Header.Del("X-Forwarded-Proto")
			}
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}
