package bench

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// Merchant is a provisioned merchant and the client that signs for it.
type Merchant struct {
	MchID    string
	AppID    string
	APIv3Key string // to decrypt its notifications
	Client   *wxpay.Client
}

// Consumer is a provisioned consumer with a cashier session cookie and
// the PIN that confirms its payments.
type Consumer struct {
	ID     string
	Cookie string
	PIN    string
}

// Work is one payment, signed before the timed phase.
type Work struct {
	OutTradeNo string
	CreateBody []byte
	CreateAuth string
	QueryURI   string
	QueryAuth  string
	Cookie     string
	// PayBody is the cashier's pay request: credit, in full or in the
	// installments the payment chose.
	PayBody []byte
}

// installmentCounts are the counts an installment payment chooses, in
// turn.
var installmentCounts = [...]int{3, 6, 12}

// InstallmentShare tells whether payment i of a run chooses installments
// when share (0 to 1) of them do: every payment whose position in each
// hundred falls below share×100, spread evenly over merchants and
// consumers.
func InstallmentShare(i int, share float64) bool {
	return float64(i%100) < share*100
}

// Presign prepares n payments round-robin over merchants and consumers,
// signing every request now so the generator does no signing while timed.
// Signatures carry the current time and stay valid for 5 minutes. A share
// (0 to 1) of the payments offers 3, 6 and 12 installments on WeChat's
// subsidy_info, the fee borne by the consumer on every other one, and pays
// in 3, 6 or 12 of them in turn. It uses every core and reports progress,
// in payments, to report.
func Presign(ms []Merchant, cs []Consumer, n int, runID, notifyURL string, installments float64, report Progress) ([]Work, error) {
	work := make([]Work, n)
	var next atomic.Int64
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	now := time.Now()
	stop := make(chan struct{})
	go progress(report, stop, func() (int, int) { return int(done.Load()), n })
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				m := ms[i%len(ms)]
				no := fmt.Sprintf("B%s%08d", runID, i)
				req := map[string]any{"appid": m.AppID, "mchid": m.MchID, "description": "bench",
					"out_trade_no": no, "notify_url": notifyURL, "amount": map[string]any{"total": 100 + i%9000}}
				c := cs[i%len(cs)]
				pay := fmt.Appendf(nil, `{"channel":"credit","pin":%q}`, c.PIN)
				if InstallmentShare(i, installments) {
					percent := 100 * (i / 100 % 2) // merchant-borne on every other hundred
					var plans []map[string]int
					for _, n := range installmentCounts {
						plans = append(plans, map[string]int{"subsidy_installment_num": n, "subsidy_percent": percent})
					}
					req["subsidy_info"] = map[string]any{"subsidy_detail": []any{map[string]any{"subsidy_period_type": "PERIOD", "subsidy_plan": plans}}}
					pay = fmt.Appendf(nil, `{"channel":"credit","pin":%q,"installment_number":%d}`, c.PIN, installmentCounts[i%len(installmentCounts)])
				}
				body, _ := json.Marshal(req)
				ca, err := m.Client.Sign("POST", "/v3/pay/transactions/native", body, now)
				q := "/v3/pay/transactions/out-trade-no/" + no + "?mchid=" + m.MchID
				qa, err2 := m.Client.Sign("GET", q, nil, now)
				if err == nil {
					err = err2
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				work[i] = Work{OutTradeNo: no, CreateBody: body, CreateAuth: ca, QueryURI: q, QueryAuth: qa, Cookie: c.Cookie, PayBody: pay}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if report != nil {
		report(int(done.Load()), n)
	}
	return work, firstErr
}

// Progress is told how much of a step is done: done of total.
type Progress func(done, total int)

// progress reports count every second until stop is closed.
func progress(report Progress, stop <-chan struct{}, count func() (done, total int)) {
	if report == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			report(count())
		}
	}
}

// Sink is the merchants' notify_url during a run: it acknowledges every
// notification with 204 and counts them, as a merchant's server would
// (without verifying them, to keep its cost off the measurement).
type Sink struct {
	URL   string
	count atomic.Int64
	srv   *http.Server
}

