package settle

import (
	"context"
	"log/slog"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/ticket"
)

// Scheduler settles each day once its settlement time has passed: the T+1
// batches of the day before, then that day's bills. Every node runs one;
// the batch lease lets one of them do each batch, and the others find it
// done. It also warns while settlement exception requests are past their
// SLA.
type Scheduler struct {
	Settle *Service
	Log    *slog.Logger
	// At is when, after midnight in Asia/Shanghai, the day before is
	// settled.
	At time.Duration
	// AlertEvery is how often it warns of exception requests past their
	// SLA.
	AlertEvery time.Duration
	// Bills renders and stores a merchant's trade bills of a day and
	// returns how many. It answers NO_STATEMENT_EXIST for a day past the
	// bills' three months.
	Bills func(ctx context.Context, mchid, date string) (int, error)
	// Observe, if set, is told what each run did: the batches done, and
	// the error of a run that failed.
	Observe func(results []Result, err error)
}

// checkEvery is how often the scheduler checks whether a day is due.
const checkEvery = time.Minute

// Run checks at once and then every minute until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	var alerted time.Time
	for {
		s.Due(ctx)
		if now := s.Settle.Clock.Now(); now.Sub(alerted) >= s.AlertEvery {
			alerted = now
			s.AlertOverdue(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DueDay returns the latest business day whose settlement was due by now,
// and when it became due: yesterday once today's settlement time has
// passed, the day before until then.
func (s *Scheduler) DueDay(now time.Time) (date string, due time.Time) {
	now = now.In(fenfu.Shanghai)
	due = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, fenfu.Shanghai).Add(s.At)
	if now.Before(due) {
		due = due.AddDate(0, 0, -1)
	}
	return due.AddDate(0, 0, -1).Format(time.DateOnly), due
}

// Due settles yesterday if the settlement time has passed and its batches
// are not done, then renders its bills.
func (s *Scheduler) Due(ctx context.Context) {
	now := s.Settle.Clock.Now().In(fenfu.Shanghai)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, fenfu.Shanghai)
	if now.Before(midnight.Add(s.At)) {
		return
	}
	date := Yesterday(now)
	batches, err := s.Settle.Batches(ctx, date)
	if err != nil {
		s.Log.Error("settlement: batch status", "date", date, "error", err)
		return
	}
	done := 0
	for _, b := range batches {
		if b.State == Done {
			done++
		}
	}
	if done == len(pay.Channels) {
		return
	}
	results, err := s.Settle.Run(ctx, date)
	if fenfu.ErrorCode(err) == fenfu.BatchRunning {
		return // another node has it
	}
	if s.Observe != nil {
		s.Observe(results, err)
	}
	if err != nil {
		s.Log.Error("settlement batch failed; it resumes at the next check", "date", date, "error", err)
		return
	}
	n, err := s.RenderBills(ctx, date)
	if err != nil {
		s.Log.Error("bills", "date", date, "error", err)
	}
	s.Log.Info("settled", "date", date, "batches", len(results), "bills", n)
}

// RenderBills renders and stores the day's trade bills of every merchant
// with settlements that day, so the snapshots are taken once the batch is
// done. A day past the bills' three months is settled and not billed.
func (s *Scheduler) RenderBills(ctx context.Context, date string) (int, error) {
	list, err := s.Settle.List(ctx, Filter{Date: date})
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, x := range list {
		if seen[x.MchID] {
			continue
		}
		seen[x.MchID] = true
		k, err := s.Bills(ctx, x.MchID, date)
		n += k
		if fenfu.ErrorCode(err) == fenfu.NoStatementExist {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// AlertOverdue warns, in the log, of open settlement exception requests
// past their SLA, and returns how many there are.
func (s *Scheduler) AlertOverdue(ctx context.Context) int {
	list, err := s.Settle.Exceptions(ctx, "")
	if err != nil {
		s.Log.Error("settlement exceptions", "error", err)
		return 0
	}
	var ids []string
	for _, x := range list {
		if x.Overdue {
			ids = append(ids, x.ID)
		}
	}
	if len(ids) > 0 {
		lane, err := s.Settle.tickets().Lane(ctx, ticket.SettlementDelay)
		if err != nil {
			s.Log.Error("settlement exceptions", "error", err)
		}
		s.Log.Warn("settlement exception requests past their SLA; answer them at /admin/settlement-exceptions",
			"overdue", len(ids), "oldest", ids[0], "sla", time.Duration(lane.SLA))
	}
	return len(ids)
}
