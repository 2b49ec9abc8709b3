package chaos

import (
	"context"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/pay"
)

// fakeStore is a store state: orders by out_trade_no, refunds by
// out_refund_no, consumers by id. It holds pointers so that a test case
// spoils a row in place.
type fakeStore struct {
	orders    map[string]*pay.Order
	refunds   map[string]*pay.RefundRecord
	consumers map[string]*consumer.Consumer
}

func (f *fakeStore) QueryByOutTradeNo(_ context.Context, _, no string) (pay.Order, error) {
	o, ok := f.orders[no]
	if !ok {
		return pay.Order{}, fenfu.Errorf(fenfu.OrderNotExist, "no order")
	}
	return *o, nil
}

func (f *fakeStore) QueryRefund(_ context.Context, _, no string) (pay.RefundRecord, error) {
	r, ok := f.refunds[no]
	if !ok {
		return pay.RefundRecord{}, fenfu.Errorf(fenfu.ResourceNotExists, "no refund")
	}
	return *r, nil
}

func (f *fakeStore) Get(_ context.Context, id string) (consumer.Consumer, error) {
	return *f.consumers[id], nil
}

// world is a run the client saw go right: two paid orders, one credit and
// one balance, the balance one refunded in part; and the store that
// agrees with it.
func world() ([]*Payment, *fakeStore, []Start) {
	ps := []*Payment{
		{MchID: "m1", OutTradeNo: "X1", ConsumerID: "c1", Channel: pay.ChannelCredit, Total: 1000, AckTotal: 1000, Created: Acked, Paid: Acked},
		{MchID: "m1", OutTradeNo: "X2", ConsumerID: "c1", Channel: pay.ChannelBalance, Total: 500, AckTotal: 500, Created: Acked, Paid: Acked,
			Refunds: []*Refund{{OutRefundNo: "X2-1", Amount: 200, Outcome: Acked, RefundID: "R1", Status: pay.RefundSuccess}}},
		{MchID: "m1", OutTradeNo: "X3", ConsumerID: "c1", Channel: pay.ChannelBalance, Total: 300, Created: Acked, Paid: NotSent},
	}
	st := &fakeStore{
		orders: map[string]*pay.Order{
			"X1": {ID: "T1", OutTradeNo: "X1", Total: 1000, State: pay.Success, Channel: pay.ChannelCredit, ConsumerID: "c1"},
			"X2": {ID: "T2", OutTradeNo: "X2", Total: 500, State: pay.Success, Channel: pay.ChannelBalance, ConsumerID: "c1",
				Refunded: 200, RefundCount: 1},
			"X3": {ID: "T3", OutTradeNo: "X3", Total: 300, State: pay.NotPay},
		},
		refunds: map[string]*pay.RefundRecord{
			"X2-1": {ID: "R1", OutRefundNo: "X2-1", OrderID: "T2", Amount: 200, Status: pay.RefundSuccess},
		},
		consumers: map[string]*consumer.Consumer{
			"c1": {ID: "c1", Balance: 10_000 - 300, Credit: credit.Line{Used: 1000}},
		},
	}
	return ps, st, []Start{{ID: "c1", Balance: 10_000}}
}

