// Package audit keeps fenfu's tamper-evident audit log: one append-only
// chain of entries per store (the tables audit_log and audit_head), each
// entry's hash the SM3 of the previous entry's hash and its own canonical
// encoding, so an entry edited, deleted, inserted or moved breaks the
// chain where it happened. It appends entries (inside a caller's
// transaction, or on their own), lists them, verifies a chain, and writes
// and reads the anchors (a chain's head, logged now and then) that make a
// chain cut short detectable too. What is recorded — staff requests,
// logins, unmasking, rule and key changes — is decided by its callers.
package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Actions that fenfu's own callers record besides staff requests, whose
// action is the request's route pattern ("GET /admin/applications/{id}").
const (
	ActionLogin        = "login"
	ActionLoginRefused = "login refused"
	ActionUnmask       = "unmask"
	ActionRuleChange   = "risk rule change"
	ActionDisplayRules = "display rule change"
	ActionLineChange   = "credit line change"
	ActionKeyChange    = "key change"
)

// Target is what an entry is about: a kind ("application", "consumer",
// "merchant", "risk rule", "staff", …) and its id, either possibly empty.
type Target struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Entry is one entry of a chain.
type Entry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target Target    `json:"target"`
	Reason string    `json:"reason"`
	// Detail is a small JSON object, stored canonically: keys sorted, no
	// insignificant space, numbers as written.
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Limits of an entry's fields, so the log stays small and an entry cannot
// be used to fill a store.
const (
	MaxField  = 256  // actor, action, target kind and id
	MaxReason = 1024 // reason
	MaxDetail = 4096 // detail, canonical JSON
)

// Zero is the prev_hash of a chain's first entry.
const Zero = "0000000000000000000000000000000000000000000000000000000000000000"

// Canonical is the entry's canonical encoding, what its hash covers: its
// seq, its time in Unix microseconds, actor, action, target kind, target
// id, reason and detail, in that order, each as a netstring — the length
// of its bytes in decimal, ':', the bytes, ',' — so no two different
// entries encode alike whatever bytes their fields hold.
func (e Entry) Canonical() []byte {
	var b []byte
	for _, f := range []string{strconv.FormatInt(e.Seq, 10), strconv.FormatInt(db.Micros(e.At), 10), e.Actor, e.Action,
		e.Target.Kind, e.Target.ID, e.Reason, string(e.Detail)} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ',')
	}
	return b
}

// Sum is the hash an entry must have: SM3 over the 32 bytes of its
// prev_hash followed by its canonical encoding, in lower-case hex. A
// prev_hash that is not 64 hex digits is hashed as the bytes it is, so it
// can never match.
func (e Entry) Sum() string {
	h := sm3.New()
	prev, err := hex.DecodeString(e.PrevHash)
	if err != nil || len(prev) != sm3.Size {
		prev = []byte(e.PrevHash)
	}
	h.Write(prev)
	h.Write(e.Canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalDetail returns detail as canonical JSON: an object with its
// keys sorted and no insignificant space, numbers kept as written; empty
// stays empty.
func canonicalDetail(detail json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(detail)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(detail))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil || d.More() {
		return nil, fenfu.Errorf(fenfu.ParamError, "an audit entry's detail must be one JSON object")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "an audit entry's detail must be one JSON object")
	}
	return b, nil
}

// Detail encodes v, a map or struct, as an entry's detail.
func Detail(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// check prepares an entry to be appended: it must name an actor and an
// action; its text is made valid UTF-8 without NUL (which no store keeps
// in text) and clipped to its bound, so that what was done is recorded
// even when a caller's input is malformed.
func (e *Entry) check() error {
	if e.Actor == "" || e.Action == "" {
		return fenfu.Errorf(fenfu.ParamError, "an audit entry names its actor and its action")
	}
	for _, f := range []struct {
		v   *string
		max int
	}{{&e.Actor, MaxField}, {&e.Action, MaxField}, {&e.Target.Kind, MaxField}, {&e.Target.ID, MaxField}, {&e.Reason, MaxReason}} {
		*f.v = clip(strings.ReplaceAll(strings.ToValidUTF8(*f.v, "\uFFFD"), "\x00", "\uFFFD"), f.max)
	}
	d, err := canonicalDetail(e.Detail)
	if err != nil {
		return err
	}
	if len(d) > MaxDetail {
		d = Detail(map[string]any{"clipped": true, "bytes": len(d)})
	}
	e.Detail = d
	return nil
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// Append appends e to the chain of tx's store, in tx: the entry commits
// with the caller's writes or not at all. It sets e's seq, time (the
// transaction's), prev_hash and hash and returns it.
//
// Appends take turns on the chain's head row, which each locks by moving
// it (UPDATE … RETURNING) and holds until its transaction ends, so two
// nodes on one PostgreSQL never fork the chain. Call Append last in a
// transaction, after the caller's other writes: a transaction that waits
// for the head then holds no lock another appender could be waiting for,
// and holds the head for as short a time as it can.
func Append(ctx context.Context, tx *db.Tx, e Entry) (Entry, error) {
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&e.Seq, &e.PrevHash); err != nil {
		return Entry{}, fenfu.Internal("audit.Append", err)
	}
	e.At = time.UnixMicro(db.Micros(tx.Now)) // as stored
	e.Hash = e.Sum()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, target_kind, target_id, reason, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, e.Seq, db.Micros(e.At), e.Actor, e.Action, e.Target.Kind, e.Target.ID,
		e.Reason, string(e.Detail), e.PrevHash, e.Hash); err != nil {
		return Entry{}, fenfu.Internal("audit.Append", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash); err != nil {
		return Entry{}, fenfu.Internal("audit.Append", err)
	}
	return e, nil
}

// Record appends e to d's chain in a transaction of its own: for reads,
// and for changes made by code that commits its own transactions.
func Record(ctx context.Context, d *db.DB, e Entry) (Entry, error) {
	var out Entry
	err := d.Update(ctx, func(tx *db.Tx) error {
		var err error
		out, err = Append(ctx, tx, e)
		return err
	})
	return out, err
}

// Login records a login, or a refused one, of an account of kind
// ("staff", "merchant user") in the core store's chain (d): actor is who
// logged in, or who the attempt claimed to be; source is where it came
// from (an address); reason, for a refused login, why it was refused. The
// staff login and the merchant portal's call it once per attempt.
func Login(ctx context.Context, d *db.DB, kind, actor, source string, ok bool, reason string) error {
	action, by := ActionLogin, actor
	if !ok {
		// A refused login is not the member's act: whoever tried it is
		// unknown, and the account tried is the target.
		action, by = ActionLoginRefused, "unauthenticated"
	}
	_, err := Record(ctx, d, Entry{Actor: by, Action: action, Target: Target{Kind: kind, ID: actor}, Reason: reason,
		Detail: Detail(map[string]string{"source": source})})
	return err
}

// Head is a chain's last entry: its seq and hash (0 and Zero when empty).
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// HeadOf reads d's chain head.
func HeadOf(ctx context.Context, d *db.DB) (Head, error) {
	var h Head
	if err := d.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
		return Head{}, fenfu.Internal("audit.HeadOf", err)
	}
	return h, nil
}

// Stores are fenfu's two stores, each with its audit log, for callers that
// pick the log by the data a request touches.
type Stores struct {
	Core, Credit *db.DB
}

// Of returns the store named "core" or "credit", or nil.
func (s *Stores) Of(name string) *db.DB {
	switch name {
	case "core":
		return s.Core
	case "credit":
		return s.Credit
	}
	return nil
}
