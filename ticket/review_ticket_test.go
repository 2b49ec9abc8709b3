package ticket_test

import (
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ticket"
)

// TestReviewOpenBoundRacesOnPostgres: unresolved counts an opener's
// tickets and File inserts the new one in one transaction, but on
// PostgreSQL the transaction is READ COMMITTED and nothing locks the
// opener, so openings at once all see room and a consumer ends with more
// than MaxOpenConsumer tickets not yet resolved — each PAYMENT_FAILURE
// one an on-duty alert, which the bound is there to hold back.
func TestReviewOpenBoundRacesOnPostgres(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newWorld(t, engine)
			const tries = 30
			var wg sync.WaitGroup
			var mu sync.Mutex
			opened := 0
			start := make(chan struct{})
			for range tries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := w.s.Open(t.Context(), payer, ticket.New{Type: ticket.PaymentFailure, Description: "it failed"})
					if err == nil {
						mu.Lock()
						opened++
						mu.Unlock()
					} else if fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if opened > ticket.MaxOpenConsumer {
				t.Errorf("%d of %d openings at once succeeded; a consumer may have at most %d tickets not yet resolved",
					opened, tries, ticket.MaxOpenConsumer)
			}
		})
	}
}

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
