package console_test

import (
	"io/fs"
	"os"
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
