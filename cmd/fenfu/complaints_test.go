package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/go-pay/gopay"
	wechat "github.com/go-pay/gopay/wechat/v3"
)

// TestComplaintFastLane is the fast lane end to end over HTTP, on a server
// whose clock the test moves: a consumer files a complaint from the
// cashier's JSON API; the merchant, through gopay's v3 client, sets its
// complaint URL, lists and reads the complaint, and answers it only after
// the SLA has run out; serve's background job has escalated it by then;
// staff resolve it through the staff API; every step's notification
// reaches the merchant signed and decryptable; the order is held while the
// complaint is open.
func TestComplaintFastLane(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testComplaintFastLane(t, engine) })
	}
}

// complaintServer is serve on a fake clock.
type complaintServer struct {
	a     *app
	base  string
	clock *fenfu.FakeClock
}

func startComplaintServer(t *testing.T, engine db.Engine, sla time.Duration) *complaintServer {
	t.Helper()
	cfg := testConfig(t)
	if engine == db.Postgres {
		cfg.CoreDB, cfg.CreditDB = dbtest.DSN(t, engine, "core"), dbtest.DSN(t, engine, "credit")
	}
	cfg.NotifyPrivate = true
	cfg.ComplaintSLA = sla
	cfg.ComplaintEvery = time.Second
	// The clock starts at the wall clock, and the test moves it on less
	// than the 5 minutes a v3 request's timestamp may be off by, so that
	// gopay, which signs with the wall clock, is still let in.
	clock := fenfu.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openAt(ctx, cfg, discardLogger(), clock)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.close()
	})
	s := &complaintServer{a: a, base: "http://" + ln.Addr().String(), clock: clock}
	waitHealthy(t, s.base)
	return s
}

