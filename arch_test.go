package fenfu_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// packages returns each package directory of the module with its parsed
// non-test files.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestPackageDocs: every package says what it owns in a doc comment.
func TestPackageDocs(t *testing.T) {
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil {
				want := "Package " + af.Name.Name + " "
				if af.Name.Name == "main" {
					want = "Command "
				}
				if !strings.HasPrefix(af.Doc.Text(), want) {
					t.Errorf("%s: doc comment should start %q", f, want)
				}
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no doc comment", dir)
		}
	}
}

// TestVocabularyHasNoIO: the root package is shared vocabulary only, the
// fee schedule is pure, and the protocol adapters never reach the
// database directly.
func TestVocabularyHasNoIO(t *testing.T) {
	forbidden := map[string][]string{
		".":       {"database/sql", "net/http", "os", "github.com/fenfu/fenfu/db"},
		"qr":      {"database/sql", "net/http", "github.com/fenfu/fenfu/db"},
		"fee":     {"database/sql", "net/http", "os", "github.com/fenfu/fenfu/db"},
		"wxpay":   {"database/sql", "github.com/fenfu/fenfu/db"},
		"cashier": {"database/sql", "github.com/fenfu/fenfu/db"},
	}
	pkgs := packages(t)
	for dir, bad := range forbidden {
		for _, f := range pkgs[dir] {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range bad {
					if p == b {
						t.Errorf("%s imports %s", f, p)
					}
				}
			}
		}
	}
}
