package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/login"
)

// TestNodeName: a node's name is --node-name, or the host name and the
// listen address, the same on every start (not the process's name in
// leases, nodeName, which has the pid). A name no log line or store
// column should carry is refused.
func TestNodeName(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct{ name, addr, want string }{
		{"", ":8080", host + ":8080"},
		{"", "10.0.0.5:8080", host + "/10.0.0.5:8080"},
		{"", "[::1]:9000", host + "/[::1]:9000"},
		{"till-1", ":8080", "till-1"},
	} {
		c := DefaultConfig(func(string) string { return "" })
		c.NodeName, c.Addr = tc.name, tc.addr
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := c.node(); got != tc.want {
			t.Errorf("--node-name %q, --addr %s: the node is %q, want %q", tc.name, tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{"till 1", "till\n1", "till\x001", strings.Repeat("n", 256), "till-\xff"} {
		c := DefaultConfig(func(string) string { return "" })
		c.NodeName = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--node-name") {
			t.Errorf("--node-name %q: %v", bad, err)
		}
	}
}

// TestServeForgetsItsLoginsInFlight: serve, started again under its
// --node-name, forgets before it serves the logins its killed process
// was checking, so that a consumer from the same address logs in at once
// instead of being refused as one login too many at once; the logins in
// flight of another node on the store stay counted.
func TestServeForgetsItsLoginsInFlight(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cfg := engineConfig(t, engine)
			cfg.NodeName = "till-1"
			cfg.Login.SourceFailures = 3
			// The world's clock: the attempts are seconds old, not past
			// their lease.
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := openTest(t, cfg, clock).core
			killed := &login.Counter{DB: core, Clock: clock, Node: "till-1"}
			other := &login.Counter{DB: core, Clock: clock, Node: "till-2"}
			for _, c := range []*login.Counter{killed, killed, other} {
				if tr, err := c.Take(t.Context(), "source:127.0.0.1", cfg.Login.SourceFailures, cfg.Login.SourceWindow); err != nil || tr.Locked {
					t.Fatalf("an attempt in flight of %s: %+v, %v", c.Node, tr, err)
				}
			}

			w := startWorld(t, cfg)
			alice := w.consumer(100_00, 100_00)
			if _, err := cashierLogin(t.Context(), w.base, alice.phone, alice.pin); err != nil {
				t.Fatalf("a login from the address whose count the killed process's attempts filled: %v", err)
			}
			rows, err := core.QueryContext(t.Context(), `SELECT node, COUNT(*) FROM login_in_flight GROUP BY node`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			left := map[string]int{}
			for rows.Next() {
				var node string
				var n int
				if err := rows.Scan(&node, &n); err != nil {
					t.Fatal(err)
				}
				left[node] = n
			}
			if err := rows.Err(); err != nil || len(left) != 1 || left["till-2"] != 1 {
				t.Fatalf("logins in flight by node after till-1 started again: %v, %v; want till-2's one", left, err)
			}
		})
	}
}
