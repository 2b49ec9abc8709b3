package ticket_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/ticket"
)

// lockedBuffer is a log both the test and the service write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pager is the on-duty staff's webhook: it keeps the alerts posted to
// it, and refuses the first fail posts.
type pager struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []ticket.Alert
	posts  int
	fail   int
}

func newPager(t *testing.T) *pager {
	p := &pager{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.posts++
		if p.fail > 0 {
			p.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var a ticket.Alert
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&a) != nil {
			t.Errorf("an alert that is not a JSON POST: %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		p.alerts = append(p.alerts, a)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(p.Close)
	return p
}

// got returns the alerts of a ticket posted so far.
func (p *pager) got(id string) []ticket.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ticket.Alert
	for _, a := range p.alerts {
		if a.TicketID == id {
			out = append(out, a)
		}
	}
	return out
}

type world struct {
	t     *testing.T
	core  *db.DB
	clock *fenfu.FakeClock
	s     *ticket.Service
	log   *lockedBuffer
	start time.Time
}

func newWorld(t *testing.T, engine db.Engine) *world {
	t.Helper()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	clock := fenfu.NewFakeClock(start)
	core := dbtest.Open(t, engine, "core", clock)
	if err := ticket.Seed(t.Context(), core, ticket.DefaultLanes()); err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	s := &ticket.Service{DB: core, IDs: &fenfu.SeqIDs{}, Clock: clock, Sealer: sealer, Metrics: metrics.New(),
		Log:  slog.New(slog.NewTextHandler(log, nil)),
		Link: func(id string) string { return "https://ops.example/admin/tickets/" + id }}
	return &world{t: t, core: core, clock: clock, s: s, log: log, start: start}
}

func (w *world) open(by ticket.Actor, typ ticket.Type, text string) ticket.Ticket {
	w.t.Helper()
	t, err := w.s.Open(w.t.Context(), by, ticket.New{Type: typ, Description: text})
	if err != nil {
		w.t.Fatal(err)
	}
	return t
}

func (w *world) get(id string) ticket.Ticket {
	w.t.Helper()
	t, err := w.s.Get(w.t.Context(), ticket.Staff("lin"), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return t
}

var (
	shop   = ticket.Merchant("1900000109")
	rival  = ticket.Merchant("1900000110")
	amy    = ticket.Staff("amy")
	payer  = ticket.Consumer("c_0000000001")
	second = ticket.Consumer("c_0000000002")
)

func code(err error) fenfu.Code { return fenfu.ErrorCode(err) }

// TestLaneTimersAndEscalation: each lane's ticket is due its SLA after it
// opens; unanswered past it, the escalation run raises it to level 1, and
// at twice the SLA to level 2, each once, in its history, counted, and
// posted to the on-duty URL; a payment failure is posted the moment it
// opens; a staff answer stops the timer.
func TestLaneTimersAndEscalation(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			p := newPager(t)
			w.s.Alerts = &ticket.Alerter{URL: p.URL, Backoff: time.Millisecond}
			opened := map[ticket.Type]ticket.Ticket{}
			for _, l := range ticket.DefaultLanes() {
				tk := w.open(shop, l.Type, "our calls time out since this morning")
				if tk.Status != ticket.Open || tk.DueAt.Sub(tk.CreatedAt) != time.Duration(l.SLA) || tk.Escalation != 0 || tk.Overdue {
					t.Fatalf("%s opened: %+v", l.Type, tk)
				}
				opened[l.Type] = tk
			}
			for typ, tk := range opened {
				want := 0
				if typ == ticket.PaymentFailure {
					want = 1 // at once, before any run
				}
				if got := p.got(tk.ID); len(got) != want {
					t.Fatalf("%s: %d alerts on open, want %d: %+v", typ, len(got), want, got)
				}
			}
			if a := p.got(opened[ticket.PaymentFailure].ID)[0]; a.Event != "TICKET.OPENED" || a.Level != 0 || a.Lane != ticket.PaymentFailure ||
				!a.Due.Equal(opened[ticket.PaymentFailure].DueAt) || a.Link != "https://ops.example/admin/tickets/"+opened[ticket.PaymentFailure].ID {
				t.Fatalf("the payment failure's alert: %+v", a)
			}

			// At each moment, the level each ticket has reached.
			type levels map[ticket.Type]int
			steps := []struct {
				after time.Duration
				want  levels
			}{
				{5*time.Minute - time.Second, levels{}},
				{5*time.Minute + time.Second, levels{ticket.PaymentFailure: 1}},
				{10*time.Minute - time.Second, levels{ticket.PaymentFailure: 1}},
				{10*time.Minute + time.Second, levels{ticket.PaymentFailure: 2}},
				{30*time.Minute - time.Second, levels{ticket.PaymentFailure: 2}},
				{30*time.Minute + time.Second, levels{ticket.PaymentFailure: 2, ticket.InterfaceTimeout: 1}},
				{60*time.Minute + time.Second, levels{ticket.PaymentFailure: 2, ticket.InterfaceTimeout: 2}},
				{24*time.Hour - time.Second, levels{ticket.PaymentFailure: 2, ticket.InterfaceTimeout: 2}},
				{24*time.Hour + time.Second, levels{ticket.PaymentFailure: 2, ticket.InterfaceTimeout: 2, ticket.SettlementDelay: 1}},
				{48*time.Hour + time.Second, levels{ticket.PaymentFailure: 2, ticket.InterfaceTimeout: 2, ticket.SettlementDelay: 2}},
			}
			for _, st := range steps {
				if st.after > 23*time.Hour && w.get(opened[ticket.General].ID).Status == ticket.Open {
					// Staff answer the general ticket in time: it is never escalated.
					w.clock.Set(w.start.Add(23 * time.Hour))
					if _, err := w.s.Reply(ctx, amy, opened[ticket.General].ID, ticket.Message{Body: "Looking into it."}); err != nil {
						t.Fatal(err)
					}
				}
				w.clock.Set(w.start.Add(st.after))
				if _, _, err := w.s.Run(ctx); err != nil {
					t.Fatal(err)
				}
				for typ, tk := range opened {
					got := w.get(tk.ID)
					if got.Escalation != st.want[typ] {
						t.Fatalf("after %s, %s is at level %d, want %d", st.after, typ, got.Escalation, st.want[typ])
					}
					overdue := typ != ticket.General && st.after > time.Duration(got.SLA)
					if got.Overdue != overdue {
						t.Errorf("after %s, %s overdue %v, want %v", st.after, typ, got.Overdue, overdue)
					}
					alerts := p.got(tk.ID)
					wantAlerts := st.want[typ]
					if typ == ticket.PaymentFailure {
						wantAlerts++
					}
					if len(alerts) != wantAlerts {
						t.Fatalf("after %s, %s has %d alerts, want %d: %+v", st.after, typ, len(alerts), wantAlerts, alerts)
					}
					if n := len(alerts); st.want[typ] > 0 && (alerts[n-1].Event != "TICKET.ESCALATED" || alerts[n-1].Level != st.want[typ]) {
						t.Errorf("after %s, %s's last alert %+v", st.after, typ, alerts[n-1])
					}
				}
			}
			// The history says when and why; the run is done with them.
			pf := w.get(opened[ticket.PaymentFailure].ID)
			var escalations, alerted []string
			for _, e := range pf.History {
				switch e.Type {
				case ticket.EventEscalated:
					escalations = append(escalations, e.Body)
					if e.Actor != "fenfu" {
						t.Errorf("escalated by %q", e.Actor)
					}
				case ticket.EventAlerted:
					alerted = append(alerted, string(e.Detail))
				}
			}
			if strings.Join(escalations, "|") != "No staff answer within 5m0s: escalated to level 1.|No staff answer within 10m0s: escalated to level 2." ||
				len(alerted) != 3 || !strings.Contains(alerted[0], `"result":"sent"`) {
				t.Errorf("history: %q %q", escalations, alerted)
			}
			if g := w.get(opened[ticket.General].ID); g.Status != ticket.Answered || g.FirstResponseAt.IsZero() || g.Overdue {
				t.Errorf("the answered ticket: %+v", g)
			}
			if n, err := w.s.Escalate(ctx); n != 0 || err != nil {
				t.Errorf("escalated again: %d %v", n, err)
			}
			var m strings.Builder
			w.s.Metrics.Write(&m)
			for _, line := range []string{`fenfu_ticket_escalations_total{level="1",type="PAYMENT_FAILURE"} 1`,
				`fenfu_ticket_escalations_total{level="2",type="SETTLEMENT_DELAY"} 1`, `fenfu_ticket_alerts_total{result="sent"} 7`,
				`fenfu_tickets_opened_total{type="GENERAL"} 1`} {
				if !strings.Contains(m.String(), line) {
					t.Errorf("metrics lack %s:\n%s", line, m.String())
				}
			}
		})
	}
}

