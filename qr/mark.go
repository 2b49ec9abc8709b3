package qr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
)

// The anti-counterfeit mark (防伪码) printed under a styled code: a keyed
// MAC of the code's token and the Unix minute, so a genuine picture shows
// a mark that changes every minute, and a photo or a print of it goes
// stale within two. Anyone holding the platform secret can verify a mark;
// no one without it can make one.
//
// A mark is MarkLength characters of Crockford's base32 alphabet (no I,
// L, O or U, which read as 1, 1, 0 and V): 30 bits. At any moment two
// marks of a token verify (this minute's and the last one's), so a blind
// guess succeeds once in 2^29 (about 5.4e8). Verification answers whether
// a mark is right, so every verifier spends a budget of failed
// verifications (serve's --qr-verify-failures a minute): at 20 a minute
// a guesser gets about 40 tries while a mark is current, a chance of
// 7.5e-8, and the budget is per merchant or staff member, which the
// platform issues, not per address anyone can mint.

// MarkLength is how many characters a mark has.
const MarkLength = 6

// markAlphabet is Crockford's base32 alphabet.
const markAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// MaxTokenLength is the longest token of a fenfu code: no longer one is
// parsed, marked or checked.
const MaxTokenLength = 512

// Marker makes and verifies the marks of codes' tokens. It is generic
// over the token: an order's token, or any other string a fenfu code
// carries.
type Marker struct{ key []byte }

// NewMarker returns a Marker under a key derived from the platform
// secret with a label of its own, so the key serves no other purpose.
func NewMarker(secret []byte) *Marker { return &Marker{key: derive(secret, "fenfu qr mark v1")} }

// Minute is the Unix minute of t: floor(unix seconds / 60), the same
// anywhere on Earth.
func Minute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

// MinuteStart is when Unix minute n begins.
func MinuteStart(n int64) time.Time { return time.Unix(n*60, 0) }

// Mark returns the mark of token in Unix minute n.
func (m *Marker) Mark(token string, n int64) string {
	h := hmac.New(sha256.New, m.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:]) // fixed width first, so no token and minute read as another pair
	h.Write([]byte(token))
	sum := h.Sum(nil)
	v := binary.BigEndian.Uint32(sum) // the first 30 of its bits
	out := make([]byte, MarkLength)
	for i := range out {
		out[i] = markAlphabet[v>>(32-5*(i+1))&31]
	}
	return string(out)
}

// Now returns the mark of token at now and the minute it is of.
func (m *Marker) Now(token string, now time.Time) (mark string, minute time.Time) {
	n := Minute(now)
	return m.Mark(token, n), MinuteStart(n)
}

// ParseMark reads a mark as a person types it: case, spaces and hyphens
// do not matter, and O, I and L read as 0, 1 and 1. Anything else that
// is not MarkLength characters of the alphabet is PARAM_ERROR.
func ParseMark(s string) (string, error) {
	bad := fenfu.FieldError("mark", "the mark must be %d characters of 0-9 and A-Z without I, L, O and U, as printed under the code", MarkLength)
	bad.Remedy = "Type the 6 characters after 防伪码 (MARK) under the code, as they show now."
	if len(s) > 64 {
		return "", bad
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(markAlphabet, r) {
			return "", bad
		}
		b.WriteRune(r)
	}
	if b.Len() != MarkLength {
		return "", bad
	}
	return b.String(), nil
}

// checkToken refuses what no fenfu code carries: an empty token, one
// longer than MaxTokenLength, or one with bytes outside printable ASCII.
func checkToken(token string) error {
	ok := token != "" && len(token) <= MaxTokenLength
	for i := 0; ok && i < len(token); i++ {
		ok = token[i] > ' ' && token[i] < 127
	}
	if !ok {
		e := fenfu.FieldError("token", "the token is not one a fenfu code carries: 1 to %d printable ASCII characters", MaxTokenLength)
		e.Remedy = "Give the part of the code's URL after /q/ (the token), as scanned."
		return e
	}
	return nil
}

// Verify reports whether mark is token's mark at now: this minute's, or
// the previous minute's (a picture shown at the end of a minute is still
// read in the next). It returns the minute the mark is of. A mark of any
// other minute, or of another token, is not; a malformed token or mark
// is PARAM_ERROR. Both minutes are compared in constant time.
func (m *Marker) Verify(token, mark string, now time.Time) (minute time.Time, ok bool, err error) {
	if err := checkToken(token); err != nil {
		return time.Time{}, false, err
	}
	mark, err = ParseMark(mark)
	if err != nil {
		return time.Time{}, false, err
	}
	n := Minute(now)
	cur := hmac.Equal([]byte(m.Mark(token, n)), []byte(mark))
	prev := hmac.Equal([]byte(m.Mark(token, n-1)), []byte(mark))
	switch {
	case cur:
		return MinuteStart(n), true, nil
	case prev:
		return MinuteStart(n - 1), true, nil
	}
	return time.Time{}, false, nil
}
