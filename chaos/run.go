package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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

	// Faults are what the cycles do, in turn (default: Kill).
	Faults Schedule
	// Sink, when set, is the NotifyURL's receiver: full checks then also
	// hold the notifications to what the client was told, waiting up to
	// NotifyWait for the ones still due.
	Sink       *Sink
	NotifyWait time.Duration
	// AfterCycle, when set, runs after a cycle's load and recovery, before
	// its checks (a settlement batch finishing what a fault interrupted);
	// it reports findings of its own.
	AfterCycle func(ctx context.Context, cycle int, all []*Payment) (Findings, error)
}

// Counts is what a run did and found.
type Counts struct {
	Cycles          int            `json:"cycles"`
	Faults          map[string]int `json:"faults"` // cycles by fault
	Kills           int            `json:"kills"`  // nodes killed with SIGKILL
	Payments        int            `json:"payments_acknowledged"`
	CreditPayments  int            `json:"credit_payments"`
	BalancePayments int            `json:"balance_payments"`
	Refunds         int            `json:"refunds_acknowledged"`
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
	// Calls whose outcome was unknown, by call and what the client got:
	// an HTTP status and code, or how the connection failed; with the
	// first message of each.
	FailedByServer map[string]int    `json:"failed_by_server,omitempty"`
	FailedMessages map[string]string `json:"failed_messages,omitempty"`
	// Retries of an unknown call after a fault was undone that had to be
	// made again, because the first retry failed too.
	SlowRetries int `json:"slow_retries,omitempty"`
	// Notifications: payments and refunds whose notification was checked,
	// extra deliveries of them, deliveries the kills cut off, and what the
	// checks found.
	NotifyChecked     int `json:"notify_checked,omitempty"`
	NotifyDuplicates  int `json:"notify_duplicates,omitempty"`
	NotifyEvents      int `json:"notify_duplicate_events,omitempty"` // duplicates that came as another event
	NotifyInterrupted int `json:"notify_interrupted,omitempty"`
	Unnotified        int `json:"unnotified"`
	Misnotified       int `json:"misnotified"`
	Unrecovered       int `json:"unrecovered"`
	Unsettled         int `json:"unsettled"`
}

func (c *Counts) add(o Counts) {
	c.Cycles += o.Cycles
	c.Kills += o.Kills
	c.SlowRetries += o.SlowRetries
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
	if o.NotifyChecked > 0 { // a full check's counts are of the whole run
		c.NotifyChecked, c.NotifyDuplicates, c.NotifyEvents, c.NotifyInterrupted = o.NotifyChecked, o.NotifyDuplicates, o.NotifyEvents, o.NotifyInterrupted
	}
	addAll(&c.RefusedByServer, o.RefusedByServer)
	addAll(&c.FailedByServer, o.FailedByServer)
	addAll(&c.Faults, o.Faults)
	for k, v := range o.FailedMessages {
		note(&c.FailedMessages, k, v)
	}
}

func addAll(to *map[string]int, from map[string]int) {
	for k, v := range from {
		bump(to, k, v)
	}
}

func bump(m *map[string]int, k string, n int) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k] += n
}

