package cashier_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/display"
)

// TestCashierJSONSaysWhyCreditIsHidden: the cashier lists the channels by
// the display decision with the reason for each; a ¥5 order hides credit
// (below ¥10, nobody logged in), and a program reading the JSON learns
// why, as the exposure recorded for the view does.
func TestCashierJSONSaysWhyCreditIsHidden(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-small", 500)
	st, body, _ := get(t, http.DefaultClient, e.srv.URL+"/q/"+o.Token+"?format=json", "")
	if st != 200 {
		t.Fatalf("view: %d %s", st, body)
	}
	if !strings.Contains(body, string(display.AmountBelowMin)) {
		t.Fatalf("credit is hidden and the view does not say why (%s): %s", display.AmountBelowMin, body)
	}
}
