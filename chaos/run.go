package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/wxpay"
)

// Node is one running `fenfu serve`.
type Node interface {
	URL() string
	Kill() error // SIGKILL, and wait for the process to be gone
}

// Consumer is a provisioned consumer the run pays as.
type Consumer struct {
	ID, Phone, PIN string
	Balance        fenfu.Fen // its balance when the run began
}

// Config is a chaos run.
type Config struct {
	Cycles      int
	Nodes       int // 1, or 2 sharing PostgreSQL
	Concurrency int // workers driving calls
	Seed        uint64
	// Each cycle drives load for a random time in [MinLoad, MaxLoad] and
	// kills a node at a random moment of it.
	MinLoad, MaxLoad time.Duration
	// Settle is the longest recovery may take to settle what a kill
	// interrupted: serve's --recover-after plus its --recover-every, with
	// room for a restart.
	Settle time.Duration
	// FullCheckEvery: each cycle checks the payments it touched; every
	// this many cycles, and after the last, every payment of the run and
	// every consumer's money.
	FullCheckEvery int

	Start     func(ctx context.Context, node int) (Node, error)
	Login     func(ctx context.Context, base, phone, pin string) (cookie string, err error)
	Merchants []bench.Merchant
	Consumers []Consumer
	NotifyURL string
	Store     Store
	Wallets   Wallets
	// Verify proves the books of both stores (fenfu verify).
	Verify func(ctx context.Context) error
	Log    io.Writer // a line per cycle
}

// Counts is what a run did and found.
type Counts struct {
	Kills           int `json:"kills"`
	Payments        int `json:"payments_acknowledged"`
	CreditPayments  int `json:"credit_payments"`
	BalancePayments int `json:"balance_payments"`
	Refunds         int `json:"refunds_acknowledged"`
	// Calls whose outcome was unknown, by call, and how they resolved:
	// landed (the store had it) or not (the retry did it).
	UnknownCreate int `json:"unknown_create"`
	UnknownPay    int `json:"unknown_pay"`
	UnknownRefund int `json:"unknown_refund"`
	CreateLanded  int `json:"unknown_create_landed"`
	PayLanded     int `json:"unknown_pay_landed"`
	PayRetried    int `json:"unknown_pay_retried"`
	RefundLanded  int `json:"unknown_refund_landed"`
	RefundRetried int `json:"unknown_refund_retried"`
	ConnRefused   int `json:"connection_refused"`
	// Orders left PAYING and refunds left PROCESSING by the kills,
	// interrupted between the two stores, that recovery then settled.
	PayingAfterKill     int            `json:"paying_after_kill"`
	ProcessingAfterKill int            `json:"processing_after_kill"`
	Lost                int            `json:"lost"`
	Doubled             int            `json:"doubled"`
	Wrong               int            `json:"wrong"`
	Stuck               int            `json:"stuck"`
	Diverged            int            `json:"diverged"` // retries of unknown calls that did not converge
	VerifyFailures      int            `json:"verify_failures"`
	RefusedByServer     map[string]int `json:"refused_by_server"` // definite errors, by call and code
}

func (c *Counts) add(o Counts) {
	c.Kills += o.Kills
	c.Payments += o.Payments
	c.CreditPayments += o.CreditPayments
	c.BalancePayments += o.BalancePayments
	c.Refunds += o.Refunds
	c.UnknownCreate += o.UnknownCreate
	c.UnknownPay += o.UnknownPay
	c.UnknownRefund += o.UnknownRefund
	c.CreateLanded += o.CreateLanded
	c.PayLanded += o.PayLanded
	c.PayRetried += o.PayRetried
	c.RefundLanded += o.RefundLanded
	c.RefundRetried += o.RefundRetried
	c.ConnRefused += o.ConnRefused
	c.PayingAfterKill += o.PayingAfterKill
	c.ProcessingAfterKill += o.ProcessingAfterKill
	for k, v := range o.RefusedByServer {
		if c.RefusedByServer == nil {
			c.RefusedByServer = map[string]int{}
		}
		c.RefusedByServer[k] += v
	}
}

// paid counts an acknowledged payment.
func (c *Counts) paid(p *Payment) {
	c.Payments++
	if p.Channel == pay.ChannelCredit {
		c.CreditPayments++
	} else {
		c.BalancePayments++
	}
}

