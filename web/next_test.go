package web_test

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/web"
)

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		next, section string
		want          bool
	}{
		{"/portal/", "/portal/", true},
		{"/portal/orders?state=SUCCESS", "/portal/", true},
		{"/console/tickets?status=OPEN&mchid=1900000001", "/console/", true},
		{"/console/", "/console/", true},
		{"/q/Q1abc?lang=en", "/q/", true},
		{"/portal//evil.example/", "/portal/", false},
		{"//evil.example/portal/", "/portal/", false},
		{"https://evil.example/portal/", "/portal/", false},
		{"/portal/\\evil", "/portal/", false},
		{"/console/\\\\evil.example", "/console/", false},
		{"/cashier/credit", "/portal/", false},
		{"/portal/../admin/me", "/portal/", false},
		{"/console/../admin/me", "/console/", false},
		{"/console/../portal/orders", "/console/", false},
		{"/console/x/../../cashier/", "/console/", false},
		{"/console/./tickets", "/console/", false},
		{"/console/..", "/console/", false},
		{"/console/%2e%2e/admin/me", "/console/", false},
		{"/console/.%2E/admin/me", "/console/", false},
		{"/console/%2E./admin/me", "/console/", false},
		{"/console/%2fevil.example", "/console/", false},
		{"/console/%2F%2Fevil.example", "/console/", false},
		{"/console/%5cevil.example", "/console/", false},
		{"/console/%252e%252e/admin/me", "/console/", false},
		{"/console/%0d%0aSet-Cookie:x", "/console/", false},
		{"/q/../admin/me", "/q/", false},
		{"/portal/orders\r\nSet-Cookie:", "/portal/", false},
		{"/portal/\t/x", "/portal/", false},
		{"/portal/" + strings.Repeat("a", 2048), "/portal/", false},
		{"", "/portal/", false},
	} {
		if got := web.Within(c.next, c.section); got != c.want {
			t.Errorf("Within(%q, %q) = %v, want %v", c.next, c.section, got, c.want)
		}
	}
}

// FuzzWithin: a login sends the browser on only to a page of its
// section on this host, however the browser reads the address.
func FuzzWithin(f *testing.F) {
	for _, s := range []string{"/portal/", "//x/portal/", "/portal/../admin", "/portal/%2f%2fx", "/portal/\t/x", "/portal/%2e%2e/admin",
		"/portal/.%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if !web.Within(next, "/portal/") {
			return
		}
		u, err := url.Parse(next)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(next, "//") {
			t.Fatalf("%q is accepted as a next page: %+v %v", next, u, err)
		}
		if p := path.Clean(u.Path); !strings.HasPrefix(p+"/", "/portal/") {
			t.Fatalf("%q leads to %s", next, p)
		}
		if raw := strings.ToLower(u.EscapedPath()); strings.Contains(raw, "%2e") || strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
			t.Fatalf("%q is accepted with an encoded dot or slash", next)
		}
		base, _ := url.Parse("https://fenfu.example/portal/login")
		if r := base.ResolveReference(u); r.Host != "fenfu.example" || !strings.HasPrefix(path.Clean(r.Path)+"/", "/portal/") {
			t.Fatalf("%q leads to %s", next, r)
		}
	})
}
