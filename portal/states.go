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
// kind (catalog.Words), keyed by the owning package's states, as package
// ticket's tables name a ticket's statuses. A page says a state with
// "say" and keeps its code beside it, small, for developers (the API's
// value).

var refundText = catalog.Words[pay.RefundStatus]{
	pay.RefundProcessing: {ZH: "退款处理中", EN: "Being refunded"},
	pay.RefundSuccess:    {ZH: "退款成功", EN: "Refunded"},
	pay.RefundAbnormal:   {ZH: "退款异常", EN: "Refund failed: needs attention"},
	pay.RefundClosed:     {ZH: "退款关闭", EN: "Refund closed"},
}

var settlementText = catalog.Words[string]{
	settle.Pending: {ZH: "待结算", EN: "Not yet paid out"},
	settle.Settled: {ZH: "已结算", EN: "Paid out"},
}

var deliveryText = catalog.Words[notify.State]{
	notify.Pending:   {ZH: "待送达（重试中）", EN: "Not yet delivered (retrying)"},
	notify.Delivered: {ZH: "已送达", EN: "Delivered"},
	notify.Failed:    {ZH: "送达失败（已停止重试）", EN: "Not delivered (retries ran out)"},
}

var complaintText = catalog.Words[complaint.State]{
	complaint.Pending:    {ZH: "待处理", EN: "Awaiting your answer"},
	complaint.Processing: {ZH: "处理中", EN: "Answered, in progress"},
	complaint.Processed:  {ZH: "已处理完成", EN: "Handled"},
}

// stateFuncs are the template functions that name a state of each kind,
// for "say": {{say (refundState .Status)}}.
var stateFuncs = map[string]any{
	"refundState":     refundText.Name,
	"settlementState": settlementText.Name,
	"deliveryState":   deliveryText.Name,
	"complaintState":  complaintText.Name,
}
