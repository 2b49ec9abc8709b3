package cashier

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/web"
)

// The consumer's credit account: JSON for programs, as it always was, and
// pages for browsers (a request whose Accept names text/html): the
// account with its notices, plans and repay form, and each month's
// statement. The pages and the JSON read and repay through the same
// repay.Service calls.

// wantsPage reports whether a request of a credit route is a browser's,
// which asks for HTML; programs keep getting JSON whatever else they send.
func wantsPage(r *http.Request) bool {
	return r.URL.Query().Get("format") != "json" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// loggedIn returns the consumer of the request's session, or answers that
// it must log in: a browser with the login form, a program with JSON.
func (c *Cashier) loggedIn(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := c.session(r)
	if err == nil && id == "" {
		if wantsPage(r) && strings.HasPrefix(r.URL.Path, "/cashier/paycode") {
			p := paycodePage{Next: "/cashier/paycode"}
			if confirmPath.MatchString(r.URL.Path) {
				p.Next = r.URL.Path
			}
			c.renderCode(w, r, http.StatusUnauthorized, p)
			return "", false
		}
		if wantsPage(r) {
			p := accountPage{Next: "/cashier/credit"}
			if statementPath.MatchString(r.URL.Path) {
				p.Next = r.URL.Path
			}
			c.render(w, r, http.StatusUnauthorized, "credit.html", p)
			return "", false
		}
		err = fenfu.Errorf(fenfu.Unauthenticated, "log in to see your credit account")
		if strings.HasPrefix(r.URL.Path, "/cashier/paycode") {
			err = fenfu.Errorf(fenfu.Unauthenticated, "log in to show your payment code")
		}
	}
	if err != nil {
		c.failCredit(w, r, err)
		return "", false
	}
	return id, true
}

// handleAccount answers the logged-in consumer's credit account: limit,
// used, available, rating, what is due, plans and repayments.
func (c *Cashier) handleAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	a, err := c.Repay.AccountOf(r.Context(), id)
	if err != nil {
		c.failCredit(w, r, err)
		return
	}
	if !wantsPage(r) {
		web.WriteJSON(w, http.StatusOK, a)
		return
	}
	p := c.accountPage(r.Context(), id, a)
	if rid := r.URL.Query().Get("repaid"); rid != "" {
		for i := range a.Repayments {
			if a.Repayments[i].ID == rid {
				p.Repaid = &a.Repayments[i]
			}
		}
	}
	c.render(w, r, http.StatusOK, "credit.html", p)
}

// accountPage is what the account page shows.
type accountPage struct {
	repay.Account
	LoggedIn bool
	// Next is where the login form comes back to.
	Next    string
	Phone   string
	Balance fenfu.Fen
	// Paused is why the line takes no credit payment now (frozen, or
	// something overdue), as the payment would say it.
	Paused *fenfu.Error
	// Statements are the months whose statements are made, newest first;
	// FirstStatement is the date of the first, while none is.
	Statements     []string
	FirstStatement string
	// Merchants names the plans' merchants by mchid.
	Merchants map[string]string
	// RepayAmount is the amount the repay form offers first: what is due
	// now, or the payoff when nothing is due yet.
	RepayAmount fenfu.Fen
	// Key and PayoffKey are the idempotency keys of the repay form and the
	// payoff button: submitting a form twice repays once.
	Key, PayoffKey string
	Repaid         *credit.Repaid
	Problem        *problem
	// Paycode links the payment code page, when the cashier serves it.
	Paycode bool
}

func (c *Cashier) accountPage(ctx context.Context, consumerID string, a repay.Account) accountPage {
	p := accountPage{Account: a, LoggedIn: true, Key: formKey(), PayoffKey: formKey(), Paycode: c.Paycodes != nil}
	if x, err := c.Consumers.Get(ctx, consumerID); err == nil {
		p.Phone, p.Balance = mask.Phone(x.Phone), x.Balance
	}
	if err := credit.Paused(a.State, a.Overdue); err != nil {
		p.Paused = fenfu.AsError(err)
	}
	p.RepayAmount = a.Owed.DueNow
	if p.RepayAmount == 0 {
		p.RepayAmount = a.Owed.Payoff
	}
	now := c.Clock.Now()
	since := now
	mchids := make([]string, len(a.Plans))
	for i, pl := range a.Plans {
		if pl.CreatedAt.Before(since) {
			since = pl.CreatedAt
		}
		mchids[i] = pl.MchID
	}
	p.Merchants = c.merchantNames(ctx, mchids)
	cal := c.Repay.Calendar
	if p.Statements = cal.Statements(since, now, 24); len(p.Statements) == 0 && len(a.Plans) > 0 {
		p.FirstStatement = cal.StatementAfter(since).Format(credit.DateLayout)
	}
	return p
}

