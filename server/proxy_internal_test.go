package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestForwardedProto: X-Forwarded-Proto reaches the handlers only from a
// trusted proxy; with no proxy trusted, never.
func TestForwardedProto(t *testing.T) {
	ps, err := ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		proxies Proxies
		peer    string
		want    string
	}{
		{"a trusted proxy", ps, "10.1.2.3:80", "https"},
		{"an untrusted peer", ps, "203.0.113.9:5000", ""},
		{"no proxy trusted", nil, "10.1.2.3:80", ""},
	} {
		var got string
		h := clientAddr(c.proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("X-Forwarded-Proto") }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		r.Header.Set("X-Forwarded-Proto", "https")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: X-Forwarded-Proto %q, want %q", c.name, got, c.want)
		}
	}
}
