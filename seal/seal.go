// Package seal encrypts secrets at rest with SM4 envelopes: each secret
// gets a random 128-bit data key; the data encrypts the secret with
// SM4-GCM, and the master key wraps the data key with SM4-GCM. Both are
// bound to a context string naming where the secret lives, so a sealed
// value copied to another row does not open there. An envelope names the
// master that wrapped it, so a node holding a current and a previous
// master opens values of either, and Rewrap moves a value to the current
// master by wrapping its data key again, without touching the data. It
// also computes blind indexes: keyed SM3 digests that let a store find a
// sealed value by equality without holding it in clear.
package seal

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// The envelope formats: version 1 (sm4env1.WRAPPED.DATA) does not name
// its master and is still read; version 2 (sm4env2.MASTERID.WRAPPED.DATA)
// is written.
const (
	prefix   = "sm4env" // every version
	prefixV1 = "sm4env1."
	prefixV2 = "sm4env2."
)

// master is one master key a Sealer holds.
type master struct {
	id   string
	aead cipher.AEAD
}

// Sealer seals secrets under its current master key, opens them under
// the current or a previous one, and computes blind indexes.
type Sealer struct {
	masters []master // current first
	index   []byte   // the blind-index key
	derived []byte   // the blind-index key derived from the current master
}

// indexKeyLabel derives the blind-index key from the master key, so the
// master key itself never keys a digest that is stored.
const indexKeyLabel = "fenfu blind index key v1"

// New returns a Sealer for a 16-byte SM4 master key that also opens
// values wrapped by the previous masters given. Its blind-index key is
// derived from the master (DerivedIndexKey) until WithIndexKey sets the
// one a store keeps.
func New(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	for _, k := range append([][]byte{current}, previous...) {
		a, err := gcm(k)
		if err != nil {
			return nil, err
		}
		s.masters = append(s.masters, master{id: MasterID(k), aead: a})
	}
	s.derived = hmacSM3(current, indexKeyLabel)
	s.index = s.derived
	return s, nil
}

