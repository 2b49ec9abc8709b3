package cashier

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/web"
	"golang.org/x/time/rate"
)

// Aggregate codes (聚合码): a merchant's static code for a till or a
// table. Its page shows the merchant and the code's label and, once the
// consumer is logged in, asks for the amount; the form makes a Native
// order of the merchant (aggregate.Service.Order) and the browser is sent
// on to that order's cashier page, where the consumer chooses credit or
// balance and pays through the one payment path. The page never makes an
// order by itself: only its form does (POST, then a redirect, so a
// refresh repeats nothing), and the form's nonce makes a form sent twice
// one order.

// registerAggregate adds the aggregate code routes.
func (c *Cashier) registerAggregate(mux route.Mux) {
	mux.HandleFunc("GET /a/{code}", c.handleAggregate)
	mux.HandleFunc("POST /a/{code}", c.handleAggregateOrder)
}

// aggregateText are the words of the amount page, in one place for a
// catalogue: Chinese and English side by side.
var aggregateText = struct {
	Amount, Hint, Continue, LogIn, LogInButton, Details, Title string
}{
	Amount:      "金额 Amount (¥)",
	Hint:        "输入商家告诉您的金额 · Enter the amount the merchant asks for",
	Continue:    "下一步 · Continue",
	LogIn:       "登录后输入金额 · Log in to enter the amount and pay",
	LogInButton: "登录 · Log in to pay",
	Details:     "详情 · Details",
	Title:       "付款 · Pay",
}

// aggregatePage is what the amount page shows.
type aggregatePage struct {
	Merchant, Label, Description string
	Token                        string
	// Phone is the logged-in consumer's, masked; "" asks for the login.
	Phone string
	// Nonce is the form's: the same form sent twice makes one order.
	Nonce string
	// Amount is what the consumer entered, shown again with an error.
	Amount  string
	Max     string // the most it may enter, in yuan
	Problem *problem
	T       any // the words
}

func (c *Cashier) aggregatePage(r *http.Request, consumerID string) (aggregatePage, error) {
	token := r.PathValue("code")
	code, m, err := c.Aggregate.Open(r.Context(), token)
	if err != nil {
		return aggregatePage{}, err
	}
	p := aggregatePage{Merchant: m.Name, Label: code.Label, Description: code.Description, Token: token,
		Max: fenfu.Yuan(aggregate.MaxAmount), T: aggregateText}
	if consumerID != "" {
		if x, err := c.Consumers.Get(r.Context(), consumerID); err == nil {
			p.Phone = mask.Phone(x.Phone)
			p.Nonce = c.Aggregate.Nonce()
		}
	}
	return p, nil
}

// renderAggregate answers the amount page, never from a cache: each
// showing has a nonce of its own.
func (c *Cashier) renderAggregate(w http.ResponseWriter, r *http.Request, status int, p aggregatePage) {
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "aggregate.html", p)
}

// openAggregate reads the request's session and the code of its path
// into the page, or answers why it cannot: a code altered or revoked.
func (c *Cashier) openAggregate(w http.ResponseWriter, r *http.Request) (aggregatePage, string, bool) {
	consumerID, err := c.session(r)
	if err == nil {
		var p aggregatePage
		if p, err = c.aggregatePage(r, consumerID); err == nil {
			return p, consumerID, true
		}
	}
	c.fail(w, r, err)
	return aggregatePage{}, "", false
}

func (c *Cashier) handleAggregate(w http.ResponseWriter, r *http.Request) {
	if p, _, ok := c.openAggregate(w, r); ok {
		c.renderAggregate(w, r, http.StatusOK, p)
	}
}

// handleAggregateOrder makes the order of the amount form and sends the
// browser to its cashier page (303); a refused form shows the page again
// with the reason and the amount entered.
func (c *Cashier) handleAggregateOrder(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site payment requests are refused")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	p, consumerID, ok := c.openAggregate(w, r)
	if !ok {
		return
	}
	entered := strings.TrimSpace(r.PostFormValue("amount"))
	refuse := func(err error) {
		e := fenfu.AsError(err)
		c.logFailure(r, e, err)
		if wantsJSON(r) {
			web.WriteJSON(w, e.Code.HTTPStatus(), viewOf(e))
			return
		}
		p.Problem, p.Amount = c.problemOf(r, err, "", nil), entered
		c.renderAggregate(w, r, e.Code.HTTPStatus(), p)
	}
	if consumerID == "" {
		e := fenfu.Errorf(fenfu.Unauthenticated, "log in to pay the merchant")
		e.Remedy = "Log in with your phone number and PIN, then enter the amount again."
		refuse(e)
		return
	}
	amount, err := aggregate.ParseAmount(entered)
	if err != nil {
		refuse(err)
		return
	}
	// The limit counts the orders a consumer starts: a form sent again
	// answers its order without a slot, and a form that makes no order
	// after all gives its slot back.
	var taken slot
	admit := func() error {
		var ok bool
		if taken, ok = c.aggregateLimit.take(consumerID, c.AggregatePerMinute, c.Clock.Now()); !ok {
			e := fenfu.Errorf(fenfu.FrequencyLimited, "you started %d payments in the last minute", c.AggregatePerMinute)
			e.Remedy = "Wait a minute, then pay the order you started last, or enter the amount again."
			return e
		}
		return nil
	}
	o, made, err := c.Aggregate.Order(r.Context(), p.Token, consumerID, r.PostFormValue("nonce"), amount, admit)
	if !made {
		taken.giveBack(c.Clock.Now())
	}
	if err != nil && !(fenfu.ErrorCode(err) == fenfu.OrderPaid && o.Token != "") {
		if fenfu.ErrorCode(err) == fenfu.OutTradeNoUsed {
			e := fenfu.Errorf(fenfu.OutTradeNoUsed, "this form was already sent with another amount")
			e.Remedy = "Check the amount and continue again: the page has a new form."
			err = e
		}
		refuse(err)
		return
	}
	// The form sent again after its order was paid shows the paid order.
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusOK, map[string]any{"out_trade_no": o.OutTradeNo, "total": o.Total, "cashier_url": "/q/" + o.Token})
		return
	}
	http.Redirect(w, r, "/q/"+o.Token, http.StatusSeeOther)
}

// consumerLimit is a token bucket per consumer, on this node: perMinute
// orders a minute on average, bursts of as many.
type consumerLimit struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// maxLimited bounds the consumers a consumerLimit keeps buckets for; past
// it, every bucket starts full again.
const maxLimited = 100_000

// slot is an order a consumer was let start; the zero slot (no limit)
// gives nothing back.
type slot struct{ r *rate.Reservation }

// giveBack returns the slot to the consumer's bucket: the order was not
// started after all.
func (s slot) giveBack(now time.Time) {
	if s.r != nil {
		s.r.CancelAt(now)
	}
}

// take lets the consumer start an order now if its bucket holds one, and
// says so.
func (l *consumerLimit) take(consumerID string, perMinute int, now time.Time) (slot, bool) {
	if perMinute <= 0 {
		return slot{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxLimited {
		l.m = map[string]*rate.Limiter{}
	}
	b := l.m[consumerID]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(float64(perMinute)/60), perMinute)
		l.m[consumerID] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return slot{}, false
	}
	if r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return slot{}, false
	}
	return slot{r}, true
}
