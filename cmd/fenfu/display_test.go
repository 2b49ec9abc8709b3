package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
)

// TestDisplayRuleChangeReachesRunningNodes: a display rule changed through
// the staff API changes the cashier at once on the node that took the
// change, and on another running node of the same stores within its poll
// interval, without a restart: a ¥5 order, hidden below the ¥10 default,
// lists credit once min_amount is ¥5.
func TestDisplayRuleChangeReachesRunningNodes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cfg := engineConfig(t, engine)
			cfg.DisplayPollEvery = 50 * time.Millisecond
			w := startWorld(t, cfg)
			other := w.node(cfg)
			p := w.consumer(100_000, 0)
			// A payment today, so the next one is not the first of the day.
			w.pay(p, w.order("DISPLAY-0", 2000), 1)
			o := w.order("DISPLAY-1", 500)
			credit := func(base string) cashier.Channel {
				t.Helper()
				var v cashier.View
				saved := w.base
				w.base = base
				w.do(p.client, "GET", "/q/"+o.Token+"?format=json", nil, &v)
				w.base = saved
				for _, c := range v.Channels {
					if c.Name == "credit" {
						return c
					}
				}
				return cashier.Channel{}
			}
			for _, base := range []string{w.base, other} {
				if c := credit(base); c.Name != "" {
					t.Fatalf("%s: a ¥5 order lists credit under the default rules: %+v", base, c)
				}
			}
			var set display.RuleSet
			w.staff("POST", "/admin/display/rules", map[string]any{"min_amount": 500, "change_reason": "small tickets"}, &set)
			if set.Version != 2 || set.MinAmount != 500 || set.Actor != "staff:li.wei" {
				t.Fatalf("changed to %+v", set)
			}
			if c := credit(w.base); c.Name != "credit" || c.Reason.Code != display.AmountAtLeastMin || !c.First {
				t.Fatalf("the node that took the change: credit %+v", c)
			}
			deadline := time.Now().Add(5 * time.Second)
			for credit(other).Name != "credit" {
				if time.Now().After(deadline) {
					t.Fatal("the other node never listed credit for the ¥5 order")
				}
				time.Sleep(20 * time.Millisecond)
			}
			var versions struct{ Versions []display.RuleSet }
			w.staff("GET", "/admin/display/versions", nil, &versions)
			if len(versions.Versions) != 2 || versions.Versions[0].Reason != "small tickets" {
				t.Fatalf("versions %+v", versions)
			}
			// The change is in the audit log of the core store.
			var n int
			core := w.a.core
			if err := core.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action = 'display rule change' AND target_kind = 'display rule set' AND actor = 'staff:li.wei'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("audit entries of the change: %d %v", n, err)
			}
		})
	}
}

// node serves a second node on w's stores and settings, and returns its
// base URL.
func (w *creditWorld) node(cfg Config) string {
	w.t.Helper()
	a := openTest(w.t, cfg, w.clock)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln, io.Discard) }()
	w.t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// TestDisplayCLI: the display rules shown and changed from the command
// line, recorded with who and why, and a bad change refused.
func TestDisplayCLI(t *testing.T) {
	cfg := testConfig(t)
	in := &instance{t: t, args: []string{"--data-dir", cfg.DataDir}}
	var set display.RuleSet
	in.mustCLI(&set, "display", "rules")
	if set.Version != 1 || set.Rules != display.Defaults() {
		t.Fatalf("seeded: %+v", set)
	}
	in.mustCLI(&set, "display", "change", "--min-amount", "5", "--first-rating", "a", "--why", "small tickets", "--staff", "lin")
	if set.Version != 2 || set.MinAmount != 500 || set.FirstRating != "A" || !set.FirstOfDay || set.Actor != "staff:lin" {
		t.Fatalf("changed: %+v", set)
	}
	if _, err := in.cli("display", "change", "--first-rating", "E", "--why", "x", "--staff", "lin"); err == nil || !strings.Contains(err.Error(), "first_rating") {
		t.Fatalf("a bad rating: %v", err)
	}
	var versions []display.RuleSet
	in.mustCLI(&versions, "display", "versions")
	if len(versions) != 2 || versions[0].Reason != "small tickets" {
		t.Fatalf("versions: %+v", versions)
	}
	var funnel pay.FunnelReport
	in.mustCLI(&funnel, "display", "funnel", "--mchid", "1900000001", "--from", "2026-12-01", "--to", "2026-12-07")
	if funnel.BeginDate != "2026-12-01" || funnel.Reasons == nil {
		t.Fatalf("funnel: %+v", funnel)
	}
}

// TestPhoneHashBackfill: a consumer made before the keyed phone-hash
// index was kept gets it at the next start, and is then found by the
// SHA-256 of its phone.
func TestPhoneHashBackfill(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
	a, err := openAt(ctx, cfg, discardLogger(), clock)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 1000, Rating: "C"})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := a.consumers.ByPhoneHash(ctx, consumer.PhoneHash(c.Phone)); err != nil || id != c.ID {
		t.Fatalf("a new consumer by its phone hash: %q %v", id, err)
	}
	if _, err := a.core.Exec(ctx, `UPDATE consumers SET phone_hash_index = NULL WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	if id, _ := a.consumers.ByPhoneHash(ctx, consumer.PhoneHash(c.Phone)); id != "" {
		t.Fatalf("found %q without an index", id)
	}
	a.close()
	a = openTest(t, cfg, clock)
	if id, err := a.consumers.ByPhoneHash(ctx, consumer.PhoneHash(c.Phone)); err != nil || id != c.ID {
		t.Fatalf("after the backfill: %q %v", id, err)
	}
	if id, _ := a.consumers.ByPhoneHash(ctx, consumer.PhoneHash("13900000000")); id != "" {
		t.Fatalf("another phone found %q", id)
	}
}
