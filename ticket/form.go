package ticket

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"

	"github.com/fenfu/fenfu"
)

// Form is a ticket as the merchant API and the consumer's JSON take it;
// an attachment's content is standard base64.
type Form struct {
	Type          string     `json:"type"`
	Subject       string     `json:"subject"`
	Description   string     `json:"description"`
	OutTradeNo    string     `json:"out_trade_no"`
	TransactionID string     `json:"transaction_id"`
	ContactName   string     `json:"contact_name"`
	ContactPhone  string     `json:"contact_phone"`
	Attachments   []FileForm `json:"attachments"`
}

// FileForm is an attachment as the APIs take it.
type FileForm struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Content     string `json:"content"` // standard base64
}

// ReplyForm is a reply as the APIs take it.
type ReplyForm struct {
	Content     string     `json:"content"`
	Attachments []FileForm `json:"attachments"`
}

// New is the ticket the form opens.
func (f Form) New() (New, error) {
	files, err := filesOf(f.Attachments)
	if err != nil {
		return New{}, err
	}
	n := New{Type: Type(f.Type), Subject: f.Subject, Description: f.Description, OutTradeNo: f.OutTradeNo, TransactionID: f.TransactionID,
		ContactName: f.ContactName, ContactPhone: f.ContactPhone, Attachments: files}
	return n, n.Validate()
}

// Message is the reply the form writes.
func (f ReplyForm) Message() (Message, error) {
	files, err := filesOf(f.Attachments)
	if err != nil {
		return Message{}, err
	}
	m := Message{Body: f.Content, Attachments: files}
	return m, m.Validate()
}

func filesOf(ff []FileForm) ([]NewAttachment, error) {
	if len(ff) > MaxAttachments {
		return nil, fenfu.FieldError("attachments", "at most %d attachments go with one message", MaxAttachments)
	}
	out := make([]NewAttachment, len(ff))
	for i, f := range ff {
		field := fmt.Sprintf("attachments[%d].content", i)
		if base64.StdEncoding.DecodedLen(len(f.Content)) > MaxAttachment+2 {
			return nil, fenfu.FieldError(field, "an attachment must be at most %d KiB", MaxAttachment>>10)
		}
		b, err := base64.StdEncoding.DecodeString(f.Content)
		if err != nil {
			return nil, fenfu.FieldError(field, "%s must be standard base64", field)
		}
		out[i] = NewAttachment{Name: f.Name, ContentType: f.ContentType, Content: b}
	}
	return out, nil
}

// FilterOf reads a list's filter from a query: type, status, order
// (newest or due), limit and cursor, and for staff mchid, consumer_id,
// assignee, escalated=true and overdue=true. A merchant's or consumer's
// list is narrowed to its own tickets whatever the query says.
func FilterOf(q url.Values) (Filter, error) {
	f := Filter{Type: Type(q.Get("type")), Status: Status(q.Get("status")), Order: Order(q.Get("order")), Keyset: fenfu.Keyset{After: q.Get("cursor")},
		MchID: q.Get("mchid"), ConsumerID: q.Get("consumer_id"), Assignee: q.Get("assignee")}
	if f.Type != "" {
		if _, err := ParseType(string(f.Type)); err != nil {
			return f, err
		}
	}
	if f.Status != "" {
		if _, err := ParseStatus(string(f.Status)); err != nil {
			return f, err
		}
	}
	if f.Order != "" && f.Order != Newest && f.Order != Urgent {
		return f, fenfu.FieldError("order", "order must be newest or due")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, fenfu.FieldError("limit", "limit must be a whole number from 1 to %d", MaxLimit)
		}
		f.Limit = n
	}
	if _, _, err := after(f.Keyset, f.order()); err != nil {
		// The list's cursor is ?cursor= here.
		return f, fenfu.FieldError("cursor", "cursor must be the next_cursor of the page before, unchanged, with the same order")
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"escalated", &f.Escalated}, {"overdue", &f.Overdue}} {
		switch q.Get(b.name) {
		case "":
		case "true":
			*b.to = true
		case "false":
		default:
			return f, fenfu.FieldError(b.name, "%s must be true or false", b.name)
		}
	}
	for _, v := range []struct{ name, value string }{{"mchid", f.MchID}, {"consumer_id", f.ConsumerID}, {"assignee", f.Assignee}} {
		if len(v.value) > 64 {
			return f, fenfu.FieldError(v.name, "%s is at most 64 characters", v.name)
		}
		if err := fenfu.Text(v.name, v.value); err != nil {
			return f, err
		}
	}
	return f, nil
}

// order is the filter's order, Newest when none is asked.
func (f Filter) order() Order {
	if f.Order == "" {
		return Newest
	}
	return f.Order
}