// TestAlertDelivery: an alert the on-duty URL refuses is tried again at
// once, then at the next runs, each failure logged at error level, and
// given up on after MaxAlertClaims deliveries; without an on-duty URL the
// alert is logged at error level.
func TestAlertDelivery(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			p := newPager(t)
			w.s.Alerts = &ticket.Alerter{URL: p.URL, Backoff: time.Millisecond}
			p.fail = 2
			tk := w.open(payer, ticket.PaymentFailure, "付款失败")
			if got := p.got(tk.ID); len(got) != 1 || p.posts != 3 {
				t.Fatalf("after two refusals: %d alerts in %d posts", len(got), p.posts)
			}

			p.fail = 1000
			down := w.open(payer, ticket.PaymentFailure, "again")
			if !strings.Contains(w.log.String(), `level=ERROR msg="on-duty alert not delivered"`) ||
				!strings.Contains(w.log.String(), "ticket_id="+down.ID) {
				t.Fatalf("the failure is not logged at error level:\n%s", w.log.String())
			}
			for i := 1; i < ticket.MaxAlertClaims; i++ {
				w.clock.Advance(ticket.AlertRetry)
				if _, err := w.s.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if p.posts != 3+ticket.MaxAlertClaims*ticket.DefaultTries {
				t.Errorf("%d posts, want %d", p.posts, 3+ticket.MaxAlertClaims*ticket.DefaultTries)
			}
			w.clock.Advance(ticket.AlertRetry)
			if _, err := w.s.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			if p.posts != 3+ticket.MaxAlertClaims*ticket.DefaultTries {
				t.Errorf("posted after giving up: %d", p.posts)
			}
			h := w.get(down.ID).History
			if last := h[len(h)-1]; last.Type != ticket.EventAlerted || !strings.Contains(string(last.Detail), `"result":"failed"`) {
				t.Errorf("the history does not say the alert was given up on: %+v", last)
			}

			w.s.Alerts = nil
			logged := w.open(shop, ticket.PaymentFailure, "no URL")
			if !strings.Contains(w.log.String(), `level=ERROR msg="on-duty alert: no --on-duty-url is set, so the log carries it" event=TICKET.OPENED ticket_id=`+logged.ID) {
				t.Errorf("without an on-duty URL the alert is not logged at error level:\n%s", w.log.String())
			}
		})
	}
}

