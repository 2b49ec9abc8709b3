package cashier

import (
	"io"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/web"
)

// CodeStatusOf is codeStatus, for the tests of every state an order can
// leave a code in, some of which only a till makes.
var CodeStatusOf = codeStatus

// Money is how pages print amounts.
var Money = web.Money

// Words are the pages' own words.
var Words = words

// RenderEmpty renders the page name in language l with its zero data and
// a problem on it.
func RenderEmpty(l, name string) error {
	lang, _ := catalog.ParseLang(l)
	p := &problem{Said: catalog.Say(lang, fenfu.NotEnough, "", nil)}
	data := map[string]any{
		"cashier.html":      View{Problem: p},
		"confirm.html":      confirmPage{LoggedIn: true, Problem: p},
		"credit.html":       accountPage{LoggedIn: true, Problem: p},
		"paycode.html":      paycodePage{LoggedIn: true, Problem: p},
		"serviceorder.html": ServiceView{Problem: p},
		"statement.html":    statementPage{},
		"complaints.html":   complaintsPage{LoggedIn: true},
		"error.html":        p,
		"aggregate.html":    aggregatePage{Phone: "138****8000", Problem: p, T: aggregateText},
	}[name]
	return pagesIn[lang].ExecuteTemplate(io.Discard, name, data)
}
