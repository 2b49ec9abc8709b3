package merchant_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/scheme"
)

// TestNotifyURL: a notify_url is refused with PARAM_ERROR on its field,
// saying what to give, when no notification could be delivered to it,
// and kept when one can.
func TestNotifyURL(t *testing.T) {
	for _, u := range []string{"https://shop.example/notify", "http://10.0.0.7:8080/n?k=v", "https://[2001:db8::1]/n",
		"https://商店.example/通知", "https://shop.example/" + strings.Repeat("n", merchant.MaxNotifyURL-len("https://shop.example/"))} {
		if err := merchant.CheckNotifyURL("notify_url", u); err != nil {
			t.Errorf("%q: %v, want it kept", u, err)
		}
	}
	for _, u := range []string{"", "shop.example/n", "ftp://shop.example/n", "HTTPS://shop.example/n", "https://", "http://",
		"https:///notify", "https://:443/n", "https://?x", "https://#n", "https://user:secret@shop.example/n",
		"https://shop.example/n\n", "https://shop.example/\tn", "https://shop.example\r\n/n", " https://shop.example/n",
		"https://shop example/n", "https://shop.example/\u00a0n", "https://shop.example/\u2028", "https://shop.example/\x7f",
		"https://shop.example/\xff", "https://shop.example:port/n", "https://shop.example/%zz",
		"https://shop.example/" + strings.Repeat("n", merchant.MaxNotifyURL-len("https://shop.example/")+1)} {
		err := merchant.CheckNotifyURL("notify_url", u)
		if e := fenfu.AsError(err); err == nil || e.Code != fenfu.ParamError || e.Field != "notify_url" ||
			!strings.Contains(e.Message, "http(s) URL") || e.Remedy == "" {
			t.Errorf("%q: %v, want PARAM_ERROR on notify_url with a remedy", u, err)
		}
	}
}

// TestNotifyURLRefusesZone: a notify_url whose host is an IPv6 address
// with a zone ("[::1%25lo]", "[fe80::1%25eth0]") is refused with
// PARAM_ERROR on its field, saying why and what to give: a zone names one
// of fenfu's own network interfaces, and no public address needs one.
func TestNotifyURLRefusesZone(t *testing.T) {
	for _, u := range []string{"https://[::1%25lo]:8443/notify", "http://[fe80::1%25eth0]/n", "https://[fd00:ec2::254%25eth0]/n",
		"https://[2001:db8::1%25eth0]/n", "https://[::ffff:127.0.0.1%25lo]/n"} {
		err := merchant.CheckNotifyURL("notify_url", u)
		if e := fenfu.AsError(err); err == nil || e.Code != fenfu.ParamError || e.Field != "notify_url" ||
			!strings.Contains(e.Message, "zone") || e.Remedy == "" {
			t.Errorf("%q: %v, want PARAM_ERROR on notify_url saying the zone is refused, with a remedy", u, err)
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
		err := merchant.CheckNotifyURL("notify_url", u)
		if err != nil {
			if e := fenfu.AsError(err); e.Code != fenfu.ParamError || e.Field != "notify_url" {
				t.Fatalf("%q: %v, want PARAM_ERROR on notify_url", u, err)
			}
			return
		}
		req, rerr := http.NewRequest(http.MethodPost, u, nil)
		if rerr != nil || req.URL.Hostname() == "" || len(u) > merchant.MaxNotifyURL ||
			strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("%q kept, yet no delivery reaches it (%v)", u, rerr)
		}
	})
}

// TestSetNotifyURL: a merchant's own notify_url is kept as given, on every
// node at once; a production merchant's must be https, a sandbox
// merchant's may be http; a URL no delivery reaches is refused, and an
// empty one clears it.
func TestSetNotifyURL(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		sb := e.shop(t)
		prod, err := e.ms.Create(ctx, "Prod", "production", scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		other := service(t, e.core, e.clock) // another node
		if _, err := other.Get(ctx, sb.MchID); err != nil {
			t.Fatal(err)
		}
		if err := e.ms.SetNotifyURL(ctx, sb.MchID, "http://127.0.0.1:8080/n"); err != nil {
			t.Fatalf("a sandbox merchant's http URL: %v", err)
		}
		if m, err := other.Fresh(ctx, sb.MchID); err != nil || m.NotifyURL != "http://127.0.0.1:8080/n" {
			t.Errorf("another node reads %q, %v", m.NotifyURL, err)
		}
		err = e.ms.SetNotifyURL(ctx, prod.MchID, "http://shop.example/n")
		if e := fenfu.AsError(err); err == nil || e.Field != "notify_url" || !strings.Contains(e.Message, "https") || e.Remedy == "" {
			t.Errorf("a production merchant's http URL: %v", err)
		}
		if err := e.ms.SetNotifyURL(ctx, prod.MchID, "https://shop.example/n"); err != nil {
			t.Errorf("a production merchant's https URL: %v", err)
		}
		if err := e.ms.SetNotifyURL(ctx, prod.MchID, "https://shop.example/\n"); code(err) != fenfu.ParamError {
			t.Errorf("a URL with a line break: %v", err)
		}
		if err := e.ms.SetNotifyURL(ctx, "1900000000", "https://shop.example/n"); code(err) != fenfu.MchNotExists {
			t.Errorf("an unknown merchant: %v", err)
		}
		if err := e.ms.SetNotifyURL(ctx, sb.MchID, ""); err != nil {
			t.Fatal(err)
		}
		if m, _ := e.ms.Fresh(ctx, sb.MchID); m.NotifyURL != "" {
			t.Errorf("cleared, it reads %q", m.NotifyURL)
		}
	})
}