// TestCheck: the checker passes a store that agrees with what the client
// was told, and names each way one can disagree.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(ps []*Payment, st *fakeStore)
		kind  string // "" for no finding
		what  string
	}{
		{"agrees", func([]*Payment, *fakeStore) {}, "", ""},
		{"refund acknowledged processing has succeeded", func(ps []*Payment, _ *fakeStore) {
			ps[1].Refunds[0].Status = pay.RefundProcessing
		}, "", ""},
		{"lost payment", func(_ []*Payment, st *fakeStore) {
			delete(st.orders, "X1")
			st.consumers["c1"].Credit.Used = 0
		}, Lost, "X1 was acknowledged paid"},
		{"lost order", func(_ []*Payment, st *fakeStore) {
			delete(st.orders, "X3")
		}, Lost, "order X3 was acknowledged created and is not in the store"},
		{"payment rolled back", func(_ []*Payment, st *fakeStore) {
			st.orders["X1"].State = pay.NotPay
			st.consumers["c1"].Credit.Used = 0
		}, Lost, "the store has it NOTPAY"},
		{"lost refund", func(_ []*Payment, st *fakeStore) {
			delete(st.refunds, "X2-1")
		}, Lost, "refund X2-1 was acknowledged"},
		{"refund of a lost order", func(ps []*Payment, st *fakeStore) {
			// The order's creation and payment were in doubt, so only the
			// refund was acknowledged.
			ps[1].Created, ps[1].Paid = Unknown, Unknown
			delete(st.orders, "X2")
		}, Lost, "refund X2-1 was acknowledged (200 fen) and its order X2 is not in the store"},
		{"wrong amount", func(_ []*Payment, st *fakeStore) {
			st.orders["X1"].Total = 1001
		}, Wrong, "asked 1000 fen, acknowledged 1000, stored 1001"},
		{"acknowledged though not paid", func(ps []*Payment, _ *fakeStore) {
			ps[0].AckTotal = -1 // as the run records it
		}, Wrong, "asked 1000 fen, acknowledged -1, stored 1000"},
		{"wrong refund amount", func(_ []*Payment, st *fakeStore) {
			st.refunds["X2-1"].Amount = 201
		}, Wrong, "acknowledged 200 fen, stored 201"},
		{"paid by another consumer", func(_ []*Payment, st *fakeStore) {
			st.orders["X1"].ConsumerID = "c2"
		}, Wrong, "paid by c1 on credit, stored as c2"},
		{"paid on another channel", func(_ []*Payment, st *fakeStore) {
			st.orders["X1"].Channel = pay.ChannelBalance
		}, Wrong, "paid by c1 on credit, stored as c1 on balance"},
		{"refund acknowledged successful is not", func(_ []*Payment, st *fakeStore) {
			st.refunds["X2-1"].Status = pay.RefundProcessing
		}, Wrong, "refund X2-1 was acknowledged SUCCESS and the store has it PROCESSING"},
		{"refund of another order", func(_ []*Payment, st *fakeStore) {
			st.refunds["X2-1"].OrderID = "T1"
		}, Wrong, "refund X2-1 refunds order T1, not T2"},
		{"order refunded less than its refunds", func(_ []*Payment, st *fakeStore) {
			st.orders["X2"].Refunded = 100
		}, Wrong, "order X2 has refunded 100 fen in 1 refunds; its refunds in the store come to 200 fen in 1"},
		{"balance taken short", func(_ []*Payment, st *fakeStore) {
			st.consumers["c1"].Balance += 100
		}, Wrong, "balance down 200 fen, its paid balance orders come to 300"},
		{"credit drawn short", func(_ []*Payment, st *fakeStore) {
			st.consumers["c1"].Credit.Used = 500
		}, Wrong, "credit used 500 fen, its paid credit orders come to 1000"},
		{"doubled refund", func(_ []*Payment, st *fakeStore) {
			st.orders["X2"].Refunded, st.orders["X2"].RefundCount = 400, 2
			st.consumers["c1"].Balance += 200
		}, Doubled, "order X2 has refunded 400 fen in 2 refunds"},
		{"retry made a second refund", func(_ []*Payment, st *fakeStore) {
			st.refunds["X2-1"].ID = "R2"
		}, Doubled, "acknowledged as R1 and the store has R2"},
		{"balance taken twice", func(_ []*Payment, st *fakeStore) {
			st.consumers["c1"].Balance -= 300
		}, Doubled, "balance down 600 fen, its paid balance orders come to 300"},
		{"credit drawn twice", func(_ []*Payment, st *fakeStore) {
			st.consumers["c1"].Credit.Used = 2000
		}, Doubled, "credit used 2000 fen, its paid credit orders come to 1000"},
		{"paid though never paid", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X3"]
			o.State, o.Channel, o.ConsumerID = pay.Success, pay.ChannelBalance, "c1"
			st.consumers["c1"].Balance -= 300
		}, Doubled, "X3 is paid though its payment was not sent"},
		{"refused refund in the store", func(ps []*Payment, st *fakeStore) {
			ps[1].Refunds = append(ps[1].Refunds, &Refund{OutRefundNo: "X2-2", Amount: 50, Outcome: Refused})
			st.refunds["X2-2"] = &pay.RefundRecord{ID: "R9", OrderID: "T2", Amount: 50, Status: pay.RefundSuccess}
			st.orders["X2"].Refunded, st.orders["X2"].RefundCount = 250, 2
			st.consumers["c1"].Balance += 50
		}, Doubled, "X2-2 is in the store though it was refused"},
		{"stuck paying", func(_ []*Payment, st *fakeStore) {
			st.orders["X3"].State = pay.Paying
		}, Stuck, "X3 is still PAYING"},
		{"stuck processing", func(ps []*Payment, st *fakeStore) {
			ps[1].Refunds[0].Status = pay.RefundProcessing
			st.refunds["X2-1"].Status = pay.RefundProcessing
		}, Stuck, "X2-1 is still PROCESSING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, st, starts := world()
			tc.spoil(ps, st)
			got, err := Check(context.Background(), st, ps, st, starts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if len(got) > 0 {
					t.Fatalf("findings %v, want none", got)
				}
				return
			}
			// One fault can show more than one way (a wrong amount also
			// leaves the consumer's money unexplained); the first names it.
			if len(got) == 0 || got[0].Kind != tc.kind || !strings.Contains(got[0].What, tc.what) {
				t.Fatalf("findings %v, want first a %s naming %q", got, tc.kind, tc.what)
			}
		})
	}
}
