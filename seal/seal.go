// Package seal encrypts secrets at rest with SM4 envelopes: each secret
// gets a random 128-bit data key; the data encrypts the secret with
// SM4-GCM, and the master key (a file of the data directory, 0600) wraps
// the data key with SM4-GCM. Both are bound to a context string naming
// where the secret lives, so a sealed value copied to another row does not
// open there. It also computes blind indexes: keyed SM3 digests that let a
// store find a sealed value by equality without holding it in clear.
package seal

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// prefix marks a sealed value and its format version.
const prefix = "sm4env1."

// Sealer seals and opens secrets under one master key, and computes blind
// indexes under a key derived from it.
type Sealer struct {
	master cipher.AEAD
	index  []byte // the blind-index key: HMAC-SM3(master, indexKeyLabel)
}

// indexKeyLabel derives the blind-index key from the master key, so the
// master key itself never keys a digest that is stored.
const indexKeyLabel = "fenfu blind index key v1"

// New returns a Sealer for a 16-byte SM4 master key.
func New(master []byte) (*Sealer, error) {
	a, err := gcm(master)
	if err != nil {
		return nil, err
	}
	return &Sealer{master: a, index: hmacSM3(master, indexKeyLabel)}, nil
}

func hmacSM3(key []byte, parts ...string) []byte {
	m := hmac.New(sm3.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0}) // parts never contain NUL: "a","bc" and "ab","c" differ
	}
	return m.Sum(nil)
}

// indexPrefix marks a blind index and its format version.
const indexPrefix = "sm3bi1."

// Index returns the blind index of value in a kind of field (such as
// "consumers.phone"): HMAC-SM3 under the derived index key over the kind
// and the value. The same value of the same kind always gives the same
// index, so a store can keep it under a UNIQUE constraint and look rows up
// by it; without the master key it cannot be computed, so a stolen store
// cannot be searched by guessing phone numbers. Callers normalise the
// value first (the index is of the exact bytes).
func (s *Sealer) Index(kind, value string) string {
	return indexPrefix + base64.RawURLEncoding.EncodeToString(hmacSM3(s.index, kind, value))
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, errors.New("seal: an SM4 key is 16 bytes")
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// ErrOpen is returned for a sealed value that does not open: another
// master key, another context, or damage.
var ErrOpen = errors.New("seal: the value does not open with this master key in this context")

// Seal encrypts plaintext for the given context.
func (s *Sealer) Seal(plaintext, context string) (string, error) {
	dek := make([]byte, 16)
	if _, err := rand.Read(dek); err != nil {
		return "", err
	}
	data, err := gcm(dek)
	if err != nil {
		return "", err
	}
	n1 := make([]byte, s.master.NonceSize())
	n2 := make([]byte, data.NonceSize())
	if _, err := rand.Read(n1); err != nil {
		return "", err
	}
	if _, err := rand.Read(n2); err != nil {
		return "", err
	}
	wrapped := s.master.Seal(n1, n1, dek, []byte("dek|"+context))
	ct := data.Seal(n2, n2, []byte(plaintext), []byte("data|"+context))
	enc := base64.RawURLEncoding
	return prefix + enc.EncodeToString(wrapped) + "." + enc.EncodeToString(ct), nil
}

// Sealed reports whether a stored value is sealed.
func Sealed(v string) bool { return strings.HasPrefix(v, prefix) }

// Open decrypts a sealed value for the given context.
func (s *Sealer) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	w, c, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrOpen
	}
	enc := base64.RawURLEncoding
	wrapped, err1 := enc.DecodeString(w)
	ct, err2 := enc.DecodeString(c)
	ns := s.master.NonceSize()
	if err1 != nil || err2 != nil || len(wrapped) < ns || len(ct) < 12 {
		return "", ErrOpen
	}
	dek, err := s.master.Open(nil, wrapped[:ns], wrapped[ns:], []byte("dek|"+context))
	if err != nil {
		return "", ErrOpen
	}
	data, err := gcm(dek)
	if err != nil {
		return "", ErrOpen
	}
	pt, err := data.Open(nil, ct[:data.NonceSize()], ct[data.NonceSize():], []byte("data|"+context))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}
