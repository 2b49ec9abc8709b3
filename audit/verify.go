package audit

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Problems Verify names, each at the first entry where it shows.
const (
	// Edited: the entry's hash is not the SM3 of its prev_hash and its
	// contents, so a field was changed after it was written.
	Edited = "edited"
	// Deleted: seqs jump over the entry, so it (and any up to the next
	// present one) was deleted.
	Deleted = "deleted"
	// Reordered: the entry's prev_hash is not the hash of the entry before
	// it, so entries were swapped, moved or inserted.
	Reordered = "reordered or inserted"
	// Truncated: an anchor, or the head row, names an entry past the
	// chain's end, so entries were cut off its end.
	Truncated = "truncated"
	// Rewritten: an anchor, or the head row, has another hash for the
	// entry than the chain, so the chain was rewritten up to it.
	Rewritten = "rewritten"
)

// Break is the first broken link of a chain.
type Break struct {
	Seq     int64  `json:"seq"`
	Problem string `json:"problem"`
	Detail  string `json:"detail"`
}

// Report is what Verify found in one store's chain.
type Report struct {
	Store   string `json:"store"`
	Entries int64  `json:"entries_checked"`
	Head    Head   `json:"head"`
	Anchors int    `json:"anchors_checked"`
	Break   *Break `json:"break,omitempty"`
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Break == nil }

func (r Report) String() string {
	if r.Break != nil {
		return fmt.Sprintf("%s audit log: broken at entry %d (%s): %s; %d entries checked before it", r.Store, r.Break.Seq,
			r.Break.Problem, r.Break.Detail, r.Entries)
	}
	return fmt.Sprintf("%s audit log: %d entries verified, head %d %s, %d anchors agree", r.Store, r.Entries, r.Head.Seq,
		r.Head.Hash, r.Anchors)
}

// verifyPage is how many entries Verify reads per query.
const verifyPage = 2000

// Verify walks d's chain from its first entry to the head, recomputing
// every hash, and reports the first broken link: a gap in the seqs
// (Deleted), a prev_hash that is not the previous entry's hash
// (Reordered), a hash that is not its entry's (Edited). It then checks the
// head row and the anchors of d's store among anchors: one past the
// chain's end is Truncated, one whose hash differs Rewritten. Entries
// appended while it runs, past the head it read first, are left for the
// next run. progress, if set, is called after each page with the entries
// checked so far and the head's seq.
func Verify(ctx context.Context, d *db.DB, anchors []Anchor, progress func(checked, head int64)) (Report, error) {
	r := Report{Store: d.Name}
	head, err := HeadOf(ctx, d)
	if err != nil {
		return r, err
	}
	r.Head = head
	want := map[int64][]Anchor{}
	for _, a := range anchors {
		if a.Store == d.Name {
			want[a.Seq] = append(want[a.Seq], a)
		}
	}
	prev := Entry{Hash: Zero}
	for {
		page, err := walk(ctx, d, prev.Seq, head.Seq)
		if err != nil {
			return r, err
		}
		for _, e := range page {
			if b := link(prev, e); b != nil {
				r.Break = b
				return r, nil
			}
			for _, a := range want[e.Seq] {
				if a.Hash != e.Hash {
					r.Break = &Break{e.Seq, Rewritten, fmt.Sprintf("anchor at line %d has hash %s for it, the chain %s", a.Line, a.Hash, e.Hash)}
					return r, nil
				}
				r.Anchors++
			}
			prev = e
			r.Entries++
		}
		if progress != nil {
			progress(r.Entries, head.Seq)
		}
		if len(page) < verifyPage {
			break
		}
	}
	switch {
	case prev.Seq < head.Seq:
		r.Break = &Break{prev.Seq + 1, Truncated, fmt.Sprintf("the head row says the chain ends at entry %d, it ends at %d", head.Seq, prev.Seq)}
	case prev.Hash != head.Hash:
		r.Break = &Break{head.Seq, Rewritten, fmt.Sprintf("the head row has hash %s for it, the chain %s", head.Hash, prev.Hash)}
	}
	if r.Break != nil {
		return r, nil
	}
	// The first anchor past the end, if any.
	for seq, as := range want {
		if seq > head.Seq && (r.Break == nil || seq < r.Break.Seq) {
			r.Break = &Break{seq, Truncated, fmt.Sprintf("anchor at line %d names entry %d (hash %s); the chain ends at %d",
				as[0].Line, seq, as[0].Hash, head.Seq)}
		}
	}
	return r, nil
}

// link checks e against the entry before it, prev (seq 0 and Zero before
// the first), and returns what is broken, if anything.
func link(prev, e Entry) *Break {
	switch {
	case e.Seq != prev.Seq+1:
		if e.Seq > prev.Seq+1 {
			missing := fmt.Sprintf("entry %d is missing", prev.Seq+1)
			if e.Seq > prev.Seq+2 {
				missing = fmt.Sprintf("entries %d to %d are missing", prev.Seq+1, e.Seq-1)
			}
			return &Break{prev.Seq + 1, Deleted, missing}
		}
		return &Break{e.Seq, Reordered, fmt.Sprintf("entry %d follows entry %d", e.Seq, prev.Seq)}
	case e.PrevHash != prev.Hash:
		return &Break{e.Seq, Reordered, fmt.Sprintf("its prev_hash %s is not the hash of entry %d, %s", e.PrevHash, prev.Seq, prev.Hash)}
	case e.Sum() != e.Hash:
		return &Break{e.Seq, Edited, fmt.Sprintf("its contents hash to %s, not to its hash %s", e.Sum(), e.Hash)}
	}
	return nil
}

// walk reads the entries after seq, up to head, a page at a time.
func walk(ctx context.Context, d *db.DB, after, head int64) ([]Entry, error) {
	out, err := db.All(ctx, d, scanEntry, `SELECT `+columns+` FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
		after, head, verifyPage)
	if err != nil {
		return nil, fenfu.Internal("audit.Verify", err)
	}
	return out, nil
}