// StartSink listens on a local port.
func StartSink() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{URL: "http://" + ln.Addr().String() + "/notify"}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.count.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Received is how many notifications arrived.
func (s *Sink) Received() int64 { return s.count.Load() }

// Close stops the sink.
func (s *Sink) Close() { _ = s.srv.Close() }

// Config is a load run.
type Config struct {
	BaseURL     string
	Concurrency int           // closed loop: this many payments in flight
	Rate        float64       // open loop: payments started per second (overrides Concurrency)
	Duration    time.Duration // stop after this long (0: when the work runs out)
	Progress    Progress      // told the payments done of the work

	// Nodes, if set, are several servers on the same stores to spread the
	// payments over instead of BaseURL: payment i makes its three calls
	// on Nodes[i%len(Nodes)], as a load balancer without affinity
	// would place whole payments round-robin.
	Nodes []string
}

// Calls names the timed calls of a payment.
var Calls = []string{"create", "pay", "query", "payment"}

// Sample is what a run measured.
type Sample struct {
	Elapsed  time.Duration
	Payments int
	Errors   map[string]int
	Hist     map[string]*Histogram

	// NodePayments counts the payments done on each of Config.Nodes (or
	// on BaseURL alone), in their order.
	NodePayments []int
}

type worker struct {
	hist   map[string]*Histogram
	errors map[string]int
	ok     int
	byNode []int // payments done, by node
}

// Run drives the work against cfg.BaseURL and returns what it measured.
func Run(ctx context.Context, cfg Config, work []Work) Sample {
	conc := cfg.Concurrency
	if cfg.Rate > 0 {
		conc = max(int(cfg.Rate/50), 256) // enough room for a backlog
	}
	tr := &http.Transport{MaxIdleConns: conc + 16, MaxIdleConnsPerHost: conc + 16, IdleConnTimeout: time.Minute,
		DisableCompression: true}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()

	var next, okCount, errCount atomic.Int64
	start := time.Now()
	deadline := time.Time{}
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	stop := make(chan struct{})
	go progress(cfg.Progress, stop, func() (int, int) { return int(okCount.Load() + errCount.Load()), len(work) })
	nodes := cfg.Nodes
	if len(nodes) == 0 {
		nodes = []string{cfg.BaseURL}
	}
	var mu sync.Mutex
	var workers []*worker
	newWorker := func() *worker {
		w := &worker{hist: map[string]*Histogram{}, errors: map[string]int{}, byNode: make([]int, len(nodes))}
		for _, c := range Calls {
			w.hist[c] = new(Histogram)
		}
		mu.Lock()
		workers = append(workers, w)
		mu.Unlock()
		return w
	}
	one := func(w *worker, i int, scheduled time.Time) {
		node := i % len(nodes)
		if err := payOnce(ctx, hc, nodes[node], &work[i], w, scheduled); err != "" {
			w.errors[err]++
			errCount.Add(1)
			return
		}
		w.ok++
		w.byNode[node]++
		okCount.Add(1)
	}
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		// Open loop: a payment starts every 1/rate, whatever the server's
		// pace; latency counts from the scheduled start, so a stalled
		// server is not hidden (no coordinated omission).
		interval := time.Duration(float64(time.Second) / cfg.Rate)
		jobs := make(chan int, len(work))
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newWorker()
				for i := range jobs {
					one(w, i, start.Add(time.Duration(i)*interval))
				}
			}()
		}
		for i := range work {
			at := start.Add(time.Duration(i) * interval)
			if !deadline.IsZero() && at.After(deadline) || ctx.Err() != nil {
				break
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			jobs <- i
		}
		close(jobs)
	} else {
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newWorker()
				for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
					i := int(next.Add(1) - 1)
					if i >= len(work) {
						return
					}
					one(w, i, time.Now())
				}
			}()
		}
	}
	wg.Wait()
	close(stop)
	s := Sample{Elapsed: time.Since(start), Errors: map[string]int{}, Hist: map[string]*Histogram{}, NodePayments: make([]int, len(nodes))}
	for _, c := range Calls {
		s.Hist[c] = new(Histogram)
	}
	for _, w := range workers {
		s.Payments += w.ok
		for n, ok := range w.byNode {
			s.NodePayments[n] += ok
		}
		for k, v := range w.errors {
			s.Errors[k] += v
		}
		for c, h := range w.hist {
			s.Hist[c].Merge(h)
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(len(work), len(work))
	}
	return s
}

