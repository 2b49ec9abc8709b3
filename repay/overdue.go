package repay

import (
	"context"
	"log/slog"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
)

// Overdue runs the overdue job as of day (YYYY-MM-DD, Asia/Shanghai; empty
// is today): installments unpaid after their due day become overdue and
// are charged the late fee of every day not charged yet. A day after today
// is refused. Running it again for a day charges nothing more, and on
// several nodes at once each installment-day is charged by one of them.
func (s *Service) Overdue(ctx context.Context, day string) (credit.OverdueRun, error) {
	today := credit.Today(s.Clock.Now())
	if day == "" {
		day = today
	}
	if day > today {
		return credit.OverdueRun{Day: day}, fenfu.FieldError("date", "the date %s is after today, %s", day, today)
	}
	r, err := credit.MarkOverdue(ctx, s.Credit, day, s.LateFee)
	return r, fenfu.Op("repay.Overdue", err)
}

// RunOverdue runs the overdue job for today every interval until ctx
// ends: the first run of a day does the day's work, the others find
// nothing left.
func (s *Service) RunOverdue(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if r, err := s.Overdue(ctx, ""); err != nil && ctx.Err() == nil {
			log.Error("overdue installments", "error", err)
		} else if r.Marked > 0 || r.Charged > 0 {
			log.Info("overdue installments", "day", r.Day, "marked", r.Marked, "charged", r.Charged, "late_fees", int64(r.LateFees))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LineRequest is a staff change of a consumer's line: a nil field is left
// as it is.
type LineRequest struct {
	Limit  *fenfu.Fen `json:"credit_limit"`
	Rating *string    `json:"rating"`
	Frozen *bool      `json:"frozen"`
	// Close ends the consumer's credit contract (credit.LineClosed).
	Close  bool   `json:"close"`
	Reason string `json:"reason"`
}

// ChangeLine applies a staff member's change to a consumer's line and
// records it (credit.ChangeLine).
func (s *Service) ChangeLine(ctx context.Context, consumerID, actor string, req LineRequest) (credit.LineChanged, error) {
	var out credit.LineChanged
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		out, err = credit.ChangeLine(ctx, tx, credit.LineChange{ID: s.IDs.New(fenfu.AttemptID, tx.Now), ConsumerID: consumerID,
			Actor: actor, Reason: req.Reason, Limit: req.Limit, Rating: req.Rating, Frozen: req.Frozen, Close: req.Close})
		if err != nil {
			return err
		}
		// The change and its audit entry commit together.
		line := func(l credit.Line) map[string]any {
			return map[string]any{"credit_limit": l.Limit, "rating": l.Rating, "state": l.State}
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionLineChange,
			Target: audit.Target{Kind: "consumer", ID: consumerID}, Reason: out.Reason,
			Detail: audit.Detail(map[string]any{"change_id": out.ID, "before": line(out.Before), "after": line(out.After)})})
		return err
	})
	return out, fenfu.Op("repay.ChangeLine", err)
}

// LineChanges returns the recorded changes of a consumer's line, newest
// first.
func (s *Service) LineChanges(ctx context.Context, consumerID string) ([]credit.LineChanged, error) {
	c, err := credit.LineChanges(ctx, s.Credit, consumerID, 100)
	if c == nil {
		c = []credit.LineChanged{}
	}
	return c, fenfu.Op("repay.LineChanges", err)
}

// Paused says why line l, as read by credit.Get, takes no credit payment
// now, as the payment itself would refuse it (credit.Paused): frozen, or
// something of its consumer overdue. It is nil for a line that takes
// them.
func (s *Service) Paused(ctx context.Context, l credit.Line) error {
	o, err := credit.OverdueOf(ctx, s.Credit, l.ConsumerID, s.Clock.Now())
	if err != nil {
		return fenfu.Internal("repay.Paused", err)
	}
	return credit.Paused(l.State, o)
}