// MasterID names a master key in the envelopes it wraps: 8 hex digits of
// a labelled SM3 digest of it, which tells masters apart and says nothing
// of the key.
func MasterID(key []byte) string {
	sum := sm3.Sum(append([]byte("fenfu master key id\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

// Current is the ID of the master that seals.
func (s *Sealer) Current() string { return s.masters[0].id }

// DerivedIndexKey is the blind-index key derived from the current master:
// the key of every index written before the store kept its own.
func (s *Sealer) DerivedIndexKey() []byte { return append([]byte(nil), s.derived...) }

// WithIndexKey returns a copy of the Sealer whose blind indexes are keyed
// by key (32 bytes, the one its store keeps), so indexes outlive the
// master that was current when they were written.
func (s *Sealer) WithIndexKey(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("seal: a blind-index key is 32 bytes")
	}
	c := *s
	c.index = append([]byte(nil), key...)
	return &c, nil
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
// "consumers.phone"): HMAC-SM3 under the index key over the kind and the
// value. The same value of the same kind always gives the same index, so
// a store can keep it under a UNIQUE constraint and look rows up by it;
// without the index key, which the store keeps sealed under the master,
// it cannot be computed, so a stolen store cannot be searched by guessing
// phone numbers. Callers normalise the value first (the index is of the
// exact bytes).
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
	n2 := make([]byte, data.NonceSize())
	if _, err := rand.Read(n2); err != nil {
		return "", err
	}
	ct := data.Seal(n2, n2, []byte(plaintext), []byte("data|"+context))
	return s.wrap(dek, context, base64.RawURLEncoding.EncodeToString(ct))
}

// wrap wraps a data key under the current master and makes the envelope
// of it and the encoded data.
func (s *Sealer) wrap(dek []byte, context, data string) (string, error) {
	m := s.masters[0]
	n1 := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(n1); err != nil {
		return "", err
	}
	wrapped := m.aead.Seal(n1, n1, dek, []byte("dek|"+context))
	return prefixV2 + m.id + "." + base64.RawURLEncoding.EncodeToString(wrapped) + "." + data, nil
}

// Sealed reports whether a stored value is sealed.
func Sealed(v string) bool { return strings.HasPrefix(v, prefix) }

// envelope is a parsed sealed value.
type envelope struct {
	master  string // "" in a version 1 envelope
	wrapped []byte
	data    string // still encoded
}

// parse splits a sealed value into its parts, or fails with ErrOpen.
func parse(sealed string) (envelope, error) {
	var e envelope
	var rest string
	if r, ok := strings.CutPrefix(sealed, prefixV2); ok {
		id, r, ok := strings.Cut(r, ".")
		if !ok || len(id) != 8 {
			return e, ErrOpen
		}
		e.master, rest = id, r
	} else if r, ok := strings.CutPrefix(sealed, prefixV1); ok {
		rest = r
	} else {
		return e, ErrOpen
	}
	w, c, ok := strings.Cut(rest, ".")
	if !ok {
		return e, ErrOpen
	}
	wrapped, err := base64.RawURLEncoding.DecodeString(w)
	if err != nil {
		return e, ErrOpen
	}
	e.wrapped, e.data = wrapped, c
	return e, nil
}

// MasterOf returns the ID of the master that wrapped a sealed value, or
// "" for a version 1 envelope, which does not say (WrappedBy finds it).
func MasterOf(sealed string) (string, error) {
	e, err := parse(sealed)
	return e.master, err
}

// unwrap opens an envelope's data key with the master it names, or, for
// a version 1 envelope, with whichever master opens it, and returns the
// ID of that master.
func (s *Sealer) unwrap(e envelope, context string) ([]byte, string, error) {
	for _, m := range s.masters {
		if e.master != "" && e.master != m.id {
			continue
		}
		ns := m.aead.NonceSize()
		if len(e.wrapped) < ns {
			return nil, "", ErrOpen
		}
		if dek, err := m.aead.Open(nil, e.wrapped[:ns], e.wrapped[ns:], []byte("dek|"+context)); err == nil {
			return dek, m.id, nil
		}
	}
	return nil, "", ErrOpen
}

// Open decrypts a sealed value for the given context.
func (s *Sealer) Open(sealed, context string) (string, error) {
	e, err := parse(sealed)
	if err != nil {
		return "", err
	}
	dek, _, err := s.unwrap(e, context)
	if err != nil {
		return "", err
	}
	ct, err := base64.RawURLEncoding.DecodeString(e.data)
	if err != nil {
		return "", ErrOpen
	}
	data, err := gcm(dek)
	if err != nil || len(ct) < data.NonceSize() {
		return "", ErrOpen
	}
	pt, err := data.Open(nil, ct[:data.NonceSize()], ct[data.NonceSize():], []byte("data|"+context))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}

// SealWith seals plaintext in context with s; without a sealer (a nil s,
// as in tests of the packages that store sealed values) it keeps
// plaintext as it is.
func SealWith(s *Sealer, plaintext, context string) (string, error) {
	if s == nil {
		return plaintext, nil
	}
	return s.Seal(plaintext, context)
}

// OpenWith opens a value SealWith stored: a sealed one with s, any other
// as it is. A sealed value without a sealer is an error.
func OpenWith(s *Sealer, stored, context string) (string, error) {
	if !Sealed(stored) {
		return stored, nil
	}
	if s == nil {
		return "", fmt.Errorf("seal: a value sealed in %s, and no sealer is configured", context)
	}
	return s.Open(stored, context)
}

// WrappedBy returns the ID of the master among the Sealer's that wraps a
// sealed value in its context, or fails with ErrOpen.
func (s *Sealer) WrappedBy(sealed, context string) (string, error) {
	e, err := parse(sealed)
	if err != nil {
		return "", err
	}
	_, id, err := s.unwrap(e, context)
	return id, err
}

// Rewrap returns a sealed value with its data key wrapped by the current
// master, and whether that changed it: the data stays encrypted as it is
// under its own data key. A value already under the current master comes
// back as it is.
func (s *Sealer) Rewrap(sealed, context string) (string, bool, error) {
	e, err := parse(sealed)
	if err != nil {
		return "", false, err
	}
	if e.master == s.Current() {
		return sealed, false, nil
	}
	dek, _, err := s.unwrap(e, context)
	if err != nil {
		return "", false, err
	}
	out, err := s.wrap(dek, context, e.data)
	return out, err == nil, err
}

// Column is a column of a store that holds sealed values, for the tools
// that count them by master and re-wrap them (fenfu keys status and
// reseal). Rows are found by Key, a unique column, in its order.
type Column struct {
	Table, Key, Value string
	// Context is the context a row's value is sealed in, from its key.
	Context func(key string) string
	// Fields, for a column of JSON documents, name the fields that hold
	// envelopes, each with its context; Context is then not used.
	Fields map[string]func(key string) string
}

// Name is the column's table.column.
func (c Column) Name() string { return c.Table + "." + c.Value }

// Envelopes returns the sealed values one row's value holds, each with
// its context.
func (c Column) Envelopes(key, value string) (sealed, contexts []string) {
	if c.Fields == nil {
		if Sealed(value) {
			return []string{value}, []string{c.Context(key)}
		}
		return nil, nil
	}
	var doc map[string]any
	if json.Unmarshal([]byte(value), &doc) != nil {
		return nil, nil
	}
	for _, f := range slices.Sorted(maps.Keys(c.Fields)) {
		if v, ok := doc[f].(string); ok && Sealed(v) {
			sealed, contexts = append(sealed, v), append(contexts, c.Fields[f](key))
		}
	}
	return sealed, contexts
}