// merchantNames names the merchants of mchids, each by its mchid if it
// cannot be read.
func (c *Cashier) merchantNames(ctx context.Context, mchids []string) map[string]string {
	names := map[string]string{}
	for _, id := range mchids {
		if _, ok := names[id]; ok {
			continue
		}
		names[id] = id
		if m, err := c.Merchants.Get(ctx, id); err == nil {
			names[id] = m.Name
		}
	}
	return names
}

// statementPage is what a statement's page shows.
type statementPage struct {
	credit.Statement
	Merchants map[string]string
}

// formKey is a fresh idempotency key for a repay form.
func formKey() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return "page-" + strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// pagePost starts a POST that a page's form or a program sends: it
// reports whether it is a form, whose answers are pages (a program's are
// JSON), and refuses, answering it, a request another site sent.
func (c *Cashier) pagePost(w http.ResponseWriter, r *http.Request, what string) (form, ok bool) {
	form = strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if form {
		r.Header.Set("Accept", "text/html")
	}
	if !c.sameOrigin(r) {
		if !form {
			r.Header.Set("Accept", "application/json")
		}
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site %s requests are refused", what)))
		return form, false
	}
	return form, true
}

// handleRepay repays the logged-in consumer's plans from its balance:
// {amount (fen), idempotency_key} as JSON, or the account page's form
// (amount in yuan), which then shows the account again with the
// repayment.
func (c *Cashier) handleRepay(w http.ResponseWriter, r *http.Request) {
	form, ok := c.pagePost(w, r, "repayment")
	if !ok {
		return
	}
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	var req struct {
		Amount fenfu.Fen `json:"amount"`
		Key    string    `json:"idempotency_key"`
	}
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		amount, err := fenfu.ParseYuan(strings.TrimSpace(r.PostFormValue("amount")))
		if err != nil {
			c.failCredit(w, r, fenfu.FieldError("amount", "the amount to repay is yuan, like 209.00"))
			return
		}
		req.Amount, req.Key = amount, r.PostFormValue("idempotency_key")
	} else if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		c.failCredit(w, r, fenfu.Errorf(fenfu.ParamError, "the body must be a JSON object {amount, idempotency_key}"))
		return
	}
	rep, err := c.Repay.FromBalance(r.Context(), id, req.Key, req.Amount)
	if err != nil {
		c.failCredit(w, r, err)
		return
	}
	if form {
		http.Redirect(w, r, "/cashier/credit?repaid="+rep.ID, http.StatusSeeOther)
		return
	}
	web.WriteJSON(w, http.StatusOK, rep)
}

// handleStatement answers the logged-in consumer's statement of a month.
func (c *Cashier) handleStatement(w http.ResponseWriter, r *http.Request) {
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	s, err := c.Repay.Statement(r.Context(), id, r.PathValue("month"))
	if err != nil {
		c.failCredit(w, r, err)
		return
	}
	if !wantsPage(r) {
		web.WriteJSON(w, http.StatusOK, s)
		return
	}
	mchids := make([]string, 0, len(s.Purchases)+len(s.Refunds))
	for _, ls := range [][]credit.StatementLine{s.Purchases, s.Refunds} {
		for _, l := range ls {
			mchids = append(mchids, l.MchID)
		}
	}
	c.render(w, r, http.StatusOK, "statement.html", statementPage{Statement: s, Merchants: c.merchantNames(r.Context(), mchids)})
}

// failCredit answers err: as JSON to programs, as failAs does; to a
// browser, the account page with the reason when the consumer is logged in
// and has an account, else the error page.
func (c *Cashier) failCredit(w http.ResponseWriter, r *http.Request, err error) {
	if !wantsPage(r) {
		r.Header.Set("Accept", "application/json")
		c.fail(w, r, err)
		return
	}
	e := fenfu.AsError(err)
	if id, serr := c.session(r); serr == nil && id != "" && e.Code != fenfu.SystemError {
		if a, aerr := c.Repay.AccountOf(r.Context(), id); aerr == nil {
			c.logFailure(r, e, err)
			p := c.accountPage(r.Context(), id, a)
			p.Problem = c.problemOf(r, err, "", nil)
			c.render(w, r, e.Code.HTTPStatus(), "credit.html", p)
			return
		}
	}
	c.fail(w, r, err)
}
