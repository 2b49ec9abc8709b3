package pay_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

// TestNotifyURL: a notify_url is refused with PARAM_ERROR on its field,
// saying what to give, when no notification could be delivered to it,
// and kept when one can.
func TestNotifyURL(t *testing.T) {
	for _, u := range []string{"https://shop.example/notify", "http://10.0.0.7:8080/n?k=v", "https://[2001:db8::1]/n",
		"https://商店.example/通知", "https://shop.example/" + strings.Repeat("n", pay.MaxNotifyURL-len("https://shop.example/"))} {
		if err := pay.CheckNotifyURL("notify_url", u); err != nil {
			t.Errorf("%q: %v, want it kept", u, err)
		}
	}
	for _, u := range []string{"", "shop.example/n", "ftp://shop.example/n", "HTTPS://shop.example/n", "https://", "http://",
		"https:///notify", "https://:443/n", "https://?x", "https://#n", "https://user:secret@shop.example/n",
		"https://shop.example/n\n", "https://shop.example/\tn", "https://shop.example\r\n/n", " https://shop.example/n",
		"https://shop example/n", "https://shop.example/\u00a0n", "https://shop.example/\u2028", "https://shop.example/\x7f",
		"https://shop.example/\xff", "https://shop.example:port/n", "https://shop.example/%zz",
		"https://shop.example/" + strings.Repeat("n", pay.MaxNotifyURL-len("https://shop.example/")+1)} {
		err := pay.CheckNotifyURL("notify_url", u)
		if e := fenfu.AsError(err); err == nil || e.Code != fenfu.ParamError || e.Field != "notify_url" ||
			!strings.Contains(e.Message, "http(s) URL") || e.Remedy == "" {
			t.Errorf("%q: %v, want PARAM_ERROR on notify_url with a remedy", u, err)
		}
	}
}

// FuzzNotifyURL: every notify_url kept is one net/http sends a request
// to, to a host, with no space or control character in it.
func FuzzNotifyURL(f *testing.F) {
	for _, u := range []string{"https://shop.example/notify", "https://", "https:///n", "http://h:1/n\n", "https://u@h/", "https://h/\u2028"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		err := pay.CheckNotifyURL("notify_url", u)
		if err != nil {
			if e := fenfu.AsError(err); e.Code != fenfu.ParamError || e.Field != "notify_url" {
				t.Fatalf("%q: %v, want PARAM_ERROR on notify_url", u, err)
			}
			return
		}
		req, rerr := http.NewRequest(http.MethodPost, u, nil)
		if rerr != nil || req.URL.Hostname() == "" || len(u) > pay.MaxNotifyURL ||
			strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("%q kept, yet no delivery reaches it (%v)", u, rerr)
		}
	})
}
