package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
)

// Sink is the merchants' notify_url: it takes the servers' v3
// notifications, decrypts each resource with the API v3 key of the
// merchant it is for, and remembers what each payment and refund was
// notified as. It answers after a random pause of up to Delay, so that
// a kill often lands while a delivery is in flight; a delivery whose
// connection dies before the answer is counted as interrupted, not
// received.
type Sink struct {
	URL   string
	Delay time.Duration

	keys []string // the merchants' API v3 keys
	srv  *http.Server

	mu          sync.Mutex
	got         map[noticeKey]*Notice
	interrupted int
	rejected    []string // deliveries the sink could not read
}

type noticeKey struct{ mchid, no string } // no: out_trade_no, or out_refund_no with a "refund " prefix

// Notice is what a payment or refund was notified as, the last time, and
// how many times it was.
type Notice struct {
	Count  int
	Events map[string]bool // the notification ids it came in
	Event  string          // event_type
	ID     string          // transaction_id or refund_id
	State  string          // trade_state or refund_status
	Amount fenfu.Fen       // amount.total of a payment, amount.refund of a refund
}

// NewSink is a sink for merchants with these API v3 keys; Start serves it.
func NewSink(keys []string, delay time.Duration) *Sink {
	return &Sink{keys: keys, Delay: delay, got: map[noticeKey]*Notice{}}
}

// Start listens on a local port.
func (s *Sink) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String() + "/notify"
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// Close stops the sink.
func (s *Sink) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// ServeHTTP takes one delivery.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.count(func() { s.interrupted++ })
		return
	}
	if s.Delay > 0 {
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(s.Delay)))):
		case <-r.Context().Done(): // the server died mid-delivery
			s.count(func() { s.interrupted++ })
			return
		}
	}
	if err := s.Receive(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sink) count(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// Receive reads one v3 notification body and records it.
func (s *Sink) Receive(body []byte) error {
	var n struct {
		ID        string          `json:"id"`
		EventType string          `json:"event_type"`
		Resource  notify.Resource `json:"resource"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return s.reject("not a notification: %v", err)
	}
	var plain []byte
	for _, k := range s.keys {
		if p, err := notify.Decrypt(n.Resource, k); err == nil {
			plain = p
			break
		}
	}
	if plain == nil {
		return s.reject("%s: no merchant's API v3 key decrypts it", n.EventType)
	}
	var obj struct {
		MchID         string `json:"mchid"`
		OutTradeNo    string `json:"out_trade_no"`
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
		OutRefundNo   string `json:"out_refund_no"`
		RefundID      string `json:"refund_id"`
		RefundStatus  string `json:"refund_status"`
		Amount        struct {
			Total  fenfu.Fen `json:"total"`
			Refund fenfu.Fen `json:"refund"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(plain, &obj); err != nil {
		return s.reject("%s: the resource is not JSON: %v", n.EventType, err)
	}
	key, got := noticeKey{obj.MchID, obj.OutTradeNo}, Notice{Event: n.EventType, ID: obj.TransactionID, State: obj.TradeState, Amount: obj.Amount.Total}
	if n.Resource.OriginalType == "refund" {
		key, got = noticeKey{obj.MchID, "refund " + obj.OutRefundNo}, Notice{Event: n.EventType, ID: obj.RefundID, State: obj.RefundStatus, Amount: obj.Amount.Refund}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	got.Events = map[string]bool{}
	if old := s.got[key]; old != nil {
		got.Count, got.Events = old.Count, old.Events
	}
	got.Count++
	got.Events[n.ID] = true
	s.got[key] = &got
	return nil
}

func (s *Sink) reject(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	s.mu.Lock()
	s.rejected = append(s.rejected, err.Error())
	s.mu.Unlock()
	return err
}

// Delivered is what the sink has taken so far: notifications in all,
// deliveries cut off before they were answered, and deliveries it could
// not read.
func (s *Sink) Delivered() (received, interrupted int, rejected []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.got {
		received += n.Count
	}
	return received, s.interrupted, append([]string(nil), s.rejected...)
}

// Notified holds what the sink received against what the client was
// told: every payment acknowledged paid must have been notified at least
// once as TRANSACTION.SUCCESS with its transaction_id and total, and
// every refund acknowledged SUCCESS as REFUND.SUCCESS with its refund_id
// and amount. orderIDs gives the transaction_id of a payment (the store's
// order id). Duplicates are counted, not findings: delivery is at least
// once. Duplicates are deliveries beyond the first; events, those of
// them that came as another notification (another id), not a
// redelivery of the same one.
func (s *Sink) Notified(ps []*Payment, orderIDs map[*Payment]string) (checked, duplicates, events int, out Findings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	add := func(kind, format string, args ...any) {
		out = append(out, Finding{kind, fmt.Sprintf(format, args...)})
	}
	seen := func(n *Notice) {
		checked++
		duplicates += n.Count - 1
		events += len(n.Events) - 1
	}
	for _, p := range ps {
		if p.Paid == Acked {
			switch n := s.got[noticeKey{p.MchID, p.OutTradeNo}]; {
			case n == nil:
				add(Unnotified, "payment %s was acknowledged and never notified", p.OutTradeNo)
			case n.Event != "TRANSACTION.SUCCESS" || n.State != string(pay.Success) || n.Amount != p.Total ||
				(orderIDs[p] != "" && n.ID != orderIDs[p]):
				seen(n)
				add(Misnotified, "payment %s (%d fen, %s) was notified as %s %s of %d fen, transaction %s",
					p.OutTradeNo, p.Total, orderIDs[p], n.Event, n.State, n.Amount, n.ID)
			default:
				seen(n)
			}
		}
		for _, x := range p.Refunds {
			if x.Outcome != Acked || x.Status != pay.RefundSuccess {
				continue
			}
			switch n := s.got[noticeKey{p.MchID, "refund " + x.OutRefundNo}]; {
			case n == nil:
				add(Unnotified, "refund %s was acknowledged SUCCESS and never notified", x.OutRefundNo)
			case n.Event != "REFUND.SUCCESS" || n.State != string(pay.RefundSuccess) || n.Amount != x.Amount || n.ID != x.RefundID:
				seen(n)
				add(Misnotified, "refund %s (%d fen, %s) was notified as %s %s of %d fen, refund %s",
					x.OutRefundNo, x.Amount, x.RefundID, n.Event, n.State, n.Amount, n.ID)
			default:
				seen(n)
			}
		}
	}
	return checked, duplicates, events, out
}

// awaitNotified checks the notifications of ps until none is missing or
// wait has passed; what is wrong or still missing then is a finding.
func (s *Sink) awaitNotified(ctx context.Context, ps []*Payment, ids map[*Payment]string, wait time.Duration) (int, int, int, Findings, error) {
	deadline := time.Now().Add(wait)
	for {
		checked, dups, events, out := s.Notified(ps, ids)
		if out.Count(Unnotified) == 0 || time.Now().After(deadline) {
			return checked, dups, events, out, nil
		}
		select {
		case <-ctx.Done():
			return checked, dups, events, out, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
