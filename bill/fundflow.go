package bill

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// FundFlowColumns are the fund-flow bill's columns, as WeChat's.
var FundFlowColumns = []string{"记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型", "收支金额(元)",
	"账户结余(元)", "资金变更提交申请人", "备注", "业务凭证号"}

// FundFlowSummaryColumns are the fund-flow bill's summary columns.
var FundFlowSummaryColumns = []string{"资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额"}

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
// empty it, settlements on OPERATION, fees charged and returned on FEES.
// 账户结余 is the account's balance after each movement, from its balance
// when the day began.
func (s *Service) fundFlow(ctx context.Context, w *writer, r Request, from, to time.Time) error {
	lo, hi := db.Micros(from), db.Micros(to)
	chWhere := ""
	args := []any{r.MchID, lo, hi}
	if r.Channel != "" {
		chWhere = ` AND channel = $4`
		args = append(args, r.Channel)
	}
	var flows []flow
	if r.Type == Basic || r.Type == Fees {
		rows, err := s.Core.QueryContext(ctx, `SELECT paid_at, id, out_trade_no, channel, total, fee FROM orders
			WHERE mchid = $1 AND paid_at > 0 AND paid_at >= $2 AND paid_at < $3 AND state IN ('SUCCESS', 'REFUND')`+chWhere+` ORDER BY paid_at, id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at int64
			var total, charged fenfu.Fen
			var id, out, ch string
			if err := rows.Scan(&at, &id, &out, &ch, &total, &charged); err != nil {
				rows.Close()
				return err
			}
			if r.Type == Basic {
				flows = append(flows, flow{at: at, ref: id, txn: "payment:" + id, name: channelLabel(ch) + "交易", kind: "交易",
					amount: total - charged, by: "system", note: "手续费 " + fenfu.Yuan(charged), voucher: out})
			} else if charged != 0 {
				flows = append(flows, flow{at: at, ref: id, txn: "payment:" + id, name: channelLabel(ch) + "交易手续费", kind: "扣除交易手续费",
					amount: -charged, by: "system", voucher: out})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = s.Core.QueryContext(ctx, `SELECT created_at, id, out_refund_no, channel, amount, fee FROM refunds
			WHERE mchid = $1 AND created_at >= $2 AND created_at < $3 AND status = 'SUCCESS'`+chWhere+` ORDER BY created_at, id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at int64
			var amount, back fenfu.Fen
			var id, out, ch string
			if err := rows.Scan(&at, &id, &out, &ch, &amount, &back); err != nil {
				rows.Close()
				return err
			}
			if r.Type == Basic {
				flows = append(flows, flow{at: at, ref: id, txn: "refund:" + id, name: channelLabel(ch) + "退款", kind: "退款",
					amount: -(amount - back), by: r.MchID, note: "退还手续费 " + fenfu.Yuan(back), voucher: out})
			} else if back != 0 {
				flows = append(flows, flow{at: at, ref: id, txn: "refund:" + id, name: channelLabel(ch) + "退款手续费", kind: "退还交易手续费",
					amount: back, by: "system", voucher: out})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if r.Type == Basic || r.Type == Operation {
		sign := fenfu.Fen(-1) // out of pending settlement
		if r.Type == Operation {
			sign = 1 // into the settlement account
		}
		rows, err := s.Core.QueryContext(ctx, `SELECT created_at, id, channel, net FROM settlements
			WHERE mchid = $1 AND created_at >= $2 AND created_at < $3`+chWhere+` ORDER BY created_at, id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at int64
			var net fenfu.Fen
			var id, ch string
			if err := rows.Scan(&at, &id, &ch, &net); err != nil {
				rows.Close()
				return err
			}
			if net != 0 {
				flows = append(flows, flow{at: at, ref: id, txn: "settlement:" + id, name: channelLabel(ch) + "结算", kind: "结算",
					amount: sign * net, by: "system", voucher: id})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	// The balance when the day began, from what is recent rather than from
	// all history: pending settlement held then what was paid or refunded
	// before and not yet settled by then (unsettled now, or taken by a
	// settlement made since); the fees account counts the month so far.
	opening, err := s.opening(ctx, r, lo)
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

// opening is an account's balance at the instant at (micros), for a
// fund-flow bill starting then.
func (s *Service) opening(ctx context.Context, r Request, at int64) (fenfu.Fen, error) {
	month := db.Time(at).In(fenfu.Shanghai)
	monthStart := db.Micros(time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, fenfu.Shanghai))
	// Each query takes the merchant as $1 and the instant as $2; FEES
	// queries the month's start as $3; the channel, when the bill has one,
	// comes last.
	type query struct {
		q    string
		args []any
	}
	mk := func(q, alias string, args ...any) query {
		args = append([]any{r.MchID, at}, args...)
		if r.Channel != "" {
			args = append(args, r.Channel)
			q += fmt.Sprintf(" AND %schannel = $%d", alias, len(args))
		}
		return query{q, args}
	}
	var queries []query
	switch r.Type {
	case Basic:
		queries = []query{
			mk(`SELECT COALESCE(SUM(total - fee), 0) FROM orders WHERE mchid = $1 AND settlement_id = ''
				AND state IN ('SUCCESS', 'REFUND') AND paid_at < $2`, ""),
			mk(`SELECT COALESCE(SUM(o.total - o.fee), 0) FROM settlements s JOIN orders o ON o.settlement_id = s.id
				WHERE s.mchid = $1 AND s.created_at >= $2 AND o.settlement_id <> '' AND o.paid_at < $2`, "s."),
			mk(`SELECT -COALESCE(SUM(amount - fee), 0) FROM refunds WHERE mchid = $1 AND settlement_id = ''
				AND status = 'SUCCESS' AND created_at < $2`, ""),
			mk(`SELECT -COALESCE(SUM(r.amount - r.fee), 0) FROM settlements s JOIN refunds r ON r.settlement_id = s.id
				WHERE s.mchid = $1 AND s.created_at >= $2 AND r.settlement_id <> '' AND r.created_at < $2`, "s."),
		}
	case Operation:
		queries = []query{mk(`SELECT COALESCE(SUM(net), 0) FROM settlements WHERE mchid = $1 AND created_at < $2`, "")}
	case Fees:
		queries = []query{
			mk(`SELECT -COALESCE(SUM(fee), 0) FROM orders WHERE mchid = $1 AND paid_at > 0 AND paid_at < $2 AND paid_at >= $3
				AND state IN ('SUCCESS', 'REFUND')`, "", monthStart),
			mk(`SELECT COALESCE(SUM(fee), 0) FROM refunds WHERE mchid = $1 AND created_at < $2 AND created_at >= $3
				AND status = 'SUCCESS'`, "", monthStart),
		}
	}
	var total fenfu.Fen
	for _, q := range queries {
		var v fenfu.Fen
		if err := s.Core.QueryRowContext(ctx, q.q, q.args...).Scan(&v); err != nil {
			return 0, err
		}
		total += v
	}
	return total, nil
}
