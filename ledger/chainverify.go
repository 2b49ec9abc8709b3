package ledger

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/fenfu/fenfu/db"
)

// Problems VerifyChain names, each at the first position where it shows.
const (
	// ChainEdited: the position's hash is not SM3 of the previous hash and
	// its transaction as the books hold it now: an amount, account or
	// field was changed, an entry deleted or added, or the hash edited.
	ChainEdited = "edited"
	// ChainDisplaced: the books have another transaction at the position
	// than the chain sealed there: one was inserted into the sealed
	// range, deleted, or moved.
	ChainDisplaced = "inserted, deleted or reordered"
	// ChainMissing: the chain skips the position.
	ChainMissing = "position missing"
	// ChainHeadDiffers: the head row names another end than the chain's.
	ChainHeadDiffers = "head differs"
)

// ChainBreak is the first broken position of a chain.
type ChainBreak struct {
	Pos     int64  `json:"pos"`
	Problem string `json:"problem"`
	Detail  string `json:"detail"`
}

// ChainReport is what VerifyChain found in one store's chain.
type ChainReport struct {
	Store   string      `json:"store"`
	Checked int64       `json:"positions_checked"`
	Head    Head        `json:"head"`
	Break   *ChainBreak `json:"break,omitempty"`
}

// Err is the report's break as a *Problem, or nil.
func (r ChainReport) Err() error {
	if r.Break == nil {
		return nil
	}
	return &Problem{Store: r.Store, What: fmt.Sprintf("ledger chain broken at position %d (%s)", r.Break.Pos, r.Break.Problem),
		Detail: r.Break.Detail}
}

func (r ChainReport) String() string {
	if r.Break != nil {
		return r.Err().Error()
	}
	return fmt.Sprintf("%s ledger chain: %d positions verified, head %s", r.Store, r.Checked, r.Head.Hash)
}

// VerifyChain walks d's chain from position 1 to the head it reads first,
// beside the books' transactions up to the head's commit_order in chain
// order, recomputing every hash, and reports the first broken position.
// Both sides stream, so it is linear in the books and its memory does not
// grow with them. Every transaction at or below the head's commit_order
// must be sealed, in its place: run Seal first so that every finished
// transaction is. Positions sealed while it runs are left for the next
// run.
func VerifyChain(ctx context.Context, d *db.DB) (ChainReport, error) {
	r := ChainReport{Store: d.Name}
	head, err := ChainHead(ctx, d)
	if err != nil {
		return r, err
	}
	r.Head = head
	chain, err := d.R.QueryContext(ctx, `SELECT pos, txn_id, hash FROM ledger_chain WHERE pos <= $1 ORDER BY pos`, head.Pos)
	if err != nil {
		return r, fmt.Errorf("ledger: verify %s chain: %w", d.Name, err)
	}
	defer chain.Close()
	type link struct {
		pos       int64
		txn, hash string
		ok        bool
	}
	var at link
	read := func() error {
		at.ok = chain.Next()
		if !at.ok {
			return chain.Err()
		}
		return chain.Scan(&at.pos, &at.txn, &at.hash)
	}
	prev := Genesis
	last := ""
	brk := func(pos int64, problem, format string, args ...any) error {
		r.Break = &ChainBreak{Pos: pos, Problem: problem, Detail: fmt.Sprintf(format, args...)}
		return errBroken
	}
	err = streamTxns(ctx, d, math.MinInt64, head.CommitOrder, func(t chainTxn) error {
		want := r.Checked + 1
		if err := read(); err != nil {
			return err
		}
		switch {
		case !at.ok:
			return brk(want, ChainDisplaced, "the books have transaction %s (commit order %d, at or below the head's %d) after the chain's last position",
				t.id, t.order, head.CommitOrder)
		case at.pos != want:
			return brk(want, ChainMissing, "the chain goes from position %d to %d", want-1, at.pos)
		case at.txn != t.id:
			return brk(want, ChainDisplaced, "the chain sealed transaction %s here, the books have %s", at.txn, t.id)
		}
		h := chainHash(prev, t.canonical)
		if got := hex.EncodeToString(h[:]); got != at.hash {
			return brk(want, ChainEdited, "transaction %s hashes to %s, the chain has %s", t.id, got, at.hash)
		}
		prev, last = h, at.hash
		r.Checked++
		return nil
	})
	if r.Break != nil {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("ledger: verify %s chain: %w", d.Name, err)
	}
	if err := read(); err != nil {
		return r, fmt.Errorf("ledger: verify %s chain: %w", d.Name, err)
	}
	switch {
	case at.ok:
		_ = brk(at.pos, ChainDisplaced, "the chain sealed transaction %s here, which the books no longer have", at.txn)
	case r.Checked != head.Pos:
		_ = brk(r.Checked+1, ChainHeadDiffers, "the head row says the chain ends at position %d, it ends at %d", head.Pos, r.Checked)
	case head.Pos > 0 && last != head.Hash:
		_ = brk(head.Pos, ChainHeadDiffers, "the head row has hash %s for it, the chain %s", head.Hash, last)
	}
	return r, nil
}

// errBroken stops VerifyChain's walk at the first break.
var errBroken = fmt.Errorf("ledger: chain broken")
