package cashier

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

// The pages speak Chinese first and English on request: the language of
// ?lang= (which the page's switch sets, and a cookie then remembers), else
// of the cookie, else of Accept-Language, else Chinese. Each language has
// its own parse of the templates, whose t function reads the words below
// and whose lang function is the <html lang> tag; errors are said through
// the catalogue (package catalog), the developer's code and message kept
// in a collapsed detail.

// switchTo is the address of the language switch of the page r shows:
// the page's own GET address, its query values kept, in the other
// language. A page shown for a form that failed is at the form's address
// (POST /q/{token}/pay, /cashier/login), which is no page: its switch
// goes to the page the form was on, the order's (/q/{token}) or the
// form's next, or the form's address without its action.
func switchTo(r *http.Request) string {
	u := &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Only a form already read is read: the body of a refused one
		// stays unread.
		next := r.PostForm.Get("next")
		switch tok := r.PathValue("token"); {
		case tok != "" && strings.HasPrefix(r.URL.Path, "/q/") && !strings.Contains(tok, "?"):
			u.Path = "/q/" + tok
		case next != "":
			if n, err := url.Parse(safeNext(r)); err == nil {
				u.Path, u.RawQuery = n.Path, mergeQuery(n.RawQuery, r.URL.RawQuery)
			}
		default:
			for _, action := range []string{"/pay", "/confirm", "/repay"} {
				u.Path = strings.TrimSuffix(u.Path, action)
			}
			if pkg := r.PostForm.Get("package"); u.Path == servicePath && pkg != "" {
				u.RawQuery = mergeQuery("package="+url.QueryEscape(pkg), u.RawQuery)
			}
		}
	}
	q := u.Query()
	q.Set("lang", string(web.OtherLang(web.LangOf(r))))
	u.RawQuery = q.Encode()
	return u.String()
}

// mergeQuery is query a with the values of b it does not set.
func mergeQuery(a, b string) string {
	qa, _ := url.ParseQuery(a)
	qb, _ := url.ParseQuery(b)
	for k, vs := range qb {
		if !qa.Has(k) {
			qa[k] = vs
		}
	}
	return qa.Encode()
}

// zoneName names Shanghai time in each language, as pages print it after
// a time.
var zoneName = catalog.Text{ZH: "北京时间", EN: "China Standard Time (UTC+8)"}

// pagesIn are the templates of each language.
var pagesIn = func() map[catalog.Lang]*template.Template {
	out := map[catalog.Lang]*template.Template{}
	for _, l := range catalog.Langs {
		out[l] = template.Must(template.New("").Funcs(funcs(l)).ParseFS(templates, "templates/*.html"))
	}
	return out
}()

// funcs are the template functions of language l.
func funcs(l catalog.Lang) template.FuncMap {
	return template.FuncMap{
		"yuan":  web.Money,
		"plain": fenfu.Yuan,
		"deref": func(b *bool) bool { return b != nil && *b },
		"add":   func(a, b fenfu.Fen) fenfu.Fen { return a + b },
		"day":   func(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.DateOnly) },
		"stamp": stamp,
		"form":  func(next, label string) sessionForm { return sessionForm{Next: next, Label: label} },
		"t":     func(key string) string { return word(l, key) },
		// who names the actor of a ticket's event to the consumer.
		"who": func(actor string) string { return ticket.Who(actor, ticket.Consumer("")).In(l) },
		// maxText is the most a ticket's text field takes.
		"maxText": func() int { return ticket.MaxText },
		"when":    minute,
		// say is a value's name in the page's language (catalog.Named):
		// a ticket's SLA, type, status or event.
		"say":  func(v catalog.Named) string { return v.Text().In(l) },
		"lang": func() string { return l.Tag() },
		"in":   func() string { return string(l) },
		"zone": func() string { return zoneName.In(l) },
		// other is the language the switch offers.
		"other": func() catalog.Lang { return web.OtherLang(l) },
	}
}

// word is a page's word in l; a key with none is shown as itself, which
// TestWordsOfTemplates keeps from happening.
func word(l catalog.Lang, key string) string {
	if w, ok := words[key]; ok {
		return w.In(l)
	}
	return key
}

// problem is an error as a page shows it: the catalogue's title, message
// and next step in the page's language, the link of the next step, and
// the developer's code and message for the collapsed detail.
type problem struct {
	catalog.Said
	// Href is where the next step's button goes, "" for none.
	Href, HrefLabel string
	Dev             errorView
	// Switch is the address of the language switch (see switchTo).
	Switch string
}

// variant is an error the cashier knows more of than its code: which of
// the code's catalogue variants it is.
type variant struct {
	err  error
	kind string
}

func (v *variant) Error() string { return v.err.Error() }
func (v *variant) Unwrap() error { return v.err }

// as marks err as the kind of its code, if it is an error.
func as(kind string, err error) error {
	if err == nil {
		return nil
	}
	return &variant{err: err, kind: kind}
}

// kindOf is the variant err was marked with, or "".
func kindOf(err error) string {
	var v *variant
	if errors.As(err, &v) {
		return v.kind
	}
	return ""
}

// pinErr marks the errors of a PIN check as a PIN's: a wrong one, or a
// phone locked by them; or as a network's, locked by the failed logins
// from its address, whichever phones they tried.
func pinErr(err error) error {
	var n *consumer.NetworkLocked
	if errors.As(err, &n) {
		return as(catalog.Network, err)
	}
	var busy *consumer.Busy
	if errors.As(err, &busy) {
		return err // nothing locked: the catalogue's FREQUENCY_LIMITED, try again
	}
	if c := fenfu.ErrorCode(err); c == fenfu.Unauthenticated || c == fenfu.FrequencyLimited {
		return as(catalog.WrongPIN, err)
	}
	return err
}

// hhmm finds the time of day a lockout's message names.
var hhmm = regexp.MustCompile(`\b([0-2][0-9]:[0-5][0-9])\b`)

// problemOf is err as the page of r says it: args fill the catalogue's
// blanks beyond what the cashier knows itself (the PIN limits, a
// lockout's end).
func (c *Cashier) problemOf(r *http.Request, err error, kind string, args map[string]string) *problem {
	if err == nil {
		return nil
	}
	e := fenfu.AsError(err)
	if kind == "" {
		kind = kindOf(err)
	}
	l := web.LangOf(r)
	if args == nil {
		args = map[string]string{}
	}
	lim := c.Consumers.LoginLimits()
	args["left"] = strconv.Itoa(lim.PhoneFailures)
	var wrong *consumer.WrongPIN
	if errors.As(err, &wrong) {
		args["left"] = strconv.Itoa(wrong.Left)
	}
	args["lockout"] = duration(l, lim.PhoneLockout)
	if m := hhmm.FindString(e.Message); m != "" {
		args["until"] = m
	} else {
		args["until"] = duration(l, lim.PhoneLockout)
	}
	p := &problem{Said: catalog.Say(l, e.Code, kind, args), Dev: viewOf(e)}
	switch p.Action {
	case catalog.Repay:
		p.Href, p.HrefLabel = "/cashier/credit", word(l, "go-repay")
	case catalog.Login:
		p.HrefLabel = word(l, "login-again")
	}
	return p
}

// duration is d as a page says it (catalog.Duration).
func duration(l catalog.Lang, d time.Duration) string { return catalog.Duration(d).In(l) }
