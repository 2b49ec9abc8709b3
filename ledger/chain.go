package ledger

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// The ledger's SM3 chain makes each store's books tamper-evident: every
// committed transaction gets a position, and position p's hash is
//
//	hash(p) = SM3(hash(p-1) ‖ Canonical(transaction at p))
//
// over the 32 bytes of hash(p-1), with hash(0) = Genesis. An amount
// changed, an entry deleted or added, a transaction inserted, deleted or
// moved, or a stored hash edited after sealing breaks the chain at that
// transaction's position, which VerifyChain reports.
//
// Post does not chain: the sealer does, behind the writers, so payments
// never wait on one another for the chain. A transaction's commit_order,
// a column DEFAULT of ledger_txns, orders it among the others as they
// finished; the sealer seals only transactions that have finished, in
// (commit_order, id byte order) order, whole commit_order groups at a
// time (a group is one database transaction's postings):
//
//   - PostgreSQL: commit_order is the writing transaction's xid (xid8).
//     Transactions commit out of xid order, so a round seals only rows
//     whose xid is below pg_snapshot_xmin(pg_current_snapshot())
//     (db.FinishedBelow), the oldest transaction still running when the
//     round's statement began: every transaction below it has committed
//     or aborted, and no new one can take an xid below it. A transaction
//     that commits late holds the horizon back, so what committed after
//     it waits, and nothing is skipped. A round claims the head row by
//     compare-and-set, so sealers on several nodes take turns and never
//     fork the chain; it reads the books through MVCC and writes only the
//     chain's tables, which no writer touches.
//   - SQLite: one writer, so insertion order is commit order:
//     commit_order is ledger_txns' INTEGER PRIMARY KEY, assigned at
//     insert, and everything a reader sees has committed. A round reads
//     and hashes outside the writer, then writes its batch in one short
//     write that moves the head only from where it read it.

// Genesis is hash(0), the hash before a chain's first position:
// SM3("fenfu ledger chain v1").
var Genesis = sm3.Sum([]byte("fenfu ledger chain v1"))

// Canonical appends to b the canonical encoding of a transaction, what
// its chain hash covers: its id, kind, ref, created_at (Unix microseconds,
// decimal) and number of entries, then each entry's account and amount
// (signed decimal fen) in seq order; every field a netstring (the length
// of its bytes in decimal, ':', the bytes, ','), so no two different
// transactions encode alike whatever bytes their fields hold.
func Canonical(b []byte, id, kind, ref string, createdAt int64, entries []Entry) []byte {
	field := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
		b = append(b, ',')
	}
	var num [24]byte
	field(id)
	field(kind)
	field(ref)
	field(string(strconv.AppendInt(num[:0], createdAt, 10)))
	field(string(strconv.AppendInt(num[:0], int64(len(entries)), 10)))
	for _, e := range entries {
		field(string(e.Account))
		field(string(strconv.AppendInt(num[:0], int64(e.Amount), 10)))
	}
	return b
}

// chainHash is SM3(prev ‖ canonical).
func chainHash(prev [sm3.Size]byte, canonical []byte) [sm3.Size]byte {
	h := sm3.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out [sm3.Size]byte
	h.Sum(out[:0])
	return out
}

// Head is a chain's last position: its hash, and the commit_order of the
// last group sealed (every transaction at or below it is sealed).
type Head struct {
	Pos         int64  `json:"pos"`
	CommitOrder int64  `json:"commit_order"`
	Hash        string `json:"hash"`
}

// prevHash is the head's hash as bytes: Genesis at position 0.
func (h Head) prevHash() ([sm3.Size]byte, error) {
	var out [sm3.Size]byte
	if h.Pos == 0 {
		return Genesis, nil
	}
	b, err := hex.DecodeString(h.Hash)
	if err != nil || len(b) != sm3.Size {
		return out, fmt.Errorf("ledger: the chain's head hash %q is not %d hex bytes", h.Hash, sm3.Size)
	}
	copy(out[:], b)
	return out, nil
}

// ChainHead reads d's chain head.
func ChainHead(ctx context.Context, d *db.DB) (Head, error) {
	var h Head
	err := d.QueryRowContext(ctx, `SELECT pos, commit_order, hash FROM ledger_seal WHERE id = 1`).Scan(&h.Pos, &h.CommitOrder, &h.Hash)
	if err != nil {
		return h, fmt.Errorf("ledger: %s chain head: %w", d.Name, err)
	}
	return h, nil
}

