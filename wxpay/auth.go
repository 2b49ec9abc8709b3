package wxpay

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fenfu/fenfu/scheme"
)

// MaxClockSkew is how far a request's timestamp may be from fenfu's clock.
const MaxClockSkew = 5 * time.Minute

// Authorization is a parsed v3 Authorization header.
type Authorization struct {
	Scheme    scheme.Name
	MchID     string
	NonceStr  string
	Timestamp int64
	SerialNo  string
	Signature []byte
}

// ParseAuthorization parses `SCHEME mchid="…",nonce_str="…",timestamp="…",
// serial_no="…",signature="…"`, the five items in any order. It returns an
// error saying what is wrong; it never panics on any input.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	if len(h) > 4096 {
		return a, errors.New("Authorization header is too long")
	}
	name, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || name == "" {
		return a, errors.New("Authorization must be `WECHATPAY2-SHA256-RSA2048 mchid=\"…\",nonce_str=\"…\",timestamp=\"…\",serial_no=\"…\",signature=\"…\"`")
	}
	sch, err := scheme.Parse(name)
	if err != nil {
		return a, err
	}
	a.Scheme = sch
	seen := map[string]bool{}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return a, fmt.Errorf("Authorization item %q has no value", rest)
		}
		key = strings.TrimSpace(key)
		after = strings.TrimLeft(after, " ")
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return a, fmt.Errorf("Authorization item %s has an unterminated quote", key)
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			val, rest = strings.TrimSpace(after[:end]), after[end:]
		}
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' {
				return a, fmt.Errorf("Authorization items must be separated by commas (after %s)", key)
			}
			rest = strings.TrimSpace(rest[1:])
		}
		if seen[key] {
			return a, fmt.Errorf("Authorization item %s appears twice", key)
		}
		seen[key] = true
		switch key {
		case "mchid":
			a.MchID = val
		case "nonce_str":
			a.NonceStr = val
		case "timestamp":
			ts, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return a, fmt.Errorf("Authorization timestamp %q is not a Unix time in seconds", val)
			}
			a.Timestamp = ts
		case "serial_no":
			a.SerialNo = val
		case "signature":
			sig, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return a, errors.New("Authorization signature is not base64")
			}
			a.Signature = sig
		default:
			return a, fmt.Errorf("unknown Authorization item %q", key)
		}
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if !seen[k] {
			return a, fmt.Errorf("Authorization lacks %s", k)
		}
	}
	if a.MchID == "" || len(a.MchID) > 32 {
		return a, errors.New("Authorization mchid is empty or too long")
	}
	if a.NonceStr == "" || len(a.NonceStr) > 64 {
		return a, errors.New("Authorization nonce_str must be 1 to 64 characters")
	}
	if a.SerialNo == "" || len(a.SerialNo) > 64 {
		return a, errors.New("Authorization serial_no is empty or too long")
	}
	return a, nil
}

// Sign signs msg with key and returns the signature base64-encoded.
func Sign(key crypto.Signer, msg []byte) (string, error) {
	sig, err := scheme.Sign(key, msg)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// NonceCache remembers the nonces seen within the replay window, per
// merchant, so a captured request cannot be replayed.
type NonceCache struct {
	mu     sync.Mutex
	seen   map[string]int64 // mchid|nonce → expiry (unix seconds)
	sweepN int
}

// NewNonceCache returns an empty cache.
func NewNonceCache() *NonceCache { return &NonceCache{seen: map[string]int64{}} }

// Use records a nonce and reports whether it was fresh. A nonce is
// remembered for twice the clock-skew window, which covers every timestamp
// that could still be accepted.
func (c *NonceCache) Use(mchid, nonce string, now time.Time) bool {
	k := mchid + "|" + nonce
	exp := now.Add(2 * MaxClockSkew).Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.seen[k]; ok && e > now.Unix() {
		return false
	}
	c.seen[k] = exp
	c.sweepN++
	if c.sweepN >= 4096 {
		c.sweepN = 0
		t := now.Unix()
		for k, e := range c.seen {
			if e <= t {
				delete(c.seen, k)
			}
		}
	}
	return true
}
