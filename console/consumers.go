package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/route"
)

// The consumers' pages: a consumer looked up by phone or id, with the
// balance, credit line, plans and statements, every personal datum as
// the member's policy shows it, and the unmasking of one field, with a
// reason, where the policy grants it.

func (c *Console) consumerPages(mux route.Mux) {
	mux.Handle("GET /console/consumers", c.page(c.consumerLookup))
	mux.Handle("POST /console/consumers", c.action(c.findConsumer))
	mux.Handle("GET /console/consumers/{id}", c.page(c.consumerAccount))
	mux.Handle("GET /console/consumers/{id}/statements/{month}", c.page(c.statement))
	mux.Handle("POST /console/consumers/{id}/unmask", c.action(c.unmaskConsumer))
}

// phoneLike is what a search is taken for a phone number by.
var phoneLike = regexp.MustCompile(`^1[0-9]{10}$`)

// consumerLookup is the lookup's form, for members who may look
// consumers up.
func (c *Console) consumerLookup(r *http.Request, v *view) error {
	v.Title, v.Active, v.Data = "consumers", "/console/consumers", &consumerPage{}
	return v.may("GET /admin/consumers")
}

// findConsumer looks a consumer up by the form's q, a phone number or an
// id, and goes to their page. The form is posted so the phone is in no
// address: not in the browser's history, nor any proxy's log.
func (c *Console) findConsumer(r *http.Request, v *view) (string, error) {
	q := strings.TrimSpace(r.PostForm.Get("q"))
	by := "id"
	if phoneLike.MatchString(q) {
		by = "phone"
	}
	var out struct {
		Consumer consumer.Consumer `json:"consumer"`
	}
	if err := v.do(admin.Call{Route: "GET /admin/consumers", Query: url.Values{by: {q}}}, &out); err != nil {
		return "", err
	}
	return "/console/consumers/" + url.PathEscape(out.Consumer.ID), nil
}

func (c *Console) consumerAccount(r *http.Request, v *view) error {
	v.Title, v.Active = "consumers", "/console/consumers"
	return c.showConsumer(v, url.Values{"id": {r.PathValue("id")}})
}

type consumerPage struct {
	Consumer *consumer.Consumer
	Account  *repay.Account
	// Months are the statement months offered: this month and the eleven
	// before it.
	Months    []string
	CanUnmask bool
	// Unmasked is a field just shown in the clear, with its value.
	Unmasked, Value string
}

// showConsumer shows the consumer the lookup query names, with their
// credit account if the member may read it.
func (c *Console) showConsumer(v *view, lookup url.Values) error {
	d := &consumerPage{}
	v.Data = d
	var out struct {
		Consumer consumer.Consumer `json:"consumer"`
	}
	if err := v.do(admin.Call{Route: "GET /admin/consumers", Query: lookup}, &out); err != nil {
		return err
	}
	d.Consumer = &out.Consumer
	if v.allows("GET /admin/consumers/{id}/credit") {
		var acct repay.Account
		err := v.do(admin.Call{Route: "GET /admin/consumers/{id}/credit", Path: map[string]string{"id": out.Consumer.ID}}, &acct)
		switch {
		case err == nil:
			d.Account = &acct
		case fenfu.ErrorCode(err) != fenfu.ResourceNotExists: // a consumer without a line has no account
			return err
		}
	}
	now := c.Clock.Now().In(fenfu.Shanghai)
	for i := range 12 {
		d.Months = append(d.Months, time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, fenfu.Shanghai).Format("2006-01"))
	}
	d.CanUnmask = !v.Member.Clear && v.allows("POST /admin/unmask")
	return nil
}

// unmaskConsumer shows the consumer's phone in the clear, for the reason
// given, which the unmasking records.
func (c *Console) unmaskConsumer(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	var out struct {
		Value string `json:"value"`
	}
	if err := v.do(admin.Call{Route: "POST /admin/unmask", Body: map[string]string{"kind": "consumer", "id": id,
		"field": "consumer.phone", "reason": r.PostForm.Get("reason")}}, &out); err != nil {
		return "", err
	}
	v.Title, v.Active = "consumers", "/console/consumers"
	if err := c.showConsumer(v, url.Values{"id": {id}}); err != nil {
		return "", err
	}
	d := v.Data.(*consumerPage)
	d.Unmasked, d.Value = "consumer.phone", out.Value
	return "", nil
}

func (c *Console) statement(r *http.Request, v *view) error {
	v.Title, v.Active = "statement", "/console/consumers"
	st := &credit.Statement{}
	v.Data = st
	return v.do(admin.Call{Route: "GET /admin/consumers/{id}/statements/{month}",
		Path: map[string]string{"id": r.PathValue("id"), "month": r.PathValue("month")}}, st)
}
