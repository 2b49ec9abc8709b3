package catalog

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
)

// PagePath is where the catalogue's page is served; Href links to a code
// on it.
const PagePath = "/errors"

// Href is the address of a code's entry on the catalogue's page, as error
// answers outside the WeChat wire format link to it ("/errors#NOT_ENOUGH").
func Href(c fenfu.Code) string { return PagePath + "#" + string(c) }

// Phrase is a text in both languages as the JSON gives it.
type Phrase struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

func phrase(p fenfu.Phrase) Phrase { return Phrase{ZH: p.ZH, EN: p.EN} }

// PageWords are what a page says to a person about a code, as the JSON
// gives them.
type PageWords struct {
	Title   Phrase `json:"title"`
	Message Phrase `json:"message"`
	Next    Phrase `json:"next"`
}

// CodeDoc is one code of the catalogue as /errors.json gives it.
type CodeDoc struct {
	Code       fenfu.Code `json:"code"`
	Kind       fenfu.Kind `json:"kind"`
	HTTPStatus int        `json:"http_status,omitempty"`
	// V2 is the err_code of API v2, where it differs from code.
	V2      string `json:"v2_err_code,omitempty"`
	Message Phrase `json:"message"`
	Remedy  Phrase `json:"remedy"`
	// Consumer is what the cashier's pages say of it, Variants what they
	// say in the situations it has variants for.
	Consumer *PageWords           `json:"consumer,omitempty"`
	Variants map[string]PageWords `json:"variants,omitempty"`
	Problems []string             `json:"problems,omitempty"`
	Href     string               `json:"href"`
}

// ProblemDoc is one of the common problems as /errors.json gives it.
type ProblemDoc struct {
	ID       string       `json:"id"`
	Title    Phrase       `json:"title"`
	Remedy   Phrase       `json:"remedy"`
	Response Phrase       `json:"response"`
	Codes    []fenfu.Code `json:"codes"`
	Href     string       `json:"href"`
}

// Doc is the whole catalogue, as /errors.json serves it.
type Doc struct {
	Problems []ProblemDoc `json:"problems"`
	Codes    []CodeDoc    `json:"codes"`
}

// Document is the catalogue: the common problems, then every code, by
// kind (answers, API v2's own, doctor's findings) and then by code.
func Document() Doc {
	var d Doc
	of := map[fenfu.Code][]string{}
	for _, p := range fenfu.Problems() {
		d.Problems = append(d.Problems, ProblemDoc{ID: p.ID, Title: phrase(p.Title), Remedy: phrase(p.Remedy),
			Response: phrase(p.Response), Codes: p.Codes, Href: PagePath + "#" + p.ID})
		for _, c := range p.Codes {
			of[c] = append(of[c], p.ID)
		}
	}
	for _, c := range fenfu.Catalogue() {
		e, _ := fenfu.Lookup(c)
		cd := CodeDoc{Code: c, Kind: e.Kind, HTTPStatus: e.Status, V2: e.V2, Message: phrase(e.Message), Remedy: phrase(e.Remedy),
			Problems: of[c], Href: Href(c)}
		for v, p := range e.Pages {
			w := PageWords{Title: phrase(p.Title), Message: phrase(p.Message), Next: phrase(p.Next)}
			if v == "" {
				cd.Consumer = &w
				continue
			}
			if cd.Variants == nil {
				cd.Variants = map[string]PageWords{}
			}
			cd.Variants[v] = w
		}
		d.Codes = append(d.Codes, cd)
	}
	kinds := []fenfu.Kind{fenfu.KindAnswer, fenfu.KindV2, fenfu.KindFinding}
	slices.SortStableFunc(d.Codes, func(a, b CodeDoc) int { return slices.Index(kinds, a.Kind) - slices.Index(kinds, b.Kind) })
	return d
}

// JSONHandler serves GET /errors.json: the whole catalogue, public.
func JSONHandler() http.Handler {
	body, _ := json.Marshal(Document()) // plain data: it cannot fail
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	})
}

//go:embed errors.html
var pageFS embed.FS

var pageTmpl = template.Must(template.New("errors.html").Funcs(template.FuncMap{
	"in": func(l Lang, p Phrase) string {
		if l == EN {
			return p.EN
		}
		return p.ZH
	},
}).ParseFS(pageFS, "errors.html"))

// maxQuery bounds the search text read.
const maxQuery = 64

// pageView is what the page shows.
type pageView struct {
	Lang      Lang
	Nonce     string
	Query     string
	Switch    string // the address of the page in the other language
	Problems  []ProblemDoc
	Sections  []section
	Matches   int
	Unmatched bool
}

// section is the codes of one kind.
type section struct {
	ID    string
	Title Phrase
	Codes []CodeDoc
}

var sectionTitles = map[fenfu.Kind]Phrase{
	fenfu.KindAnswer:  {ZH: "错误码（API v3 与 v2、员工 API、收银台、命令行）", EN: "Error codes (API v3 and v2, the staff API, the cashier, the commands)"},
	fenfu.KindV2:      {ZH: "API v2 专有的错误码", EN: "API v2's own codes"},
	fenfu.KindFinding: {ZH: "fenfu doctor 的检查结果", EN: "What fenfu doctor finds"},
}

// PageHandler serves GET /errors: the catalogue as a page in Chinese or
// English (?lang=, else Accept-Language), every code with an anchor of its
// own (and of its v2 spelling), searched by ?q= — a code, a v2 spelling
// or words of a message or remedy, in either language. log reports a
// page that did not render.
func PageHandler(log *slog.Logger) http.Handler {
	doc := Document()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		l, ok := ParseLang(q.Get("lang"))
		if !ok {
			l = Negotiate(r.Header.Get("Accept-Language"))
		}
		query := strings.TrimSpace(q.Get("q"))
		if len(query) > maxQuery {
			query = strings.ToValidUTF8(query[:maxQuery], "")
		}
		v := pageView{Lang: l, Nonce: nonce(), Query: query, Problems: doc.Problems}
		other := url.Values{"lang": {string(EN)}}
		if l == EN {
			other.Set("lang", string(ZH))
		}
		if query != "" {
			other.Set("q", query)
		}
		v.Switch = PagePath + "?" + other.Encode()
		for _, k := range []fenfu.Kind{fenfu.KindAnswer, fenfu.KindV2, fenfu.KindFinding} {
			s := section{ID: string(k), Title: sectionTitles[k]}
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
				codes := append([]string{p.ID}, strings.Fields(strings.Trim(fmt.Sprint(p.Codes), "[]"))...)
				if hasCode(query, codes...) || hasWords(query, p.Title, p.Remedy) {
					v.Problems = append(v.Problems, p)
				}
			}
			v.Unmatched = v.Matches == 0 && len(v.Problems) == 0
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+v.Nonce+"'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Language")
		if v.Unmatched {
			w.WriteHeader(http.StatusNotFound)
		}
		if err := pageTmpl.Execute(w, v); err != nil && log != nil {
			log.Error("render", "template", "errors.html", "error", err)
		}
	})
}

// matches reports whether a code is one the search asks for: all for no
// search.
func matches(c CodeDoc, query string) bool {
	if query == "" {
		return true
	}
	texts := []Phrase{c.Message, c.Remedy}
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
func hasWords(query string, ps ...Phrase) bool {
	q := strings.ToLower(query)
	return slices.ContainsFunc(ps, func(p Phrase) bool {
		return strings.Contains(strings.ToLower(p.EN), q) || strings.Contains(p.ZH, query)
	})
}

// nonce is a fresh value for the page's Content-Security-Policy.
func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