// SealBatch is about how many transactions a sealing round seals: it
// takes whole commit_order groups, so one round may take more.
const SealBatch = 2000

// chainChunk is how many chain rows one INSERT writes.
const chainChunk = 200

// Sealed is what Seal did to one store's chain.
type Sealed struct {
	Store  string `json:"store"`
	Sealed int64  `json:"sealed"` // transactions sealed by this call
	Rounds int    `json:"rounds"`
	Head   Head   `json:"head"`
	// Busy: another sealer moved the head first, so this call's last
	// round sealed nothing.
	Busy bool `json:"busy,omitempty"`
	// Horizon: every transaction whose commit_order is below it had
	// finished when the last round began, and is sealed.
	Horizon int64 `json:"horizon"`
}

// Seal seals d's finished, unsealed transactions, in rounds of about
// SealBatch, until a round finds fewer, or finds that another sealer
// moved the head (Busy), to which it leaves the work.
func Seal(ctx context.Context, d *db.DB) (Sealed, error) {
	s := Sealed{Store: d.Name}
	for {
		n, head, horizon, busy, err := sealRound(ctx, d, SealBatch)
		if err != nil {
			return s, err
		}
		s.Sealed += n
		s.Head = head
		s.Horizon = horizon
		if busy {
			s.Busy = true
			return s, nil
		}
		s.Rounds++
		if n < SealBatch {
			return s, nil
		}
	}
}