// TestAlertsOfTicketsNoLongerOpenAreDropped: an on-duty alert still
// pending when staff answer or close its ticket — the alert on open the
// on-duty URL refused, an escalation's alert the run has not yet
// delivered — is not delivered after: it is dropped, an ALERTED event
// of the history and a count of fenfu_ticket_alerts_total{result="dropped"},
// and never tried again.
func TestAlertsOfTicketsNoLongerOpenAreDropped(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			p := newPager(t)
			w.s.Alerts = &ticket.Alerter{URL: p.URL, Backoff: time.Millisecond}
			p.fail = ticket.DefaultTries
			failed := w.open(payer, ticket.PaymentFailure, "付款失败")
			if _, err := w.s.Reply(ctx, amy, failed.ID, ticket.Message{Body: "Your line is open again; please pay once more."}); err != nil {
				t.Fatal(err)
			}
			slow := w.open(shop, ticket.InterfaceTimeout, "our calls time out")
			w.clock.Set(slow.DueAt)
			if n, err := w.s.Escalate(ctx); n != 1 || err != nil {
				t.Fatalf("escalated %d, %v; want the timeout's ticket", n, err)
			}
			if _, err := w.s.Close(ctx, amy, slow.ID, "A duplicate of the ticket answered by phone."); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				w.clock.Advance(ticket.AlertRetry)
				if n, err := w.s.Deliver(ctx); n != 0 || err != nil {
					t.Errorf("delivered %d, %v; want none", n, err)
				}
			}
			if p.posts != ticket.DefaultTries || len(p.got(failed.ID)) != 0 || len(p.got(slow.ID)) != 0 {
				t.Errorf("%d posts after the tickets were answered and closed, alerts %v %v; want only the %d refused before",
					p.posts, p.got(failed.ID), p.got(slow.ID), ticket.DefaultTries)
			}
			for _, id := range []string{failed.ID, slow.ID} {
				h := w.get(id).History
				if last := h[len(h)-1]; last.Type != ticket.EventAlerted || !strings.Contains(string(last.Detail), `"result":"dropped"`) {
					t.Errorf("ticket %s: the history does not say its alert was dropped: %+v", id, last)
				}
			}
			var m strings.Builder
			w.s.Metrics.Write(&m)
			if line := `fenfu_ticket_alerts_total{result="dropped"} 2`; !strings.Contains(m.String(), line) {
				t.Errorf("metrics lack %s:\n%s", line, m.String())
			}
		})
	}
}

