// Package route is how fenfu's HTTP surfaces register their routes: each
// registers on a Mux, which an *http.ServeMux is, and a Recorder is a Mux
// that also lists the patterns registered, so the API document
// (package openapi) is checked against the routes the server really
// serves rather than a second list kept by hand. A surface whose callers
// log in (the staff API, the merchant portal) keeps one Table of its
// routes, each with the permission its caller must hold, checked before
// its handler runs (Route.Check).
package route

import "net/http"

// Mux is where a surface registers its routes: an *http.ServeMux, or a
// Recorder.
type Mux interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// Recorder registers routes on Mux and remembers their patterns, in the
// order they were registered.
type Recorder struct {
	Mux      Mux
	Patterns []string
}

// Handle registers h for pattern on r.Mux and records the pattern.
func (r *Recorder) Handle(pattern string, h http.Handler) {
	r.Mux.Handle(pattern, h)
	r.Patterns = append(r.Patterns, pattern)
}

// HandleFunc registers h for pattern on r.Mux and records the pattern.
func (r *Recorder) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	r.Mux.HandleFunc(pattern, h)
	r.Patterns = append(r.Patterns, pattern)
}

// Route is one route of a surface's table: the pattern it is served at,
// the permission its caller must hold ("" for any caller the surface has
// named), and its handler, of the surface's own type H.
type Route[P ~string, H any] struct {
	Pattern    string
	Permission P
	Handle     H
}

// Check is the refusal of the route to a caller before its handler runs:
// nil if the route needs no permission or the caller holds it (can),
// else the caller's refusal of it (forbidden), which the surface answers
// as it answers any other error.
func (r Route[P, H]) Check(can func(P) bool, forbidden func(P) error) error {
	if r.Permission == "" || can(r.Permission) {
		return nil
	}
	return forbidden(r.Permission)
}

// Table is a surface's routes, the one list of what it serves and what
// each needs.
type Table[P ~string, H any] []Route[P, H]

// Register registers every route of t on mux, served by serve: the
// surface's wrapping of a route's handler, which names the request's
// caller, checks the route's permission (Route.Check) and answers as
// the surface answers.
func (t Table[P, H]) Register(mux Mux, serve func(Route[P, H]) http.Handler) {
	for _, r := range t {
		mux.Handle(r.Pattern, serve(r))
	}
}

// Find returns the route of t served at pattern; ok is false if t has
// none.
func (t Table[P, H]) Find(pattern string) (r Route[P, H], ok bool) {
	for _, r := range t {
		if r.Pattern == pattern {
			return r, true
		}
	}
	return r, false
}