// SealCommitted seals every transaction that committed before it was
// called, waiting as long as ctx allows for the transactions then in
// flight (on PostgreSQL, any in the cluster whose xid is older) to finish:
// fenfu verify calls it before it verifies the chain.
func SealCommitted(ctx context.Context, d *db.DB) (Sealed, error) {
	target := int64(math.MinInt64)
	if d.Engine == db.Postgres {
		var err error
		if target, err = d.NextXact(ctx); err != nil {
			return Sealed{Store: d.Name}, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
		}
	}
	var total Sealed
	pause := 5 * time.Millisecond
	for {
		s, err := Seal(ctx, d)
		s.Sealed += total.Sealed
		s.Rounds += total.Rounds
		if err != nil || (!s.Busy && s.Horizon >= target) {
			return s, err
		}
		total = s
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("ledger: seal %s: a transaction older than xid %d is still running: %w", d.Name, target, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// sealRound seals the next batch of about limit transactions: how many it
// sealed, the head after it, the horizon below which everything had
// finished, and whether another sealer held the head.
func sealRound(ctx context.Context, d *db.DB, limit int) (int64, Head, int64, bool, error) {
	if d.Engine == db.Postgres {
		return sealPostgres(ctx, d, limit)
	}
	return sealSQLite(ctx, d, limit)
}

// sealPostgres runs a round. One statement, outside any transaction,
// reads the head, the horizon (db.FinishedBelowSQL) and, below it, the
// first unsealed transaction's commit_order and the end of the batch, all
// in one snapshot: every transaction below that snapshot's horizon has
// finished and is visible to it. A round with nothing to seal ends there.
// Otherwise one transaction claims the head: a compare-and-set UPDATE
// that moves nothing but holds the row until the round commits, and
// matches no row if another sealer moved the head since it was read (a
// sealer that waited on the row lock finds it moved, and skips the
// round). It streams the batch's transactions from another connection of
// the pool (they have finished, so any later snapshot sees the same rows),
// and writes the chain rows in chunks and moves the head Later, with the
// COMMIT: four round trips a round that seals, one a round that finds
// nothing.
func sealPostgres(ctx context.Context, d *db.DB, limit int) (int64, Head, int64, bool, error) {
	var n, horizon int64
	var head Head
	var first, hi sql.NullInt64
	err := d.QueryRowContext(ctx, `SELECT s.pos, s.commit_order, s.hash, x.horizon,
		(SELECT MIN(t.commit_order) FROM ledger_txns t WHERE t.commit_order > s.commit_order AND t.commit_order < x.horizon),
		(SELECT t.commit_order FROM ledger_txns t WHERE t.commit_order > s.commit_order AND t.commit_order < x.horizon
			ORDER BY t.commit_order OFFSET $1 LIMIT 1)
		FROM ledger_seal s CROSS JOIN (SELECT `+db.FinishedBelowSQL+` AS horizon) x WHERE s.id = 1`, limit-1).
		Scan(&head.Pos, &head.CommitOrder, &head.Hash, &horizon, &first, &hi)
	if err != nil {
		return 0, head, 0, false, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
	}
	if horizon <= head.CommitOrder {
		// The server's ids only grow: these are another server's.
		return 0, head, 0, false, fmt.Errorf("ledger: seal %s: %w: the server's transaction ids (%d) are below the chain's head (%d): was the store restored onto another server?",
			d.Name, ErrIDsBehind, horizon, head.CommitOrder)
	}
	if !first.Valid {
		return 0, head, horizon, false, nil // nothing finished since: the head stays, unwritten
	}
	// The batch ends with the group of the limit-th transaction below the
	// horizon, or at the horizon.
	end := horizon - 1
	if hi.Valid {
		end = hi.Int64
	}
	from := head
	busy := false
	err = d.Update(ctx, func(tx *db.Tx) error {
		n, busy, head = 0, false, from
		res, err := tx.ExecContext(ctx, `UPDATE ledger_seal SET pos = pos WHERE id = 1 AND pos = $1 AND commit_order = $2`,
			head.Pos, head.CommitOrder)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			busy = true
			return nil
		}
		var pending []chainRow
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			err := insertChain(ctx, tx, pending)
			pending = pending[:0]
			return err
		}
		next, err := head.prevHash()
		if err != nil {
			return err
		}
		err = streamTxns(ctx, d, head.CommitOrder, end, func(t chainTxn) error {
			head.Pos++
			next = chainHash(next, t.canonical)
			pending = append(pending, chainRow{head.Pos, t.id, hex.EncodeToString(next[:])})
			n++
			if len(pending) == chainChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		if n == 0 {
			return nil // nothing finished since: the head stays, unwritten
		}
		head.CommitOrder = end
		head.Hash = hex.EncodeToString(next[:])
		return tx.Later(ctx, `UPDATE ledger_seal SET pos = $1, commit_order = $2, hash = $3 WHERE id = 1`,
			head.Pos, head.CommitOrder, head.Hash)
	})
	if err != nil {
		return 0, Head{}, 0, false, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
	}
	if busy {
		head = from
	}
	return n, head, horizon, busy, nil
}

// ErrIDsBehind: PostgreSQL's transaction ids are below the chain's head,
// as on a server a store was copied to by dump and restore; what it posts
// would be chained below what is sealed, so nothing is sealed until the
// chain is re-based.
var ErrIDsBehind = errors.New("ledger: transaction ids behind the chain")

// errHeadMoved: another sealer moved the head between a SQLite round's
// read and its write.
var errHeadMoved = errors.New("ledger: the chain's head moved")

// sealSQLite reads the head and the batch and hashes it on the reader
// pool, then writes the chain rows and moves the head in one write, only
// if the head is still where it read it. Everything a SQLite reader sees
// has committed, and later inserts take larger commit_orders.
func sealSQLite(ctx context.Context, d *db.DB, limit int) (int64, Head, int64, bool, error) {
	head, err := ChainHead(ctx, d)
	if err != nil {
		return 0, head, 0, false, err
	}
	var hi int64
	err = d.QueryRowContext(ctx, `SELECT commit_order FROM ledger_txns WHERE commit_order > $1
		ORDER BY commit_order LIMIT 1 OFFSET $2`, head.CommitOrder, limit-1).Scan(&hi)
	if errors.Is(err, sql.ErrNoRows) {
		err = d.QueryRowContext(ctx, `SELECT COALESCE(MAX(commit_order), $1) FROM ledger_txns`, head.CommitOrder).Scan(&hi)
	}
	if err != nil {
		return 0, head, 0, false, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
	}
	// Every commit_order a reader sees has committed; later ones are
	// larger.
	horizon := hi + 1
	if hi <= head.CommitOrder {
		return 0, head, horizon, false, nil
	}
	next, err := head.prevHash()
	if err != nil {
		return 0, head, 0, false, err
	}
	from := head
	var rows []chainRow
	err = streamTxns(ctx, d, head.CommitOrder, hi, func(t chainTxn) error {
		head.Pos++
		next = chainHash(next, t.canonical)
		rows = append(rows, chainRow{head.Pos, t.id, hex.EncodeToString(next[:])})
		return nil
	})
	if err != nil {
		return 0, from, 0, false, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
	}
	head.CommitOrder = hi
	if len(rows) > 0 {
		head.Hash = hex.EncodeToString(next[:])
	}
	err = d.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ledger_seal SET pos = $1, commit_order = $2, hash = $3
			WHERE id = 1 AND pos = $4 AND commit_order = $5`, head.Pos, head.CommitOrder, head.Hash, from.Pos, from.CommitOrder)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return errHeadMoved
		}
		for lo := 0; lo < len(rows); lo += chainChunk {
			if err := insertChain(ctx, tx, rows[lo:min(lo+chainChunk, len(rows))]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errHeadMoved) {
		return 0, from, 0, true, nil
	}
	if err != nil {
		return 0, from, 0, false, fmt.Errorf("ledger: seal %s: %w", d.Name, err)
	}
	return int64(len(rows)), head, horizon, false, nil
}

// chainRow is one position of the chain.
type chainRow struct {
	pos  int64
	txn  string
	hash string
}

// insertChain writes chain rows in one statement, Later: on PostgreSQL
// with the transaction's next statement or its COMMIT, the rows as
// arrays, so the statement's text is the same whatever their number (it
// is prepared once a connection); on SQLite as a multi-row VALUES.
func insertChain(ctx context.Context, tx *db.Tx, rows []chainRow) error {
	if tx.Engine == db.Postgres {
		pos, ids, hashes := make([]int64, len(rows)), make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			pos[i], ids[i], hashes[i] = r.pos, r.txn, r.hash
		}
		return tx.Later(ctx, `INSERT INTO ledger_chain (pos, txn_id, hash) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
			pos, ids, hashes)
	}
	var q strings.Builder
	args := make([]any, 0, 3*len(rows))
	q.WriteString(`INSERT INTO ledger_chain (pos, txn_id, hash) VALUES `)
	for i, r := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d)", n+1, n+2, n+3)
		args = append(args, r.pos, r.txn, r.hash)
	}
	return tx.Later(ctx, q.String(), args...)
}

