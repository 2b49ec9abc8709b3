package web

import (
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
)

// Problem is an error as a staff or merchant page shows it: the
// catalogue's title, message and remedy in the page's language, the code,
// and the field at fault. Detail is what the error says of this case
// beyond the code's own message and remedy (in English, the developer's
// language of fenfu's errors), shown beside the catalogue's Chinese on a
// Chinese page so nothing specific is lost.
type Problem struct {
	Title, Message, Remedy, Detail string
	Code                           fenfu.Code
	Field                          string
	Status                         int
}

// ProblemOf is err as a page in l shows it; nil for nil.
func ProblemOf(l catalog.Lang, err error) *Problem {
	if err == nil {
		return nil
	}
	e := fenfu.AsError(err)
	p := &Problem{Title: catalog.Say(l, e.Code, "", nil).Title, Message: e.Message, Remedy: e.Remedy, Code: e.Code, Field: e.Field,
		Status: e.Code.HTTPStatus()}
	if p.Remedy == "" {
		p.Remedy = e.Code.Remedy()
	}
	ce, ok := fenfu.Lookup(e.Code)
	if l != catalog.ZH || !ok || ce.Message.ZH == "" {
		return p
	}
	var detail []string
	if e.Message != "" && e.Message != ce.Message.EN {
		detail = append(detail, e.Message)
	}
	if p.Remedy != ce.Remedy.EN {
		detail = append(detail, p.Remedy)
	}
	p.Message, p.Remedy = ce.Message.ZH, ce.Remedy.ZH
	p.Detail = strings.Join(detail, " ")
	return p
}
