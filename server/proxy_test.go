package server_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/fenfu/fenfu/server"
)

func TestProxiesClient(t *testing.T) {
	ps, err := server.ParseProxies("10.0.0.0/8, 192.0.2.7,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy: the peer", "203.0.113.9:5000", nil, "203.0.113.9:5000"},
		{"an untrusted peer's header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9:5000"},
		{"one proxy", "192.0.2.7:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client cannot spoof past the proxies", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"entries over several headers", "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.2", "10.0.0.1"}, "198.51.100.2"},
		{"a garbled entry ends at the last good address", "10.1.2.3:80", []string{"198.51.100.1, garbage, 10.0.0.2"}, "10.0.0.2"},
		{"all trusted: the leftmost", "10.1.2.3:80", []string{"10.0.0.5"}, "10.0.0.5"},
		{"a trusted proxy without the header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"IPv6 loopback proxy", "[::1]:9000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped", "10.1.2.3:80", []string{"::ffff:198.51.100.4"}, "198.51.100.4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, h := range c.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := ps.Client(r); got != c.want {
				t.Errorf("Client = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	ps, err := server.ParseProxies(" 10.1.2.3/8 ,,::ffff:192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.String(); got != "10.0.0.0/8,192.0.2.1/32" {
		t.Errorf("String = %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1:80"} {
		if _, err := server.ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
	if ps, err := server.ParseProxies(""); err != nil || len(ps) != 0 {
		t.Errorf("empty: %v %v", ps, err)
	}
}

// FuzzProxiesClient: whatever X-Forwarded-For says, the client is the
// peer or an address the header named.
func FuzzProxiesClient(f *testing.F) {
	f.Add("198.51.100.1, 10.0.0.2")
	f.Add("garbage,,, ::1%eth0, 2001:db8::1")
	ps, _ := server.ParseProxies("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", xff)
		got := ps.Client(r)
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("Client = %q, not an address", got)
		}
	})
}
