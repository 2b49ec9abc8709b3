package main

import (
	"strings"
	"testing"
)

// saysState fails unless page says a state as its word, with its code
// beside it as a tooltip and as small text for developers.
func saysState(t *testing.T, where, page, word, code string) {
	t.Helper()
	if word == "" {
		t.Errorf("%s: no word expected for %s", where, code)
		return
	}
	want := `<span title="` + code + `">` + word + `</span> <span class="mono muted code">` + code + `</span>`
	if !strings.Contains(page, want) {
		t.Errorf("%s does not say %s as %q with its code beside it", where, code, word)
	}
}