// Failure is why a run stopped.
type Failure struct {
	Cycle    int      `json:"cycle"`
	Seed     uint64   `json:"seed"`
	Reason   string   `json:"reason"`
	Findings Findings `json:"findings,omitempty"`
}

func (f *Failure) Error() string {
	msg := fmt.Sprintf("chaos: cycle %d (seed %d): %s", f.Cycle, f.Seed, f.Reason)
	for i, x := range f.Findings {
		if i == 10 {
			msg += fmt.Sprintf("\n  … and %d more", len(f.Findings)-10)
			break
		}
		msg += "\n  " + x.String()
	}
	return msg
}

// Run runs the cycles. It returns the counts so far and, when a cycle
// fails, a *Failure naming the cycle and seed.
func Run(ctx context.Context, cfg Config) (Counts, error) {
	r := &runner{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6368616f73)), nodes: make([]Node, cfg.Nodes),
		hc:    &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
		runID: fmt.Sprintf("%06d", cfg.Seed%1_000_000)}
	defer r.stopAll()
	var total Counts
	for i := range r.nodes {
		if err := r.start(ctx, i); err != nil {
			return total, err
		}
	}
	if err := r.login(ctx); err != nil {
		return total, err
	}
	loggedIn := time.Now()
	for cycle := 1; cycle <= cfg.Cycles; cycle++ {
		if time.Since(loggedIn) > 20*time.Minute { // sessions last 30
			if err := r.login(ctx); err != nil {
				return total, err
			}
			loggedIn = time.Now()
		}
		c, err := r.cycle(ctx, cycle)
		total.add(c)
		var f *Failure
		if errors.As(err, &f) {
			f.Cycle, f.Seed = cycle, cfg.Seed
			total.Lost += f.Findings.Count(Lost)
			total.Doubled += f.Findings.Count(Doubled)
			total.Wrong += f.Findings.Count(Wrong)
			total.Stuck += f.Findings.Count(Stuck)
			total.Diverged += f.Findings.Count(Diverged)
			total.VerifyFailures += f.Findings.Count(VerifyFailed)
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

type runner struct {
	cfg   Config
	rng   *rand.Rand // the run's schedule: load times, kill moments, victims
	hc    *http.Client
	runID string

	mu      sync.Mutex
	nodes   []Node // nil while a node is down
	all     []*Payment
	touched []*Payment // this cycle's
	pool    []*Payment // paid orders with something left to refund, free for a worker to take
	cookies []string
	seq     int
}

func (r *runner) start(ctx context.Context, i int) error {
	n, err := r.cfg.Start(ctx, i)
	if err != nil {
		return fmt.Errorf("chaos: start node %d: %w", i, err)
	}
	r.mu.Lock()
	r.nodes[i] = n
	r.mu.Unlock()
	return nil
}

func (r *runner) stopAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.nodes {
		if n != nil {
			_ = n.Kill()
			r.nodes[i] = nil
		}
	}
}

func (r *runner) login(ctx context.Context) error {
	base := r.node(rand.New(rand.NewPCG(1, 2)))
	r.cookies = make([]string, len(r.cfg.Consumers))
	for i, c := range r.cfg.Consumers {
		cookie, err := r.cfg.Login(ctx, base, c.Phone, c.PIN)
		if err != nil {
			return fmt.Errorf("chaos: log in consumer %s: %w", c.ID, err)
		}
		r.cookies[i] = cookie
	}
	return nil
}

// node returns the URL of a running node, at random, or "".
func (r *runner) node(rng *rand.Rand) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var up []string
	for _, n := range r.nodes {
		if n != nil {
			up = append(up, n.URL())
		}
	}
	if len(up) == 0 {
		return ""
	}
	return up[rng.IntN(len(up))]
}

func (r *runner) touch(p *Payment, cycle int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.cycle != cycle {
		p.cycle = cycle
		r.touched = append(r.touched, p)
	}
}

// take removes a paid order from the pool for one worker to refund.
func (r *runner) take(rng *rand.Rand) *Payment {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pool) == 0 {
		return nil
	}
	i := rng.IntN(len(r.pool))
	p := r.pool[i]
	p.pooled = false
	r.pool[i] = r.pool[len(r.pool)-1]
	r.pool = r.pool[:len(r.pool)-1]
	return p
}

