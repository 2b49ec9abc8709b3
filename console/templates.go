package console

import (
	"fmt"
	"html/template"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

// pages are the templates of each page in each language: the layout
// and the page's own file, which defines "content".
var pages = func() map[catalog.Lang]map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[catalog.Lang]map[string]*template.Template{}
	for _, l := range catalog.Langs {
		out[l] = map[string]*template.Template{}
		for _, n := range names {
			name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if name == "layout" {
				continue
			}
			out[l][name] = template.Must(template.New(name).Funcs(funcs(l)).ParseFS(templateFS, "templates/layout.html", n))
		}
	}
	return out
}()

// funcs are the template functions of language l.
func funcs(l catalog.Lang) template.FuncMap {
	return template.FuncMap{
		"t":    func(key string) string { return word(l, key) },
		"in":   func() string { return string(l) },
		"dept": func(d access.Department) string { return word(l, "dept-"+string(d)) },
		"rank": func(r access.Rank) string { return word(l, "rank-"+string(r)) },
		"yuan": func(f fenfu.Fen) string { return "¥" + web.Money(f) },
		// yuanInt is yuan of a count of fen kept as a plain integer.
		"yuanInt": func(f int64) string { return "¥" + web.Money(fenfu.Fen(f)) },
		"percent": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"stamp":   stamp,
		// say is a value's name in the page's language (catalog.Named):
		// a ticket's SLA, type, status or event.
		"say": func(v catalog.Named) string { return v.Text().In(l) },
		// maxText is the most a ticket's text field takes.
		"maxText": func() int { return ticket.MaxText },
		"day":     func(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.DateOnly) },
		// left is how long until due from now, or how long past it.
		"left": func(now, due time.Time) string { return left(l, due.Sub(now)) },
		// billChannel is a stored bill's channel as a download names it.
		"billChannel": func(ch string) string {
			if ch == "all" {
				return "ALL"
			}
			return pay.Channel(ch).Name()
		},
		// short is the start of a long id or hash, for a caption.
		"short": func(s string) string {
			if len(s) > 12 {
				return s[:12] + "…"
			}
			return s
		},
		// tr is the word of prefix+value, or value where there is none:
		// the name of a kind of thing fenfu knows, or one it does not.
		"tr": func(prefix string, value any) string {
			if w, ok := words[prefix+toString(value)]; ok {
				return w.In(l)
			}
			return toString(value)
		},
		// state is a state's name in the page's language, or the state
		// itself where it has none.
		"state": func(s any) string {
			key := "state-" + strings.ToLower(strings.TrimSpace(toString(s)))
			if w, ok := words[key]; ok {
				return w.In(l)
			}
			return toString(s)
		},
	}
}

// left says a duration to a deadline: what is left, or how far past it.
func left(l catalog.Lang, d time.Duration) string {
	over := d < 0
	if over {
		d = -d
	}
	text := catalog.Duration(d).In(l)
	switch {
	case over && l == catalog.EN:
		return text + " over"
	case over:
		return "已超时 " + text
	case l == catalog.EN:
		return text + " left"
	}
	return "剩余 " + text
}

func toString(v any) string { return fmt.Sprint(v) }
