package portal

import (
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// What the portal's pages call the states of refunds, settlements,
// notification deliveries and complaints, in each language: one table per
// kind, keyed by the owning package's states, as package ticket's table
// names a ticket's and package pay's an order's trade state. A page says
// a state with "say" and keeps its code beside it, small, for developers
// (the API's value).

var refundText = map[pay.RefundStatus]catalog.Text{
	pay.RefundProcessing: {ZH: "退款处理中", EN: "Being refunded"},
	pay.RefundSuccess:    {ZH: "退款成功", EN: "Refunded"},
	pay.RefundAbnormal:   {ZH: "退款异常", EN: "Refund failed: needs attention"},
	pay.RefundClosed:     {ZH: "退款关闭", EN: "Refund closed"},
}

var settlementText = map[string]catalog.Text{
	settle.Pending: {ZH: "待结算", EN: "Not yet paid out"},
	settle.Settled: {ZH: "已结算", EN: "Paid out"},
}

var deliveryText = map[notify.State]catalog.Text{
	notify.Pending:   {ZH: "待送达（重试中）", EN: "Not yet delivered (retrying)"},
	notify.Delivered: {ZH: "已送达", EN: "Delivered"},
	notify.Failed:    {ZH: "送达失败（已停止重试）", EN: "Not delivered (retries ran out)"},
}

var complaintText = map[complaint.State]catalog.Text{
	complaint.Pending:    {ZH: "待处理", EN: "Awaiting your answer"},
	complaint.Processing: {ZH: "处理中", EN: "Answered, in progress"},
	complaint.Processed:  {ZH: "已处理完成", EN: "Handled"},
}

// named is a state of one kind, which its table names.
type named[S ~string] struct {
	state S
	table map[S]catalog.Text
}

// Text is the state's name; one the table lacks is its code, in both
// languages, so a new state shows as it is until it has a name.
func (n named[S]) Text() catalog.Text {
	if t, ok := n.table[n.state]; ok {
		return t
	}
	return catalog.Text{ZH: string(n.state), EN: string(n.state)}
}

// stateFuncs are the template functions that name a state of each kind,
// for "say": {{say (refundState .Status)}}.
var stateFuncs = map[string]any{
	"refundState":     func(s pay.RefundStatus) catalog.Named { return named[pay.RefundStatus]{s, refundText} },
	"settlementState": func(s string) catalog.Named { return named[string]{s, settlementText} },
	"deliveryState":   func(s notify.State) catalog.Named { return named[notify.State]{s, deliveryText} },
	"complaintState":  func(s complaint.State) catalog.Named { return named[complaint.State]{s, complaintText} },
}
