package ticket

import (
	"strings"

	"github.com/fenfu/fenfu/catalog"
)

// What a page calls a ticket's types, statuses, events and actors, in
// each language: one table, which every surface that shows tickets says
// them by (the staff console, the merchant portal, the consumer's
// cashier).

// Text is the type's name: its lane's (DefaultLanes).
func (t Type) Text() catalog.Text {
	l := defaultLane(t)
	return catalog.Text{ZH: l.NameZH, EN: l.Name}
}

var statusText = catalog.Words[Status]{
	Open:     {ZH: "待回复", EN: "Awaiting an answer"},
	Answered: {ZH: "已回复", EN: "Answered"},
	Resolved: {ZH: "已解决", EN: "Resolved"},
	Closed:   {ZH: "已关闭", EN: "Closed"},
}

// Text is the status's name; one fenfu does not know is its code.
func (s Status) Text() catalog.Text { return statusText.Of(s) }

var eventText = catalog.Words[EventType]{
	EventOpened:    {ZH: "提交", EN: "Opened"},
	EventReplied:   {ZH: "回复", EN: "Replied"},
	EventAssigned:  {ZH: "指派", EN: "Assigned"},
	EventEscalated: {ZH: "升级", EN: "Escalated"},
	EventAlerted:   {ZH: "值班告警", EN: "On-duty alert"},
	EventResolved:  {ZH: "解决", EN: "Resolved"},
	EventReopened:  {ZH: "重新打开", EN: "Reopened"},
	EventClosed:    {ZH: "关闭", EN: "Closed"},
}

// Text is what the event did; one fenfu does not know is its code.
func (e EventType) Text() catalog.Text { return eventText.Of(e) }

// Who names the actor of a history's event (Event.Actor) on viewer's
// page: the viewer's own kind is "you" (the merchant or consumer who
// opened the ticket), the others the merchant, the consumer or the
// platform's support, never by name, as the history shows them to a
// merchant or consumer (Ticket.For).
func Who(actor string, viewer Actor) catalog.Text {
	kind, _, _ := strings.Cut(actor, ":")
	switch {
	case kind == viewer.Kind && !viewer.platform():
		return catalog.Text{ZH: "我", EN: "You"}
	case kind == KindMerchant:
		return catalog.Text{ZH: "商户", EN: "Merchant"}
	case kind == KindConsumer:
		return catalog.Text{ZH: "消费者", EN: "Consumer"}
	}
	return catalog.Text{ZH: "平台客服", EN: "fenfu support"}
}
