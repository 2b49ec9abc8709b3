package db

import (
	"context"
	"fmt"
	"sync"
)

// maxBatch bounds how many transactions share one commit.
const maxBatch = 64

// writer is SQLite's group commit. SQLite has one writer at a time, so
// instead of each caller beginning and committing its own transaction, a
// single goroutine takes every queued function, runs them one after another
// inside one transaction — each in its own SAVEPOINT, so a function that
// fails is rolled back alone — and commits once. Callers learn their
// result only after that commit, so a success is as durable as with one
// transaction each, but the commit's cost (WAL write, and fsync with
// synchronous=FULL) is shared by the batch.
type writer struct {
	d     *DB
	queue chan *job
	stop  chan struct{}
	done  sync.WaitGroup
}

type job struct {
	ctx   context.Context
	fn    func(*Tx) error
	err   error
	panic any
	tx    *Tx // the transaction it ran in, once it has run
	done  chan struct{}
}

func newWriter(d *DB) *writer {
	w := &writer{d: d, queue: make(chan *job, 4*maxBatch), stop: make(chan struct{})}
	w.done.Add(1)
	go w.loop()
	return w
}

func (w *writer) close() {
	close(w.stop)
	w.done.Wait()
}

// run queues fn and waits for its batch to commit. It waits even if ctx
// ends meanwhile: once a function has run, its outcome is the batch's.
func (w *writer) run(ctx context.Context, fn func(*Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case w.queue <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return fmt.Errorf("db: %s store is closed", w.d.Name)
	}
	<-j.done
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

func (w *writer) loop() {
	defer w.done.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		var j *job
		select {
		case j = <-w.queue:
		case <-w.stop:
			// Finish what was queued before the store closed.
			for {
				select {
				case j := <-w.queue:
					w.commit([]*job{j})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], j)
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-w.queue:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		w.commit(batch)
		w.d.wstmts.flush(context.Background(), w.d.W)
	}
}

// commit runs a batch in one transaction and tells each job its result.
func (w *writer) commit(batch []*job) {
	defer func() {
		for _, j := range batch {
			close(j.done)
		}
	}()
	ctx := context.Background()
	stx, err := w.d.W.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range batch {
			j.err = err
		}
		return
	}
	single := len(batch) == 1
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err // never ran: the caller gave up before its turn
			continue
		}
		tx := &Tx{Tx: stx, Now: w.d.Clock.Now(), Engine: w.d.Engine, db: w.d}
		j.tx = tx
		if !single {
			if _, err := stx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
				j.err = err
				continue
			}
		}
		j.panic, j.err = call(j.fn, tx)
		if single {
			if j.err != nil || j.panic != nil {
				_ = stx.Rollback()
				return
			}
			break
		}
		if j.err != nil || j.panic != nil {
			if _, err := stx.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
				// The transaction is unusable: fail the whole batch.
				_ = stx.Rollback()
				for _, k := range batch {
					if k.err == nil && k.panic == nil {
						k.err = fmt.Errorf("db: batch rolled back: %w", err)
					}
				}
				return
			}
		}
		if _, err := stx.ExecContext(ctx, "RELEASE job"); err != nil && j.err == nil {
			j.err = err
		}
	}
	if err := w.d.commit(stx); err != nil {
		for _, j := range batch {
			if j.err == nil && j.panic == nil {
				j.err = err
			}
		}
		return
	}
	for _, j := range batch {
		if j.err == nil && j.panic == nil && j.tx != nil {
			j.tx.committed()
		}
	}
}

// call runs fn, returning what it panicked with, if it did, and its error.
func call(fn func(*Tx) error, tx *Tx) (p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p = r
		}
	}()
	return nil, fn(tx)
}
