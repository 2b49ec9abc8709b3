package main

import (
	"context"
	"time"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// sampleEvery is how long a scrape's reading of the stores (the
// notification backlog, the settlement batches) answers later scrapes on
// this node: each costs one indexed query, at most once so often.
const sampleEvery = 5 * time.Second

// commitBuckets are the commit latency histogram's bounds: a SQLite group
// commit without fsync takes tens of microseconds, PostgreSQL's a round
// trip and a WAL flush.
var commitBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// dbRetryReasons are the reasons a store on engine e reruns a write.
func dbRetryReasons(e db.Engine) []string {
	if e == db.Postgres {
		return []string{db.RetrySerialization, db.RetryDeadlock}
	}
	return []string{db.RetryBusy, db.RetryLocked}
}

// observe gives serve's metrics registry what it exports beyond the HTTP
// requests: payments by channel and outcome, notification deliveries and
// the backlog, the stores' pools and commit latency, the settlement of the
// day last due, and risk decisions.
func (a *app) observe(r *metrics.Registry) {
	a.metrics = r
	a.pay.Metrics = r
	pay.MetricsHelp(r)
	a.risk.Metrics = r
	risk.MetricsHelp(r)
	a.tickets.Metrics = r
	ticket.MetricsHelp(r)
	r.Help("fenfu_settlement_batches_total", "Settlement batches run by this node, by channel and result.")
	r.Help("fenfu_settlement_orders_total", "Orders settled by this node's batches, by channel.")
	r.Help("fenfu_settlement_batch_seconds", "Time a settlement batch took on this node.")
	r.Help("fenfu_settlement_last_run_timestamp_seconds", "When this node's settlement scheduler last ran a day's batches (Unix time); 0 before its first run.")
	r.Help("fenfu_settlement_last_run_success", "Whether this node's last settlement run succeeded (1) or failed (0); 1 before its first run, which has not failed.")
	// Both exist from the start, not only after the first run: a node
	// started after the day's run (most of a day) would otherwise export
	// neither until the next, and the dashboard and alerts would read
	// nothing rather than "not run yet".
	r.Set("fenfu_settlement_last_run_timestamp_seconds", 0)
	r.Set("fenfu_settlement_last_run_success", 1)
	r.Help("fenfu_notify_attempts_total", "Notification delivery attempts made by this node, by result: delivered, retry (failed, retried later), given_up (failed, schedule ran out).")
	r.Help("fenfu_metrics_sample_errors_total", "Reads of the stores for /metrics that failed or timed out, by sample; the last good values are shown meanwhile.")

	r.Help("fenfu_db_commit_seconds", "Time to commit a write transaction, by store (on SQLite a group commit, shared by the transactions in it).")
	r.SetBuckets("fenfu_db_commit_seconds", commitBuckets)
	r.Help("fenfu_db_roundtrips_total", "Round trips to a PostgreSQL store, by store: every one, whatever made it (requests, background work, connecting).")
	r.Help("fenfu_db_retries_total", "Write transactions this node ran again after a transient conflict with another writer (on this node or another on the same store), by store and reason: serialization or deadlock (PostgreSQL), busy or locked (SQLite).")
	for _, d := range []*db.DB{a.core, a.credit} {
		if d.Engine == db.Postgres {
			if err := r.CounterFunc("fenfu_db_roundtrips_total", func() float64 { return float64(d.RoundTrips()) }, "store", d.Name); err != nil {
				a.log.Warn("metrics: the store's round trips are not exported", "store", d.Name, "error", err)
			}
		}
		d.ObserveCommits(func(took time.Duration) { r.Observe("fenfu_db_commit_seconds", took, "store", d.Name) })
		// Every store and reason exists from the start at 0, so a
		// dashboard or a bench reads "no retries", not "no data".
		for _, reason := range dbRetryReasons(d.Engine) {
			r.Add("fenfu_db_retries_total", 0, "store", d.Name, "reason", reason)
		}
		d.ObserveRetries(func(reason string) { r.Add("fenfu_db_retries_total", 1, "store", d.Name, "reason", reason) })
		for pool, p := range d.Pools() {
			if err := r.Pool(d.Name, pool, p); err != nil {
				a.log.Warn("metrics: the store's pool is not exported", "store", d.Name, "pool", pool, "error", err)
			}
		}
	}

	r.Help("fenfu_notify_pending", "Notifications pending delivery (due, being attempted, or waiting to be retried), in the core store.")
	r.Help("fenfu_notify_oldest_pending_age_seconds", "How long the longest-pending notification has been pending; 0 when none is.")
	r.Sample("notify", sampleEvery, a.clock, func(ctx context.Context, set metrics.Gauge) error {
		b, err := notify.PendingBacklog(ctx, a.core)
		if err != nil {
			return err
		}
		age := 0.0
		if b.Oldest > 0 {
			age = max(0, a.clock.Now().Sub(db.Time(b.Oldest)).Seconds())
		}
		set("fenfu_notify_pending", float64(b.Pending))
		set("fenfu_notify_oldest_pending_age_seconds", age)
		return nil
	})

	r.Help("fenfu_settlement_due_timestamp_seconds", "When the settlement of the business day last due became due (Unix time): yesterday's after --settle-at, else the day before's.")
	r.Help("fenfu_settlement_batch_done", "Whether the batch of the business day last due is done (1) or not yet (0), by channel.")
	r.Help("fenfu_settlement_batch_merchants", "Merchants the batch of the business day last due settles, by channel (0 until it starts).")
	r.Help("fenfu_settlement_batch_merchants_done", "Merchants the batch of the business day last due has settled so far, by channel.")
	r.Help("fenfu_settlement_batch_finished_timestamp_seconds", "When the batch of the business day last due finished (Unix time), by channel; 0 until it does.")
	sched := a.scheduler()
	r.Sample("settlement", sampleEvery, a.clock, func(ctx context.Context, set metrics.Gauge) error {
		date, due := sched.DueDay(a.clock.Now())
		batches, err := a.settle.Batches(ctx, date)
		if err != nil {
			return err
		}
		set("fenfu_settlement_due_timestamp_seconds", float64(due.Unix()))
		for _, ch := range pay.Channels {
			var b settle.BatchStatus
			for _, x := range batches {
				if x.Channel == ch.Name() {
					b = x
				}
			}
			done, finished := 0.0, 0.0
			if b.State == settle.Done {
				done = 1
				finished = float64(b.FinishedAt.Unix())
			}
			set("fenfu_settlement_batch_done", done, "channel", ch.Name())
			set("fenfu_settlement_batch_merchants", float64(b.Merchants), "channel", ch.Name())
			set("fenfu_settlement_batch_merchants_done", float64(b.Done), "channel", ch.Name())
			set("fenfu_settlement_batch_finished_timestamp_seconds", finished, "channel", ch.Name())
		}
		return nil
	})
}
