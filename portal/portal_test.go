package portal

import (
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/pay"
)

// TestWords: every word a template or the code asks for, and every word
// a template builds from data (the navigation, roles, channels), has an
// entry in both languages.
func TestWords(t *testing.T) {
	keys := map[string]string{}
	tmpl := regexp.MustCompile(`\bt "([a-z0-9_-]+)"`)
	err := fs.WalkDir(templates, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templates.ReadFile(path)
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 50 {
		t.Fatalf("found %d words in the templates; the pattern is broken", len(keys))
	}
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\bword\([^,()]+, "([a-z0-9_-]+)"\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	for _, n := range navItems {
		keys[n.Key] = "the navigation"
	}
	for _, r := range merchantuser.Roles {
		keys["role-"+string(r)] = "the roles"
	}
	for _, c := range pay.Channels {
		keys[c.Name()] = "the channels"
	}
	for k, where := range keys {
		if w, ok := words[k]; !ok || w.ZH == "" || w.EN == "" {
			t.Errorf("%s: the word %q has no entry in both languages", where, k)
		}
	}
}

// TestRoutes: every route needs a permission merchantuser grants.
func TestRoutes(t *testing.T) {
	p := &Portal{}
	for _, r := range p.Routes() {
		if len(merchantuser.Holders(r.Permission)) == 0 {
			t.Errorf("%s needs %q, which no role holds", r.Pattern, r.Permission)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]bool{
		"/portal/":                      true,
		"/portal/orders?state=SUCCESS":  true,
		"/portal//evil.example/":        false,
		"//evil.example/portal/":        false,
		"https://evil.example/portal/":  false,
		"/portal/\\evil":                false,
		"/cashier/credit":               false,
		"/portal/../admin/me":           false,
		"/portal/orders\r\nSet-Cookie:": false,
		"":                              false,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %v, want %v", next, got, want)
		}
	}
}

// FuzzSafeNext: a login sends the browser on only to a page of the
// portal on this host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/portal/", "//x/portal/", "/portal/../admin", "/portal/%2f%2fx", "/portal/\t/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if !safeNext(next) {
			return
		}
		u, err := url.Parse(next)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(path.Clean(u.Path)+"/", "/portal/") || strings.HasPrefix(next, "//") {
			t.Fatalf("%q is accepted as a next page: %+v %v", next, u, err)
		}
		base, _ := url.Parse("https://fenfu.example/portal/login")
		if r := base.ResolveReference(u); r.Host != "fenfu.example" {
			t.Fatalf("%q leads to %s", next, r)
		}
	})
}
