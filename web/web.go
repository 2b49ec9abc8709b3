// Package web holds what fenfu's web pages share — the consumer's
// cashier, the staff console and the merchant portal: the language a page
// is in, the same-origin check a form must pass, session cookies, the
// pages a login may send the browser on to, a page's security headers and
// script nonce, money as a page prints it, the date filters of lists, and
// CSV downloads. Each surface keeps its own templates and words; what a
// browser sees the same way on every surface lives here once.
package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
)

// The pages speak Chinese first and English on request: the language of
// ?lang= (which a page's switch sets, and a cookie then remembers), else
// of the cookie, else of Accept-Language, else Chinese.

// LangCookie remembers the language a page's switch chose.
const LangCookie = "fenfu_lang"

// LangOf is the language a request's page is in.
func LangOf(r *http.Request) catalog.Lang {
	if l, ok := catalog.ParseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	if ck, err := r.Cookie(LangCookie); err == nil {
		if l, ok := catalog.ParseLang(ck.Value); ok {
			return l
		}
	}
	return catalog.Negotiate(r.Header.Get("Accept-Language"))
}

// RememberLang sets the language cookie when the request switched
// language with ?lang=.
func RememberLang(w http.ResponseWriter, r *http.Request) {
	if l, ok := catalog.ParseLang(r.URL.Query().Get("lang")); ok && r.URL.Query().Has("lang") {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: Secure(r)})
	}
}

// OtherLang is the language a switch offers: the one the page is not in.
func OtherLang(l catalog.Lang) catalog.Lang {
	if l == catalog.EN {
		return catalog.ZH
	}
	return catalog.EN
}

// Secure reports whether the browser reached the request over HTTPS:
// directly, or through a trusted proxy that says so (the server keeps
// X-Forwarded-Proto only from the proxies it trusts).
func Secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// SameOrigin refuses requests a browser sends from another site: an
// Origin, when the browser sends one, must be the host the request
// reached, or the origin of publicURL (behind a reverse proxy that passes
// another Host on); publicURL may be nil. A request without an Origin
// comes from no browser that would send one cross-site; "null" is refused.
func SameOrigin(r *http.Request, publicURL func() string) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	if publicURL == nil {
		return false
	}
	p, err := url.Parse(publicURL())
	return err == nil && p.Host != "" && SameOriginURL(u, p)
}

// SameOriginURL reports whether a and b are one origin: the same scheme,
// host name and port, a port left out being its scheme's default
// (https://x:443 is https://x).
func SameOriginURL(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

// portOf is u's port, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// Session is a surface's session cookie: its name and the path it is
// sent to. Its value is the token a login service issued; the store
// decides whether the session lives. Prefix is what the service's tokens
// begin with before their base32 characters ("fss_" for staff sessions),
// "" for none.
type Session struct {
	Name, Path, Prefix string
}

// Start sets the cookie to token for ttl: HttpOnly, SameSite=Strict, and
// Secure over HTTPS.
func (s Session) Start(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: s.Name, Value: token, Path: s.Path, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: Secure(r), MaxAge: int(ttl.Seconds())})
}

// End clears the cookie.
func (s Session) End(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.Name, Value: "", Path: s.Path, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: Secure(r)})
}

// Token is the token the request's cookie carries, or "" for none or one
// that cannot be a token (fenfu's session tokens are the surface's Prefix
// and at most 64 base32 characters), so nothing else reaches the store.
func (s Session) Token(r *http.Request) string {
	ck, err := r.Cookie(s.Name)
	if err != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(ck.Value, s.Prefix)
	if !ok || rest == "" || len(rest) > 64 || strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		return ""
	}
	return ck.Value
}

// FormField is the name of the field that carries a form's token.
const FormField = "form_token"

// FormToken is the token every form of a session carries (FormField):
// derived from the session's token, which only its HttpOnly cookie holds,
// so a page of another site can neither read nor make it. It changes
// with each login and needs nothing stored.
func FormToken(session string) string {
	sum := sha256.Sum256([]byte("fenfu form token\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidForm reports whether the request's form carries the session's
// form token, compared in constant time; a request without a session
// never does.
func ValidForm(r *http.Request, session string) bool {
	if session == "" {
		return false
	}
	got := r.PostFormValue(FormField)
	return subtle.ConstantTimeCompare([]byte(got), []byte(FormToken(session))) == 1
}

// Nonce is a fresh nonce for one response's Content-Security-Policy.
func Nonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// PagePolicy is the Content-Security-Policy of a page without script:
// nothing from elsewhere, inline styles, images from fenfu itself.
const PagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"

// ScriptPolicy is the Content-Security-Policy of a page whose inline
// script runs under nonce: PagePolicy with that script, data: images and
// requests to fenfu itself.
func ScriptPolicy(nonce string) string {
	return "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'nonce-" + nonce +
		"'; connect-src 'self'; form-action 'self'"
}

// SheetPolicy is the Content-Security-Policy of a page styled by a
// stylesheet fenfu serves (no inline style), whose inline script, if it
// has any, runs under nonce: nothing from elsewhere, no framing, no
// <base>, forms only to fenfu itself.
func SheetPolicy(nonce string) string {
	return "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'nonce-" + nonce +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// PageHeaders sets what every HTML page answers with: its type, the
// Content-Security-Policy (PagePolicy unless the handler set one), no
// framing, and that the page varies with the language and the session.
func PageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", PagePolicy)
	}
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Vary", "Accept-Language, Cookie")
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Money formats an amount for a page: yuan with thousands separators
// (12,345.67). APIs and form values keep fenfu.Yuan's plain form.
func Money(f fenfu.Fen) string {
	s := fenfu.Yuan(f)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return sign + b.String() + "." + frac
}
