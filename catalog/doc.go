package catalog

import (
	"slices"

	"github.com/fenfu/fenfu"
)

// PagePath is where the catalogue's page is served (package server
// serves it, and the catalogue as JSON); Href links to a code on it.
const PagePath = "/errors"

// Href is the address of a code's entry on the catalogue's page, as error
// answers outside the WeChat wire format link to it ("/errors#NOT_ENOUGH").
func Href(c fenfu.Code) string { return PagePath + "#" + string(c) }

// PageWords are what a page says to a person about a code, as the JSON
// gives them.
type PageWords struct {
	Title   Text `json:"title"`
	Message Text `json:"message"`
	Next    Text `json:"next"`
}

// CodeDoc is one code of the catalogue as /errors.json gives it.
type CodeDoc struct {
	Code       fenfu.Code `json:"code"`
	Kind       fenfu.Kind `json:"kind"`
	HTTPStatus int        `json:"http_status,omitempty"`
	// V2 is the err_code of API v2, where it differs from code.
	V2      string `json:"v2_err_code,omitempty"`
	Message Text   `json:"message"`
	Remedy  Text   `json:"remedy"`
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
	Title    Text         `json:"title"`
	Remedy   Text         `json:"remedy"`
	Response Text         `json:"response"`
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
		d.Problems = append(d.Problems, ProblemDoc{ID: p.ID, Title: Text(p.Title), Remedy: Text(p.Remedy),
			Response: Text(p.Response), Codes: p.Codes, Href: PagePath + "#" + p.ID})
		for _, c := range p.Codes {
			of[c] = append(of[c], p.ID)
		}
	}
	for _, c := range fenfu.Catalogue() {
		e, _ := fenfu.Lookup(c)
		cd := CodeDoc{Code: c, Kind: e.Kind, HTTPStatus: e.Status, V2: e.V2, Message: Text(e.Message), Remedy: Text(e.Remedy),
			Problems: of[c], Href: Href(c)}
		for v, p := range e.Pages {
			w := PageWords{Title: Text(p.Title), Message: Text(p.Message), Next: Text(p.Next)}
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
