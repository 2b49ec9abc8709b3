package bill

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// FundFlowColumns are the fund-flow bill's columns, as WeChat's.
var FundFlowColumns = []string{"记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型", "收支金额(元)",
	"账户结余(元)", "资金变更提交申请人", "备注", "业务凭证号"}

// FundFlowSummaryColumns are the fund-flow bill's summary columns.
var FundFlowSummaryColumns = []string{"资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额"}

// The 业务类型 of the lines for an installment fee the merchant bore
// (offering installments interest-free) and for the share of it a refund
// returned: on BASIC and FEES each such fee is a line of its own after its
// payment or refund, so the account still adds up to the settlement that
// deducted it.
const (
	PlanFeeKind       = "扣除分期手续费"
	PlanFeeRefundKind = "退还分期手续费"
)

type flow struct {
	at         int64
	ref, txn   string
	name, kind string
	amount     fenfu.Fen // signed: income positive
	by, note   string
	voucher    string
}

func channelLabel(ch string) string {
	if ch == string(pay.ChannelCredit) {
		return "分付"
	}
	return "普通"
}

// fundFlow writes the movements of a day on one of the merchant's accounts,
// derived from the same rows its ledger postings were made from: payments
// (net of fee) and successful refunds on BASIC with the settlements that
// empty it, settlements on OPERATION, fees charged and returned on FEES;
// merchant-borne installment fees, and refunds' shares of them, on BASIC
// and FEES as lines of their own.
// 账户结余 is the account's balance after each movement, from its balance
// when the day began.
func (s *Service) fundFlow(ctx context.Context, w *writer, r Request, from, to time.Time) error {
	f := pay.TradeFilter{MchID: r.MchID, Channel: pay.Channel(r.Channel), From: from, To: to}
	var flows []flow
	if r.Type == Basic || r.Type == Fees {
		err := pay.Payments(ctx, s.Core, f, func(x pay.Trade) error {
			ch := string(x.Channel)
			if r.Type == Basic {
				flows = append(flows, flow{at: x.At, ref: x.OrderID, txn: "payment:" + x.OrderID, name: channelLabel(ch) + "交易", kind: "交易",
					amount: x.Amount - x.Fee, by: "system", note: "手续费 " + fenfu.Yuan(x.Fee), voucher: x.OutTradeNo})
			} else if x.Fee != 0 {
				flows = append(flows, flow{at: x.At, ref: x.OrderID, txn: "payment:" + x.OrderID, name: channelLabel(ch) + "交易手续费",
					kind: "扣除交易手续费", amount: -x.Fee, by: "system", voucher: x.OutTradeNo})
			}
			if x.PlanFee != 0 {
				flows = append(flows, flow{at: x.At, ref: x.OrderID, txn: "installment_fee:" + x.OrderID, name: channelLabel(ch) + "分期手续费",
					kind: PlanFeeKind, amount: -x.PlanFee, by: "system", voucher: x.OutTradeNo})
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = pay.Refunds(ctx, s.Core, f, func(x pay.Trade) error {
			if x.RefundStatus != pay.RefundSuccess {
				return nil
			}
			ch := string(x.Channel)
			if r.Type == Basic {
				flows = append(flows, flow{at: x.At, ref: x.RefundID, txn: "refund:" + x.RefundID, name: channelLabel(ch) + "退款", kind: "退款",
					amount: -(x.Amount - x.Fee), by: r.MchID, note: "退还手续费 " + fenfu.Yuan(x.Fee), voucher: x.OutRefundNo})
			} else if x.Fee != 0 {
				flows = append(flows, flow{at: x.At, ref: x.RefundID, txn: "refund:" + x.RefundID, name: channelLabel(ch) + "退款手续费",
					kind: "退还交易手续费", amount: x.Fee, by: "system", voucher: x.OutRefundNo})
			}
			if x.PlanFee != 0 {
				flows = append(flows, flow{at: x.At, ref: x.RefundID, txn: "installment_fee_refund:" + x.RefundID, name: channelLabel(ch) + "退款分期手续费",
					kind: PlanFeeRefundKind, amount: x.PlanFee, by: "system", voucher: x.OutRefundNo})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if r.Type == Basic || r.Type == Operation {
		sign := fenfu.Fen(-1) // out of pending settlement
		if r.Type == Operation {
			sign = 1 // into the settlement account
		}
		made, err := settle.MadeBetween(ctx, s.Core, r.MchID, pay.Channel(r.Channel), from, to)
		if err != nil {
			return err
		}
		for _, m := range made {
			if m.Net != 0 {
				flows = append(flows, flow{at: m.At, ref: m.ID, txn: "settlement:" + m.ID, name: channelLabel(string(m.Channel)) + "结算",
					kind: "结算", amount: sign * m.Net, by: "system", voucher: m.ID})
			}
		}
	}
	// The balance when the day began, from what is recent rather than from
	// all history: pending settlement held then what was paid or refunded
	// before and not yet settled by then (unsettled now, or taken by a
	// settlement made since); the fees account counts the month so far.
	opening, err := s.opening(ctx, r, from)
	if err != nil {
		return err
	}
	sort.SliceStable(flows, func(i, j int) bool { return flows[i].at < flows[j].at })
	w.header(FundFlowColumns...)
	bal := opening
	var in, out int
	var inSum, outSum fenfu.Fen
	for _, f := range flows {
		w.rows++
		bal += f.amount
		dir, amt := "收入", f.amount
		if f.amount < 0 {
			dir, amt = "支出", -f.amount
			out++
			outSum += amt
		} else {
			in++
			inSum += amt
		}
		w.row(stamp(f.at), f.ref, f.txn, f.name, f.kind, dir, fenfu.Yuan(amt), fenfu.Yuan(bal), f.by, f.note, f.voucher)
	}
	w.header(FundFlowSummaryColumns...)
	w.row(fmtInt(len(flows)), fmtInt(in), fenfu.Yuan(inSum), fmtInt(out), fenfu.Yuan(outSum))
	return nil
}

func fmtInt(n int) string { return strconv.Itoa(n) }

// opening is an account's balance at the instant at, for a fund-flow bill
// starting then.
func (s *Service) opening(ctx context.Context, r Request, at time.Time) (fenfu.Fen, error) {
	ch := pay.Channel(r.Channel)
	switch r.Type {
	case Basic:
		// Pending settlement held what was paid or refunded before at and
		// not settled by then: unsettled now, or taken by a settlement
		// made since.
		since, err := settle.MadeBetween(ctx, s.Core, r.MchID, ch, at, time.Unix(1<<40, 0))
		if err != nil {
			return 0, err
		}
		ids := make([]string, len(since))
		for i, m := range since {
			ids[i] = m.ID
		}
		return pay.PendingAt(ctx, s.Core, r.MchID, ch, at, ids)
	case Operation:
		return settle.NetBefore(ctx, s.Core, r.MchID, ch, at)
	case Fees:
		// The fees account counts the month so far.
		t := at.In(fenfu.Shanghai)
		month := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, fenfu.Shanghai)
		fees, err := pay.FeesBetween(ctx, s.Core, r.MchID, ch, month, at)
		return -fees, err
	}
	return 0, nil
}
