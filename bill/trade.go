package bill

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/pay"
)

// TradeColumns are the trade bill's columns, as WeChat's ALL bill.
var TradeColumns = []string{"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
	"交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额",
	"充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注"}

// TradeSummaryColumns are the trade bill's summary columns.
var TradeSummaryColumns = []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"}

// tradeRow is one line of a trade bill before formatting.
type tradeRow struct {
	at                                        int64
	appid, orderID, outTradeNo, consumer      string
	tradeType, channel, currency              string
	description, attach, tier                 string
	refundID, outRefundNo, refundStatus       string
	settle, refund, fee, orderAmount, applied fenfu.Fen
	rate                                      fee.PPM
	isRefund                                  bool
}

func (s *Service) trade(ctx context.Context, w *writer, r Request, from, to time.Time) error {
	pays, refunds, err := s.tradeRows(ctx, r, from, to)
	if err != nil {
		return err
	}
	s.writeTrade(w, r.MchID, r.Channel, pays, refunds)
	return nil
}

// tradeRows reads a bill's payments and refunds, each in time order.
func (s *Service) tradeRows(ctx context.Context, r Request, from, to time.Time) (pays, refunds []tradeRow, err error) {
	f := pay.TradeFilter{MchID: r.MchID, Channel: pay.Channel(r.Channel), From: from, To: to}
	if r.Type != Refund {
		err := pay.Payments(ctx, s.Core, f, func(x pay.Trade) error {
			pays = append(pays, paymentRow(x))
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if r.Type != Success {
		err := pay.Refunds(ctx, s.Core, f, func(x pay.Trade) error {
			refunds = append(refunds, refundRow(x))
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return pays, refunds, nil
}

func tradeOf(x pay.Trade) tradeRow {
	return tradeRow{at: x.At, appid: x.AppID, orderID: x.OrderID, outTradeNo: x.OutTradeNo, consumer: x.ConsumerID,
		tradeType: x.TradeType, channel: string(x.Channel), currency: x.Currency, description: x.Description, attach: x.Attach,
		rate: x.Rate, tier: x.Tier}
}

// paymentRow is a payment's trade bill row.
func paymentRow(x pay.Trade) tradeRow {
	t := tradeOf(x)
	t.settle, t.orderAmount, t.fee = x.Amount, x.Amount, x.Fee
	return t
}

// refundRow is a refund's trade bill row.
func refundRow(x pay.Trade) tradeRow {
	t := tradeOf(x)
	t.isRefund, t.refundID, t.outRefundNo, t.refundStatus = true, x.RefundID, x.OutRefundNo, string(x.RefundStatus)
	t.refund, t.applied, t.fee = x.Amount, x.Amount, -x.Fee
	return t
}

// writeTrade writes a trade bill of the rows of one channel (or, with
// channel "", all).
func (s *Service) writeTrade(w *writer, mchid, channel string, pays, refunds []tradeRow) {
	b := tradeBill{channel: channel, w: w}
	w.header(TradeColumns...)
	emit := func(x tradeRow) {
		if b.takes(x) {
			b.add(x)
			s.tradeLine(w, mchid, x)
		}
	}
	// Payments and refunds merged in time order.
	i, j := 0, 0
	for i < len(pays) || j < len(refunds) {
		if j == len(refunds) || (i < len(pays) && pays[i].at <= refunds[j].at) {
			emit(pays[i])
			i++
		} else {
			emit(refunds[j])
			j++
		}
	}
	b.summary()
}

// tradeLine writes a trade bill's detail row of x.
func (s *Service) tradeLine(w *writer, mchid string, x tradeRow) {
	state, refundID, outRefundNo, refundType := "SUCCESS", "0", "0", ""
	if x.isRefund {
		state, refundID, outRefundNo, refundType = "REFUND", x.refundID, x.outRefundNo, "ORIGINAL"
	}
	w.row(stamp(x.at), x.appid, mchid, "0", "", x.orderID, x.outTradeNo, s.OpenID(x.appid, x.consumer),
		x.tradeType, state, s.BankType(x.channel), x.currency, fenfu.Yuan(x.settle), "0.00", refundID, outRefundNo,
		fenfu.Yuan(x.refund), "0.00", refundType, x.refundStatus, x.description, x.attach, fenfu.Yuan(x.fee),
		x.rate.Percent(), fenfu.Yuan(x.orderAmount), fenfu.Yuan(x.applied), x.tier)
}

// TradeDay renders a merchant's ALL trade bills of a day, of both channels
// and of each, from one read of the day's trades, and stores those not yet
// stored. It returns how many bills it stored.
//
// The payments stream from the index of a merchant's paid orders by time
// (which holds every column the bill shows) and each is written once, to
// the bill of both channels and to its channel's; only the day's refunds,
// a fraction of its trades, are read ahead to be merged in. So what the
// day holds in memory is the bills' text, not its trades as well.
func (s *Service) TradeDay(ctx context.Context, mchid, date string) (int, error) {
	r := Request{MchID: mchid, Date: date, Kind: Trade, Type: All}
	from, to, err := s.Check(r)
	if err != nil {
		return 0, err
	}
	var have int
	if err := s.Core.QueryRowContext(ctx, `SELECT COUNT(*) FROM bills WHERE mchid = $1 AND bill_date = $2 AND kind = $3
		AND variant IN ($4, $5, $6)`, mchid, date, Trade, All+"/all", All+"/"+string(pay.ChannelCredit), All+"/"+string(pay.ChannelBalance)).Scan(&have); err != nil {
		return 0, fenfu.Internal("bill.TradeDay", err)
	}
	if have == 3 {
		return 0, nil
	}
	days := []*tradeBill{{w: &writer{}}, {channel: string(pay.ChannelCredit), w: &writer{}}, {channel: string(pay.ChannelBalance), w: &writer{}}}
	for _, b := range days {
		b.w.header(TradeColumns...)
	}
	// line renders a row once; the bill of both channels and the row's
	// channel's take the same bytes.
	var line writer
	add := func(x tradeRow) {
		line.b.Reset()
		s.tradeLine(&line, mchid, x)
		for _, b := range days {
			if b.takes(x) {
				b.add(x)
				b.w.b.WriteString(line.b.String())
			}
		}
	}
	f := pay.TradeFilter{MchID: mchid, From: from, To: to}
	var refunds []tradeRow
	err = pay.Refunds(ctx, s.Core, f, func(x pay.Trade) error {
		refunds = append(refunds, refundRow(x))
		return nil
	})
	if err != nil {
		return 0, fenfu.Internal("bill.TradeDay", err)
	}
	// Payments and refunds merged in time order, a payment before a
	// refund of the same instant.
	j := 0
	err = pay.Payments(ctx, s.Core, f, func(x pay.Trade) error {
		p := paymentRow(x)
		for ; j < len(refunds) && refunds[j].at < p.at; j++ {
			add(refunds[j])
		}
		add(p)
		return nil
	})
	if err != nil {
		return 0, fenfu.Internal("bill.TradeDay", err)
	}
	for ; j < len(refunds); j++ {
		add(refunds[j])
	}
	n := 0
	for _, b := range days {
		text := empty
		if b.w.rows > 0 {
			b.summary()
			text = b.w.b.String()
		}
		r.Channel = b.channel
		stored, err := s.store(ctx, r, text)
		if err != nil {
			return n, err
		}
		if stored {
			n++
		}
	}
	return n, nil
}

// tradeBill is a trade bill being written row by row: the detail rows
// its writer holds, and their sums for its summary.
type tradeBill struct {
	channel string // "" for both
	w       *writer
	sum     struct{ settle, refund, fee, order, applied fenfu.Fen }
}

// takes reports whether x is a row of this bill's channel.
func (b *tradeBill) takes(x tradeRow) bool { return b.channel == "" || b.channel == x.channel }

// add counts x, whose detail line the caller writes, in the summary.
func (b *tradeBill) add(x tradeRow) {
	b.w.rows++
	b.sum.settle += x.settle
	b.sum.refund += x.refund
	b.sum.fee += x.fee
	b.sum.order += x.orderAmount
	b.sum.applied += x.applied
}

// summary writes the bill's summary rows after its detail rows.
func (b *tradeBill) summary() {
	b.w.header(TradeSummaryColumns...)
	b.w.row(fmtInt(b.w.rows), fenfu.Yuan(b.sum.settle), fenfu.Yuan(b.sum.refund), "0.00", fenfu.Yuan(b.sum.fee),
		fenfu.Yuan(b.sum.order), fenfu.Yuan(b.sum.applied))
}
