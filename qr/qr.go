// Package qr makes the payment codes consumers scan: signed, expiring
// tokens that name an order, its merchant and its amount, so a code cannot
// be altered to pay someone else or a different sum; signed, lasting
// tokens of merchants' aggregate codes (聚合码), which name the code and
// its merchant; the anti-counterfeit mark printed under a code, which
// changes every minute and which the platform verifies; and the drawing
// of codes, plain, or in the credit-pay style as PNG and SVG for a screen
// and for print.
package qr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"rsc.io/qr"
)

// Payload is what a token vouches for.
type Payload struct {
	OrderID string
	MchID   string
	Total   fenfu.Fen
	Expires time.Time
}

// Signer signs and checks tokens with a secret key.
type Signer struct{ key []byte }

// NewSigner returns a Signer for the secret. The key is derived so the same
// secret can serve other purposes without cross-use.
func NewSigner(secret []byte) *Signer { return &Signer{key: derive(secret, "fenfu qr token v1")} }

// derive is the key of one use of the secret, named by label.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

const version = "1"

// strict refuses non-canonical encodings, so each payload has one token.
var strict = base64.RawURLEncoding.Strict()

// Token returns the token for p: base64url(payload) "." base64url(mac).
func (s *Signer) Token(p Payload) string {
	return sign(s.key, version, p.OrderID, p.MchID, strconv.FormatInt(int64(p.Total), 10), strconv.FormatInt(p.Expires.Unix(), 10))
}

// Parse checks a token's signature and expiry and returns its payload. An
// altered or foreign token fails with PARAM_ERROR; an expired one with
// ORDER_CLOSED.
func (s *Signer) Parse(token string, now time.Time) (Payload, error) {
	bad := fenfu.Errorf(fenfu.ParamError, "the payment code is not valid: it was altered or not issued by this platform")
	bad.Remedy = "Scan the merchant's code again, or ask the merchant for a new one."
	f, ok := open(s.key, token, version, 5)
	if !ok {
		return Payload{}, bad
	}
	total, err1 := strconv.ParseInt(f[3], 10, 64)
	exp, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return Payload{}, bad
	}
	p := Payload{OrderID: f[1], MchID: f[2], Total: fenfu.Fen(total), Expires: time.Unix(exp, 0)}
	if !now.Before(p.Expires) {
		e := fenfu.Errorf(fenfu.OrderClosed, "the payment code expired at %s", p.Expires.In(fenfu.Shanghai).Format(time.DateTime))
		e.Remedy = "Ask the merchant for a new code."
		return p, e
	}
	return p, nil
}

// sign returns the token of fields, the first of which is the kind and
// version of the token: base64url(fields joined by "|") "." base64url(mac
// under key).
func sign(key []byte, fields ...string) string {
	enc := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(fields, "|")))
	return enc + "." + base64.RawURLEncoding.EncodeToString(mac(key, enc))
}

func mac(key []byte, enc string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(enc))
	return m.Sum(nil)[:16]
}

// open checks a token's signature under key and returns its n fields, the
// first of which must be version; ok is false for anything else: too
// long, a character outside base64url and ".", a MAC that does not
// verify (compared in constant time), a non-canonical encoding, or
// another kind or shape of payload.
func open(key []byte, token, version string, n int) (fields []string, ok bool) {
	if len(token) > MaxTokenLength {
		return nil, false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, false
		}
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, false
	}
	got, err := strict.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, enc)) {
		return nil, false
	}
	raw, err := strict.DecodeString(enc)
	if err != nil {
		return nil, false
	}
	f := strings.Split(string(raw), "|")
	if len(f) != n || f[0] != version {
		return nil, false
	}
	return f, true
}

// PNG renders text as a QR code image, medium error correction, with the
// given module size in pixels.
func PNG(text string, scale int) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	if scale > 0 {
		c.Scale = scale
	}
	return c.PNG(), nil
}
