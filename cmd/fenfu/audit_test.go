package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// lockedBuffer is a log file serve writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestAuditVerify: staff requests to a server and rule and key changes
// from the command line are recorded in the audit logs, which audit verify
// proves, alone and against the anchors serve logged when it stopped; a
// log cut short (head row and all) verifies alone and fails against the
// anchors, naming the entry; an edited entry fails without them.
func TestAuditVerify(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir}
			if engine == db.Postgres {
				args = append(args, "--core-db", dbtest.DSN(t, engine, "core"), "--credit-db", dbtest.DSN(t, engine, "credit"))
			}
			in := &instance{t: t, args: args}
			var sandbox struct {
				MchID string `json:"mchid"`
			}
			in.mustCLI(&sandbox, "sandbox", "merchant")

			// A server, its log kept as an operator would keep it.
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			log := &lockedBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, nil, pw, log)
				pw.Close()
			}()
			line, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				cancel()
				t.Fatalf("server did not start: %v", err)
			}
			go io.Copy(io.Discard, pr)
			in.base = regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(line)[1]
			waitHealthy(t, in.base)
			in.mustCLI(nil, "staff", "bootstrap", "--name", "li.wei")
			var token struct {
				Token string `json:"token"`
			}
			in.mustCLI(&token, "staff", "token", "create", "--name", "li.wei")
			for _, r := range []struct{ method, path, body string }{
				{"GET", "/admin/applications", ""},
				{"GET", "/admin/risk/rules", ""},
				{"POST", "/admin/merchants/" + sandbox.MchID + "/rollout", `{"percent": 50}`},
				{"GET", "/admin/consumers/nobody/credit", ""},
			} {
				req, _ := http.NewRequest(r.method, in.base+r.path, strings.NewReader(r.body))
				req.Header.Set("Authorization", "Bearer "+token.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			in.mustCLI(nil, "risk", "disable", "--name", "night-large-credit", "--why", "a night market this week", "--staff", "li.wei")
			var rotated struct {
				Key string `json:"apiv3_key"`
			}
			in.mustCLI(&rotated, "merchant", "rotate-v3-key", "--mchid", sandbox.MchID, "--actor", "ops.zhang")
			in.mustCLI(nil, "platform", "rotate-key", "--scheme", "sm2")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(dir, "fenfu.log")
			if err := os.WriteFile(logFile, log.b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}

			var out struct {
				Anchors int            `json:"anchors_read"`
				Stores  []audit.Report `json:"stores"`
			}
			in.mustCLI(&out, "audit", "verify", "--anchors", logFile, "--json")
			// An anchor at shutdown for each store, and another for a store
			// whose head had moved when serve's loop first looked, which
			// races the first requests.
			if out.Anchors < 2 || len(out.Stores) != 2 {
				t.Fatalf("audit verify: %+v\nlog:\n%s", out, log.b.String())
			}
			// core: 2 staff requests and 2 key changes; credit: 2 staff
			// requests and the rule change.
			for i, want := range []int64{4, 3} {
				if r := out.Stores[i]; !r.OK() || r.Entries != want || r.Anchors < 1 {
					t.Errorf("%s: %+v, want %d entries and an anchor", r.Store, r, want)
				}
			}
			core, credit := in.store(t, "core"), in.store(t, "credit")
			for _, c := range []struct {
				d                     *db.DB
				actor, action, target string
			}{
				{core, "staff:ops.zhang", audit.ActionKeyChange, sandbox.MchID},
				{credit, "staff:li.wei", audit.ActionRuleChange, "2"},
			} {
				list, err := audit.List(context.Background(), c.d, audit.Filter{Action: c.action, TargetID: c.target})
				if err != nil || len(list) != 1 || list[0].Actor != c.actor || list[0].Target.ID != c.target {
					t.Errorf("%s %s: %+v %v", c.d.Name, c.action, list, err)
				}
				if rotated.Key == "" || bytes.Contains(list[0].Detail, []byte(rotated.Key)) {
					t.Errorf("a key reached the audit log: %s", list[0].Detail)
				}
			}
			var who struct {
				Actor string `json:"actor"`
			}
			if list, _ := audit.List(context.Background(), core, audit.Filter{TargetKind: "platform key"}); len(list) != 1 ||
				json.Unmarshal([]byte(`{"actor":"`+list[0].Actor+`"}`), &who) != nil || !strings.HasPrefix(who.Actor, "os:") {
				t.Errorf("platform key change: %+v", list)
			}

			// The last credit entry cut off, head row and all.
			if _, err := credit.Exec(context.Background(), `DELETE FROM audit_log WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			if _, err := credit.Exec(context.Background(), `UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)`); err != nil {
				t.Fatal(err)
			}
			in.mustCLI(nil, "audit", "verify", "--store", "credit")
			_, err = in.cli("audit", "verify", "--anchors", logFile)
			if err == nil || !strings.Contains(err.Error(), "broken at entry 3 (truncated)") {
				t.Errorf("verify of a truncated log against its anchors: %v", err)
			}
			if _, err := core.Exec(context.Background(), `UPDATE audit_log SET reason = 'routine' WHERE seq = 2`); err != nil {
				t.Fatal(err)
			}
			_, err = in.cli("audit", "verify", "--store", "core")
			if err == nil || !strings.Contains(err.Error(), "broken at entry 2 (edited)") {
				t.Errorf("verify of an edited log: %v", err)
			}
		})
	}
}
