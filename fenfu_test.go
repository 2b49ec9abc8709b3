package fenfu_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/fenfu/fenfu"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in     string
		places int
		want   int64
	}{
		{"12.34", 2, 1234}, {"12.3", 2, 1230}, {"12", 2, 1200}, {"0.05", 2, 5}, {"-0.27", 2, -27}, {"-3", 2, -300},
		{"0.38", 4, 3800}, {"0.0125", 4, 125}, {"100", 4, 1_000_000}, {"09.09", 2, 909},
	} {
		if got, err := fenfu.ParseDecimal(c.in, c.places); err != nil || got != c.want {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d", c.in, c.places, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "-", ".5", "1.234", "1e3", "+1", "1,5", "1.2.3", " 1", "1234567890123456", "--1"} {
		if _, err := fenfu.ParseYuan(bad); err == nil {
			t.Errorf("ParseYuan(%q) parsed", bad)
		}
	}
	for _, f := range []fenfu.Fen{0, 1, -1, 99, 100, 123456789, -27} {
		if got, err := fenfu.ParseYuan(fenfu.Yuan(f)); err != nil || got != f {
			t.Errorf("round trip of %d: %d %v", f, got, err)
		}
	}
}

// TestEveryCodeHasStatusMessageRemedy walks every Code constant declared
// in the root package: each is in the one table, with a status, a message
// and a remedy, so no surface falls back to 500 for a code it forgot.
func TestEveryCodeHasStatusMessageRemedy(t *testing.T) {
	af, err := parser.ParseFile(token.NewFileSet(), "fenfu.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[fenfu.Code]bool{}
	for _, d := range af.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				lit := v.(*ast.BasicLit)
				s, _ := strconv.Unquote(lit.Value)
				declared[fenfu.Code(s)] = true
			}
		}
	}
	if len(declared) < 19 {
		t.Fatalf("found only %d Code constants; the test no longer reads fenfu.go right", len(declared))
	}
	listed := map[fenfu.Code]bool{}
	for _, c := range fenfu.Codes() {
		listed[c] = true
	}
	for c := range declared {
		if !listed[c] {
			t.Errorf("%s is declared but not in the code table", c)
			continue
		}
		if s := c.HTTPStatus(); s < 400 || s > 599 {
			t.Errorf("%s: HTTP status %d", c, s)
		}
		if c.Message() == "" || c.Remedy() == "" {
			t.Errorf("%s: message %q, remedy %q", c, c.Message(), c.Remedy())
		}
	}
	for c := range listed {
		if !declared[c] {
			t.Errorf("the code table lists %s, which is not a declared constant", c)
		}
	}
	// The statuses WeChat Pay v3 answers with, which merchants' code reads.
	for c, want := range map[fenfu.Code]int{fenfu.ParamError: 400, fenfu.SignError: 401, fenfu.NotEnough: 403,
		fenfu.RuleLimit: 403, fenfu.OrderPaid: 400, fenfu.OrderNotExist: 404, fenfu.FrequencyLimited: 429,
		fenfu.SystemError: 500, fenfu.Code("NO_SUCH_CODE"): 500} {
		if got := c.HTTPStatus(); got != want {
			t.Errorf("%s: status %d, want %d", c, got, want)
		}
	}
	if e := fenfu.Errorf(fenfu.NotEnough, "short"); e.Remedy != fenfu.NotEnough.Remedy() {
		t.Errorf("Errorf's remedy %q", e.Remedy)
	}
}
