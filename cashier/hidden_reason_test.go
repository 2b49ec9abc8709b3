package cashier_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fenfu/fenfu/display"
)

// TestCashierJSONSaysWhyCreditIsHidden: the cashier lists the channels by
// the display decision with the reason for each; a ¥5 order hides credit
// (below ¥10, nobody logged in), and a program reading the JSON learns
// why, as the exposure recorded for the view does, in hidden_channels:
// channels still lists only what can be chosen.
func TestCashierJSONSaysWhyCreditIsHidden(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-small", 500)
	st, body, _ := get(t, http.DefaultClient, e.srv.URL+"/q/"+o.Token+"?format=json", "")
	if st != 200 {
		t.Fatalf("view: %d %s", st, body)
	}
	var v struct {
		Channels []struct {
			Name string `json:"name"`
		} `json:"channels"`
		Hidden []struct {
			Name   string         `json:"name"`
			Reason display.Reason `json:"reason"`
		} `json:"hidden_channels"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, c := range v.Channels {
		if c.Name == "credit" {
			t.Fatalf("credit is hidden and listed among the channels: %s", body)
		}
	}
	if len(v.Hidden) != 1 || v.Hidden[0].Name != "credit" || v.Hidden[0].Reason.Code != display.AmountBelowMin || v.Hidden[0].Reason.Message == "" {
		t.Fatalf("credit is hidden and the view does not say why (%s): %s", display.AmountBelowMin, body)
	}
}
