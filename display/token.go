package display

import (
	"crypto/aes"
	"crypto/cipher"
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

// Tokens seals and opens market_exposure_token values. The token goes to
// the merchant's page, so it is sealed, not only signed: AES-256-GCM
// under a key derived from the platform secret, which the merchant can
// neither read (fenfu's consumer id, the same for every merchant, would
// let merchants link a consumer among themselves) nor alter. The nonce is
// derived from the sealed fields under a second derived key, so one token
// seals to one value.
type Tokens struct {
	aead  cipher.AEAD
	nonce []byte // the key the nonce is derived under
}

// NewTokens returns the sealer of market_exposure_token values under keys
// derived from secret.
func NewTokens(secret []byte) *Tokens {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("fenfu market exposure token v2 seal"))
	if err != nil {
		panic(err) // a 32-byte key is always taken
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Tokens{aead: aead, nonce: derive("fenfu market exposure token v2 nonce")}
}

// tokenVersion is the first byte of a sealed token.
const tokenVersion = 2

// maxToken bounds a token's length: four ids and a time, sealed and
// encoded.
const maxToken = 400

var b64 = base64.RawURLEncoding.Strict()

// Sign returns the token of t.
func (s *Tokens) Sign(t Token) string {
	plain := []byte(strings.Join([]string{t.OrderID, t.ConsumerID, t.ExposureID, strconv.FormatInt(t.Expires.Unix(), 10)}, "|"))
	nonce := s.nonceOf(plain)
	out := append([]byte{tokenVersion}, nonce...)
	return b64.EncodeToString(s.aead.Seal(out, nonce, plain, []byte{tokenVersion}))
}

func (s *Tokens) nonceOf(plain []byte) []byte {
	m := hmac.New(sha256.New, s.nonce)
	m.Write(plain)
	return m.Sum(nil)[:s.aead.NonceSize()]
}

// Open checks a token's seal and expiry at now and returns what it binds;
// ok is false for a token altered, foreign, malformed or expired.
func (s *Tokens) Open(token string, now time.Time) (t Token, ok bool) {
	if len(token) == 0 || len(token) > maxToken {
		return t, false
	}
	raw, err := b64.DecodeString(token)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < 1+n+s.aead.Overhead() || raw[0] != tokenVersion {
		return t, false
	}
	plain, err := s.aead.Open(nil, raw[1:1+n], raw[1+n:], []byte{tokenVersion})
	if err != nil || !hmac.Equal(raw[1:1+n], s.nonceOf(plain)) {
		return t, false
	}
	f := strings.Split(string(plain), "|")
	if len(f) != 4 || f[0] == "" || f[2] == "" {
		return t, false
	}
	exp, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return t, false
	}
	t = Token{OrderID: f[0], ConsumerID: f[1], ExposureID: f[2], Expires: time.Unix(exp, 0)}
	return t, now.Before(t.Expires)
}