// TestWhoSeesWhat: a merchant or consumer reads, lists, answers and
// fetches only its own tickets, and sees staff as the platform; staff see
// everything; the status follows the answers.
func TestWhoSeesWhat(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			mine := w.open(shop, ticket.InterfaceTimeout, "timeouts")
			theirs := w.open(payer, ticket.PaymentFailure, "失败")
			for _, c := range []struct {
				who ticket.Actor
				id  string
			}{{rival, mine.ID}, {shop, theirs.ID}, {second, theirs.ID}, {payer, mine.ID}} {
				if _, err := w.s.Get(ctx, c.who, c.id); code(err) != fenfu.ResourceNotExists {
					t.Errorf("%s reads %s: %v", c.who, c.id, err)
				}
				if _, err := w.s.Reply(ctx, c.who, c.id, ticket.Message{Body: "hello"}); code(err) != fenfu.ResourceNotExists {
					t.Errorf("%s answers %s: %v", c.who, c.id, err)
				}
				p, err := w.s.List(ctx, c.who, ticket.Filter{})
				if err != nil || len(p.Tickets) > 1 || len(p.Tickets) == 1 && p.Tickets[0].ID == c.id {
					t.Errorf("%s lists %+v %v", c.who, p, err)
				}
			}
			if p, err := w.s.List(ctx, shop, ticket.Filter{Source: ticket.FromConsumer, MchID: "x"}); err != nil || len(p.Tickets) != 1 ||
				p.Tickets[0].ID != mine.ID {
				t.Errorf("the merchant's list, asking for more: %+v %v", p, err)
			}
			if p, err := w.s.List(ctx, amy, ticket.Filter{}); err != nil || len(p.Tickets) != 2 {
				t.Errorf("the staff's list: %+v %v", p, err)
			}

			if _, err := w.s.Assign(ctx, amy, mine.ID, "amy", "first line"); err != nil {
				t.Fatal(err)
			}
			got, err := w.s.Reply(ctx, amy, mine.ID, ticket.Message{Body: "Which endpoint?"})
			if err != nil || got.Status != ticket.Answered || got.FirstResponseAt.IsZero() {
				t.Fatalf("staff answer: %+v %v", got, err)
			}
			if _, err := w.s.Reply(ctx, shop, mine.ID, ticket.Message{Body: "/v3/pay/transactions/native"}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.s.Resolve(ctx, amy, mine.ID, "Your firewall dropped our answers; fixed on your side."); err != nil {
				t.Fatal(err)
			}
			if _, err := w.s.Resolve(ctx, amy, mine.ID, "twice"); code(err) != fenfu.InvalidRequest {
				t.Errorf("resolved twice: %v", err)
			}
			// The merchant says it is not fixed: the ticket opens again.
			back, err := w.s.Reply(ctx, shop, mine.ID, ticket.Message{Body: "still timing out"})
			if err != nil || back.Status != ticket.Answered || back.Resolution != "" || !back.ResolvedAt.IsZero() {
				t.Fatalf("reopened: %+v %v", back, err)
			}
			closed, err := w.s.Close(ctx, amy, mine.ID, "Duplicate of the ticket of 11-26.")
			if err != nil || closed.Status != ticket.Closed || closed.Resolution != "Duplicate of the ticket of 11-26." {
				t.Fatalf("closed: %+v %v", closed, err)
			}
			if _, err := w.s.Reply(ctx, shop, mine.ID, ticket.Message{Body: "?"}); code(err) != fenfu.InvalidRequest {
				t.Errorf("an answer to a closed ticket: %v", err)
			}
			if _, err := w.s.Resolve(ctx, shop, theirs.ID, "x"); code(err) != fenfu.InvalidRequest {
				t.Errorf("a merchant resolves: %v", err)
			}

			var staffView, shopView []string
			for _, e := range w.get(mine.ID).History {
				staffView = append(staffView, e.Actor+" "+string(e.Type))
			}
			mv, err := w.s.Get(ctx, shop, mine.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range mv.History {
				shopView = append(shopView, e.Actor+" "+string(e.Type))
			}
			if got, want := strings.Join(staffView, ", "), "merchant:1900000109 OPENED, staff:amy ASSIGNED, staff:amy REPLIED, merchant:1900000109 REPLIED, "+
				"staff:amy RESOLVED, merchant:1900000109 REPLIED, merchant:1900000109 REOPENED, staff:amy CLOSED"; got != want {
				t.Errorf("staff see\n%s\nwant\n%s", got, want)
			}
			if got, want := strings.Join(shopView, ", "), "merchant OPENED, platform REPLIED, merchant REPLIED, platform RESOLVED, merchant REPLIED, "+
				"merchant REOPENED, platform CLOSED"; got != want || mv.Assignee != "" {
				t.Errorf("the merchant sees\n%s (assignee %q)\nwant\n%s", got, mv.Assignee, want)
			}
		})
	}
}

// TestAssignmentAndLanesAreAudited: assigning a ticket and changing a
// lane are entries of the core store's audit log; a lane's new SLA holds
// for tickets opened after, not those open.
func TestAssignmentAndLanesAreAudited(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			before := w.open(shop, ticket.InterfaceTimeout, "slow")
			if _, err := w.s.Assign(ctx, amy, before.ID, "nobody-here", ""); err != nil {
				t.Fatal(err) // no staff service: the name is taken as given
			}
			if _, err := w.s.Assign(ctx, shop, before.ID, "amy", ""); code(err) != fenfu.InvalidRequest {
				t.Errorf("a merchant assigns: %v", err)
			}
			sla := 10 * time.Minute
			if _, err := w.s.SetLane(ctx, amy, ticket.InterfaceTimeout, ticket.LaneChange{SLA: &sla}); code(err) != fenfu.ParamError {
				t.Errorf("a change without a reason: %v", err)
			}
			tooShort := time.Second
			if _, err := w.s.SetLane(ctx, amy, ticket.InterfaceTimeout, ticket.LaneChange{SLA: &tooShort, Reason: "x"}); code(err) != fenfu.ParamError {
				t.Errorf("a one-second SLA: %v", err)
			}
			l, err := w.s.SetLane(ctx, amy, ticket.InterfaceTimeout, ticket.LaneChange{SLA: &sla, Reason: "the new contract"})
			if err != nil || time.Duration(l.SLA) != sla || l.ChangedBy != "staff:amy" || l.AlertOnOpen {
				t.Fatalf("lane: %+v %v", l, err)
			}
			after := w.open(shop, ticket.InterfaceTimeout, "slow again")
			if after.DueAt.Sub(after.CreatedAt) != sla || w.get(before.ID).DueAt.Sub(before.CreatedAt) != 30*time.Minute {
				t.Errorf("due: after the change %s, before %s", after.DueAt.Sub(after.CreatedAt), w.get(before.ID).DueAt.Sub(before.CreatedAt))
			}
			for _, c := range []struct{ action, id, detail string }{
				{ticket.ActionAssign, before.ID, `{"from":"","to":"nobody-here"}`},
				{ticket.ActionLaneChange, "INTERFACE_TIMEOUT", `{"from":{"alert_on_open":false,"sla":"30m0s"},"to":{"alert_on_open":false,"sla":"10m0s"}}`},
			} {
				list, err := audit.List(ctx, w.core, audit.Filter{Action: c.action})
				if err != nil || len(list) != 1 || list[0].Actor != "staff:amy" || list[0].Target.ID != c.id || string(list[0].Detail) != c.detail {
					t.Errorf("%s in the audit log: %+v %v", c.action, list, err)
				}
			}
			lanes, err := w.s.Lanes(ctx)
			if err != nil || len(lanes) != 4 || lanes[1].Type != ticket.PaymentFailure || !lanes[1].AlertOnOpen ||
				time.Duration(lanes[1].SLA) != 5*time.Minute || lanes[1].NameZH != "用户支付失败" {
				t.Errorf("lanes: %+v %v", lanes, err)
			}
		})
	}
}

