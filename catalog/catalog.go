// Package catalog speaks fenfu's error catalogue (fenfu.Lookup) to people:
// the languages a page speaks (Lang, Negotiate), what a page says about a
// code — a title, a message and the next step, and which action the page
// offers — and the whole catalogue as a document, with the developer's
// message and remedy of every code in Chinese and in English, which
// package server serves as /errors.json and the page /errors. A code can
// have variants where one code covers situations a consumer meets
// differently (a wrong PIN and a session that ended are both
// UNAUTHENTICATED). Pages also say through it a length of time
// (Duration) and the names of the values they show (Named), the same on
// every surface.
package catalog

import (
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
)

// Lang is a language the catalogue speaks.
type Lang string

// The languages: Chinese first, English available.
const (
	ZH Lang = "zh"
	EN Lang = "en"
)

// Langs are the languages, the default first.
var Langs = []Lang{ZH, EN}

// Tag is the language's BCP 47 tag, for <html lang>.
func (l Lang) Tag() string {
	if l == EN {
		return "en"
	}
	return "zh-CN"
}

// ParseLang reads a language a switch names (zh, en, or a tag such as
// zh-CN or en-GB); ok is false for any other.
func ParseLang(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	base, _, _ := strings.Cut(s, "-")
	switch base {
	case "zh":
		return ZH, true
	case "en":
		return EN, true
	}
	return ZH, false
}

// maxAccept bounds how much of an Accept-Language header is read.
const maxAccept = 512

// Negotiate picks the language an Accept-Language header prefers: the
// supported language of the highest weight, the earlier on a tie, and
// Chinese when none is supported or the header is empty or malformed.
func Negotiate(header string) Lang {
	if len(header) > maxAccept {
		header = header[:maxAccept]
	}
	best, bestQ := ZH, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		l, ok := ParseLang(tag)
		if !ok {
			continue
		}
		q := 1.0
		if v, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// Text is one text in each language, as the catalogue's fenfu.Phrase.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// In is the text in l.
func (t Text) In(l Lang) string {
	if l == EN {
		return t.EN
	}
	return t.ZH
}

// Action is the next step a page offers as a button or link.
type Action string

// The actions.
const (
	None    Action = ""
	Login   Action = "login"   // log in again
	Balance Action = "balance" // pay from balance instead: the form preselected on it
	Repay   Action = "repay"   // repay on the credit account page
	NewCode Action = "newcode" // ask the merchant for a new code
	Retry   Action = "retry"   // try the same again
	View    Action = "view"    // see the order as it is now
)

// Variants of codes, where one code covers situations a consumer meets
// differently.
const (
	WrongPIN   = "pin"     // UNAUTHENTICATED, FREQUENCY_LIMITED: the PIN was wrong, or too many were
	Network    = "network" // FREQUENCY_LIMITED: too many failed logins from the consumer's network
	Expired    = "expired" // ORDER_CLOSED: the order's time ran out
	Paused     = "paused"  // RULE_LIMIT: the credit line takes no payment now (frozen, overdue)
	OfBalance  = "balance" // NOT_ENOUGH: the balance, not the credit line, is short
	NotFound   = "404"     // RESOURCE_NOT_EXISTS: a cashier address that is no page
	CrossSite  = "site"    // NO_AUTH: a form another site sent
	NoLine     = "noline"  // NOT_ENOUGH: the consumer has no credit line
	CodeTaken  = "taken"   // ORDERPAID: the order was paid, by this consumer or another
	NoPINCheck = "nopin"   // PARAM_ERROR: a payment without the PIN it needs
)

// Entry is what a page says about one code (or variant). Texts may name
// {time}, {until}, {left} and {lockout}, which the page fills in.
type Entry struct {
	Title, Message, Next Text
	Action               Action
}

// Said is an entry in one language with its blanks filled.
type Said struct {
	Code          fenfu.Code
	Title         string
	Message, Next string
	Action        Action
}

// Say is what the page says in l about code (of the variant, if it has
// one, else the code's own entry), its blanks filled from args.
func Say(l Lang, code fenfu.Code, variant string, args map[string]string) Said {
	e, ok := Lookup(code, variant)
	if !ok {
		e, _ = Lookup(fenfu.SystemError, "")
	}
	pairs := make([]string, 0, 2*len(args))
	for k, v := range args {
		pairs = append(pairs, "{"+k+"}", v)
	}
	fill := strings.NewReplacer(pairs...).Replace
	return Said{Code: code, Title: fill(e.Title.In(l)), Message: fill(e.Message.In(l)), Next: fill(e.Next.In(l)), Action: e.Action}
}

// Lookup is what a page says about code's variant, or about the code when
// the variant has nothing of its own: the catalogue's (fenfu.Lookup) page
// texts of the code.
func Lookup(code fenfu.Code, variant string) (Entry, bool) {
	ce, ok := fenfu.Lookup(code)
	if !ok {
		return Entry{}, false
	}
	p, ok := ce.Pages[variant]
	if !ok {
		p, ok = ce.Pages[""]
	}
	return Entry{Title: Text(p.Title), Message: Text(p.Message), Next: Text(p.Next), Action: Action(p.Action)}, ok
}

// Keys are the codes and variants of every entry a page says.
func Keys() [][2]string {
	var out [][2]string
	for _, c := range fenfu.Catalogue() {
		ce, _ := fenfu.Lookup(c)
		for v := range ce.Pages {
			out = append(out, [2]string{string(c), v})
		}
	}
	return out
}
