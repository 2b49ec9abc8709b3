package cashier

import (
	"encoding/json"
	"net/http"

	"github.com/fenfu/fenfu"
)

// loggedIn returns the consumer of the request's session, or answers that
// it must log in.
func (c *Cashier) loggedIn(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := c.session(r)
	if err == nil && id == "" {
		err = fenfu.Errorf(fenfu.Unauthenticated, "log in to see your credit account")
	}
	if err != nil {
		c.failJSON(w, r, err)
		return "", false
	}
	return id, true
}

// handleAccount answers the logged-in consumer's credit account as JSON:
// limit, used, available, rating, what is due, plans and repayments.
func (c *Cashier) handleAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	a, err := c.Repay.AccountOf(r.Context(), id)
	if err != nil {
		c.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// handleRepay repays the logged-in consumer's plans from its balance:
// {amount (fen), idempotency_key}.
func (c *Cashier) handleRepay(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.failJSON(w, r, fenfu.Errorf(fenfu.NoAuth, "cross-site repayment requests are refused"))
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
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		c.failJSON(w, r, fenfu.Errorf(fenfu.ParamError, "the body must be a JSON object {amount, idempotency_key}"))
		return
	}
	rep, err := c.Repay.FromBalance(r.Context(), id, req.Key, req.Amount)
	if err != nil {
		c.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// handleStatement answers the logged-in consumer's statement of a month.
func (c *Cashier) handleStatement(w http.ResponseWriter, r *http.Request) {
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	s, err := c.Repay.Statement(r.Context(), id, r.PathValue("month"))
	if err != nil {
		c.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// failJSON answers err as JSON, logging it as failAs does.
func (c *Cashier) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	r.Header.Set("Accept", "application/json")
	c.fail(w, r, err)
}