func pngOf(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAttachments: files are bounded in size and number, of the type they
// say, sealed at rest and read back whole by those who may see the
// ticket; contacts are sealed too.
func TestAttachments(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			csv := []byte("交易单号,金额\n4200000001,26.80\n")
			file := func(name, ct string, b []byte) ticket.NewAttachment {
				return ticket.NewAttachment{Name: name, ContentType: ct, Content: b}
			}
			for name, files := range map[string][]ticket.NewAttachment{
				"too large":        {file("big.csv", "text/csv", bytes.Repeat([]byte("a"), ticket.MaxAttachment+1))},
				"not a png":        {file("shot.png", "image/png", csv)},
				"not text":         {file("records.csv", "text/csv", pngOf(t))},
				"an unknown type":  {file("a.exe", "application/octet-stream", []byte("MZ"))},
				"a path":           {file("../etc/passwd", "text/plain", csv)},
				"four":             {file("1.csv", "text/csv", csv), file("2.csv", "text/csv", csv), file("3.csv", "text/csv", csv), file("4.csv", "text/csv", csv)},
				"empty":            {file("empty.csv", "text/csv", nil)},
				"invalid encoding": {file("latin.txt", "text/plain", []byte{'c', 'a', 'f', 0xe9})},
			} {
				if _, err := w.s.Open(ctx, shop, ticket.New{Type: ticket.SettlementDelay, Description: "x", Attachments: files}); code(err) != fenfu.ParamError {
					t.Errorf("%s: %v", name, err)
				}
			}
			tk, err := w.s.Open(ctx, shop, ticket.New{Type: ticket.SettlementDelay, Description: "short by 26.80", ContactName: "李雷",
				ContactPhone: "13800138000", Attachments: []ticket.NewAttachment{file("records.csv", "text/csv; charset=utf-8", csv),
					file("screen.png", "image/png", pngOf(t))}})
			if err != nil {
				t.Fatal(err)
			}
			if len(tk.Attachments) != 2 || tk.Attachments[0].ContentType != "text/csv" || tk.Attachments[0].Size != len(csv) ||
				tk.History[0].Attachments[1] != tk.Attachments[1].ID || tk.ContactPhone != "13800138000" {
				t.Fatalf("opened: %+v", tk)
			}
			var content, contact string
			if err := w.core.QueryRowContext(ctx, `SELECT content FROM ticket_attachments WHERE id = $1`, tk.Attachments[0].ID).Scan(&content); err != nil {
				t.Fatal(err)
			}
			if err := w.core.QueryRowContext(ctx, `SELECT contact FROM tickets WHERE id = $1`, tk.ID).Scan(&contact); err != nil {
				t.Fatal(err)
			}
			if !seal.Sealed(content) || strings.Contains(content, base64.StdEncoding.EncodeToString(csv)[:12]) || !seal.Sealed(contact) ||
				strings.Contains(contact, "13800138000") {
				t.Fatalf("stored in the clear: %q %q", content, contact)
			}
			a, err := w.s.Attachment(ctx, shop, tk.ID, tk.Attachments[0].ID)
			if err != nil || !bytes.Equal(a.Content, csv) {
				t.Fatalf("read back: %+v %v", a, err)
			}
			if _, err := w.s.Attachment(ctx, rival, tk.ID, tk.Attachments[0].ID); code(err) != fenfu.ResourceNotExists {
				t.Errorf("another merchant reads the file: %v", err)
			}
			other := w.open(shop, ticket.General, "another")
			if _, err := w.s.Attachment(ctx, shop, other.ID, tk.Attachments[0].ID); code(err) != fenfu.ResourceNotExists {
				t.Errorf("a file read through another ticket: %v", err)
			}
			// A ticket keeps at most MaxPerTicket files.
			for i := 0; ; i++ {
				_, err := w.s.Reply(ctx, shop, tk.ID, ticket.Message{Body: "more", Attachments: []ticket.NewAttachment{file("m.csv", "text/csv", csv),
					file("n.csv", "text/csv", csv), file("o.csv", "text/csv", csv)}})
				if err != nil {
					if code(err) != fenfu.InvalidRequest || 2+3*i+3 <= ticket.MaxPerTicket {
						t.Fatalf("reply %d: %v", i, err)
					}
					break
				}
			}
		})
	}
}

