package qr

import (
	"time"

	"github.com/fenfu/fenfu"
)

// Checker answers whether a code's mark is genuine, with what the code
// is: the one check of the merchant route, the staff route and the CLI.
// Tokens reads orders' tokens, Aggregates (if set) aggregate codes'; a
// new kind of fenfu code joins them here with its own reader.
type Checker struct {
	Marks      *Marker
	Tokens     *Signer
	Aggregates *CodeSigner
	// WrongMarks, if set, is each verifier's budget of wrong marks: a
	// verifier out of it is refused before its mark is checked.
	WrongMarks Budget
}

// Budget is a budget per key, as ratelimit.Limiter keeps them.
type Budget interface {
	Exhausted(key string, now time.Time) bool
	Allow(key string, now time.Time) bool
}

// NoChecker is the answer of a server that verifies no marks.
func NoChecker() error {
	e := fenfu.Errorf(fenfu.ResourceNotExists, "this server verifies no code marks")
	e.Remedy = "Verify marks on a fenfu serve node, which checks them under the platform secret, or with fenfu qr verify."
	return e
}

// Why a mark is not genuine.
const (
	NotIssued    = "CODE_NOT_ISSUED" // the token was altered or is not fenfu's
	CodeExpired  = "CODE_EXPIRED"    // the code expired before the minute of its mark, so no genuine picture shows that mark
	MarkMismatch = "MARK_MISMATCH"   // not this minute's mark nor the last one's
)

// Verdict is what a check found.
type Verdict struct {
	Valid bool `json:"valid"`
	// Reason is why not, when not valid: NotIssued, CodeExpired or
	// MarkMismatch.
	Reason string `json:"reason,omitempty"`
	// Minute is the minute the mark is of, when valid (Asia/Shanghai,
	// RFC 3339).
	Minute string `json:"minute,omitempty"`
	// CheckedAt is when the mark was checked.
	CheckedAt string `json:"checked_at"`
	// Kind is what the token names ("order", or "aggregate" for an
	// aggregate code), and MchID whose code it is; both empty for a token
	// fenfu did not issue.
	Kind  string `json:"kind,omitempty"`
	MchID string `json:"mchid,omitempty"`
	// CodeExpiresAt is when an order's code stops paying.
	CodeExpiresAt string `json:"code_expires_at,omitempty"`
}

// Code is what a token names, read before the mark is checked, so a
// verifier can be held to its own codes first.
type Code struct {
	Kind    string
	MchID   string
	Expires time.Time // zero for a code that does not expire (an aggregate code's)
}

// read returns what token names; ok is false for a token fenfu did not
// issue. A malformed token is PARAM_ERROR.
func (c *Checker) read(token string, now time.Time) (code Code, ok bool, err error) {
	if err := checkToken(token); err != nil {
		return Code{}, false, err
	}
	if p, err := c.Tokens.Parse(token, now); err == nil || fenfu.ErrorCode(err) == fenfu.OrderClosed {
		return Code{Kind: "order", MchID: p.MchID, Expires: p.Expires}, true, nil
	}
	if c.Aggregates != nil {
		if p, err := c.Aggregates.Parse(token); err == nil {
			return Code{Kind: "aggregate", MchID: p.MchID}, true, nil
		}
	}
	return Code{}, false, nil
}

// Check checks mark against token at now for verifier, a key of its
// budget ("mch:1900000001", "staff:li"). mine, if set, may refuse a code
// the verifier is not to check (another merchant's) before its mark is
// compared; it sees only codes fenfu issued. A wrong mark, or a mark of a
// token fenfu did not issue, spends the verifier's budget; a verifier
// out of it is FREQUENCY_LIMITED.
func (c *Checker) Check(verifier, token, mark string, now time.Time, mine func(Code) error) (Verdict, error) {
	if c.WrongMarks != nil && c.WrongMarks.Exhausted(verifier, now) {
		e := fenfu.Errorf(fenfu.FrequencyLimited, "too many wrong marks were verified; verification is paused for a while")
		e.Remedy = "Wait a minute, then read the mark again from the code as it shows now."
		return Verdict{}, e
	}
	code, ok, err := c.read(token, now)
	if err != nil {
		return Verdict{}, err
	}
	if ok && mine != nil {
		if err := mine(code); err != nil {
			return Verdict{}, err
		}
	}
	minute, valid, err := c.Marks.Verify(token, mark, now)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{CheckedAt: now.In(fenfu.Shanghai).Format(time.RFC3339)}
	switch {
	case !ok:
		v.Reason = NotIssued
	case !valid:
		v.Reason = MarkMismatch
	case !code.Expires.IsZero() && !code.Expires.After(minute):
		v.Reason = CodeExpired
	default:
		v.Valid, v.Minute = true, minute.In(fenfu.Shanghai).Format(time.RFC3339)
	}
	if ok {
		v.Kind, v.MchID = code.Kind, code.MchID
		if !code.Expires.IsZero() {
			v.CodeExpiresAt = code.Expires.In(fenfu.Shanghai).Format(time.RFC3339)
		}
	}
	if !v.Valid && v.Reason != CodeExpired && c.WrongMarks != nil {
		c.WrongMarks.Allow(verifier, now)
	}
	return v, nil
}