// chainTxn is a transaction as the chain reads it: its commit_order, id
// and canonical encoding (valid until the next one).
type chainTxn struct {
	order     int64
	id        string
	canonical []byte
}

// streamTxns calls fn with each transaction whose commit_order is in (lo,
// hi], in chain order: commit_order, then id in byte order, each with its
// entries in seq order. A transaction without entries encodes with none.
func streamTxns(ctx context.Context, d *db.DB, lo, hi int64, fn func(chainTxn) error) error {
	rows, err := d.R.QueryContext(ctx, `SELECT t.commit_order, t.id, t.kind, t.ref, t.created_at, e.account, e.amount
		FROM ledger_txns t LEFT JOIN ledger_entries e ON e.txn_id = t.id
		WHERE t.commit_order > $1 AND t.commit_order <= $2
		ORDER BY t.commit_order, `+d.ByteOrder("t.id")+`, e.seq`, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	var cur struct {
		order         int64
		id, kind, ref string
		created       int64
		entries       []Entry
		open          bool
		account       sql.NullString
		amount        sql.NullInt64
		buf           []byte
	}
	emit := func() error {
		if !cur.open {
			return nil
		}
		cur.buf = Canonical(cur.buf[:0], cur.id, cur.kind, cur.ref, cur.created, cur.entries)
		return fn(chainTxn{cur.order, cur.id, cur.buf})
	}
	for rows.Next() {
		var order, created int64
		var id, kind, ref string
		if err := rows.Scan(&order, &id, &kind, &ref, &created, &cur.account, &cur.amount); err != nil {
			return err
		}
		if !cur.open || id != cur.id || order != cur.order {
			if err := emit(); err != nil {
				return err
			}
			cur.order, cur.id, cur.kind, cur.ref, cur.created, cur.open = order, id, kind, ref, created, true
			cur.entries = cur.entries[:0]
		}
		if cur.account.Valid {
			cur.entries = append(cur.entries, Entry{Account(cur.account.String), fenfu.Fen(cur.amount.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return emit()
}

// SealEvery is how often serve's sealer looks for transactions to seal.
const SealEvery = 250 * time.Millisecond

// RunSealer seals the stores' chains every interval until ctx ends,
// logging failures; a store that had a full round is sealed again at once.
// serve runs it; with several nodes on one PostgreSQL, one seals at a time
// and the others skip the round.
func RunSealer(ctx context.Context, log *slog.Logger, every time.Duration, stores ...*db.DB) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, d := range stores {
			if _, err := Seal(ctx, d); err != nil && ctx.Err() == nil {
				log.Error("ledger chain: seal", "store", d.Name, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