// put returns an order to the pool if it can still be refunded.
func (r *runner) put(p *Payment) {
	if p.Paid != Acked || p.refunded() >= p.Total || len(p.Refunds) >= pay.MaxRefunds {
		return
	}
	for _, x := range p.Refunds {
		if x.Outcome == Unknown {
			return
		}
	}
	r.mu.Lock()
	if !p.pooled {
		p.pooled = true
		r.pool = append(r.pool, p)
	}
	r.mu.Unlock()
}

// cycle is one cycle: load, a kill, a restart, recovery, resolution of
// the unknown calls, the check and the proof.
func (r *runner) cycle(ctx context.Context, cycle int) (Counts, error) {
	cfg := r.cfg
	load := cfg.MinLoad + time.Duration(r.rng.Int64N(int64(cfg.MaxLoad-cfg.MinLoad)+1))
	killAt := time.Duration(float64(load) * (0.15 + 0.7*r.rng.Float64()))
	victim := r.rng.IntN(cfg.Nodes)
	workerSeed := r.rng.Uint64()
	r.touched = nil

	counts := make([]Counts, cfg.Concurrency)
	deadline := time.Now().Add(load)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(workerSeed, uint64(w)))
			c := &counts[w]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				r.step(ctx, rng, cycle, c)
			}
		}()
	}
	select {
	case <-time.After(killAt):
	case <-ctx.Done():
	}
	r.mu.Lock()
	n := r.nodes[victim]
	r.mu.Unlock()
	killErr := n.Kill()
	r.mu.Lock()
	r.nodes[victim] = nil
	r.mu.Unlock()
	wg.Wait()
	var c Counts
	for _, x := range counts {
		c.add(x)
	}
	c.Kills = 1
	if killErr != nil {
		return c, fmt.Errorf("chaos: kill node %d: %w", victim, killErr)
	}
	if err := r.start(ctx, victim); err != nil {
		return c, err
	}

	// Let recovery settle what the kill interrupted, then learn what
	// became of each unknown call and retry it where it did not land.
	var err error
	if c.PayingAfterKill, c.ProcessingAfterKill, err = r.settle(ctx); err != nil {
		return c, err
	}
	findings, err := r.resolve(ctx, cycle, &c)
	if err != nil {
		return c, err
	}
	if _, _, err := r.settle(ctx); err != nil {
		return c, err
	}
	ps, wallets, starts := r.touched, Wallets(nil), []Start(nil)
	full := cycle == cfg.Cycles || (cfg.FullCheckEvery > 0 && cycle%cfg.FullCheckEvery == 0)
	if full {
		ps, wallets = r.all, cfg.Wallets
		for _, x := range cfg.Consumers {
			starts = append(starts, Start{x.ID, x.Balance})
		}
	}
	more, err := Check(ctx, cfg.Store, ps, wallets, starts)
	if err != nil {
		return c, err
	}
	findings = append(findings, more...)
	verified := "ok"
	if err := cfg.Verify(ctx); err != nil {
		findings = append(findings, Finding{VerifyFailed, err.Error()})
		verified = "FAILED"
	}
	scope := "cycle"
	if full {
		scope = "all"
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "cycle %d: load %.1fs, killed node %d at %.1fs; acknowledged %d payments, %d refunds; unknown %d/%d/%d (create/pay/refund); %d PAYING and %d PROCESSING after the kill; checked %d orders (%s): %d findings; verify %s\n",
			cycle, load.Seconds(), victim, killAt.Seconds(), c.Payments, c.Refunds, c.UnknownCreate, c.UnknownPay, c.UnknownRefund,
			c.PayingAfterKill, c.ProcessingAfterKill, len(ps), scope, len(findings), verified)
	}
	if len(findings) > 0 {
		return c, &Failure{Reason: fmt.Sprintf("%d findings", len(findings)), Findings: findings}
	}
	return c, nil
}

