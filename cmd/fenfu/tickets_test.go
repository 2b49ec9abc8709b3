package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/examples/sdkwalk"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
)

// padHistory appends n replies of the ticket's opener to its history
// straight in the store, as a long conversation would have left them.
func padHistory(t *testing.T, store *db.DB, id string, n int) {
	t.Helper()
	err := store.Update(t.Context(), func(tx *db.Tx) error {
		var seq int
		var opener string
		if err := tx.QueryRowContext(t.Context(), `SELECT t.events, e.actor FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id AND e.seq = 1
			WHERE t.id = $1`, id).Scan(&seq, &opener); err != nil {
			return err
		}
		for i := range n {
			if _, err := tx.ExecContext(t.Context(), `INSERT INTO ticket_events (ticket_id, seq, at, actor, type, body) VALUES ($1, $2, $3, $4, 'REPLIED', $5)`,
				id, seq+i+1, db.Micros(tx.Now), opener, fmt.Sprintf("still waiting, %d", i)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(t.Context(), `UPDATE tickets SET events = events + $1 WHERE id = $2`, n, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// onDuty is the on-duty staff's webhook (--on-duty-url): it keeps every
// alert posted to it.
type onDuty struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []ticket.Alert
}

func newOnDuty(t *testing.T) *onDuty {
	o := &onDuty{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a ticket.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || r.Method != http.MethodPost {
			t.Errorf("an on-duty alert that is not a JSON POST: %s %v", r.Method, err)
		}
		o.mu.Lock()
		o.alerts = append(o.alerts, a)
		o.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(o.Close)
	return o
}

// of returns the levels of the alerts of a ticket received so far, as
// "0 1 2".
func (o *onDuty) of(id string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var levels []string
	for _, a := range o.alerts {
		if a.TicketID == id {
			levels = append(levels, fmt.Sprint(a.Level))
		}
	}
	return strings.Join(levels, " ")
}

// startTicketWorld is serve on the sandbox clock, which the test moves
// over the staff API, on a system clock that stands still near the wall
// clock's time, so that the official SDK, which signs with the wall clock,
// is let in however far the sandbox clock has gone.
func startTicketWorld(t *testing.T, engine db.Engine, onDutyURL string, every time.Duration) *creditWorld {
	t.Helper()
	cfg := sandboxConfig(t, engine)
	cfg.OnDutyURL, cfg.TicketEvery = onDutyURL, every
	clock := fenfu.NewFakeClock(time.Now())
	a := openTest(t, cfg, clock)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln, nopWriter{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	w := &creditWorld{t: t, a: a, clock: clock, base: "http://" + ln.Addr().String()}
	waitHealthy(t, w.base)
	return w
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// merchantSDK is the official SDK's client of a sandbox merchant, in
// public-key mode, pointed at the world's server.
func (w *creditWorld) merchantSDK(m merchant.Sandbox) *core.Client {
	w.t.Helper()
	key, ok := m.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		w.t.Fatal("not an RSA merchant")
	}
	pk := w.a.keys.Platform(scheme.RSA)
	u, _ := url.Parse(w.base)
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(m.MchID, m.SerialNo, key, pk.ID, scheme.Public(pk.Key).(*rsa.PublicKey)),
		option.WithHTTPClient(&http.Client{Transport: sdkwalk.ToHost{Fenfu: u}, Timeout: 10 * time.Second}))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// ticketJSON is a ticket as the APIs answer it.
type ticketJSON struct {
	ID           string    `json:"ticket_id"`
	Type         string    `json:"type"`
	Status       string    `json:"status"`
	SLA          string    `json:"sla"`
	CreatedAt    time.Time `json:"created_at"`
	DueAt        time.Time `json:"due_at"`
	Overdue      bool      `json:"overdue"`
	Escalation   int       `json:"escalation_level"`
	ContactPhone string    `json:"contact_phone"`
	Assignee     string    `json:"assignee"`
	History      []struct {
		Actor       string   `json:"actor"`
		Type        string   `json:"type"`
		Body        string   `json:"body"`
		Attachments []string `json:"attachments"`
	} `json:"history"`
	HistoryOmitted int `json:"history_omitted"`
	Attachments    []struct {
		ID   string `json:"attachment_id"`
		Name string `json:"name"`
	} `json:"attachments"`
}

func (tk ticketJSON) actors() string {
	var out []string
	for _, e := range tk.History {
		out = append(out, e.Actor+" "+e.Type)
	}
	return strings.Join(out, ", ")
}

// TestTicketsOverHTTP walks support tickets through the three surfaces on
// each engine: a merchant opens tickets with the official SDK, one with an
// attachment, and files a settlement exception request, which is a
// settlement-delay ticket with the request's one due time; a consumer
// opens a payment-failure ticket from the cashier, and the on-duty URL is
// posted to at once; staff list them masked, and as the sandbox clock
// moves past each lane's SLA and twice it, the escalation run raises each
// unanswered ticket a level and posts to the on-duty URL, while the
// ticket staff answered in time stays where it is; no one reads another's
// ticket.
func TestTicketsOverHTTP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testTicketsOverHTTP(t, engine) })
	}
}

func testTicketsOverHTTP(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	pager := newOnDuty(t)
	// The periodic run waits an hour: every alert and escalation below is
	// the work of the act, or of the run staff start.
	w := startTicketWorld(t, engine, pager.URL, time.Hour)
	a := w.a
	m, err := a.merchants.CreateSandbox(ctx, "Tea house", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	rival, err := a.merchants.CreateSandbox(ctx, "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	w.mchid, w.appid = m.MchID, m.AppID
	shop, other := w.merchantSDK(m), w.merchantSDK(rival)
	amy := []string{"Authorization", "Bearer " + accesstest.Named(t, a.access, "amy", access.Support, access.StaffRank)}
	accesstest.Named(t, a.access, "bo", access.Support, access.StaffRank)
	director := w.staffAuth()

	// The merchant opens an interface-timeout ticket with its log as CSV.
	record := []byte("time,endpoint,ms\n2026-11-27 09:58,/v3/pay/transactions/native,30000\n")
	var it ticketJSON
	if err := sdkJSON(t, shop, "POST", "/v3/fenfu/tickets", map[string]any{"type": "INTERFACE_TIMEOUT",
		"description": "Native orders time out since 09:50.", "contact_name": "王芳", "contact_phone": "13800138000",
		"attachments": []map[string]string{{"name": "timeouts.csv", "content_type": "text/csv", "content": base64.StdEncoding.EncodeToString(record)}}},
		&it); err != nil {
		t.Fatal(err)
	}
	if it.Status != "OPEN" || it.DueAt.Sub(it.CreatedAt) != 30*time.Minute || len(it.Attachments) != 1 || it.ContactPhone != "13800138000" {
		t.Fatalf("opened %+v", it)
	}
	var att struct {
		Content []byte `json:"content"`
	}
	if err := sdkJSON(t, shop, "GET", "/v3/fenfu/tickets/"+it.ID+"/attachments/"+it.Attachments[0].ID, nil, &att); err != nil ||
		string(att.Content) != string(record) {
		t.Fatalf("the attachment read back: %q %v", att.Content, err)
	}
	for name, body := range map[string]map[string]any{
		"a file over 40 KiB": {"type": "GENERAL", "description": "x", "attachments": []map[string]string{{"name": "big.txt", "content_type": "text/plain",
			"content": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", ticket.MaxAttachment+1)))}}},
		"a PNG that is text": {"type": "GENERAL", "description": "x", "attachments": []map[string]string{{"name": "shot.png", "content_type": "image/png",
			"content": base64.StdEncoding.EncodeToString(record)}}},
		"an unknown type": {"type": "LOST_CARD", "description": "x"},
		"another's order": {"type": "GENERAL", "description": "x", "out_trade_no": "NOT-MINE-01"},
	} {
		err := sdkJSON(t, shop, "POST", "/v3/fenfu/tickets", body, nil)
		if !core.IsAPIError(err, "PARAM_ERROR") && !(name == "another's order" && core.IsAPIError(err, "ORDER_NOT_EXIST")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var general ticketJSON
	if err := sdkJSON(t, shop, "POST", "/v3/fenfu/tickets", map[string]any{"type": "GENERAL", "subject": "Invoice",
		"description": "Please send the October fee invoice."}, &general); err != nil {
		t.Fatal(err)
	}

	// A settlement exception request is a settlement-delay ticket of its
	// id, with the request's one due time.
	var x settle.Exception
	if err := sdkJSON(t, shop, "POST", "/v3/fenfu/settlement-exceptions", map[string]any{"settle_date": "2026-11-26",
		"description": "Nothing arrived for the 26th."}, &x); err != nil {
		t.Fatal(err)
	}
	var sd ticketJSON
	if err := sdkJSON(t, shop, "GET", "/v3/fenfu/tickets/"+x.ID, nil, &sd); err != nil {
		t.Fatal(err)
	}
	if sd.Type != "SETTLEMENT_DELAY" || !sd.DueAt.Equal(x.DueAt) || sd.DueAt.Sub(sd.CreatedAt) != 24*time.Hour || sd.Status != "OPEN" {
		t.Fatalf("the request's ticket %+v, the request due %s", sd, x.DueAt)
	}

	// The other merchant sees none of it.
	for _, path := range []string{"/v3/fenfu/tickets/" + it.ID, "/v3/fenfu/tickets/" + x.ID,
		"/v3/fenfu/tickets/" + it.ID + "/attachments/" + it.Attachments[0].ID} {
		if err := sdkJSON(t, other, "GET", path, nil, nil); !core.IsAPIError(err, "RESOURCE_NOT_EXISTS") {
			t.Errorf("the other merchant reads %s: %v", path, err)
		}
	}
	if err := sdkJSON(t, other, "POST", "/v3/fenfu/tickets/"+it.ID+"/replies", map[string]any{"content": "mine now"}, nil); !core.IsAPIError(err, "RESOURCE_NOT_EXISTS") {
		t.Errorf("the other merchant answers: %v", err)
	}
	var theirs ticket.Page
	if err := sdkJSON(t, other, "GET", "/v3/fenfu/tickets", nil, &theirs); err != nil || len(theirs.Tickets) != 0 {
		t.Errorf("the other merchant's list: %+v %v", theirs, err)
	}

	// A consumer's payment fails; they open a ticket from the cashier,
	// and the on-duty staff are alerted at once.
	bob, eve := w.consumer(1000_00, 0), w.consumer(1000_00, 0)
	paid := w.order("TEA-0001", 26_80)
	w.pay(bob, paid, 0)
	w.login(eve)
	if code, body := w.try(http.DefaultClient, "POST", "/cashier/tickets", map[string]any{"type": "PAYMENT_FAILURE", "description": "x"}, nil); code != 401 {
		t.Errorf("a ticket without logging in: %d %s", code, body)
	}
	if code, body := w.try(bob.client, "POST", "/cashier/tickets", map[string]any{"type": "PAYMENT_FAILURE", "description": "x"}, nil,
		"Origin", "https://evil.example"); code != 403 || !strings.Contains(body, "NO_AUTH") {
		t.Errorf("a cross-site ticket: %d %s", code, body)
	}
	if code, body := w.try(eve.client, "POST", "/cashier/tickets", map[string]any{"type": "PAYMENT_FAILURE", "description": "x",
		"transaction_id": paid.ID}, nil); code != 404 || !strings.Contains(body, "ORDER_NOT_EXIST") {
		t.Errorf("a ticket on another consumer's order: %d %s", code, body)
	}
	var pf ticketJSON
	w.do(bob.client, "POST", "/cashier/tickets", map[string]any{"type": "PAYMENT_FAILURE", "description": "付款时提示失败,请问是额度问题吗?",
		"transaction_id": paid.ID, "contact_phone": "13900000001"}, &pf)
	if pf.DueAt.Sub(pf.CreatedAt) != 5*time.Minute || pf.Status != "OPEN" {
		t.Fatalf("the payment failure %+v", pf)
	}
	eventually(t, 10*time.Second, "the on-duty alert of the payment failure", func() error {
		if got := pager.of(pf.ID); got != "0" {
			return fmt.Errorf("alerts %q", got)
		}
		return nil
	})
	if code, _ := w.try(eve.client, "GET", "/cashier/tickets/"+pf.ID, nil, nil); code != 404 {
		t.Errorf("another consumer reads the ticket: %d", code)
	}
	if pager.of(it.ID)+pager.of(x.ID)+pager.of(general.ID) != "" {
		t.Errorf("tickets of lanes that do not alert on open alerted")
	}

	// Support staff see every ticket, most urgent first, personal data
	// masked; the director in the clear.
	var queue ticket.Page
	w.do(http.DefaultClient, "GET", "/admin/tickets?order=due", nil, &queue, amy...)
	if len(queue.Tickets) != 4 || queue.Tickets[0].ID != pf.ID || queue.Tickets[1].ID != it.ID || queue.Tickets[0].ContactPhone != "139****0001" {
		t.Fatalf("the staff queue %+v", queue)
	}
	var clear ticketJSON
	w.do(http.DefaultClient, "GET", "/admin/tickets/"+pf.ID, nil, &clear, director...)
	if clear.ContactPhone != "13900000001" {
		t.Errorf("the director sees %q", clear.ContactPhone)
	}
	w.do(http.DefaultClient, "POST", "/admin/tickets/"+general.ID+"/assign", map[string]any{"assignee": "bo", "reason": "billing"}, nil, amy...)
	if code, body := w.try(http.DefaultClient, "POST", "/admin/tickets/"+general.ID+"/assign", map[string]any{"assignee": "nobody"}, nil, amy...); code != 400 {
		t.Errorf("assigned to no one who exists: %d %s", code, body)
	}

	// The sandbox clock moves past each SLA, and twice it; the run
	// escalates what no staff member has answered.
	type levels map[string]int
	step := func(by string, want levels, alerts map[string]string) {
		t.Helper()
		w.do(http.DefaultClient, "POST", "/admin/sandbox/clock/advance", map[string]any{"duration": by}, nil, director...)
		w.do(http.DefaultClient, "POST", "/admin/tickets/escalate", nil, nil, amy...)
		for _, id := range []string{it.ID, pf.ID, x.ID, general.ID} {
			var got ticketJSON
			w.do(http.DefaultClient, "GET", "/admin/tickets/"+id, nil, &got, amy...)
			if got.Escalation != want[id] {
				t.Fatalf("after %s more, %s (%s) is at level %d, want %d", by, id, got.Type, got.Escalation, want[id])
			}
		}
		for id, levels := range alerts {
			eventually(t, 10*time.Second, "the on-duty alerts of "+id, func() error {
				if got := pager.of(id); got != levels {
					return fmt.Errorf("alerts %q, want %q", got, levels)
				}
				return nil
			})
		}
	}
	step("4m", levels{}, map[string]string{pf.ID: "0"})
	step("2m", levels{pf.ID: 1}, map[string]string{pf.ID: "0 1"})
	step("5m", levels{pf.ID: 2}, map[string]string{pf.ID: "0 1 2"})
	w.do(http.DefaultClient, "POST", "/admin/tickets/"+general.ID+"/replies", map[string]any{"content": "The invoice is on its way."}, nil, amy...)
	step("20m", levels{pf.ID: 2, it.ID: 1}, map[string]string{it.ID: "1"})
	step("30m", levels{pf.ID: 2, it.ID: 2}, map[string]string{it.ID: "1 2"})
	step("23h", levels{pf.ID: 2, it.ID: 2, x.ID: 1}, map[string]string{x.ID: "1", general.ID: ""})
	var late settle.Exception
	if err := sdkJSON(t, shop, "GET", "/v3/fenfu/settlement-exceptions/"+x.ID, nil, &late); err != nil || !late.Overdue || late.Status != "OPEN" {
		t.Errorf("the request past its SLA %+v %v", late, err)
	}
	// Staff answer the request; its ticket is resolved, and escalated no
	// further.
	w.do(http.DefaultClient, "POST", "/admin/settlement-exceptions/"+x.ID+"/resolve", map[string]any{"status": "RESOLVED",
		"resolution": "Paid on the 28th; the bank was late."}, nil, director...)
	step("24h", levels{pf.ID: 2, it.ID: 2, x.ID: 1}, map[string]string{x.ID: "1"})

	// Each side reads the history; staff are the platform to the others.
	if err := sdkJSON(t, shop, "GET", "/v3/fenfu/tickets/"+x.ID, nil, &sd); err != nil || sd.Status != "RESOLVED" || sd.Overdue {
		t.Fatalf("the resolved request's ticket %+v %v", sd, err)
	}
	if got, want := sd.actors(), "merchant OPENED, platform ESCALATED, platform RESOLVED"; got != want {
		t.Errorf("the merchant reads %s, want %s", got, want)
	}
	var staffView ticketJSON
	w.do(http.DefaultClient, "GET", "/admin/tickets/"+x.ID, nil, &staffView, amy...)
	if got, want := staffView.actors(), "merchant:"+m.MchID+" OPENED, fenfu ESCALATED, fenfu ALERTED, staff:li.wei RESOLVED"; got != want {
		t.Errorf("staff read %s, want %s", got, want)
	}
	w.login(bob) // the session ended with the day
	var mine ticketJSON
	w.do(bob.client, "GET", "/cashier/tickets/"+pf.ID, nil, &mine)
	if mine.Escalation != 2 || !mine.Overdue || mine.actors() != "consumer OPENED, platform ESCALATED, platform ESCALATED" {
		t.Errorf("the consumer reads %+v: %s", mine, mine.actors())
	}
	w.do(bob.client, "POST", "/cashier/tickets/"+pf.ID+"/replies", map[string]any{"content": "还在等"}, &mine)
	var list ticket.Page
	w.do(bob.client, "GET", "/cashier/tickets", nil, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != pf.ID {
		t.Errorf("the consumer's list %+v", list)
	}
	// A history longer than a page: the consumer's page shows the newest
	// events and says how many earlier ones it leaves out.
	padHistory(t, w.a.core, pf.ID, ticket.MaxHistory)
	w.do(bob.client, "GET", "/cashier/tickets/"+pf.ID, nil, &mine)
	if code, page := w.try(bob.client, "GET", "/cashier/tickets/"+pf.ID, nil, nil, "Accept", "text/html"); code != 200 ||
		!strings.Contains(page, `id="history-omitted">`) || !strings.Contains(page, fmt.Sprintf(" %d</small>", mine.HistoryOmitted)) ||
		mine.HistoryOmitted == 0 || !strings.Contains(page, fmt.Sprintf("still waiting, %d", ticket.MaxHistory-1)) {
		t.Errorf("the consumer's page of a ticket with %d earlier events left out: HTTP %d\n%s", mine.HistoryOmitted, code, page)
	}

	// The assignment is in the audit log; the escalations are counted.
	var log struct {
		Entries []struct {
			Actor  string          `json:"actor"`
			Detail json.RawMessage `json:"detail"`
		} `json:"entries"`
	}
	w.do(http.DefaultClient, "GET", "/admin/audit?action="+url.QueryEscape(ticket.ActionAssign), nil, &log, director...)
	if len(log.Entries) != 1 || log.Entries[0].Actor != "staff:amy" || string(log.Entries[0].Detail) != `{"from":"","to":"bo"}` {
		t.Errorf("the audit log %+v", log)
	}
	resp, err := http.Get(w.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readAll(t, resp)
	for _, line := range []string{`fenfu_ticket_escalations_total{level="2",type="PAYMENT_FAILURE"} 1`,
		`fenfu_ticket_escalations_total{level="1",type="SETTLEMENT_DELAY"} 1`, `fenfu_ticket_alerts_total{result="sent"} 6`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// TestServeEscalatesTickets: serve's periodic loop escalates a ticket
// past its lane's SLA by itself, and a lane's change is audited and holds
// for the tickets opened after it.
func TestServeEscalatesTickets(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			pager := newOnDuty(t)
			w := startTicketWorld(t, engine, pager.URL, time.Second)
			m, err := w.a.merchants.CreateSandbox(t.Context(), "Noodle bar", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			director := w.staffAuth()
			if code, _ := w.try(http.DefaultClient, "POST", "/admin/ticket-lanes/GENERAL", map[string]any{"sla": "2m"}, nil, director...); code != 400 {
				t.Errorf("a lane changed without a reason: %d", code)
			}
			var lane ticket.Lane
			w.do(http.DefaultClient, "POST", "/admin/ticket-lanes/GENERAL", map[string]any{"sla": "2m", "reason": "the support drill"}, &lane, director...)
			if time.Duration(lane.SLA) != 2*time.Minute || lane.ChangedBy != "staff:li.wei" {
				t.Fatalf("lane %+v", lane)
			}
			var tk ticketJSON
			if err := sdkJSON(t, w.merchantSDK(m), "POST", "/v3/fenfu/tickets", map[string]any{"type": "GENERAL", "description": "hello"}, &tk); err != nil {
				t.Fatal(err)
			}
			if tk.SLA != "2m0s" {
				t.Fatalf("opened %+v", tk)
			}
			w.do(http.DefaultClient, "POST", "/admin/sandbox/clock/advance", map[string]any{"duration": "3m"}, nil, director...)
			eventually(t, 15*time.Second, "serve escalating the ticket", func() error {
				var got ticketJSON
				w.do(http.DefaultClient, "GET", "/admin/tickets/"+tk.ID, nil, &got, director...)
				if got.Escalation != 1 || pager.of(tk.ID) != "1" {
					return fmt.Errorf("level %d, alerts %q", got.Escalation, pager.of(tk.ID))
				}
				return nil
			})
			var log struct {
				Entries []struct {
					Reason string `json:"reason"`
				} `json:"entries"`
			}
			w.do(http.DefaultClient, "GET", "/admin/audit?action="+url.QueryEscape(ticket.ActionLaneChange), nil, &log, director...)
			if len(log.Entries) != 1 || log.Entries[0].Reason != "the support drill" {
				t.Errorf("the lane's change in the audit log %+v", log)
			}
		})
	}
}

// TestTicketsCLI: staff list, read, answer, assign and resolve tickets
// from the command line, on the store directly; each act is in the audit
// log under the staff member named, and a command missing what it needs
// exits 2.
func TestTicketsCLI(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testTicketsCLI(t, engine) })
	}
}

func testTicketsCLI(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	cfg := engineConfig(t, engine)
	a := openTest(t, cfg, fenfu.SystemClock{})
	accesstest.Named(t, a.access, "amy", access.Support, access.StaffRank)
	tk, err := a.tickets.Open(ctx, ticket.Merchant("1900000109"), ticket.New{Type: ticket.General, Description: "Where is my invoice?"})
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"FENFU_DATA_DIR": cfg.DataDir, "FENFU_CORE_DB": cfg.CoreDB, "FENFU_CREDIT_DB": cfg.CreditDB}[k]
	}
	cli := func(out any, args ...string) {
		t.Helper()
		code, stdout, stderr := fenfuCLI(t, env, append([]string{"tickets"}, args...)...)
		if code != 0 {
			t.Fatalf("fenfu tickets %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(stdout), out); err != nil {
				t.Fatalf("fenfu tickets %s printed %s: %v", strings.Join(args, " "), stdout, err)
			}
		}
	}
	var page ticket.Page
	cli(&page, "list", "--type", "GENERAL", "--order", "due")
	if len(page.Tickets) != 1 || page.Tickets[0].ID != tk.ID {
		t.Fatalf("list: %+v", page)
	}
	var got ticketJSON
	cli(&got, "reply", "--id", tk.ID, "--content", "Sent to your billing address today.", "--staff", "amy")
	if got.Status != "ANSWERED" {
		t.Errorf("after the reply: %+v", got)
	}
	cli(&got, "assign", "--id", tk.ID, "--assignee", "amy", "--reason", "billing", "--staff", "amy")
	cli(&got, "resolve", "--id", tk.ID, "--resolution", "Invoice sent.", "--staff", "amy")
	cli(&got, "show", "--id", tk.ID)
	if got.Status != "RESOLVED" || got.Assignee != "amy" || got.actors() != "merchant:1900000109 OPENED, staff:amy REPLIED, staff:amy ASSIGNED, staff:amy RESOLVED" {
		t.Errorf("shown: %+v %s", got, got.actors())
	}
	var lanes []ticket.Lane
	cli(&lanes, "lanes")
	if len(lanes) != 4 || lanes[0].Type != ticket.InterfaceTimeout {
		t.Errorf("lanes: %+v", lanes)
	}
	for _, action := range []string{"tickets reply", ticket.ActionAssign, "tickets resolve"} {
		list, err := audit.List(ctx, a.core, audit.Filter{Action: action, TargetID: tk.ID})
		if err != nil || len(list) != 1 || list[0].Actor != "staff:amy" {
			t.Errorf("%s in the audit log: %+v %v", action, list, err)
		}
	}
	if code, _, stderr := fenfuCLI(t, env, "tickets", "reply", "--id", tk.ID, "--staff", "amy"); code != 2 || !strings.Contains(stderr, "--content") {
		t.Errorf("a reply without words: exit %d %s", code, stderr)
	}
	if code, _, stderr := fenfuCLI(t, env, "tickets", "show", "--id", "TKnone"); code != 1 || !strings.Contains(stderr, "RESOURCE_NOT_EXISTS") {
		t.Errorf("an unknown ticket: exit %d %s", code, stderr)
	}
}
