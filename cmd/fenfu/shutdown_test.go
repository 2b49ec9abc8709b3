package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// TestGracefulShutdown pays many orders concurrently and stops the server
// in the middle: every payment the server answered as paid is paid in the
// books, none is left between the stores, and the books prove.
func TestGracefulShutdown(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testGracefulShutdown(t, engine) })
	}
}

func testGracefulShutdown(t *testing.T, engine db.Engine) {
	dir := t.TempDir()
	coreDSN, creditDSN := filepath.Join(dir, "core.db"), filepath.Join(dir, "credit.db")
	if engine == db.Postgres {
		coreDSN, creditDSN = dbtest.DSN(t, engine, "core"), dbtest.DSN(t, engine, "credit")
	}
	in := &instance{t: t, args: []string{"--data-dir", dir, "--core-db", coreDSN, "--credit-db", creditDSN}}
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var cons struct {
		ID    string `json:"id"`
		Phone string `json:"phone"`
		PIN   string `json:"pin"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000000", "--rating", "A", "--balance", "0")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{ch: make(chan string, 4)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--notify-private"}, in.args...), func(string) string { return "" }, nil, out, io.Discard)
	}()
	base := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(<-out.ch)[1]
	in.base = base
	client := sdkClient(t, base, m)

	const n = 60
	codes := make([]string, n)
	for i := range n {
		var resp struct {
			CodeURL string `json:"code_url"`
		}
		res, err := client.Post(context.Background(), "https://api.mch.weixin.qq.com/v3/pay/transactions/native", map[string]any{
			"appid": m.AppID, "mchid": m.MchID, "description": "x", "out_trade_no": fmt.Sprintf("SHUT-%04d", i),
			"notify_url": "https://shop.example/n", "amount": map[string]any{"total": 100 + i}})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&resp)
		codes[i] = resp.CodeURL
	}
	var paid sync.Map
	var npaid atomic.Int32
	var once sync.Once
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _ := url.Parse(codes[i])
			body, _ := json.Marshal(map[string]string{"channel": "credit", "phone": cons.Phone, "pin": cons.PIN})
			resp, err := http.Post(base+u.Path+"/pay", "application/json", bytes.NewReader(body))
			if err != nil {
				return // refused after shutdown began
			}
			defer resp.Body.Close()
			if resp.StatusCode == 200 {
				paid.Store(fmt.Sprintf("SHUT-%04d", i), true)
				if npaid.Add(1) == n/4 {
					once.Do(cancel) // SIGTERM while the rest are in flight
				}
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// Reopen the stores: every answered payment is paid; nothing is in flight.
	core, err := sql.Open(map[db.Engine]string{db.SQLite: "sqlite", db.Postgres: "pgx"}[engine], coreDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	count := 0
	paid.Range(func(k, _ any) bool {
		count++
		var state string
		if err := core.QueryRow(`SELECT state FROM orders WHERE out_trade_no = $1`, k).Scan(&state); err != nil || state != "SUCCESS" {
			t.Errorf("order %s answered as paid is %q (%v)", k, state, err)
		}
		return true
	})
	var paying int
	if err := core.QueryRow(`SELECT COUNT(*) FROM orders WHERE state = 'PAYING'`).Scan(&paying); err != nil || paying != 0 {
		t.Fatalf("%d orders left between the stores (%v)", paying, err)
	}
	if count == 0 {
		t.Fatal("no payment completed before shutdown; the test proves nothing")
	}
	t.Logf("%d of %d payments completed before and during shutdown", count, n)
	if out, err := in.cli("verify"); err != nil || !strings.Contains(out, "the books prove") {
		t.Fatalf("verify after shutdown: %v %s", err, out)
	}
}

// lineWriter sends each line written to it on ch.
type lineWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.ch <- line:
		default:
		}
	}
}

func TestVerifyFailsOnCorruption(t *testing.T) {
	dir := t.TempDir()
	in := &instance{t: t, args: []string{"--data-dir", dir}}
	out, err := in.cli("demo", "--data-dir", dir)
	if err != nil {
		t.Fatalf("demo: %v %s", err, out)
	}
	if out, err := in.cli("verify"); err != nil {
		t.Fatalf("verify clean: %v %s", err, out)
	}
	d, err := sql.Open("sqlite", filepath.Join(dir, "credit.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE ledger_entries SET amount = amount - 100 WHERE txn_id LIKE 'payment:%' AND amount > 0`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = in.cli("verify")
	if err == nil || !strings.Contains(err.Error(), "unbalanced transaction") || !strings.Contains(err.Error(), "credit store") {
		t.Fatalf("verify of corrupted books: %v, want it to name the unbalanced transaction", err)
	}
}

// TestVerifyFailsOnChainTamper: books changed in a way their own proof
// does not see (a sealed transaction's time) fail fenfu verify at the
// transaction's position in its store's ledger chain.
func TestVerifyFailsOnChainTamper(t *testing.T) {
	dir := t.TempDir()
	in := &instance{t: t, args: []string{"--data-dir", dir}}
	if out, err := in.cli("demo", "--data-dir", dir); err != nil {
		t.Fatalf("demo: %v %s", err, out)
	}
	out, err := in.cli("verify")
	if err != nil || !strings.Contains(out, "credit ledger chain") {
		t.Fatalf("verify clean: %v %s", err, out)
	}
	d, err := sql.Open("sqlite", filepath.Join(dir, "credit.db"))
	if err != nil {
		t.Fatal(err)
	}
	var pos int64
	var id string
	if err := d.QueryRow(`SELECT pos, txn_id FROM ledger_chain WHERE txn_id LIKE 'payment:%' ORDER BY pos LIMIT 1`).Scan(&pos, &id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE ledger_txns SET created_at = created_at + 1 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = in.cli("verify")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ledger chain broken at position %d (edited)", pos)) || !strings.Contains(err.Error(), "credit store") {
		t.Fatalf("verify of a changed sealed transaction: %v, want the credit chain broken at position %d", err, pos)
	}
}

// TestShutdownWaitsForStaffSettlement: a settlement run that staff start
// is serve's background work: shutdown cancels it and returns only once
// it has ended, before the stores close.
func TestShutdownWaitsForStaffSettlement(t *testing.T) {
	ctx := t.Context()
	day := time.Date(2026, 11, 26, 12, 0, 0, 0, fenfu.Shanghai)
	clock := fenfu.NewFakeClock(day)
	cfg := testConfig(t)
	cfg.SettleAt = 23*time.Hour + 59*time.Minute // the scheduler leaves the day to staff
	a, err := openAt(ctx, cfg, discardLogger(), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	// A paid order of the day, for the batch to settle.
	m, err := a.merchants.CreateSandbox(ctx, "Slow shop", scheme.SM2)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{Balance: 10_000, Rating: "B"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.pay.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "x", OutTradeNo: "SLOW-0001",
		NotifyURL: "https://shop.example/n", Total: 500})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.pay.Pay(ctx, o.Token, c.ID, pay.ChannelBalance); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 11, 27, 4, 0, 0, 0, fenfu.Shanghai))
	// The run is slow: its merchant's step, which ends by reporting
	// progress, outlasts the request that started it and the shutdown.
	var ended atomic.Int64
	a.settle.Progress = func(settle.Progress) {
		time.Sleep(3 * time.Second)
		ended.Store(time.Now().UnixNano())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.serve(sctx, ln, io.Discard) }()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/admin/settlements/run", strings.NewReader(`{"date":"2026-11-26"}`))
	req.Header.Set("Authorization", "Bearer "+accesstest.Named(t, a.access, "li.wei", access.Finance, access.StaffRank))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || ended.Load() != 0 {
		t.Fatalf("the run answered HTTP %d %s, ended %v; want it still running", resp.StatusCode, body, ended.Load() != 0)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	returned := time.Now().UnixNano()
	if e := ended.Load(); e == 0 || e > returned {
		t.Fatalf("serve returned before the staff's settlement run ended")
	}
}
