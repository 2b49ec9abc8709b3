// Package sandbox holds what the sandbox environment adds for merchants
// proving their integration: a record of every signed API call a sandbox
// merchant makes, and the sandbox test report built from it — which
// scenarios the merchant's own integration passed, with the calls that
// show it; and the sandbox clock of a deployment that runs on one, which
// staff advance to let merchants watch days pass: installments fall due,
// payments settle, bills appear. It owns the sandbox_calls and
// sandbox_clock tables.
package sandbox

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/notify"
)

// Call is one signed API call.
type Call struct {
	MchID  string
	At     time.Time
	Method string
	Route  string // the route pattern, e.g. POST /v3/pay/transactions/native
	Status int
	Code   string // the error code, if any
	Note   string // what the answer said that scenarios look for
}

// Service is the sandbox environment's store: it records sandbox
// merchants' calls and builds their reports from them. It owns the
// sandbox_calls table.
//
// Calls are written in the background, in batches, so recording costs a
// request no database round trip; on PostgreSQL a batch costs one. If the queue is full a call is dropped
// and counted rather than slowing the API down.
type Service struct {
	db      *db.DB // the core store
	events  *notify.Events
	ids     fenfu.IDs
	log     *slog.Logger
	queue   chan Call
	dropped atomic.Int64
	done    chan struct{}
}

// New returns the sandbox service over the core store. Run must be started
// for recorded calls to be written.
func New(core *db.DB, events *notify.Events, ids fenfu.IDs, log *slog.Logger) *Service {
	return &Service{db: core, events: events, ids: ids, log: log, queue: make(chan Call, 8192), done: make(chan struct{})}
}

// Record queues a call.
func (r *Service) Record(c Call) {
	select {
	case r.queue <- c:
	default:
		r.dropped.Add(1)
	}
}

// Dropped counts calls dropped because the queue was full.
func (r *Service) Dropped() int64 { return r.dropped.Load() }

// Run writes queued calls until ctx ends, then writes what is left.
func (r *Service) Run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	var batch []Call
	// The last batch is written after ctx ends, so writes use a context
	// that outlives it.
	wctx := context.WithoutCancel(ctx)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// The rows go Later: on PostgreSQL the whole batch, its BEGIN
		// and its COMMIT are one round trip, not one a call.
		err := r.db.Update(wctx, func(tx *db.Tx) error {
			for _, c := range batch {
				if err := tx.Later(wctx, `INSERT INTO sandbox_calls (id, mchid, at, method, route, status, code, note)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ids.New(fenfu.RequestID, c.At), c.MchID, db.Micros(c.At), c.Method,
					c.Route, c.Status, c.Code, c.Note); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.log.Warn("sandbox calls not recorded", "calls", len(batch), "error", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case c := <-r.queue:
			batch = append(batch, c)
			if len(batch) >= 500 {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case c := <-r.queue:
					batch = append(batch, c)
				default:
					flush()
					return
				}
			}
		}
	}
}

// Wait waits for Run to finish after its context ended.
func (r *Service) Wait() { <-r.done }