// TestListPages: lists page by their cursors, newest first or the most
// urgent first, without repeating or skipping a ticket, and refuse a
// cursor of another list.
func TestListPages(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			var all []string
			for i := range 25 {
				typ := []ticket.Type{ticket.General, ticket.InterfaceTimeout, ticket.PaymentFailure}[i%3]
				all = append(all, w.open(shop, typ, fmt.Sprintf("ticket %d", i)).ID)
				w.clock.Advance(time.Second)
			}
			for _, order := range []ticket.Order{ticket.Newest, ticket.Urgent} {
				f := ticket.Filter{Order: order, Keyset: fenfu.Keyset{Limit: 10}}
				seen := map[string]bool{}
				var last time.Time
				pages := 0
				for {
					p, err := w.s.List(ctx, shop, f)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					for _, tk := range p.Tickets {
						key := tk.CreatedAt
						if order == ticket.Urgent {
							key = tk.DueAt
						}
						if seen[tk.ID] || !last.IsZero() && (order == ticket.Newest && key.After(last) || order == ticket.Urgent && key.Before(last)) {
							t.Fatalf("%s: %s out of order or again", order, tk.ID)
						}
						seen[tk.ID], last = true, key
					}
					if p.Next == "" {
						break
					}
					f.After = p.Next
				}
				if len(seen) != 25 || pages != 3 {
					t.Errorf("%s: %d tickets in %d pages", order, len(seen), pages)
				}
				for _, id := range all {
					if !seen[id] {
						t.Errorf("%s: %s was never listed", order, id)
					}
				}
				if _, err := w.s.List(ctx, shop, ticket.Filter{Order: ticket.Newest, Keyset: fenfu.Keyset{After: f.After}}); order == ticket.Urgent && code(err) != fenfu.ParamError {
					t.Errorf("a cursor of another order: %v", err)
				}
				// The routes read the cursor as ?cursor=, and name it so.
				if _, err := ticket.FilterOf(url.Values{"cursor": {f.After}}); order == ticket.Urgent && fenfu.AsError(err).Field != "cursor" {
					t.Errorf("a cursor of another order: %v", err)
				}
				if got, err := ticket.FilterOf(url.Values{"cursor": {f.After}, "order": {string(order)}}); err != nil || got.After != f.After {
					t.Errorf("?cursor=: %+v, %v", got, err)
				}
			}
			p, err := w.s.List(ctx, amy, ticket.Filter{Type: ticket.PaymentFailure, Keyset: fenfu.Keyset{Limit: 100}})
			if err != nil || len(p.Tickets) != 8 || p.Next != "" {
				t.Errorf("payment failures: %d %v", len(p.Tickets), err)
			}
			for _, bad := range []ticket.Filter{{Keyset: fenfu.Keyset{After: "!!"}}, {Keyset: fenfu.Keyset{Limit: 101}}, {Order: "oldest"}, {Type: "OTHER"}, {Status: "DONE"}} {
				if _, err := w.s.List(ctx, amy, bad); code(err) != fenfu.ParamError {
					t.Errorf("%+v: %v", bad, err)
				}
			}
			w.clock.Advance(time.Hour)
			if p, err := w.s.List(ctx, amy, ticket.Filter{Overdue: true, Keyset: fenfu.Keyset{Limit: 100}}); err != nil || len(p.Tickets) != 16 {
				t.Errorf("overdue: %d %v", len(p.Tickets), err) // the interface timeouts and payment failures
			}
		})
	}
}

// TestDisputes: an order a ticket names is disputed while the ticket is
// open or answered, and from when it was resolved or closed after; a
// forgotten consumer's tickets no longer say whom to call.
func TestDisputes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			byNo, err := w.s.Open(ctx, shop, ticket.New{Type: ticket.SettlementDelay, Description: "late", OutTradeNo: "SHOP-0001"})
			if err != nil {
				t.Fatal(err)
			}
			byID, err := w.s.Open(ctx, payer, ticket.New{Type: ticket.PaymentFailure, Description: "failed", TransactionID: "4200000000000000000000000002",
				ContactPhone: "13900000000"})
			if err != nil {
				t.Fatal(err)
			}
			orders := []pay.Expired{{ID: "4200000000000000000000000001", MchID: shop.ID, OutTradeNo: "SHOP-0001"},
				{ID: "4200000000000000000000000002", MchID: "1900000200", OutTradeNo: "OTHER-0002"},
				{ID: "4200000000000000000000000003", MchID: shop.ID, OutTradeNo: "SHOP-0003"}}
			d, err := w.s.Disputes(ctx, orders)
			if err != nil || len(d) != 2 || !d[orders[0].ID].IsZero() || !d[orders[1].ID].IsZero() {
				t.Fatalf("open disputes: %v %v", d, err)
			}
			w.clock.Advance(time.Hour)
			if _, err := w.s.Resolve(ctx, amy, byNo.ID, "paid"); err != nil {
				t.Fatal(err)
			}
			if d, _ = w.s.Disputes(ctx, orders); !d[orders[0].ID].Equal(w.clock.Now()) || !d[orders[1].ID].IsZero() {
				t.Errorf("after the resolution: %v", d)
			}
			if err := w.core.Update(ctx, func(tx *db.Tx) error {
				_, err := ticket.ForgetConsumers(ctx, tx, []string{payer.ID})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got := w.get(byID.ID); got.ContactPhone != "" || got.Description != "failed" {
				t.Errorf("forgotten: %+v", got)
			}
		})
	}
}

