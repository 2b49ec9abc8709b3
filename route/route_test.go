package route

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

type perm string

// TestCheck: a route that needs no permission is every caller's; one
// that needs a permission is refused, with the caller's refusal, to a
// caller who does not hold it.
func TestCheck(t *testing.T) {
	refused := errors.New("refused")
	forbidden := func(p perm) error { return refused }
	holds := func(held ...perm) func(perm) bool { return func(p perm) bool { return slices.Contains(held, p) } }
	for _, tc := range []struct {
		name string
		need perm
		can  func(perm) bool
		want error
	}{
		{"none needed", "", holds(), nil},
		{"held", "refund", holds("orders", "refund"), nil},
		{"not held", "refund", holds("orders"), refused},
	} {
		if got := (Route[perm, string]{Pattern: "POST /x", Permission: tc.need}).Check(tc.can, forbidden); got != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTable: Register serves each route of a table at its pattern
// through the surface's wrapping, and Find finds a route by its pattern.
func TestTable(t *testing.T) {
	tab := Table[perm, string]{
		{Pattern: "GET /a", Permission: "orders", Handle: "a"},
		{Pattern: "POST /b/{id}", Handle: "b"},
	}
	rec := &Recorder{Mux: http.NewServeMux()}
	tab.Register(rec, func(r Route[perm, string]) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(string(r.Permission) + ":" + r.Handle))
		})
	})
	if want := []string{"GET /a", "POST /b/{id}"}; !slices.Equal(rec.Patterns, want) {
		t.Errorf("registered %q, want %q", rec.Patterns, want)
	}
	for path, want := range map[string]string{"GET /a": "orders:a", "POST /b/7": ":b"} {
		method, target, _ := strings.Cut(path, " ")
		w := httptest.NewRecorder()
		rec.Mux.(*http.ServeMux).ServeHTTP(w, httptest.NewRequest(method, target, nil))
		if got := w.Body.String(); got != want {
			t.Errorf("%s answered %q, want %q", path, got, want)
		}
	}
	if r, ok := tab.Find("POST /b/{id}"); !ok || r.Handle != "b" {
		t.Errorf("Find(POST /b/{id}) = %+v, %v", r, ok)
	}
	if _, ok := tab.Find("GET /b/{id}"); ok {
		t.Error("Find found a pattern the table has not")
	}
}
