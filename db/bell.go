package db

import "sync"

// Bell wakes, in this process, whoever waits for a kind of change to a
// store, once a transaction that made one has committed (Tx.Ring). It is a
// hint, not a queue: a waiter woken reads the store to learn what changed,
// and one that was not waiting when the bell rang learns it at its next
// look. Other processes sharing the store do not hear it; they keep their
// own schedule.
type Bell struct {
	mu sync.Mutex
	c  chan struct{}
}

// Wait returns a channel that is closed at the next ring. Take it before
// reading the store, so that a ring between the read and the wait is not
// missed.
func (b *Bell) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c == nil {
		b.c = make(chan struct{})
	}
	return b.c
}

// Ring wakes every waiter. Rings while nobody waits cost nothing and are
// not kept.
func (b *Bell) Ring() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		close(b.c)
		b.c = nil
	}
}

// Bell returns the store's bell of that name, the same one for every
// caller in this process.
func (d *DB) Bell(name string) *Bell {
	if b, ok := d.bells.Load(name); ok {
		return b.(*Bell)
	}
	b, _ := d.bells.LoadOrStore(name, &Bell{})
	return b.(*Bell)
}

// AfterCommit has f run once the transaction has committed, after the
// commit (on SQLite, after the group commit the transaction shared);
// never if it rolled back. f must be quick and must not write to the
// store.
func (tx *Tx) AfterCommit(f func()) {
	tx.after = append(tx.after, f)
}

// Ring rings the store's bell of that name once the transaction has
// committed.
func (tx *Tx) Ring(name string) {
	tx.AfterCommit(tx.db.Bell(name).Ring)
}

// committed runs what the transaction asked to run after its commit.
func (tx *Tx) committed() {
	for _, f := range tx.after {
		f()
	}
}