// TestOpenTicketsBounded: a consumer has at most MaxOpenConsumer tickets
// not yet resolved, so no one can flood the on-duty staff with payment
// failures; one resolved makes room.
func TestOpenTicketsBounded(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			var first ticket.Ticket
			for i := range ticket.MaxOpenConsumer {
				tk := w.open(payer, ticket.PaymentFailure, "failed")
				if i == 0 {
					first = tk
				}
			}
			_, err := w.s.Open(ctx, payer, ticket.New{Type: ticket.PaymentFailure, Description: "failed again"})
			if code(err) != fenfu.FrequencyLimited {
				t.Fatalf("one too many: %v", err)
			}
			w.open(second, ticket.PaymentFailure, "another consumer's own")
			if _, err := w.s.Resolve(ctx, amy, first.ID, "Your line was frozen; it is open again."); err != nil {
				t.Fatal(err)
			}
			w.open(payer, ticket.PaymentFailure, "failed again")
		})
	}
}

// TestHistoryShowsNewestEvents: a ticket is read with the newest
// MaxHistory events of its history, in order, and says how many earlier
// ones are left out: past MaxHistory events, staff's answer is still in
// the history the merchant reads.
func TestHistoryShowsNewestEvents(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			tk := w.open(shop, ticket.General, "our settlement file is missing lines")
			for i := range ticket.MaxHistory {
				if _, err := w.s.Reply(ctx, shop, tk.ID, ticket.Message{Body: fmt.Sprintf("still missing, %d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			const answer = "Found it: the file is regenerated; download it again."
			got, err := w.s.Reply(ctx, amy, tk.ID, ticket.Message{Body: answer})
			if err != nil {
				t.Fatal(err)
			}
			seen := false
			for _, e := range got.History {
				seen = seen || e.Body == answer
			}
			if !seen {
				last := got.History[len(got.History)-1]
				t.Errorf("staff's answer is not in the history the merchant reads (%d events shown, the last seq %d %q); "+
					"a ticket's newest events must not fall out of its history", len(got.History), last.Seq, last.Body)
			}
			// The merchant's view: the newest MaxHistory events in seq
			// order, the opening and the first reply left out.
			mine, err := w.s.Get(ctx, shop, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n, omitted := len(mine.History), mine.HistoryOmitted; n != ticket.MaxHistory || omitted != 2 {
				t.Errorf("the merchant reads %d events with %d left out, want %d with 2", n, omitted, ticket.MaxHistory)
			}
			for i, e := range mine.History {
				if want := i + 3; e.Seq != want {
					t.Fatalf("history[%d] is seq %d, want %d: the newest events in order", i, e.Seq, want)
				}
			}
			if last := mine.History[len(mine.History)-1]; last.Body != answer || last.Actor != "platform" {
				t.Errorf("the last event the merchant reads: %s %q, want staff's answer as the platform's", last.Actor, last.Body)
			}
		})
	}
}

// TestRepliesBoundedPerTicket: a ticket with MaxEvents events takes no
// more replies, from its opener or from staff, with a remedy that says
// to open a new ticket naming it; staff can still resolve and close it.
// The ticket's event counter is set near the bound rather than filled by
// a thousand replies.
func TestRepliesBoundedPerTicket(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			tk := w.open(shop, ticket.General, "our settlement file is missing lines")
			if _, err := w.core.Exec(ctx, `UPDATE tickets SET events = $1 WHERE id = $2`, ticket.MaxEvents-1, tk.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.s.Reply(ctx, shop, tk.ID, ticket.Message{Body: "still missing"}); err != nil {
				t.Fatalf("the reply that fills the ticket: %v", err)
			}
			for _, by := range []ticket.Actor{shop, amy} {
				_, err := w.s.Reply(ctx, by, tk.ID, ticket.Message{Body: "one more"})
				if e := fenfu.AsError(err); code(err) != fenfu.InvalidRequest || !strings.Contains(e.Remedy, "new ticket naming this one ("+tk.ID+")") {
					t.Errorf("a reply by %s to a ticket of %d events: %v (remedy %q); want INVALID_REQUEST with a remedy to open a new ticket naming it",
						by, ticket.MaxEvents, err, e.Remedy)
				}
			}
			if got := w.get(tk.ID); got.History[len(got.History)-1].Body != "still missing" {
				t.Errorf("a refused reply was kept: the last event is %q", got.History[len(got.History)-1].Body)
			}
			if _, err := w.s.Resolve(ctx, amy, tk.ID, "The file is regenerated."); err != nil {
				t.Errorf("staff resolving a full ticket: %v", err)
			}
			if _, err := w.s.Close(ctx, amy, tk.ID, "Resolved."); err != nil {
				t.Errorf("staff closing a full ticket: %v", err)
			}
		})
	}
}

