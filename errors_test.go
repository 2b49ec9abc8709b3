package fenfu_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/fenfu/fenfu"
)

// answer is a code the source answers with, and where.
type answer struct {
	code, at string
}

// codeSource is the parsed source of the module's packages, by package
// directory ("." the root).
type codeSource map[string][]srcFile

// srcFile is a parsed file and its name.
type srcFile struct {
	name string
	*ast.File
}

const module = "github.com/fenfu/fenfu"

var (
	// jsonCodeRE finds a code in an error body written by hand, as the
	// panic handler's {"code":"SYSTEM_ERROR",…}.
	jsonCodeRE = regexp.MustCompile(`"code"\s*:\s*"([A-Za-z0-9_]+)"`)
	// returnMsgRE finds the code at the head of a v2 return_msg,
	// "XML_FORMAT_ERROR: …".
	returnMsgRE = regexp.MustCompile(`^([A-Z0-9][A-Z0-9_]+): `)
)

// v2CodeKeys are the v2 answer's fields that carry a code: err_code, and
// downloadbill's error_code.
var v2CodeKeys = []string{"err_code", "error_code"}

// answers finds every code the source can answer with: each constant of
// type fenfu.Code, each string converted to a fenfu.Code, each string
// literal passed where a fenfu.Code is taken (a parameter of any function
// or method, a field of a struct, a function's result), each code in a
// JSON error body written as a literal, and each API v2 code: the string
// literals put in err_code and error_code, and the code at the head of a
// literal return_msg. Only the string literals that become codes are
// read, so it finds no code that is not one.
func answers(src codeSource) []answer {
	// Where the module's packages take a Code: the parameters of
	// functions ("dir.Name") and methods ("*.Name"), the fields of
	// structs ("dir.Type"), by position or name.
	params := map[string][]int{}
	fields := map[string][]string{}
	isCode := func(e ast.Expr, f srcFile, dir string) bool {
		switch x := e.(type) {
		case *ast.Ident:
			return dir == "." && x.Name == "Code"
		case *ast.SelectorExpr:
			id, ok := x.X.(*ast.Ident)
			return ok && x.Sel.Name == "Code" && importOf(f, id.Name) == module
		}
		return false
	}
	for dir, files := range src {
		for _, f := range files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					key := dir + "." + d.Name.Name
					if d.Recv != nil {
						key = "*." + d.Name.Name
					}
					i := 0
					for _, p := range d.Type.Params.List {
						n := max(len(p.Names), 1)
						if isCode(p.Type, f, dir) {
							for j := range n {
								params[key] = append(params[key], i+j)
							}
						}
						i += n
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						ts, ok := s.(*ast.TypeSpec)
						if !ok {
							continue
						}
						st, ok := ts.Type.(*ast.StructType)
						if !ok {
							continue
						}
						for _, fl := range st.Fields.List {
							if isCode(fl.Type, f, dir) {
								for _, n := range fl.Names {
									fields[dir+"."+ts.Name.Name] = append(fields[dir+"."+ts.Name.Name], n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	var out []answer
	for dir, files := range src {
		for _, f := range files {
			name := f.name
			add := func(e ast.Expr, how string) {
				if s, ok := literal(e); ok && s != "" { // "" is no code: ErrorCode's for nil
					out = append(out, answer{s, name + ": " + how})
				}
			}
			// pkgDir is the directory of the module's package a file
			// imports as id, or "" if id names none.
			pkgDir := func(id string) string {
				p := importOf(f, id)
				if p == module {
					return "."
				}
				if r, ok := strings.CutPrefix(p, module+"/"); ok {
					return r
				}
				return ""
			}
			ast.Inspect(f.File, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GenDecl:
					for _, s := range n.Specs {
						if vs, ok := s.(*ast.ValueSpec); ok && n.Tok == token.CONST && vs.Type != nil && isCode(vs.Type, f, dir) {
							for _, v := range vs.Values {
								add(v, "constant")
							}
						}
					}
				case *ast.FuncDecl:
					if n.Type.Results == nil || n.Body == nil {
						return true
					}
					var at []int
					i := 0
					for _, r := range n.Type.Results.List {
						k := max(len(r.Names), 1)
						if isCode(r.Type, f, dir) {
							for j := range k {
								at = append(at, i+j)
							}
						}
						i += k
					}
					if len(at) > 0 {
						ast.Inspect(n.Body, func(m ast.Node) bool {
							if _, ok := m.(*ast.FuncLit); ok {
								return false
							}
							if r, ok := m.(*ast.ReturnStmt); ok && len(r.Results) == i {
								for _, j := range at {
									add(r.Results[j], "result of "+n.Name.Name)
								}
							}
							return true
						})
					}
				case *ast.CallExpr:
					if isCode(n.Fun, f, dir) && len(n.Args) == 1 {
						add(n.Args[0], "conversion")
						return true
					}
					key := ""
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						key = dir + "." + fn.Name
					case *ast.SelectorExpr:
						if id, ok := fn.X.(*ast.Ident); ok && pkgDir(id.Name) != "" {
							key = pkgDir(id.Name) + "." + fn.Sel.Name
						} else {
							key = "*." + fn.Sel.Name
						}
					}
					for _, i := range params[key] {
						if i < len(n.Args) {
							add(n.Args[i], "argument of "+key)
						}
					}
				case *ast.CompositeLit:
					typ := ""
					switch t := n.Type.(type) {
					case *ast.Ident:
						typ = dir + "." + t.Name
					case *ast.SelectorExpr:
						if id, ok := t.X.(*ast.Ident); ok && pkgDir(id.Name) != "" {
							typ = pkgDir(id.Name) + "." + t.Sel.Name
						}
					}
					for _, el := range n.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						if k, ok := kv.Key.(*ast.Ident); ok && slices.Contains(fields[typ], k.Name) {
							add(kv.Value, "field "+k.Name+" of "+typ)
						}
						if k, ok := literal(kv.Key); ok {
							v2Field(k, kv.Value, func(code, how string) { out = append(out, answer{code, name + ": " + how}) })
						}
					}
				case *ast.AssignStmt:
					if len(n.Lhs) != len(n.Rhs) {
						return true
					}
					for i, l := range n.Lhs {
						if ix, ok := l.(*ast.IndexExpr); ok {
							if k, ok := literal(ix.Index); ok {
								v2Field(k, n.Rhs[i], func(code, how string) { out = append(out, answer{code, name + ": " + how}) })
							}
						}
					}
				case *ast.BasicLit:
					if s, ok := literal(n); ok {
						for _, m := range jsonCodeRE.FindAllStringSubmatch(s, -1) {
							out = append(out, answer{m[1], name + ": JSON error body"})
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// v2Field reports the code a v2 answer's field key is given by value: a
// literal err_code or error_code, or the code heading a return_msg whose
// first part is a literal.
func v2Field(key string, value ast.Expr, found func(code, how string)) {
	if slices.Contains(v2CodeKeys, key) {
		if s, ok := literal(value); ok {
			found(s, "v2 "+key)
		}
		return
	}
	if key != "return_msg" {
		return
	}
	for {
		b, ok := value.(*ast.BinaryExpr)
		if !ok || b.Op != token.ADD {
			break
		}
		value = b.X
	}
	if s, ok := literal(value); ok {
		if m := returnMsgRE.FindStringSubmatch(s); m != nil {
			found(m[1], "v2 return_msg")
		}
	}
}

// literal is the value of a string literal.
func literal(e ast.Expr) (string, bool) {
	if p, ok := e.(*ast.ParenExpr); ok {
		e = p.X
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// importOf is the path a file imports under the name id, or "".
func importOf(f srcFile, id string) string {
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndexByte(p, '/')+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == id {
			return p
		}
	}
	return ""
}

// parseModule parses the module's non-test sources.
func parseModule(t *testing.T) codeSource {
	t.Helper()
	src := codeSource{}
	fset := token.NewFileSet()
	for dir, files := range packages(t) {
		for _, name := range files {
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			src[filepath.ToSlash(dir)] = append(src[filepath.ToSlash(dir)], srcFile{filepath.ToSlash(name), f})
		}
	}
	return src
}

// TestEveryAnsweredCodeHasAnEntry reads the whole module's source for
// every code any surface can answer with — the v3 and v2 APIs, the staff
// API, the consumer pages and JSON, the commands — and requires an entry
// in the catalogue for each, so a new code without one fails here.
func TestEveryAnsweredCodeHasAnEntry(t *testing.T) {
	found := answers(parseModule(t))
	seen := map[string]bool{}
	for _, a := range found {
		seen[a.code] = true
		if _, ok := fenfu.Lookup(fenfu.Code(a.code)); !ok {
			t.Errorf("%s answers %s, which the catalogue (errors.go) has no entry for", a.at, a.code)
		}
	}
	// The scan reads each way a code is answered: if one of these is no
	// longer found, the scan lost its way, not the code.
	for _, c := range []string{"PARAM_ERROR", "SYSTEM_ERROR", "NOTIFY_UNREACHABLE", "ORDERREVERSED", "XML_FORMAT_ERROR"} {
		if !seen[c] {
			t.Errorf("the scan did not find %s", c)
		}
	}
	if len(seen) < len(fenfu.Catalogue())-1 {
		t.Errorf("the scan found %d codes, the catalogue has %d", len(seen), len(fenfu.Catalogue()))
	}
}

// TestAnswersScan: the scan finds a code in each place one is answered
// from, and nothing in the string literals that are not codes.
func TestAnswersScan(t *testing.T) {
	const sample = `package sample

import (
	"fmt"

	"github.com/fenfu/fenfu"
	ff "github.com/fenfu/fenfu"
)

const Mine fenfu.Code = "A_CONSTANT"

type reason struct {
	Code fenfu.Code
	Kind string
}

type shown struct{ Code string }

func refuse(why string, c fenfu.Code) error { return fenfu.Errorf(c, "%s", why) }

func (r reason) with(c fenfu.Code) reason { r.Code = c; return r }

func pick(ok bool) fenfu.Code {
	if ok {
		return "A_RESULT"
	}
	return fenfu.ParamError
}

func f(m map[string]string) {
	_ = fenfu.Errorf("AN_ERRORF", "x")
	_ = ff.Errorf("AN_ALIAS", "x")
	_ = &fenfu.Error{Code: "A_FIELD", Message: "NOT_A_CODE"}
	_ = reason{Code: "A_LOCAL_FIELD", Kind: "NOT_A_KIND"}
	_ = shown{Code: "A_STRING_FIELD"}
	_ = fenfu.Code("A_CONVERSION")
	_ = refuse("NOT_WHY", "AN_ARGUMENT")
	_ = reason{}.with("A_METHOD_ARGUMENT")
	_ = map[string]string{"err_code": "A_V2_CODE", "state": "SUCCESS", "return_msg": "A_RETURN_MSG: bad " + "NOT_THIS: x"}
	m["err_code"], m["result_code"] = "AN_ASSIGNED_V2_CODE", "FAIL"
	m["error_code"] = "20009"
	m["return_msg"] = "not: a code"
	fmt.Println("RANDOM_UPPER", ` + "`" + `{"code":"A_JSON_BODY","message":"x"}` + "`" + `)
}
`
	src := parseModule(t)
	f, err := parser.ParseFile(token.NewFileSet(), "sample.go", sample, 0)
	if err != nil {
		t.Fatal(err)
	}
	src = codeSource{".": src["."], "sample": {{"sample.go", f}}}
	var got []string
	for _, a := range answers(src) {
		if strings.HasPrefix(a.at, "sample") {
			got = append(got, a.code)
		}
	}
	slices.Sort(got)
	want := []string{"20009", "AN_ALIAS", "AN_ARGUMENT", "AN_ASSIGNED_V2_CODE", "AN_ERRORF", "A_CONSTANT", "A_CONVERSION", "A_FIELD", "A_JSON_BODY",
		"A_LOCAL_FIELD", "A_METHOD_ARGUMENT", "A_RESULT", "A_RETURN_MSG", "A_V2_CODE"}
	if !slices.Equal(got, want) {
		t.Errorf("found %v\nwant  %v", got, want)
	}
}

// TestCatalogueEntries: every entry of the catalogue has its message and
// remedy in Chinese and in English; a code requests are answered with has
// an HTTP status and what a page says of it; the others neither.
func TestCatalogueEntries(t *testing.T) {
	han := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
	}
	for _, c := range fenfu.Catalogue() {
		e, _ := fenfu.Lookup(c)
		for what, p := range map[string]fenfu.Phrase{"message": e.Message, "remedy": e.Remedy} {
			if strings.TrimSpace(p.ZH) == "" || strings.TrimSpace(p.EN) == "" || !han(p.ZH) || han(p.EN) {
				t.Errorf("%s: the %s is not in Chinese and English: %+v", c, what, p)
			}
		}
		switch e.Kind {
		case fenfu.KindAnswer:
			if e.Status < 400 || e.Status > 599 {
				t.Errorf("%s: HTTP status %d", c, e.Status)
			}
			if _, ok := e.Pages[""]; !ok {
				t.Errorf("%s: no page says it", c)
			}
			if c.Message() != e.Message.EN || c.Remedy() != e.Remedy.EN {
				t.Errorf("%s: Message and Remedy are not the entry's English", c)
			}
		case fenfu.KindV2, fenfu.KindFinding:
			if e.Status != 0 || len(e.Pages) != 0 {
				t.Errorf("%s, a %s, has a status or pages", c, e.Kind)
			}
		default:
			t.Errorf("%s: kind %q", c, e.Kind)
		}
		if e.V2 != "" && slices.Contains(fenfu.Catalogue(), fenfu.Code(e.V2)) {
			t.Errorf("%s: its v2 spelling %s is another code", c, e.V2)
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
	// API v2's spellings: its own where WeChat's differs, else the code;
	// a code the catalogue lacks is SYSTEMERROR.
	for c, want := range map[fenfu.Code]string{fenfu.OrderNotExist: "ORDERNOTEXIST", fenfu.ResourceNotExists: "REFUNDNOTEXIST",
		fenfu.ParamError: "PARAM_ERROR", fenfu.SystemError: "SYSTEMERROR", fenfu.Code("NO_SUCH_CODE"): "SYSTEMERROR"} {
		if got := c.V2(); got != want {
			t.Errorf("%s in v2: %s, want %s", c, got, want)
		}
	}
	if e, ok := fenfu.Lookup("ORDERNOTEXIST"); !ok || e.Message.EN != fenfu.OrderNotExist.Message() {
		t.Error("a v2 spelling does not find its entry")
	}
	if e := fenfu.Errorf(fenfu.NotEnough, "short"); e.Remedy != fenfu.NotEnough.Remedy() {
		t.Errorf("Errorf's remedy %q", e.Remedy)
	}
}
