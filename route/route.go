// Package route is how fenfu's HTTP surfaces register their routes: each
// registers on a Mux, which an *http.ServeMux is, and a Recorder is a Mux
// that also lists the patterns registered, so the API document
// (package openapi) is checked against the routes the server really
// serves rather than a second list kept by hand.
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