// payOnce runs one payment's three calls and returns "" or an error key.
func payOnce(ctx context.Context, hc *http.Client, base string, wk *Work, w *worker, scheduled time.Time) string {
	t0 := time.Now()
	st, body, err := Do(ctx, hc, "POST", base+"/v3/pay/transactions/native", wk.CreateBody, wk.CreateAuth, "")
	w.hist["create"].Record(time.Since(t0))
	if key := errKey("create", st, body, err); key != "" {
		return key
	}
	var created struct {
		CodeURL string `json:"code_url"`
	}
	if json.Unmarshal(body, &created) != nil {
		return "create: bad body"
	}
	t1 := time.Now()
	st, body, err = Do(ctx, hc, "POST", base+CashierPath(created.CodeURL)+"/pay", wk.PayBody, "", wk.Cookie)
	w.hist["pay"].Record(time.Since(t1))
	if key := errKey("pay", st, body, err); key != "" {
		return key
	}
	t2 := time.Now()
	st, body, err = Do(ctx, hc, "GET", base+wk.QueryURI, nil, wk.QueryAuth, "")
	w.hist["query"].Record(time.Since(t2))
	if key := errKey("query", st, body, err); key != "" {
		return key
	}
	if !bytes.Contains(body, []byte(`"trade_state":"SUCCESS"`)) {
		return "query: not SUCCESS"
	}
	w.hist["payment"].Record(time.Since(scheduled))
	return ""
}

// CashierPath is the /q/<token> path of an order's code_url, which any
// node's cashier serves, whatever public URL the code_url names.
func CashierPath(codeURL string) string {
	if i := strings.Index(codeURL, "/q/"); i >= 0 {
		return codeURL[i:]
	}
	return codeURL
}

// Do makes one call as fenfu's clients do, asking for JSON, sending body
// (if any) as JSON, with auth as the Authorization header and cookie as
// the Cookie header when given. It returns the status and the whole body.
func Do(ctx context.Context, hc *http.Client, method, url string, body []byte, auth, cookie string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func errKey(call string, status int, body []byte, err error) string {
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return call + ": " + msg
	}
	if status/100 == 2 {
		return ""
	}
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return fmt.Sprintf("%s: HTTP %d %s", call, status, e.Code)
}

// CryptoCost measures the CPU time of the signature work the server does
// for one payment under a scheme: verify and sign for the create call and
// again for the query call (the cashier call carries no signature), and
// sign the payment notification. It runs on one thread and reads that
// thread's CPU time, so other work on the machine does not inflate it
// (elapsed time did, several times over on a busy machine); where the
// thread's CPU time cannot be read it falls back to elapsed time.
func CryptoCost(merchantKey, platformKey crypto.Signer, rounds int) (time.Duration, error) {
	msg := bytes.Repeat([]byte("x"), 300)
	sig, err := scheme.Sign(merchantKey, msg)
	if err != nil {
		return 0, err
	}
	pub := scheme.Public(merchantKey)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, cpuOK := threadCPU()
	start := time.Now()
	for range rounds {
		for range 2 { // create and query
			if err := scheme.Verify(pub, msg, sig); err != nil {
				return 0, err
			}
			if _, err := scheme.Sign(platformKey, msg); err != nil {
				return 0, err
			}
		}
		if _, err := scheme.Sign(platformKey, msg); err != nil { // the notification
			return 0, err
		}
	}
	elapsed := time.Since(start)
	if cpu1, ok := threadCPU(); cpuOK && ok && cpu1 > cpu0 {
		return (cpu1 - cpu0) / time.Duration(rounds), nil
	}
	return elapsed / time.Duration(rounds), nil
}

// threadCPU is the CPU time of the calling thread (Linux's
// RUSAGE_THREAD); ok is false elsewhere.
func threadCPU() (time.Duration, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// SortedErrors returns error keys by count, most first.
func SortedErrors(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys
}
