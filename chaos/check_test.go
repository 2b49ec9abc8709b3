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
// out_refund_no, consumers by id.
type fakeStore struct {
	orders    map[string]pay.Order
	refunds   map[string]pay.RefundRecord
	consumers map[string]consumer.Consumer
}

func (f *fakeStore) QueryByOutTradeNo(_ context.Context, _, no string) (pay.Order, error) {
	o, ok := f.orders[no]
	if !ok {
		return o, fenfu.Errorf(fenfu.OrderNotExist, "no order")
	}
	return o, nil
}

func (f *fakeStore) QueryRefund(_ context.Context, _, no string) (pay.RefundRecord, error) {
	r, ok := f.refunds[no]
	if !ok {
		return r, fenfu.Errorf(fenfu.ResourceNotExists, "no refund")
	}
	return r, nil
}

func (f *fakeStore) Get(_ context.Context, id string) (consumer.Consumer, error) {
	return f.consumers[id], nil
}

// world is a run the client saw go right: two paid orders, one credit and
// one balance, the balance one refunded in part; and the store that
// agrees with it.
func world() ([]*Payment, *fakeStore, []Start) {
	ps := []*Payment{
		{MchID: "m1", OutTradeNo: "X1", ConsumerID: "c1", Channel: pay.ChannelCredit, Total: 1000, AckTotal: 1000, Created: Acked, Paid: Acked},
		{MchID: "m1", OutTradeNo: "X2", ConsumerID: "c1", Channel: pay.ChannelBalance, Total: 500, AckTotal: 500, Created: Acked, Paid: Acked,
			Refunds: []*Refund{{OutRefundNo: "X2-1", Amount: 200, Outcome: Acked, RefundID: "R1", Status: "SUCCESS"}}},
		{MchID: "m1", OutTradeNo: "X3", ConsumerID: "c1", Channel: pay.ChannelBalance, Total: 300, Created: Acked, Paid: NotSent},
	}
	st := &fakeStore{
		orders: map[string]pay.Order{
			"X1": {ID: "T1", OutTradeNo: "X1", Total: 1000, State: pay.Success, Channel: pay.ChannelCredit, ConsumerID: "c1"},
			"X2": {ID: "T2", OutTradeNo: "X2", Total: 500, State: pay.Success, Channel: pay.ChannelBalance, ConsumerID: "c1",
				Refunded: 200, RefundCount: 1},
			"X3": {ID: "T3", OutTradeNo: "X3", Total: 300, State: pay.NotPay},
		},
		refunds: map[string]pay.RefundRecord{
			"X2-1": {ID: "R1", OutRefundNo: "X2-1", OrderID: "T2", Amount: 200, Status: pay.RefundSuccess},
		},
		consumers: map[string]consumer.Consumer{
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
		{"lost payment", func(_ []*Payment, st *fakeStore) {
			delete(st.orders, "X1")
			c := st.consumers["c1"]
			c.Credit.Used = 0
			st.consumers["c1"] = c
		}, Lost, "X1 was acknowledged paid"},
		{"payment rolled back", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X1"]
			o.State = pay.NotPay
			st.orders["X1"] = o
			c := st.consumers["c1"]
			c.Credit.Used = 0
			st.consumers["c1"] = c
		}, Lost, "the store has it NOTPAY"},
		{"lost refund", func(_ []*Payment, st *fakeStore) {
			delete(st.refunds, "X2-1")
		}, Lost, "refund X2-1 was acknowledged"},
		{"wrong amount", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X1"]
			o.Total = 1001
			st.orders["X1"] = o
		}, Wrong, "asked 1000 fen, acknowledged 1000, stored 1001"},
		{"wrong refund amount", func(_ []*Payment, st *fakeStore) {
			r := st.refunds["X2-1"]
			r.Amount = 201
			st.refunds["X2-1"] = r
		}, Wrong, "acknowledged 200 fen, stored 201"},
		{"paid by another consumer", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X1"]
			o.ConsumerID = "c2"
			st.orders["X1"] = o
		}, Wrong, "paid by c1 on credit, stored as c2"},
		{"doubled refund", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X2"]
			o.Refunded, o.RefundCount = 400, 2
			st.orders["X2"] = o
			c := st.consumers["c1"]
			c.Balance += 200
			st.consumers["c1"] = c
		}, Doubled, "order X2 has refunded 400 fen in 2 refunds"},
		{"retry made a second refund", func(_ []*Payment, st *fakeStore) {
			r := st.refunds["X2-1"]
			r.ID = "R2"
			st.refunds["X2-1"] = r
		}, Doubled, "acknowledged as R1 and the store has R2"},
		{"balance taken twice", func(_ []*Payment, st *fakeStore) {
			c := st.consumers["c1"]
			c.Balance -= 300
			st.consumers["c1"] = c
		}, Doubled, "balance down 600 fen, its paid balance orders come to 300"},
		{"credit drawn twice", func(_ []*Payment, st *fakeStore) {
			c := st.consumers["c1"]
			c.Credit.Used = 2000
			st.consumers["c1"] = c
		}, Doubled, "credit used 2000 fen, its paid credit orders come to 1000"},
		{"paid though never paid", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X3"]
			o.State, o.Channel, o.ConsumerID = pay.Success, pay.ChannelBalance, "c1"
			st.orders["X3"] = o
			c := st.consumers["c1"]
			c.Balance -= 300
			st.consumers["c1"] = c
		}, Doubled, "X3 is paid though its payment was not sent"},
		{"refused refund in the store", func(ps []*Payment, st *fakeStore) {
			ps[1].Refunds = append(ps[1].Refunds, &Refund{OutRefundNo: "X2-2", Amount: 50, Outcome: Refused})
			st.refunds["X2-2"] = pay.RefundRecord{ID: "R9", OrderID: "T2", Amount: 50, Status: pay.RefundSuccess}
			o := st.orders["X2"]
			o.Refunded, o.RefundCount = 250, 2
			st.orders["X2"] = o
			c := st.consumers["c1"]
			c.Balance += 50
			st.consumers["c1"] = c
		}, Doubled, "X2-2 is in the store though it was refused"},
		{"stuck paying", func(_ []*Payment, st *fakeStore) {
			o := st.orders["X3"]
			o.State = pay.Paying
			st.orders["X3"] = o
		}, Stuck, "X3 is still PAYING"},
		{"stuck processing", func(_ []*Payment, st *fakeStore) {
			r := st.refunds["X2-1"]
			r.Status = pay.RefundProcessing
			st.refunds["X2-1"] = r
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
