package ticket_test

import (
	"testing"
	"time"

	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ticket"
)

// TestReviewEscalatedAtDueButNotOverdue: Escalate takes escalate_at <= now,
// so at exactly its due time a ticket is escalated ("No staff answer
// within 5m0s") while scan and the overdue filter say it is not overdue
// (now.After(due), due_at < now): the list of overdue tickets staff work
// from lacks a ticket the on-duty staff were just paged for.
func TestReviewEscalatedAtDueButNotOverdue(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			tk := w.open(shop, ticket.InterfaceTimeout, "our calls time out")
			w.clock.Set(tk.DueAt)
			if _, err := w.s.Escalate(ctx); err != nil {
				t.Fatal(err)
			}
			got := w.get(tk.ID)
			p, err := w.s.List(ctx, amy, ticket.Filter{Overdue: true})
			if err != nil {
				t.Fatal(err)
			}
			listed := len(p.Tickets) == 1
			if (got.Escalation > 0) != got.Overdue || got.Overdue != listed {
				t.Errorf("at its due time %s: escalation level %d, overdue %v, in ?overdue=true %v; an escalated open ticket is overdue",
					tk.DueAt.Format(time.RFC3339), got.Escalation, got.Overdue, listed)
			}
		})
	}
}
