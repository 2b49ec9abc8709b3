package merchant

import (
	"context"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
)

// MaxNotifyURL is the longest notify_url, in bytes.
const MaxNotifyURL = 256

// CheckNotifyURL refuses a notify_url no notification can be delivered
// to, as a Native order does: empty, longer than MaxNotifyURL, holding a
// space or a control character (a line break or a tab a copy and paste
// brought along), not an http(s) URL, without a host ("https://",
// "https:///notify"), with a user and password, which every log of its
// deliveries would show, or with an IPv6 address with a zone
// ("[fe80::1%25eth0]"), which names one of fenfu's own network interfaces
// and which deliveries refuse.
func CheckNotifyURL(field, u string) error {
	bad := func() error {
		e := fenfu.FieldError(field, "%s must be an http(s) URL of at most %d characters", field, MaxNotifyURL)
		e.Remedy = "Give the full URL notifications are sent to, such as https://shop.example/notify: with its host, without spaces or line breaks."
		return e
	}
	if u == "" || len(u) > MaxNotifyURL || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) ||
		strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }) >= 0 {
		return bad()
	}
	p, err := url.Parse(u)
	if err != nil || p.Hostname() == "" || p.User != nil {
		return bad()
	}
	if strings.Contains(p.Hostname(), "%") {
		e := fenfu.FieldError(field, "%s names an IPv6 address with a zone (%s), which reaches only fenfu's own network", field, p.Hostname())
		e.Remedy = "Give the notify server's host name or public address without a zone (the %25 and what follows it inside the brackets); fenfu delivers to public addresses only."
		return e
	}
	return nil
}

// SetNotifyURL sets the merchant's own notify_url, where its
// notifications go when a request names none (an aggregate code's
// orders, a refund made without one). It must be a URL CheckNotifyURL
// keeps, and HTTPS for a production merchant: a sandbox merchant may use
// http, for a test server on its own machine. An empty u clears it.
func (s *Service) SetNotifyURL(ctx context.Context, mchid, u string) error {
	m, err := s.Fresh(ctx, mchid)
	if err != nil {
		return err
	}
	if u != "" {
		if err := CheckNotifyURL("notify_url", u); err != nil {
			return err
		}
		if m.Env != "sandbox" && !strings.HasPrefix(u, "https://") {
			e := fenfu.FieldError("notify_url", "a production merchant's notify_url must be https://, not http://")
			e.Remedy = "Serve the notification endpoint over HTTPS with a certificate a public CA issued; http is allowed only for sandbox merchants."
			return e
		}
	}
	return s.update(ctx, mchid, `notify_url = $1`, u)
}