// TestOpenBoundHoldsAtOnce: openings of one consumer at once, on
// PostgreSQL's READ COMMITTED as on SQLite, count and file one at a time
// under the opener's lock, so no more than MaxOpenConsumer succeed — each
// PAYMENT_FAILURE one an on-duty alert, which the bound is there to hold
// back — and the rest are FREQUENCY_LIMITED.
func TestOpenBoundHoldsAtOnce(t *testing.T) {
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

// TestPurgeForgetsOpenersWithNoTicket: purging tickets deletes the row
// an opener's openings lock once the opener has no ticket left, and an
// opener whose row is gone opens as before.
func TestPurgeForgetsOpenersWithNoTicket(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t, engine)
			first, next := w.open(payer, ticket.General, "one"), w.open(payer, ticket.General, "two")
			theirs := w.open(shop, ticket.General, "ours")
			openers := func() string {
				t.Helper()
				got, err := w.core.Strings(ctx, `SELECT opener FROM ticket_openers ORDER BY opener`)
				if err != nil {
					t.Fatal(err)
				}
				return strings.Join(got, " ")
			}
			purge := func(ids ...string) {
				t.Helper()
				if err := w.core.Update(ctx, func(tx *db.Tx) error {
					_, err := ticket.PurgeTickets(ctx, tx, ids)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := openers(), "consumer:c_0000000001 merchant:1900000109"; got != want {
				t.Fatalf("openers %q, want %q", got, want)
			}
			purge(first.ID, theirs.ID)
			if got, want := openers(), "consumer:c_0000000001"; got != want {
				t.Errorf("after purging the merchant's only ticket and one of the consumer's two: openers %q, want %q", got, want)
			}
			purge(next.ID)
			if got := openers(); got != "" {
				t.Errorf("after purging the consumer's last ticket: openers %q", got)
			}
			w.open(payer, ticket.General, "three")
			if got, want := openers(), "consumer:c_0000000001"; got != want {
				t.Errorf("after the consumer opens again: openers %q, want %q", got, want)
			}
		})
	}
}

// FuzzFilterOf: any query either reads as a filter or is refused with
// PARAM_ERROR.
func FuzzFilterOf(f *testing.F) {
	for _, q := range []string{"type=PAYMENT_FAILURE&status=OPEN&limit=10", "order=due&cursor=ZHVlLjEuVEsx", "order=due&cursor=" + fenfu.Cursor("due", "1", "TK1"), "escalated=true&overdue=maybe",
		"limit=0", "mchid=" + strings.Repeat("x", 70), "cursor=%00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if _, err := ticket.FilterOf(q); err != nil && code(err) != fenfu.ParamError {
			t.Fatalf("%q: %v", raw, err)
		}
	})
}

// FuzzForm: any JSON body either opens a valid ticket or is refused with
// PARAM_ERROR, never more than the bounds.
func FuzzForm(f *testing.F) {
	f.Add(`{"type":"GENERAL","description":"hi","attachments":[{"name":"a.txt","content_type":"text/plain","content":"aGk="}]}`)
	f.Add(`{"type":"PAYMENT_FAILURE","description":"","contact_phone":"+86 138-0013-8000"}`)
	f.Add(`{"type":"X","subject":"a\nb"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var form ticket.Form
		if json.NewDecoder(io.LimitReader(strings.NewReader(body), 1<<16)).Decode(&form) != nil {
			return
		}
		n, err := form.New()
		if err != nil {
			if code(err) != fenfu.ParamError {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		for _, a := range n.Attachments {
			if len(a.Content) > ticket.MaxAttachment || len(a.Content) == 0 {
				t.Fatalf("%q: an attachment of %d bytes passed", body, len(a.Content))
			}
		}
	})
}

// TestOverdueAtDueAsEscalated: at exactly its due time a ticket is
// escalated, and it is overdue and in the ?overdue=true list as well: the
// list of overdue tickets staff work from has every ticket the on-duty
// staff were just paged for.
func TestOverdueAtDueAsEscalated(t *testing.T) {
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

// TestWords: every type, status and event of a ticket, and every actor a
// history shows a merchant or consumer, has a name in both languages, in
// Chinese on a Chinese page, never its code.
func TestWords(t *testing.T) {
	names := map[string]catalog.Text{}
	for _, x := range ticket.Types {
		names[string(x)] = x.Text()
	}
	for _, x := range ticket.Statuses {
		names[string(x)] = x.Text()
	}
	for _, x := range ticket.EventTypes {
		names[string(x)] = x.Text()
	}
	for _, who := range []string{"merchant", "consumer", "platform", "merchant:1900000001", "staff:li.wei", "fenfu"} {
		names[who+" to a merchant"] = ticket.Who(who, ticket.Merchant("1900000001"))
		names[who+" to a consumer"] = ticket.Who(who, ticket.Consumer("C1"))
	}
	chinese := regexp.MustCompile(`\p{Han}`)
	for code, w := range names {
		if w.EN == "" || !chinese.MatchString(w.ZH) || strings.ToUpper(w.EN) == w.EN {
			t.Errorf("%s is named %q / %q", code, w.ZH, w.EN)
		}
	}
	if got := ticket.Who("merchant", ticket.Merchant("1900000001")).EN; got != "You" {
		t.Errorf("a merchant's own events are %q to it, want You", got)
	}
	if got := ticket.Who("merchant", ticket.Consumer("C1")).EN; got != "Merchant" {
		t.Errorf("a merchant's events are %q to a consumer, want Merchant", got)
	}
	if got := ticket.Who("platform", ticket.Merchant("1900000001")).ZH; got != "平台客服" {
		t.Errorf("the platform's events are %q to a merchant, want 平台客服", got)
	}
}