// settle waits until no order or refund the cycle touched is PAYING or
// PROCESSING in the store, or Settle has passed (the check then finds
// what is stuck). It returns how many were when it began.
func (r *runner) settle(ctx context.Context) (paying, processing int, err error) {
	deadline := time.Now().Add(r.cfg.Settle)
	for first := true; ; first = false {
		busy := 0
		for _, p := range r.touched {
			if p.Created == Refused || p.Created == NotSent {
				continue
			}
			o, err := r.cfg.Store.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
			if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
				continue
			}
			if err != nil {
				return paying, processing, err
			}
			if o.State == pay.Paying {
				busy++
				if first {
					paying++
				}
			}
			for _, x := range p.Refunds {
				if x.Outcome == Refused || x.Outcome == NotSent {
					continue
				}
				rec, err := r.cfg.Store.QueryRefund(ctx, p.MchID, x.OutRefundNo)
				if err == nil && rec.Status == pay.RefundProcessing {
					busy++
					if first {
						processing++
					}
				}
			}
			if busy > 0 && !first {
				break
			}
		}
		if busy == 0 || time.Now().After(deadline) {
			return paying, processing, nil
		}
		select {
		case <-ctx.Done():
			return paying, processing, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// step is one call of a worker: a partial refund of a paid order (about a
// third of the time, when one is free), else a new payment.
func (r *runner) step(ctx context.Context, rng *rand.Rand, cycle int, c *Counts) {
	base := r.node(rng)
	if base == "" { // the only node is down until the cycle ends
		time.Sleep(20 * time.Millisecond)
		return
	}
	if rng.IntN(3) == 0 {
		if p := r.take(rng); p != nil {
			r.touch(p, cycle)
			left := p.Total - p.refunded()
			x := &Refund{OutRefundNo: fmt.Sprintf("%s-%d", p.OutTradeNo, len(p.Refunds)+1),
				Amount: 1 + fenfu.Fen(rng.Int64N(int64(max(left/3, 1))))}
			p.Refunds = append(p.Refunds, x)
			r.refund(ctx, base, p, x, c)
			r.put(p)
			return
		}
	}
	r.mu.Lock()
	r.seq++
	p := &Payment{OutTradeNo: fmt.Sprintf("X%s%03d%07d", r.runID, cycle%1000, r.seq),
		merchant: rng.IntN(len(r.cfg.Merchants)), consumer: rng.IntN(len(r.cfg.Consumers)),
		Total: 100 + fenfu.Fen(rng.Int64N(9900)), Channel: pay.Channels[rng.IntN(2)]}
	p.MchID = r.cfg.Merchants[p.merchant].MchID
	p.ConsumerID = r.cfg.Consumers[p.consumer].ID
	r.all = append(r.all, p)
	r.mu.Unlock()
	r.touch(p, cycle)
	p.Created = r.create(ctx, base, p, c)
	if p.Created != Acked {
		return
	}
	p.Paid = r.pay(ctx, r.node(rng), p, c)
	r.put(p)
}

// client is the merchant's signing client pointed at base.
func (r *runner) client(p *Payment, base string) *wxpay.Client {
	cl := *r.cfg.Merchants[p.merchant].Client
	cl.BaseURL, cl.HTTP = base, r.hc
	return &cl
}

// classify turns a call's error into what the client learnt.
func classify(err error, call string, c *Counts) Outcome {
	var api *wxpay.APIError
	switch {
	case err == nil:
		return Acked
	case errors.As(err, &api) && api.Status < 500:
		if c.RefusedByServer == nil {
			c.RefusedByServer = map[string]int{}
		}
		c.RefusedByServer[call+" "+api.Body.Code]++
		return Refused
	case errors.Is(err, syscall.ECONNREFUSED):
		c.ConnRefused++
		return NotSent
	}
	switch call {
	case "create":
		c.UnknownCreate++
	case "pay":
		c.UnknownPay++
	case "refund":
		c.UnknownRefund++
	}
	return Unknown
}

func (r *runner) create(ctx context.Context, base string, p *Payment, c *Counts) Outcome {
	m := r.cfg.Merchants[p.merchant]
	var resp struct {
		CodeURL string `json:"code_url"`
	}
	err := r.client(p, base).Do(ctx, "POST", "/v3/pay/transactions/native", map[string]any{
		"appid": m.AppID, "mchid": m.MchID, "description": "chaos", "out_trade_no": p.OutTradeNo,
		"notify_url": r.cfg.NotifyURL, "amount": map[string]any{"total": p.Total}}, &resp)
	o := classify(err, "create", c)
	if o == Acked {
		p.token = bench.CashierPath(resp.CodeURL)
	}
	return o
}

// pay pays the order through the cashier's JSON endpoint as its consumer.
func (r *runner) pay(ctx context.Context, base string, p *Payment, c *Counts) Outcome {
	if base == "" {
		return NotSent
	}
	body, _ := json.Marshal(map[string]string{"channel": string(p.Channel)})
	st, b, err := bench.Do(ctx, r.hc, "POST", base+p.token+"/pay", body, "", r.cookies[p.consumer])
	var out struct {
		TradeState string    `json:"trade_state"`
		Total      fenfu.Fen `json:"total"`
		Code       string    `json:"code"`
	}
	if err == nil {
		_ = json.Unmarshal(b, &out)
		switch {
		case st/100 == 2:
		case st < 500:
			err = &wxpay.APIError{Status: st, Body: wxpay.ErrorBody{Code: out.Code}}
		default:
			err = fmt.Errorf("HTTP %d %s", st, out.Code)
		}
	}
	o := classify(err, "pay", c)
	if o == Acked {
		p.AckTotal = out.Total
		if out.TradeState != string(pay.Success) {
			p.AckTotal = -1 // acknowledged, yet not paid: the check reports it
		}
		c.paid(p)
	}
	return o
}

func (r *runner) refund(ctx context.Context, base string, p *Payment, x *Refund, c *Counts) {
	var resp struct {
		RefundID string           `json:"refund_id"`
		Status   pay.RefundStatus `json:"status"`
	}
	err := r.client(p, base).Do(ctx, "POST", "/v3/refund/domestic/refunds", map[string]any{
		"out_trade_no": p.OutTradeNo, "out_refund_no": x.OutRefundNo, "reason": "chaos", "notify_url": r.cfg.NotifyURL,
		"amount": map[string]any{"refund": x.Amount, "total": p.Total, "currency": "CNY"}}, &resp)
	x.Outcome = classify(err, "refund", c)
	if x.Outcome == Acked {
		x.RefundID, x.Status = resp.RefundID, resp.Status
		c.Refunds++
	}
}

// resolve learns what became of each call of the cycle whose outcome was
// unknown, from the store, and retries it with the same out_trade_no or
// out_refund_no and parameters, which must succeed: an idempotent retry
// converges. A retry that does not is a finding.
func (r *runner) resolve(ctx context.Context, cycle int, c *Counts) (Findings, error) {
	var out Findings
	rng := rand.New(rand.NewPCG(uint64(cycle), r.cfg.Seed))
	diverged := func(format string, args ...any) {
		out = append(out, Finding{Diverged, fmt.Sprintf(format, args...)})
	}
	st := r.cfg.Store
	for _, p := range r.touched {
		if p.Created == Unknown {
			_, err := st.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
			switch {
			case err == nil:
				c.CreateLanded++
			case fenfu.ErrorCode(err) != fenfu.OrderNotExist:
				return out, err
			}
			var ignore Counts
			if p.Created = r.create(ctx, r.node(rng), p, &ignore); p.Created != Acked {
				diverged("creating order %s again: %s", p.OutTradeNo, p.Created)
			}
			// An order whose creation was in doubt is left unpaid.
		}
		if p.Paid == Unknown {
			o, err := st.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
			if err != nil {
				return out, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
			}
			switch o.State {
			case pay.Success, pay.Refund:
				p.Paid, p.AckTotal = Acked, o.Total
				c.PayLanded++
			case pay.NotPay:
				var ignore Counts
				if p.Paid = r.pay(ctx, r.node(rng), p, &ignore); p.Paid != Acked {
					diverged("paying order %s again: %v", p.OutTradeNo, ignore.RefusedByServer)
				} else {
					c.PayRetried++
				}
			default:
				diverged("order %s whose payment was unknown is %s after recovery", p.OutTradeNo, o.State)
			}
			if p.Paid == Acked {
				c.paid(p)
			}
		}
		for _, x := range p.Refunds {
			if x.Outcome != Unknown {
				continue
			}
			before, err := st.QueryRefund(ctx, p.MchID, x.OutRefundNo)
			switch {
			case err == nil:
				c.RefundLanded++
			case fenfu.ErrorCode(err) == fenfu.ResourceNotExists:
				c.RefundRetried++
			default:
				return out, err
			}
			var ignore Counts
			r.refund(ctx, r.node(rng), p, x, &ignore)
			switch {
			case x.Outcome != Acked:
				diverged("refund %s again: %s %v", x.OutRefundNo, x.Outcome, ignore.RefusedByServer)
			case before.ID != "" && before.ID != x.RefundID:
				out = append(out, Finding{Doubled, fmt.Sprintf("refund %s was %s in the store and its retry answered %s",
					x.OutRefundNo, before.ID, x.RefundID)})
			default:
				c.Refunds++
			}
		}
		r.put(p)
	}
	return out, nil
}
