package display

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Token is what a market_exposure_token binds: the order it was issued
// for, the consumer it was decided for ("" if unknown), the exposure
// recorded for it, and when it expires (the order's expiry).
type Token struct {
	OrderID    string
	ConsumerID string
	ExposureID string
	Expires    time.Time
}

// Tokens signs and opens market_exposure_token values: opaque to the
// merchant, HMAC-SHA256 under a key derived from the platform secret.
type Tokens struct{ key []byte }

// NewTokens returns the signer of market_exposure_token values under a
// key derived from secret.
func NewTokens(secret []byte) *Tokens {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("fenfu market exposure token v1"))
	return &Tokens{key: m.Sum(nil)}
}

const tokenVersion = "e1"

// maxToken bounds a token's length: four ids and a time, encoded.
const maxToken = 400

var b64 = base64.RawURLEncoding.Strict()

// Sign returns the token of t.
func (s *Tokens) Sign(t Token) string {
	body := strings.Join([]string{tokenVersion, t.OrderID, t.ConsumerID, t.ExposureID, strconv.FormatInt(t.Expires.Unix(), 10)}, "|")
	enc := b64.EncodeToString([]byte(body))
	return enc + "." + b64.EncodeToString(s.mac(enc))
}

func (s *Tokens) mac(enc string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(enc))
	return m.Sum(nil)[:16]
}

// Open checks a token's signature and expiry at now and returns what it
// binds; ok is false for a token altered, foreign, malformed or expired.
func (s *Tokens) Open(token string, now time.Time) (t Token, ok bool) {
	if len(token) == 0 || len(token) > maxToken {
		return t, false
	}
	enc, sig, found := strings.Cut(token, ".")
	if !found {
		return t, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(enc)) {
		return t, false
	}
	raw, err := b64.DecodeString(enc)
	if err != nil {
		return t, false
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 5 || f[0] != tokenVersion || f[1] == "" || f[3] == "" {
		return t, false
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return t, false
	}
	t = Token{OrderID: f[1], ConsumerID: f[2], ExposureID: f[3], Expires: time.Unix(exp, 0)}
	return t, now.Before(t.Expires)
}
