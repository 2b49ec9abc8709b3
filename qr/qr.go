// Package qr makes the payment codes consumers scan: signed, expiring
// tokens that name an order, its merchant and its amount, so a code cannot
// be altered to pay someone else or a different sum, and their rendering as
// PNG images.
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
func NewSigner(secret []byte) *Signer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("fenfu qr token v1"))
	return &Signer{key: m.Sum(nil)}
}

const version = "1"

// strict refuses non-canonical encodings, so each payload has one token.
var strict = base64.RawURLEncoding.Strict()

// Token returns the token for p: base64url(payload) "." base64url(mac).
func (s *Signer) Token(p Payload) string {
	body := strings.Join([]string{version, p.OrderID, p.MchID, strconv.FormatInt(int64(p.Total), 10),
		strconv.FormatInt(p.Expires.Unix(), 10)}, "|")
	enc := base64.RawURLEncoding.EncodeToString([]byte(body))
	return enc + "." + base64.RawURLEncoding.EncodeToString(s.mac(enc))
}

func (s *Signer) mac(enc string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(enc))
	return m.Sum(nil)[:16]
}

// Parse checks a token's signature and expiry and returns its payload. An
// altered or foreign token fails with PARAM_ERROR; an expired one with
// ORDER_CLOSED.
func (s *Signer) Parse(token string, now time.Time) (Payload, error) {
	bad := fenfu.Errorf(fenfu.ParamError, "the payment code is not valid: it was altered or not issued by this platform")
	bad.Remedy = "Scan the merchant's code again, or ask the merchant for a new one."
	if len(token) > 512 {
		return Payload{}, bad
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Payload{}, bad
		}
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Payload{}, bad
	}
	got, err := strict.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(enc)) {
		return Payload{}, bad
	}
	raw, err := strict.DecodeString(enc)
	if err != nil {
		return Payload{}, bad
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 5 || f[0] != version {
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