// note keeps the first message seen of k.
func note(m *map[string]string, k, msg string) {
	if *m == nil {
		*m = map[string]string{}
	}
	if _, ok := (*m)[k]; !ok {
		(*m)[k] = msg
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
	if len(cfg.Faults) == 0 {
		cfg.Faults = Schedule{Kill()}
	}
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
			total.Unnotified += f.Findings.Count(Unnotified)
			total.Misnotified += f.Findings.Count(Misnotified)
			total.Unrecovered += f.Findings.Count(Unrecovered)
			total.Unsettled += f.Findings.Count(Unsettled)
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
	kills   atomic.Int64
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

// Nodes, Kill and Restart make the runner the faults' Cluster.
func (r *runner) Nodes() int { return len(r.nodes) }

func (r *runner) Kill(i int) error {
	r.mu.Lock()
	n := r.nodes[i]
	r.nodes[i] = nil
	r.mu.Unlock()
	if n == nil {
		return fmt.Errorf("chaos: node %d is already down", i)
	}
	r.kills.Add(1)
	return n.Kill()
}

func (r *runner) Restart(ctx context.Context, i int) error { return r.start(ctx, i) }

// ready waits until every node answers its health check (both stores
// reachable), for up to Settle; a node that does not is a finding.
func (r *runner) ready(ctx context.Context) Findings {
	deadline := time.Now().Add(r.cfg.Settle)
	for {
		var down []string
		r.mu.Lock()
		nodes := append([]Node(nil), r.nodes...)
		r.mu.Unlock()
		for i, n := range nodes {
			if n == nil {
				down = append(down, fmt.Sprintf("node %d is not running", i))
				continue
			}
			st, b, err := bench.Do(ctx, r.hc, "GET", n.URL()+"/healthz", nil, "", "")
			if err != nil || st != http.StatusOK {
				down = append(down, fmt.Sprintf("node %d: /healthz answered %d %s %v", i, st, b, err))
			}
		}
		if len(down) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var out Findings
			for _, d := range down {
				out = append(out, Finding{Unrecovered, d})
			}
			return out
		}
		time.Sleep(200 * time.Millisecond)
	}
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

// cycle is one cycle: load, a fault (a kill, by default) and its undoing
// (a restart), recovery, resolution of the unknown calls, the check and
// the proof.
func (r *runner) cycle(ctx context.Context, cycle int) (Counts, error) {
	cfg := r.cfg
	fault := cfg.Faults.At(cycle)
	load := cfg.MinLoad + time.Duration(r.rng.Int64N(int64(cfg.MaxLoad-cfg.MinLoad)+1))
	at := time.Duration(float64(load) * (0.15 + 0.7*r.rng.Float64()))
	act := fault.Plan(r.rng, r)
	workerSeed := r.rng.Uint64()
	if fault.Outage > 0 {
		// Load goes on through the outage and for a while after it.
		load = max(load, at+fault.Outage+cfg.MinLoad)
	}
	r.touched = nil
	kills := r.kills.Load()

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
	sleep(ctx, at)
	faultErr := act.Do(ctx)
	undone := false
	if faultErr == nil && fault.Outage > 0 {
		sleep(ctx, fault.Outage)
		faultErr, undone = act.Undo(ctx), true
	}
	wg.Wait()
	var c Counts
	for _, x := range counts {
		c.add(x)
	}
	c.Cycles, c.Faults = 1, map[string]int{fault.Name: 1}
	if faultErr == nil && !undone {
		faultErr = act.Undo(ctx)
	}
	c.Kills = int(r.kills.Load() - kills)
	if faultErr != nil {
		return c, fmt.Errorf("chaos: %s (%s): %w", fault.Name, act.Note, faultErr)
	}
	findings := r.ready(ctx)

	// Let recovery settle what the fault interrupted, then learn what
	// became of each unknown call and retry it where it did not land.
	var err error
	if c.PayingAfterKill, c.ProcessingAfterKill, err = r.settle(ctx); err != nil {
		return c, err
	}
	more, err := r.resolve(ctx, cycle, &c)
	if err != nil {
		return c, err
	}
	findings = append(findings, more...)
	if _, _, err := r.settle(ctx); err != nil {
		return c, err
	}
	if cfg.AfterCycle != nil {
		more, err := cfg.AfterCycle(ctx, cycle, r.all)
		if err != nil {
			return c, err
		}
		findings = append(findings, more...)
	}
	ps, wallets, starts := r.touched, Wallets(nil), []Start(nil)
	full := cycle == cfg.Cycles || (cfg.FullCheckEvery > 0 && cycle%cfg.FullCheckEvery == 0)
	if full {
		ps, wallets = r.all, cfg.Wallets
		for _, x := range cfg.Consumers {
			starts = append(starts, Start{x.ID, x.Balance})
		}
	}
	more, err = Check(ctx, cfg.Store, ps, wallets, starts)
	if err != nil {
		return c, err
	}
	findings = append(findings, more...)
	notified := ""
	if full && cfg.Sink != nil {
		ids, err := r.orderIDs(ctx, ps)
		if err != nil {
			return c, err
		}
		waitFrom := time.Now()
		checked, dups, events, more, err := cfg.Sink.awaitNotified(ctx, ps, ids, cfg.NotifyWait)
		if err != nil {
			return c, err
		}
		findings = append(findings, more...)
		_, interrupted, _ := cfg.Sink.Delivered()
		// Each full check counts the run so far: the total keeps the last.
		c.NotifyChecked, c.NotifyDuplicates, c.NotifyEvents, c.NotifyInterrupted = checked, dups, events, interrupted
		notified = fmt.Sprintf("; notifications: %d checked (all in after %.1fs), %d duplicates (%d as another event), %d deliveries cut off, %d findings",
			checked, time.Since(waitFrom).Seconds(), dups, events, interrupted, len(more))
	}
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
		fmt.Fprintf(cfg.Log, "cycle %d: %s: load %.1fs, %s at %.1fs; acknowledged %d payments, %d refunds; unknown %d/%d/%d (create/pay/refund); %d PAYING and %d PROCESSING after the fault; checked %d orders (%s): %d findings; verify %s%s\n",
			cycle, fault.Name, load.Seconds(), act.Note, at.Seconds(), c.Payments, c.Refunds, c.UnknownCreate, c.UnknownPay, c.UnknownRefund,
			c.PayingAfterKill, c.ProcessingAfterKill, len(ps), scope, len(findings), verified, notified)
	}
	if len(findings) > 0 {
		return c, &Failure{Reason: fmt.Sprintf("%d findings", len(findings)), Findings: findings}
	}
	return c, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// orderIDs are the store's ids (the transaction_id) of the paid orders of
// ps.
func (r *runner) orderIDs(ctx context.Context, ps []*Payment) (map[*Payment]string, error) {
	ids := map[*Payment]string{}
	for _, p := range ps {
		if p.Paid != Acked {
			continue
		}
		o, err := r.cfg.Store.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
		if err != nil {
			return nil, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
		}
		ids[p] = o.ID
	}
	return ids, nil
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
				return paying, processing, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
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
		bump(&c.RefusedByServer, call+" "+api.Body.Code, 1)
		note(&c.FailedMessages, call+" "+api.Body.Code, api.Body.Message)
		return Refused
	case errors.Is(err, syscall.ECONNREFUSED):
		c.ConnRefused++
		return NotSent
	}
	key := call + " " + failure(err)
	bump(&c.FailedByServer, key, 1)
	msg := err.Error()
	if errors.As(err, &api) {
		msg = api.Body.Message
	}
	note(&c.FailedMessages, key, msg)
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

// failure names how a call whose outcome is unknown failed: the HTTP
// status and code of a 5xx, or what became of the connection.
func failure(err error) string {
	var api *wxpay.APIError
	var ne net.Error
	switch {
	case errors.As(err, &api):
		return fmt.Sprintf("HTTP %d %s", api.Status, api.Body.Code)
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport error"
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

// pay pays the order through the cashier's JSON endpoint as its consumer,
// confirmed with the consumer's PIN as every cashier payment is.
func (r *runner) pay(ctx context.Context, base string, p *Payment, c *Counts) Outcome {
	if base == "" {
		return NotSent
	}
	body, _ := json.Marshal(map[string]string{"channel": string(p.Channel), "pin": r.cfg.Consumers[p.consumer].PIN})
	st, b, err := bench.Do(ctx, r.hc, "POST", base+p.token+"/pay", body, "", r.cookies[p.consumer])
	var out struct {
		TradeState string    `json:"trade_state"`
		Total      fenfu.Fen `json:"total"`
		Code       string    `json:"code"`
		Message    string    `json:"message"`
	}
	if err == nil {
		_ = json.Unmarshal(b, &out)
		switch {
		case st/100 == 2:
		default:
			err = &wxpay.APIError{Status: st, Body: wxpay.ErrorBody{Code: out.Code, Message: out.Message}}
		}
	}
	o := classify(err, "pay", c)
	if o == Acked {
		p.AckTotal, p.AckedAt = out.Total, time.Now()
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

// again makes a retry of an unknown call until it has a definite answer,
// up to five times a second apart: a node just back from a fault may
// fail a call or two before its connections to the stores are new.
func (r *runner) again(ctx context.Context, c *Counts, call func() Outcome) Outcome {
	for i := 0; ; i++ {
		o := call()
		if (o != Unknown && o != NotSent) || i == 4 || ctx.Err() != nil {
			return o
		}
		c.SlowRetries++
		sleep(ctx, time.Second)
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
				return out, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
			}
			var ignore Counts
			if p.Created = r.again(ctx, c, func() Outcome { return r.create(ctx, r.node(rng), p, &ignore) }); p.Created != Acked {
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
				p.Paid, p.AckTotal, p.AckedAt = Acked, o.Total, time.Now()
				c.PayLanded++
			case pay.NotPay:
				var ignore Counts
				if p.Paid = r.again(ctx, c, func() Outcome { return r.pay(ctx, r.node(rng), p, &ignore) }); p.Paid != Acked {
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
				return out, fmt.Errorf("chaos: read refund %s: %w", x.OutRefundNo, err)
			}
			var ignore Counts
			r.again(ctx, c, func() Outcome { r.refund(ctx, r.node(rng), p, x, &ignore); return x.Outcome })
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