// gopayClient is gopay's v3 client for a sandbox merchant, pointed at
// fenfu and verifying its responses with the platform key.
func (s *complaintServer) gopayClient(t *testing.T, m merchant.Sandbox) *wechat.ClientV3 {
	t.Helper()
	priv, err := scheme.PrivateKeyPEM(m.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := wechat.NewClientV3(m.MchID, m.SerialNo, m.APIv3Key, string(priv))
	if err != nil {
		t.Fatal(err)
	}
	c.SetProxyHost(s.base)
	pk := s.a.keys.Platform(scheme.RSA)
	pub, err := scheme.PublicKeyPEM(scheme.Public(pk.Key))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AutoVerifySignByPublicKey(pub, pk.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

// send makes a JSON request and decodes the JSON answer into out.
func send(t *testing.T, hc *http.Client, method, u string, header map[string]string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s answered %d %s: %v", method, u, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// notice is a complaint notification as the merchant's endpoint took it.
type notice struct {
	id, eventType, summary, originalType string
	wechat.V3DecryptComplaintResult
}

func testComplaintFastLane(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	s := startComplaintServer(t, engine, 2*time.Minute)
	a := s.a
	m, err := a.merchants.CreateSandbox(ctx, "Tea house", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	rival, err := a.merchants.CreateSandbox(ctx, "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	gp, other := s.gopayClient(t, m), s.gopayClient(t, rival)

	// The merchant's complaint endpoint: it checks the platform's
	// signature and decrypts the resource with gopay, as a merchant would.
	pub := a.keys.Platform(scheme.RSA).Key.Public().(*rsa.PublicKey)
	notices := make(chan notice, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := wechat.V3ParseNotify(r)
		if err == nil {
			err = req.VerifySignByPK(pub)
		}
		var n notice
		if err == nil {
			err = req.DecryptCipherTextToStruct(m.APIv3Key, &n.V3DecryptComplaintResult)
		}
		if err != nil {
			t.Errorf("the complaint notification does not verify or decrypt: %v", err)
			w.WriteHeader(400)
			return
		}
		n.id, n.eventType, n.summary, n.originalType = req.Id, req.EventType, req.Summary, req.Resource.OriginalType
		notices <- n
		w.WriteHeader(204)
	}))
	defer hook.Close()
	waitFor := func(action string) notice {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case n := <-notices:
				if n.ActionType == action {
					return n
				}
			case <-deadline:
				t.Fatalf("no %s notification", action)
			}
		}
	}

	// The complaint URL, through gopay: none, created, read, replaced.
	if q, err := gp.V3ComplaintNotifyUrlQuery(ctx); err != nil || q.Code != 404 {
		t.Fatalf("query before creating: %+v %v", q, err)
	}
	if c, err := gp.V3ComplaintNotifyUrlCreate(ctx, "https://tea.example/complaints"); err != nil || c.Code != 0 ||
		c.Response.Url != "https://tea.example/complaints" || c.Response.Mchid != m.MchID {
		t.Fatalf("create: %+v %v", c, err)
	}
	if c, err := gp.V3ComplaintNotifyUrlCreate(ctx, hook.URL); err != nil || c.Code != 400 {
		t.Fatalf("create twice: %+v %v", c, err)
	}
	if u, err := gp.V3ComplaintNotifyUrlUpdate(ctx, hook.URL+"/complaints"); err != nil || u.Code != 0 {
		t.Fatalf("update: %+v %v", u, err)
	}
	if q, err := gp.V3ComplaintNotifyUrlQuery(ctx); err != nil || q.Code != 0 || q.Response.Url != hook.URL+"/complaints" {
		t.Fatalf("query: %+v %v", q, err)
	}
	if u, err := other.V3ComplaintNotifyUrlUpdate(ctx, "https://other.example/c"); err != nil || u.Code != 404 {
		t.Fatalf("update of a URL never created: %+v %v", u, err)
	}

	// A consumer pays an order in the cashier and files a complaint.
	_, _, err = a.consumers.Create(ctx, consumer.NewConsumer{Phone: "13900000001", PIN: "246810", CreditLimit: 1_000_000, Rating: "A"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Oolong, 500 g",
		OutTradeNo: "TEA-0001", NotifyURL: "https://tea.example/paid", Total: 26_800})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var paid struct {
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
	}
	if st := send(t, http.DefaultClient, "POST", s.base+"/cashier/complaints", nil,
		map[string]any{"transaction_id": o.ID, "problem_type": "OTHERS", "complaint_detail": "x"}, nil); st != 401 {
		t.Fatalf("a complaint without logging in: %d", st)
	}
	if st := send(t, browser, "POST", s.base+"/q/"+o.Token+"/pay", nil,
		map[string]any{"channel": "credit", "phone": "13900000001", "pin": "246810"}, &paid); st != 200 || paid.TransactionID != o.ID {
		t.Fatalf("pay: %d %+v", st, paid)
	}
	var failed struct{ Code, Message string }
	if st := send(t, browser, "POST", s.base+"/cashier/complaints", map[string]string{"Origin": "https://evil.example"},
		map[string]any{"transaction_id": o.ID, "problem_type": "OTHERS", "complaint_detail": "x"}, &failed); st != 403 || failed.Code != "NO_AUTH" {
		t.Fatalf("a cross-site complaint: %d %+v", st, failed)
	}
	for _, bad := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"transaction_id": o.ID, "problem_type": "OTHERS", "complaint_detail": strings.Repeat("太", 501)}, 400, "PARAM_ERROR"},
		{map[string]any{"transaction_id": "4200000000000000000000000001", "problem_type": "OTHERS", "complaint_detail": "x"}, 404, "ORDER_NOT_EXIST"},
		{map[string]any{"transaction_id": "../etc", "problem_type": "OTHERS", "complaint_detail": "x"}, 400, "PARAM_ERROR"},
		{map[string]any{"transaction_id": o.ID, "problem_type": "REFUNDS", "complaint_detail": "x", "apply_refund_amount": 26_801}, 400, "PARAM_ERROR"},
	} {
		if st := send(t, browser, "POST", s.base+"/cashier/complaints", nil, bad.body, &failed); st != bad.status || failed.Code != bad.code {
			t.Errorf("complaint %v: %d %+v", bad.body, st, failed)
		}
	}
	var filed struct {
		ComplaintID string `json:"complaint_id"`
		State       string `json:"complaint_state"`
	}
	if st := send(t, browser, "POST", s.base+"/cashier/complaints", nil, map[string]any{"transaction_id": o.ID,
		"problem_type": "REFUNDS", "complaint_detail": "The tin was open and half empty.", "apply_refund_amount": 26_800}, &filed); st != 200 ||
		filed.State != "PENDING" || len(filed.ComplaintID) != 27 {
		t.Fatalf("file: %d %+v", st, filed)
	}
	id := filed.ComplaintID
	if n := waitFor("CREATE_COMPLAINT"); n.eventType != "COMPLAINT.CREATE" || n.ComplaintId != id || n.summary != "产生新投诉" ||
		n.originalType != "complaint" || n.id != "EV-"+id+"001" {
		t.Fatalf("create notification %+v", n)
	}
	// The hold is placed by the complaint sweep, which may run after the
	// notification went out.
	eventually(t, 10*time.Second, "the order held for the open complaint", func() error {
		if h, _ := a.pay.Get(ctx, o.ID); h.HoldReason != "complaint "+id || !h.HoldUntil.After(s.clock.Now()) {
			return fmt.Errorf("held until %s for %q", h.HoldUntil, h.HoldReason)
		}
		return nil
	})

	// The merchant lists and reads it through gopay; the other merchant
	// cannot see it.
	today := s.clock.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	bm := gopay.BodyMap{}
	bm.Set("limit", 10).Set("offset", 0).Set("begin_date", today).Set("end_date", today).Set("complainted_mchid", m.MchID)
	list, err := gp.V3ComplaintList(ctx, bm)
	if err != nil || list.Code != 0 || list.Response.TotalCount != 1 || len(list.Response.Data) != 1 || list.Response.Limit != 10 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if it := list.Response.Data[0]; it.ComplaintId != id || it.ComplaintState != "PENDING" || it.ProblemType != "REFUNDS" ||
		it.ApplyRefundAmount != 26_800 || len(it.ComplaintOrderInfo) != 1 || it.ComplaintOrderInfo[0].TransactionId != o.ID ||
		it.ComplaintOrderInfo[0].OutTradeNo != "TEA-0001" || it.ComplaintOrderInfo[0].Amount != 26_800 || it.UserComplaintTimes != 1 {
		t.Fatalf("listed %+v", it)
	}
	for name, q := range map[string]gopay.BodyMap{
		"no dates":          {"limit": 10, "offset": 0},
		"limit 51":          {"limit": 51, "offset": 0, "begin_date": today, "end_date": today},
		"31 days":           {"begin_date": "2026-01-01", "end_date": "2026-02-01"},
		"another merchant":  {"begin_date": today, "end_date": today, "complainted_mchid": rival.MchID},
		"end before begin":  {"begin_date": "2026-01-02", "end_date": "2026-01-01"},
		"not a date":        {"begin_date": "2026/01/02", "end_date": "2026-01-03"},
		"a negative offset": {"begin_date": today, "end_date": today, "offset": -1},
	} {
		if l, err := gp.V3ComplaintList(ctx, q); err != nil || l.Code != 400 || l.ErrResponse.Code != "PARAM_ERROR" {
			t.Errorf("list with %s: %+v %v", name, l, err)
		}
	}
	if l, err := other.V3ComplaintList(ctx, gopay.BodyMap{"begin_date": today, "end_date": today}); err != nil || l.Code != 0 ||
		l.Response.TotalCount != 0 {
		t.Errorf("the other merchant's list: %+v %v", l, err)
	}
	if d, err := other.V3ComplaintDetail(ctx, id); err != nil || d.Code != 404 || d.ErrResponse.Code != "RESOURCE_NOT_EXISTS" {
		t.Errorf("the other merchant reads the complaint: %+v %v", d, err)
	}
	if d, err := gp.V3ComplaintDetail(ctx, "200000020261129999999999999"); err != nil || d.Code != 404 {
		t.Errorf("an unknown complaint: %+v %v", d, err)
	}
	d, err := gp.V3ComplaintDetail(ctx, id)
	if err != nil || d.Code != 0 || d.Response.ComplaintId != id || d.Response.ComplaintedMchid != m.MchID ||
		d.Response.ComplaintDetail != "The tin was open and half empty." || d.Response.PayerOpenid == "" || d.Response.InPlatformService {
		t.Fatalf("detail: %+v %v", d, err)
	}

	// The SLA runs out; serve's background job escalates the complaint
	// and tells the merchant.
	s.clock.Advance(2*time.Minute + time.Second)
	if n := waitFor("RESPONSE_BY_PLATFORM"); n.eventType != "COMPLAINT.STATE_CHANGE" || n.ComplaintId != id {
		t.Fatalf("escalation notification %+v", n)
	}
	staff := map[string]string{"Authorization": "Bearer " + accesstest.Named(t, a.access, "amy", access.Support, access.StaffRank)}
	var queue struct {
		Complaints []struct {
			ID         string `json:"complaint_id"`
			Escalation string `json:"escalation"`
		} `json:"complaints"`
		Next string `json:"next"`
	}
	if st := send(t, http.DefaultClient, "GET", s.base+"/admin/complaints", staff, nil, &queue); st != 200 || len(queue.Complaints) != 1 || queue.Next != "" ||
		queue.Complaints[0].ID != id || queue.Complaints[0].Escalation != "ESCALATED" {
		t.Fatalf("staff queue: %d %+v", st, queue)
	}
	if st := send(t, http.DefaultClient, "GET", s.base+"/admin/complaints", map[string]string{"Authorization": "Bearer nope"},
		nil, nil); st != 401 {
		t.Errorf("the staff queue with a wrong token: %d", st)
	}

	// The merchant answers, late.
	answer := func(c *wechat.ClientV3, mchid, content string) *wechat.EmptyRsp {
		t.Helper()
		r, err := c.V3ComplaintResponse(ctx, id, gopay.BodyMap{"complainted_mchid": mchid, "response_content": content,
			"jump_url": "https://tea.example/refunds", "jump_url_text": "查看退款"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := answer(gp, m.MchID, strings.Repeat("歉", 201)); r.Code != 400 || r.ErrResponse.Code != "PARAM_ERROR" {
		t.Errorf("a 201-character answer: %+v", r)
	}
	if r := answer(gp, rival.MchID, "ok"); r.Code != 400 {
		t.Errorf("an answer naming another complainted_mchid: %+v", r)
	}
	if r := answer(other, rival.MchID, "ok"); r.Code != 404 {
		t.Errorf("the other merchant answers: %+v", r)
	}
	if r := answer(gp, m.MchID, "Sorry — refunding in full today."); r.Code != 0 {
		t.Fatalf("answer: %+v", r)
	}
	waitFor("MERCHANT_RESPONSE")
	if r, err := gp.V3ComplaintComplete(ctx, id, gopay.BodyMap{"complainted_mchid": m.MchID}); err != nil || r.Code != 400 ||
		r.ErrResponse.Code != "INVALID_REQUEST" {
		t.Errorf("completing an escalated complaint: %+v %v", r, err)
	}
	if d, err := gp.V3ComplaintDetail(ctx, id); err != nil || d.Response.ComplaintState != "PROCESSING" || !d.Response.InPlatformService {
		t.Errorf("detail after the answer: %+v %v", d, err)
	}

	// Staff note and resolve it.
	if st := send(t, http.DefaultClient, "POST", s.base+"/admin/complaints/"+id+"/notes", staff,
		map[string]string{"note": "Merchant refunds in full; closing once the consumer has it."}, nil); st != 200 {
		t.Fatalf("note: %d", st)
	}
	if st := send(t, http.DefaultClient, "POST", s.base+"/admin/complaints/"+id+"/resolve", staff, map[string]string{}, &failed); st != 400 ||
		failed.Code != "PARAM_ERROR" {
		t.Errorf("a resolution without words: %d %+v", st, failed)
	}
	var resolved struct {
		State      string `json:"complaint_state"`
		Escalation string `json:"escalation"`
		ResolvedBy string `json:"resolved_by"`
	}
	if st := send(t, http.DefaultClient, "POST", s.base+"/admin/complaints/"+id+"/resolve", staff,
		map[string]string{"resolution": "Refunded in full by the merchant."}, &resolved); st != 200 || resolved.State != "PROCESSED" ||
		resolved.Escalation != "RESOLVED" || resolved.ResolvedBy != "staff:amy" {
		t.Fatalf("resolve: %d %+v", st, resolved)
	}
	waitFor("PLATFORM_SERVICE_FINISHED")
	if h, _ := a.pay.Get(ctx, o.ID); !h.HoldUntil.IsZero() || h.HoldReason != "" {
		t.Errorf("the order is still held after resolution: %s %q", h.HoldUntil, h.HoldReason)
	}

	// The history, as the merchant reads it: staff are the platform.
	hist, err := gp.V3ComplaintNegotiationHistory(ctx, id, gopay.BodyMap{"limit": 50, "offset": 0})
	if err != nil || hist.Code != 0 || hist.Response.TotalCount != 5 || len(hist.Response.Data) != 5 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	var ops []string
	for _, e := range hist.Response.Data {
		ops = append(ops, e.Operator+":"+e.OperateType)
		if strings.Contains(e.Operator, "amy") || e.OperateTime == "" || e.LogId == "" {
			t.Errorf("history entry %+v", e)
		}
	}
	if got, want := strings.Join(ops, " "), "投诉人:USER_CREATE_COMPLAINT 分付平台:PLATFORM_RESPONSE 商户:MERCHANT_RESPONSE "+
		"分付平台:PLATFORM_RESPONSE 分付平台:PLATFORM_SERVICE_FINISHED"; got != want {
		t.Errorf("history %s\nwant %s", got, want)
	}

	// The consumer reads it with every answer.
	var mine struct {
		Complaints []struct {
			ID         string `json:"complaint_id"`
			State      string `json:"complaint_state"`
			Resolution string `json:"resolution"`
			History    []struct {
				Operator string `json:"operator"`
				Details  string `json:"operate_details"`
			} `json:"history"`
		} `json:"complaints"`
	}
	if st := send(t, browser, "GET", s.base+"/cashier/complaints", nil, nil, &mine); st != 200 || len(mine.Complaints) != 1 ||
		mine.Complaints[0].State != "PROCESSED" || mine.Complaints[0].Resolution != "Refunded in full by the merchant." ||
		len(mine.Complaints[0].History) != 5 || mine.Complaints[0].History[2].Details != "Sorry — refunding in full today." {
		t.Fatalf("the consumer's complaints: %d %+v", st, mine)
	}
	if strings.Contains(mustJSON(mine), "amy") {
		t.Errorf("the consumer sees the staff member's name: %s", mustJSON(mine))
	}

	// The merchant's own way to close a complaint, from the cashier page's
	// form: answered in time and completed.
	o2, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Green tea",
		OutTradeNo: "TEA-0002", NotifyURL: "https://tea.example/paid", Total: 9_900})
	if err != nil {
		t.Fatal(err)
	}
	if st := send(t, browser, "POST", s.base+"/q/"+o2.Token+"/pay", nil, map[string]any{"channel": "credit", "pin": "246810"}, nil); st != 200 {
		t.Fatalf("pay the second order: %d", st)
	}
	page, err := browser.Get(s.base + "/q/" + o2.Token)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(b), `action="/q/`+o2.Token+`/complaints"`) {
		t.Fatalf("the paid order's page has no complaint form:\n%s", b)
	}
	form := url.Values{"problem_type": {"SERVICE_NOT_WORK"}, "complaint_detail": {"Never arrived."}}
	resp, err := browser.PostForm(s.base+"/q/"+o2.Token+"/complaints", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/cashier/complaints" || !strings.Contains(string(b), "TEA-0002") {
		t.Fatalf("the form's complaint: %d %s\n%s", resp.StatusCode, resp.Request.URL, b)
	}
	second := waitFor("CREATE_COMPLAINT").ComplaintId
	if r := func() *wechat.EmptyRsp {
		r, err := gp.V3ComplaintResponse(ctx, second, gopay.BodyMap{"complainted_mchid": m.MchID, "response_content": "Resent today."})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}(); r.Code != 0 {
		t.Fatalf("answer the second: %+v", r)
	}
	if r, err := gp.V3ComplaintComplete(ctx, second, gopay.BodyMap{"complainted_mchid": m.MchID}); err != nil || r.Code != 0 {
		t.Fatalf("complete: %+v %v", r, err)
	}
	if n := waitFor("MERCHANT_CONFIRM_COMPLETE"); n.ComplaintId != second {
		t.Errorf("complete notification %+v", n)
	}
	if h, _ := a.pay.Get(ctx, o2.ID); !h.HoldUntil.IsZero() {
		t.Errorf("the second order is still held: %s %q", h.HoldUntil, h.HoldReason)
	}
	if n, err := a.complaints.Escalate(ctx); err != nil || n != 0 {
		t.Errorf("escalated %d answered complaints: %v", n, err)
	}

	// The first notification's delivery, as the merchant looks it up.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := a.events.Lookup(ctx, m.MchID, "EV-"+id+"001")
		if err == nil && st.State == "DELIVERED" {
			if st.EventType != "COMPLAINT.CREATE" || len(st.Attempts) != 1 || st.NotifyURL != hook.URL+"/complaints" {
				t.Errorf("delivery of the first complaint notification: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first complaint notification is not recorded delivered: %+v %v", st, err)
		}
	}

	// The complaint URL is deleted: no more notifications.
	if r, err := gp.V3ComplaintNotifyUrlDelete(ctx); err != nil || r.Code != 0 {
		t.Fatalf("delete: %+v %v", r, err)
	}
	if q, err := gp.V3ComplaintNotifyUrlQuery(ctx); err != nil || q.Code != 404 {
		t.Fatalf("query after delete: %+v %v", q, err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("context ended")
	}
}
