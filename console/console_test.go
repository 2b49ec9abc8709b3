package console_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/console"
)

// TestWords: every word a template, the navigation or the code asks for
// has both languages.
func TestWords(t *testing.T) {
	check := func(where, key string) {
		t.Helper()
		if w, ok := console.Words[key]; !ok || w.ZH == "" || w.EN == "" {
			t.Errorf("%s: the word %q has no entry in both languages", where, key)
		}
	}
	key := regexp.MustCompile(`\{\{[^}]*\bt "([a-z0-9-]+)"`)
	n := 0
	err := filepath.WalkDir("templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			n++
			check(path, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("found %d words in the templates; the pattern is broken", n)
	}
	for _, it := range console.Sitemap() {
		check("navigation "+it[0], it[1])
	}
	files, _ := filepath.Glob("*.go")
	titled := regexp.MustCompile(`v\.Title(?:, v\.Active)?(?:, [a-z]+)? = "([a-z0-9-]+)"|"(done-[a-z0-9-]+)"|word\(v\.Lang, "([a-z0-9-]+)"\)`)
	n = 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range titled.FindAllStringSubmatch(string(b), -1) {
			n++
			check(f, m[1]+m[2]+m[3])
		}
	}
	if n < 20 {
		t.Errorf("found %d words in the code; the pattern is broken", n)
	}
}

// TestSafeNextStaysInTheConsole: a login's next page is a console page,
// or the home page, never a path that climbs out of /console/ with ".."
// (the login's redirect, as http.Redirect cleans the path, would send
// the member to /admin/me, /portal/… or /cashier/…).
func TestSafeNextStaysInTheConsole(t *testing.T) {
	for _, next := range []string{"/console/../admin/me", "/console/../portal/orders", "/console/x/../../cashier/"} {
		got := console.SafeNext(next)
		if where := path.Clean(strings.SplitN(got, "?", 2)[0]); !strings.HasPrefix(where+"/", "/console/") {
			t.Errorf("SafeNext(%q) = %q: the login sends the browser to %s, outside the console", next, got, where)
		}
	}
}
