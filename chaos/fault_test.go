package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
)

// TestParseFaults: a list names faults, mix names them all, and an
// unknown name is refused with the list of known ones.
func TestParseFaults(t *testing.T) {
	known := []string{"kill", "pg-restart", "clock-step"}
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"kill", []string{"kill"}, ""},
		{"kill, clock-step", []string{"kill", "clock-step"}, ""},
		{"mix", known, ""},
		{"kill,kill,mix", []string{"kill", "kill", "kill", "pg-restart", "clock-step"}, ""},
		{"kil", nil, `unknown fault "kil": the faults are kill, pg-restart, clock-step, or mix`},
		{"", nil, `unknown fault ""`},
	} {
		got, err := ParseFaults(tc.in, known)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFaults(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestScheduleAt: cycles take the faults in turn, so k rounds do each k
// times.
func TestScheduleAt(t *testing.T) {
	s := Schedule{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	var got []string
	for n := 1; n <= 7; n++ {
		got = append(got, s.At(n).Name)
	}
	if want := []string{"a", "b", "c", "a", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("cycles 1-7 take %v, want %v", got, want)
	}
}

// fakeCluster records what a fault did to it.
type fakeCluster struct{ did []string }

func (f *fakeCluster) Nodes() int { return 2 }
func (f *fakeCluster) Kill(i int) error {
	f.did = append(f.did, "kill "+string(rune('0'+i)))
	return nil
}
func (f *fakeCluster) Restart(_ context.Context, i int) error {
	f.did = append(f.did, "restart "+string(rune('0'+i)))
	return nil
}

// TestKill: the kill fault kills a node the seed picks and restarts the
// same node.
func TestKill(t *testing.T) {
	for seed := range uint64(20) {
		c := &fakeCluster{}
		a := Kill().Plan(rand.New(rand.NewPCG(seed, 0)), c)
		if err := a.Do(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := a.Undo(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(c.did) != 2 || c.did[0][len("kill "):] != c.did[1][len("restart "):] || !strings.HasPrefix(c.did[0], "kill ") {
			t.Fatalf("seed %d: the fault did %v, want a kill and a restart of the same node", seed, c.did)
		}
	}
}

// echo is an upstream that echoes each line.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through a connection and reads it back within a
// second.
func roundTrip(c net.Conn, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestProxy: traffic passes; a cut closes the open connections and
// refuses new ones, or holds them unanswered; after Heal traffic passes
// again.
func TestProxy(t *testing.T) {
	for _, blackHole := range []bool{false, true} {
		p, err := NewProxy(echo(t))
		if err != nil {
			t.Fatal(err)
		}
		before := dial(t, p.Addr())
		if got, err := roundTrip(before, "hello"); err != nil || got != "hello" {
			t.Fatalf("through the proxy: %q, %v", got, err)
		}
		p.Cut(blackHole)
		if _, err := roundTrip(before, "again"); err == nil {
			t.Fatalf("black hole %v: a connection open before the cut still works", blackHole)
		}
		during := dial(t, p.Addr()) // the listener still accepts
		_, err = roundTrip(during, "cut")
		var ne net.Error
		switch {
		case err == nil:
			t.Fatalf("black hole %v: a connection made during the cut works", blackHole)
		case blackHole && !(errors.As(err, &ne) && ne.Timeout()):
			t.Fatalf("black-holed connection: %v, want a timeout", err)
		case !blackHole && (errors.As(err, &ne) && ne.Timeout()):
			t.Fatalf("refused connection timed out instead of closing")
		}
		p.Heal()
		after := dial(t, p.Addr())
		if got, err := roundTrip(after, "back"); err != nil || got != "back" {
			t.Fatalf("black hole %v: after Heal: %q, %v", blackHole, got, err)
		}
		p.Close()
		if _, err := roundTrip(after, "closed"); err == nil {
			t.Fatalf("a connection still works after Close")
		}
	}
}

// deliver encrypts a notification for the sink as the worker would.
func deliver(t *testing.T, s *Sink, key, event, originalType string, obj any) {
	t.Helper()
	plain, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := notify.Encrypt(notify.AES256GCM, key, "0123456789ab", originalType, originalType, plain)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": "EV1", "event_type": event, "resource_type": "encrypt-resource", "resource": res})
	if err := s.Receive(body); err != nil {
		t.Fatal(err)
	}
}

func tx(mchid, no, id string, total int) map[string]any {
	return map[string]any{"mchid": mchid, "out_trade_no": no, "transaction_id": id, "trade_state": "SUCCESS",
		"amount": map[string]any{"total": total}}
}

func refundNote(mchid, no, id string, amount int) map[string]any {
	return map[string]any{"mchid": mchid, "out_refund_no": no, "refund_id": id, "refund_status": "SUCCESS",
		"amount": map[string]any{"refund": amount}}
}

// TestSinkNotified: the sink decrypts with whichever merchant's key fits,
// and the check names a payment or refund never notified or notified
// wrong, and counts duplicates without failing on them.
func TestSinkNotified(t *testing.T) {
	const k1, k2 = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	ps := []*Payment{
		{MchID: "m1", OutTradeNo: "X1", Total: 1000, Paid: Acked},
		{MchID: "m2", OutTradeNo: "X2", Total: 500, Paid: Acked,
			Refunds: []*Refund{{OutRefundNo: "X2-1", Amount: 200, Outcome: Acked, RefundID: "R1", Status: pay.RefundSuccess}}},
		{MchID: "m1", OutTradeNo: "X3", Total: 300, Paid: Refused},
	}
	ids := map[*Payment]string{ps[0]: "T1", ps[1]: "T2"}
	all := func(s *Sink) {
		deliver(t, s, k1, "TRANSACTION.SUCCESS", "transaction", tx("m1", "X1", "T1", 1000))
		deliver(t, s, k2, "TRANSACTION.SUCCESS", "transaction", tx("m2", "X2", "T2", 500))
		deliver(t, s, k2, "REFUND.SUCCESS", "refund", refundNote("m2", "X2-1", "R1", 200))
	}
	for _, tc := range []struct {
		name    string
		deliver func(s *Sink)
		kind    string
		what    string
		dups    int
	}{
		{"all delivered", all, "", "", 0},
		{"delivered twice", func(s *Sink) { all(s); all(s) }, "", "", 3},
		{"payment never notified", func(s *Sink) {
			deliver(t, s, k2, "TRANSACTION.SUCCESS", "transaction", tx("m2", "X2", "T2", 500))
			deliver(t, s, k2, "REFUND.SUCCESS", "refund", refundNote("m2", "X2-1", "R1", 200))
		}, Unnotified, "payment X1 was acknowledged and never notified", 0},
		{"refund never notified", func(s *Sink) {
			deliver(t, s, k1, "TRANSACTION.SUCCESS", "transaction", tx("m1", "X1", "T1", 1000))
			deliver(t, s, k2, "TRANSACTION.SUCCESS", "transaction", tx("m2", "X2", "T2", 500))
		}, Unnotified, "refund X2-1 was acknowledged SUCCESS and never notified", 0},
		{"wrong total", func(s *Sink) {
			all(s)
			deliver(t, s, k1, "TRANSACTION.SUCCESS", "transaction", tx("m1", "X1", "T1", 999))
		}, Misnotified, "payment X1 (1000 fen, T1) was notified as TRANSACTION.SUCCESS SUCCESS of 999 fen", 1},
		{"wrong transaction", func(s *Sink) {
			all(s)
			deliver(t, s, k1, "TRANSACTION.SUCCESS", "transaction", tx("m1", "X1", "T9", 1000))
		}, Misnotified, "transaction T9", 1},
		{"wrong refund id", func(s *Sink) {
			all(s)
			deliver(t, s, k2, "REFUND.SUCCESS", "refund", refundNote("m2", "X2-1", "R2", 200))
		}, Misnotified, "refund X2-1 (200 fen, R1) was notified as REFUND.SUCCESS SUCCESS of 200 fen, refund R2", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSink([]string{k1, k2}, 0)
			tc.deliver(s)
			_, dups, _, got := s.Notified(ps, ids)
			if dups != tc.dups {
				t.Errorf("duplicates %d, want %d", dups, tc.dups)
			}
			if tc.kind == "" {
				if len(got) > 0 {
					t.Fatalf("findings %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != tc.kind || !strings.Contains(got[0].What, tc.what) {
				t.Fatalf("findings %v, want one %s naming %q", got, tc.kind, tc.what)
			}
		})
	}
	t.Run("a key that fits no merchant", func(t *testing.T) {
		s := NewSink([]string{k1}, 0)
		res, _ := notify.Encrypt(notify.AES256GCM, k2, "0123456789ab", "transaction", "transaction", []byte(`{}`))
		body, _ := json.Marshal(map[string]any{"event_type": "TRANSACTION.SUCCESS", "resource": res})
		if err := s.Receive(body); err == nil {
			t.Fatal("the sink took a notification no merchant's key decrypts")
		}
		if _, _, rejected := s.Delivered(); len(rejected) != 1 {
			t.Fatalf("rejected %v, want one", rejected)
		}
	})
}
