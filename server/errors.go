package server

import (
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/web"
)

// handleErrorsJSON serves GET /errors.json: the whole error catalogue,
// public.
func handleErrorsJSON() http.Handler {
	body, _ := json.Marshal(catalog.Document()) // plain data: it cannot fail
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	})
}

//go:embed errors.html
var errorsFS embed.FS

var errorsPage = template.Must(template.New("errors.html").Funcs(template.FuncMap{
	"in": func(l catalog.Lang, t catalog.Text) string { return t.In(l) },
}).ParseFS(errorsFS, "errors.html"))

// maxQuery bounds the search text read.
const maxQuery = 64

// errorsView is what the catalogue's page shows.
type errorsView struct {
	Lang      catalog.Lang
	Nonce     string
	Query     string
	Switch    string // the address of the page in the other language
	Problems  []catalog.ProblemDoc
	Sections  []codeSection
	Matches   int
	Unmatched bool
}

// codeSection is the codes of one kind.
type codeSection struct {
	ID    string
	Title catalog.Text
	Codes []catalog.CodeDoc
}

var kinds = []fenfu.Kind{fenfu.KindAnswer, fenfu.KindV2, fenfu.KindFinding}

var sectionTitles = map[fenfu.Kind]catalog.Text{
	fenfu.KindAnswer:  {ZH: "错误码（API v3 与 v2、员工 API、收银台、命令行）", EN: "Error codes (API v3 and v2, the staff API, the cashier, the commands)"},
	fenfu.KindV2:      {ZH: "API v2 专有的错误码", EN: "API v2's own codes"},
	fenfu.KindFinding: {ZH: "fenfu doctor 的检查结果", EN: "What fenfu doctor finds"},
}

// handleErrorsPage serves GET /errors: the error catalogue as a page in
// the pages' language (web.LangOf), every code with an anchor of its own
// and of its v2 spelling, searched by ?q= — a code, a v2 spelling or
// words of a message or remedy, in either language. A search that finds
// nothing answers 404 with the page saying so.
func handleErrorsPage(log *slog.Logger) http.Handler {
	doc := catalog.Document()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := web.LangOf(r)
		query := strings.TrimSpace(r.URL.Query().Get("q"))
		if len(query) > maxQuery {
			query = strings.ToValidUTF8(query[:maxQuery], "")
		}
		v := errorsView{Lang: l, Nonce: web.Nonce(), Query: query, Problems: doc.Problems}
		other := url.Values{"lang": {string(web.OtherLang(l))}}
		if query != "" {
			other.Set("q", query)
		}
		v.Switch = catalog.PagePath + "?" + other.Encode()
		for _, k := range kinds {
			s := codeSection{ID: string(k), Title: sectionTitles[k]}
			for _, c := range doc.Codes {
				if c.Kind == k && matches(c, query) {
					s.Codes = append(s.Codes, c)
				}
			}
			v.Matches += len(s.Codes)
			if len(s.Codes) > 0 {
				v.Sections = append(v.Sections, s)
			}
		}
		if query != "" {
			v.Problems = nil
			for _, p := range doc.Problems {
				codes := []string{p.ID}
				for _, c := range p.Codes {
					codes = append(codes, string(c))
				}
				if hasCode(query, codes...) || hasWords(query, p.Title, p.Remedy) {
					v.Problems = append(v.Problems, p)
				}
			}
			v.Unmatched = v.Matches == 0 && len(v.Problems) == 0
		}
		// The page's one inline style runs under the response's nonce.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+v.Nonce+"'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		web.PageHeaders(w)
		web.RememberLang(w, r)
		if v.Unmatched {
			w.WriteHeader(http.StatusNotFound)
		}
		if err := errorsPage.Execute(w, v); err != nil && log != nil {
			log.Error("render", "template", "errors.html", "error", err)
		}
	})
}

// matches reports whether a code is one the search asks for: all for no
// search.
func matches(c catalog.CodeDoc, query string) bool {
	if query == "" {
		return true
	}
	texts := []catalog.Text{c.Message, c.Remedy}
	if c.Consumer != nil {
		texts = append(texts, c.Consumer.Title, c.Consumer.Message, c.Consumer.Next)
	}
	return hasCode(query, string(c.Code), c.V2) || hasWords(query, texts...)
}

// hasCode reports whether query is in one of the codes, whatever the case.
func hasCode(query string, codes ...string) bool {
	q := strings.ToLower(query)
	return slices.ContainsFunc(codes, func(c string) bool { return c != "" && strings.Contains(strings.ToLower(c), q) })
}

// hasWords reports whether query is in one of the phrases, in either
// language, the English whatever the case.
func hasWords(query string, ps ...catalog.Text) bool {
	q := strings.ToLower(query)
	return slices.ContainsFunc(ps, func(p catalog.Text) bool {
		return strings.Contains(strings.ToLower(p.EN), q) || strings.Contains(p.ZH, query)
	})
}
