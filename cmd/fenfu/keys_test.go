package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/seal"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// eventually retries f until it succeeds or bound passes, and returns
// how long it took: how a change made on one node is seen reaching
// another, which polls for it.
func eventually(t *testing.T, bound time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(bound)
	for {
		err := f()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, bound, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// platformKeys is what fenfu platform prints.
type platformKeys struct {
	Keys []struct {
		Slot          string `json:"slot"`
		PublicKeyID   string `json:"public_key_id"`
		PublicKeyPath string `json:"public_key_path"`
	} `json:"keys"`
}

func (p platformKeys) slot(t *testing.T, slot string) (id, path string) {
	t.Helper()
	for _, k := range p.Keys {
		if k.Slot == slot {
			return k.PublicKeyID, k.PublicKeyPath
		}
	}
	t.Fatalf("no %s platform key in %+v", slot, p)
	return "", ""
}

// TestKeysForManyNodes: two nodes sharing PostgreSQL, each with an empty
// data directory and only the master key in common (one reads it from the
// environment, the other from a command), answer signed requests the
// official SDK verifies; a platform key rotation reaches both without a
// restart; and a master key rotation — rolling restarts with the new and
// the old master, then fenfu keys reseal — completes while payments run,
// every one succeeding, after which nothing is sealed under the old
// master, the blind index still finds the consumer by phone, and the
// books prove.
func TestKeysForManyNodes(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("two nodes share a PostgreSQL store: set " + dbtest.EnvPostgres)
	}
	ctx := context.Background()
	oldHex, newHex := strings.Repeat("1f", 16), strings.Repeat("2e", 16)
	keyDir := t.TempDir()
	keyFile := func(name, hex string) string {
		path := filepath.Join(keyDir, name)
		if err := os.WriteFile(path, []byte(hex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldFile, newFile := keyFile("old.key", oldHex), keyFile("new.key", newHex)
	stores := []string{"--core-db", dbtest.DSN(t, db.Postgres, "core"), "--credit-db", dbtest.DSN(t, db.Postgres, "credit")}
	dirs := []string{t.TempDir(), t.TempDir()}
	env := func(vars ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == k {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	poll := []string{"--keys-poll-every", "1s"}
	var mu sync.Mutex
	nodes := []*instance{
		startNode(t, append([]string{"--data-dir", dirs[0]}, stores...), env("FENFU_MASTER_KEY", oldHex), poll...),
		startNode(t, append([]string{"--data-dir", dirs[1], "--master-key-command", "cat " + oldFile}, stores...), nil, poll...),
	}
	node := func(i int) *instance {
		mu.Lock()
		defer mu.Unlock()
		return nodes[i]
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "master.key")); err == nil {
			t.Fatal("a node wrote the master key it was given into its data directory")
		}
	}

	var m sandboxMerchant
	nodes[0].mustCLI(&m, "sandbox", "merchant")
	var cons struct {
		ID, Phone, PIN string
	}
	nodes[1].mustCLI(&cons, "consumer", "create", "--credit-limit", "100000000", "--rating", "A", "--phone", "13800138000", "--pin", "246810")
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer hook.Close()
	var seq sync.Mutex
	n := 0
	// prepay creates an order on a node with a client that verifies the
	// answer with the platform key id (its public key file at path).
	prepay := func(in *instance, id, path string) (string, string, error) {
		seq.Lock()
		n++
		no := fmt.Sprintf("KEYS-%04d", n)
		seq.Unlock()
		mm := m
		mm.PlatformPublicKeyID, mm.PlatformPublicKeyPath = id, path
		svc := native.NativeApiService{Client: sdkClient(t, in.base, mm)}
		resp, _, err := svc.Prepay(ctx, native.PrepayRequest{
			Appid: core.String(m.AppID), Mchid: core.String(m.MchID), Description: core.String("keys"),
			OutTradeNo: core.String(no), NotifyUrl: core.String(hook.URL + "/notify"),
			Amount: &native.Amount{Total: core.Int64(100), Currency: core.String("CNY")},
		})
		if err != nil {
			return "", "", err
		}
		return no, *resp.CodeUrl, nil
	}
	for i := range nodes {
		if _, _, err := prepay(node(i), m.PlatformPublicKeyID, m.PlatformPublicKeyPath); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}

	// A platform key rotation, step by step from node 1, reaches both
	// running nodes.
	var rotated platformKeys
	nodes[0].mustCLI(&rotated, "platform", "rotate-key")
	nextID, nextPath := rotated.slot(t, "next")
	for i := range nodes {
		eventually(t, 15*time.Second, fmt.Sprintf("node %d answers with the next key", i+1), func() error {
			_, _, err := prepay(node(i), nextID, nextPath)
			return err
		})
	}
	// servedBy is the key a node signs with for a client that names none.
	servedBy := func(in *instance) (string, error) {
		resp, err := http.Get(in.base + "/v3/pay/transactions/out-trade-no/none?mchid=" + m.MchID)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return resp.Header.Get("Wechatpay-Serial"), nil
	}
	for i := range nodes {
		if got, err := servedBy(node(i)); err != nil || got != m.PlatformPublicKeyID {
			t.Fatalf("node %d signs with %s before promotion, want %s (%v)", i+1, got, m.PlatformPublicKeyID, err)
		}
	}
	var promoted platformKeys
	nodes[1].mustCLI(&promoted, "platform", "promote-key")
	prevID, prevPath := promoted.slot(t, "previous")
	curID, curPath := promoted.slot(t, "current")
	if prevID != m.PlatformPublicKeyID || curID != nextID {
		t.Fatalf("the previous key is %s, want %s", prevID, m.PlatformPublicKeyID)
	}
	for i := range nodes {
		took := eventually(t, 15*time.Second, fmt.Sprintf("node %d signs with the promoted key by default", i+1), func() error {
			got, err := servedBy(node(i))
			if err == nil && got != nextID {
				err = fmt.Errorf("signed with %s", got)
			}
			return err
		})
		t.Logf("node %d signed with the promoted key %s after the command", i+1, took.Round(time.Millisecond))
		if _, _, err := prepay(node(i), prevID, prevPath); err != nil {
			t.Fatalf("node %d no longer answers a client of the previous key: %v", i+1, err)
		}
	}

	// A master key rotation while payments run on both nodes.
	stop := make(chan struct{})
	var paid int
	var payErrs []error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			in := node(i % 2)
			if in == nil { // restarting
				continue
			}
			no, codeURL, err := prepay(in, curID, curPath)
			if err == nil {
				_, err = in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "credit", codeURL)
			}
			mu.Lock()
			if err != nil && nodes[i%2] != in {
				// The node was stopped for its restart while this call
				// was on its way: a keep-alive connection the stopping
				// server closed answers EOF. Only calls to a node that
				// stayed up must succeed.
				mu.Unlock()
				continue
			}
			if err != nil {
				payErrs = append(payErrs, fmt.Errorf("%s: %w", no, err))
			} else {
				paid++
			}
			mu.Unlock()
		}
	}()
	payments := func() int {
		mu.Lock()
		defer mu.Unlock()
		return paid
	}
	// Rolling restarts: each node in turn gets the new master, and the
	// old one as the previous; the other keeps serving.
	restarted := [][]string{
		append([]string{"--data-dir", dirs[0]}, stores...),
		append([]string{"--data-dir", dirs[1], "--master-key-command", "cat " + newFile, "--previous-master-key-file", oldFile}, stores...),
	}
	envs := []func(string) string{env("FENFU_MASTER_KEY", newHex, "FENFU_PREVIOUS_MASTER_KEY", oldHex), nil}
	for i := range nodes {
		before := payments()
		eventually(t, 60*time.Second, "a payment before the restart", func() error {
			if payments() == before {
				return fmt.Errorf("%d payments", before)
			}
			return nil
		})
		mu.Lock()
		old := nodes[i]
		nodes[i] = nil
		mu.Unlock()
		old.stop()
		in := startNode(t, restarted[i], envs[i], poll...)
		mu.Lock()
		nodes[i] = in
		mu.Unlock()
	}
	var resealed struct {
		Master    string `json:"master"`
		Rewrapped int    `json:"rewrapped"`
	}
	before := payments()
	start := time.Now()
	node(0).mustCLI(&resealed, "keys", "reseal")
	t.Logf("keys reseal took %s beside payments", time.Since(start).Round(time.Millisecond))
	eventually(t, 60*time.Second, "a payment after the reseal", func() error {
		if payments() == before {
			return fmt.Errorf("%d payments", before)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if len(payErrs) > 0 || paid == 0 {
		t.Fatalf("%d payments, failures: %v", paid, payErrs)
	}
	oldID, newID := seal.MasterID([]byte(strings.Repeat("\x1f", 16))), seal.MasterID([]byte(strings.Repeat("\x2e", 16)))
	if resealed.Master != newID || resealed.Rewrapped == 0 {
		t.Fatalf("reseal: %+v", resealed)
	}
	// A rerun finds nothing left, and nothing is sealed under the old
	// master (the nodes sealed under the new one since their restart).
	var rerun struct {
		Rewrapped int `json:"rewrapped"`
	}
	node(1).mustCLI(&rerun, "keys", "reseal")
	var status struct {
		Masters map[string]int `json:"masters"`
	}
	node(1).mustCLI(&status, "keys", "status")
	if status.Masters[oldID] != 0 || status.Masters[newID] == 0 || len(status.Masters) != 1 {
		t.Fatalf("keys status: %v (old %s, new %s)", status.Masters, oldID, newID)
	}
	// The old master alone opens nothing; the new one alone serves.
	alone := func(hex string) error {
		cfg := DefaultConfig(env("FENFU_MASTER_KEY", hex))
		cfg.DataDir, cfg.CoreDB, cfg.CreditDB = t.TempDir(), stores[1], stores[3]
		if err := cfg.Validate(); err != nil {
			return err
		}
		a, err := openAt(ctx, cfg, discardLogger(), fenfu.SystemClock{})
		if err != nil {
			return err
		}
		defer a.close()
		// The blind index still finds the consumer by phone.
		_, err = a.consumers.Login(ctx, cons.Phone, cons.PIN, "192.0.2.1")
		return err
	}
	if err := alone(oldHex); err == nil || !strings.Contains(err.Error(), newID) {
		t.Fatalf("a node with the old master alone: %v", err)
	}
	if err := alone(newHex); err != nil {
		t.Fatalf("a node with the new master alone: %v", err)
	}
	for i := range nodes {
		if _, _, err := prepay(node(i), curID, curPath); err != nil {
			t.Fatalf("node %d after the master rotation: %v", i+1, err)
		}
	}
	var verified json.RawMessage
	node(0).mustCLI(&verified, "verify", "--json")
	t.Logf("%d payments during the master rotation; %d values rewrapped", paid, resealed.Rewrapped)
}

// TestMasterKeySettings: a master key source that is wrong stops every
// command with a message that says which and never shows the key.
func TestMasterKeySettings(t *testing.T) {
	dir := t.TempDir()
	secretish := strings.Repeat("ab", 15) + "z" // 31 characters, one not hex
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte(secretish), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		args   []string
		code   int
		want   string
	}{
		{"a key not in hex", func(k string) string {
			if k == "FENFU_MASTER_KEY" {
				return secretish
			}
			return ""
		}, nil, 2, "FENFU_MASTER_KEY must be 32 hex digits"},
		{"a failing command", nil, []string{"--master-key-command", "echo denied >&2; exit 3"}, 1, "denied"},
		{"a command printing no key", nil, []string{"--master-key-command", "cat " + bad}, 1, "is not 32 hex digits"},
		{"a file of no key", nil, []string{"--master-key-file", bad}, 1, "is not 32 hex digits"},
		{"a missing file", nil, []string{"--master-key-file", filepath.Join(dir, "none.key")}, 1, "does not exist"},
		{"the previous master as the master", nil, []string{"--master-key-file", filepath.Join(dir, "m.key"), "--previous-master-key-file", filepath.Join(dir, "m.key")}, 2,
			"--previous-master-key-file must not be the --master-key-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := fenfuCLI(t, tc.getenv, append([]string{"verify", "--data-dir", dir}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) || strings.Contains(errs, secretish) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q, without the key", code, errs, tc.code, tc.want)
			}
		})
	}
}
