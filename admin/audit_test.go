package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/scheme"
)

// TestAuditTrail: every staff request, done or refused, is recorded in
// the chain of the store its data lives in, with its actor, route, path
// values, query, result and reason; after a run of them both chains
// verify, and GET /admin/audit lists them.
func TestAuditTrail(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e, _ := newRiskEnv(t, engine)
			e.ok(t, "GET", "/admin/applications?state=in_review", "")
			e.fails(t, fenfu.Unauthenticated, http.StatusUnauthorized, "GET", "/admin/applications", "", "Authorization", "Bearer wrong")
			mei := accesstest.Named(t, e.access, "mei", access.Support, access.StaffRank)
			e.fails(t, fenfu.Forbidden, http.StatusForbidden, "POST", "/admin/orders/4200000001/hold", `{"reason": "fraud check"}`, "Authorization", "Bearer "+mei)
			_, _ = e.do(t, "POST", "/admin/orders/4200000001/hold", `{"hours": 2, "reason": "fraud check"}`)
			e.ok(t, "POST", "/admin/risk/rules", `{"name": "big", "channels": ["credit"], "expr": "amount > 5000000", "decision": "alert",
				"reason": "large payment", "change_reason": "watch large payments"}`)
			e.ok(t, "POST", "/admin/risk/rules/big/disable", `{"change_reason": "too noisy"}`)
			e.ok(t, "GET", "/admin/risk/rules", "")

			core := entries(t, e.core)
			credit := entries(t, e.credit)
			// The request refused before naming a staff member is logged,
			// not chained: anyone may send such requests without end.
			if len(core) != 3 || len(credit) != 5 {
				t.Fatalf("core chain %d entries, credit chain %d; want 3 and 5:\n%+v\n%+v", len(core), len(credit), core, credit)
			}
			for _, c := range []struct {
				got                   audit.Entry
				actor, action, reason string
				target                audit.Target
				detail                string
			}{
				{core[0], "staff:lin", "GET /admin/applications", "", audit.Target{Kind: "applications"},
					`{"code":"OK","query":"state=in_review","status":200}`},
				// A member refused a route is recorded by name.
				{core[1], "staff:mei", "POST /admin/orders/{id}/hold", "", audit.Target{Kind: "orders", ID: "4200000001"},
					`{"code":"FORBIDDEN","path":{"id":"4200000001"},"status":403}`},
				{core[2], "staff:lin", "POST /admin/orders/{id}/hold", "fraud check", audit.Target{Kind: "orders", ID: "4200000001"}, ""},
				// A rule change is recorded in its own transaction, then
				// the request that made it.
				{credit[0], "staff:lin", audit.ActionRuleChange, "watch large payments", audit.Target{Kind: "risk rule set", ID: "2"},
					`{"rules":["big"],"version":2}`},
				{credit[1], "staff:lin", "POST /admin/risk/rules", "watch large payments", audit.Target{Kind: "rules"},
					`{"code":"OK","status":200}`},
				{credit[2], "staff:lin", audit.ActionRuleChange, "too noisy", audit.Target{Kind: "risk rule set", ID: "3"},
					`{"rules":["big"],"version":3}`},
				{credit[3], "staff:lin", "POST /admin/risk/rules/{name}/{switch}", "too noisy", audit.Target{Kind: "rules", ID: "big"},
					`{"code":"OK","path":{"name":"big","switch":"disable"},"status":200}`},
				{credit[4], "staff:lin", "GET /admin/risk/rules", "", audit.Target{Kind: "rules"}, `{"code":"OK","status":200}`},
			} {
				if c.got.Actor != c.actor || c.got.Action != c.action || c.got.Reason != c.reason || c.got.Target != c.target ||
					(c.detail != "" && string(c.got.Detail) != c.detail) {
					t.Errorf("entry %d: %+v %s\nwant %s %q %q %+v %s", c.got.Seq, c.got, c.got.Detail, c.actor, c.action, c.reason, c.target, c.detail)
				}
			}
			for _, d := range []*db.DB{e.core, e.credit} {
				r, err := audit.Verify(ctx, d, nil, nil)
				if err != nil || !r.OK() {
					t.Fatalf("verify %s: %v %v", d.Name, r, err)
				}
			}

			// Staff read the credit chain; the read is recorded in it.
			out := e.ok(t, "GET", "/admin/audit?store=credit&action=POST+/admin/risk/rules/{name}/{switch}&limit=5", "")
			var got struct {
				Store   string
				Head    audit.Head
				Entries []audit.Entry
			}
			raw, _ := json.Marshal(out)
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got.Store != "credit" || got.Head.Seq != 5 || len(got.Entries) != 1 || got.Entries[0].Reason != "too noisy" {
				t.Fatalf("GET /admin/audit: %s", raw)
			}
			if after := entries(t, e.credit); len(after) != 6 || after[5].Action != "GET /admin/audit" {
				t.Fatalf("the read of the audit log was not recorded in the credit chain: %+v", after)
			}
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "GET", "/admin/audit?store=ledger", "")
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "GET", "/admin/audit?from=yesterday", "")
			e.fails(t, fenfu.ParamError, http.StatusBadRequest, "GET", "/admin/audit?limit=501", "")
		})
	}
}

// TestAuditUnrecordedRead: a read that cannot be recorded is not
// answered; a write, already committed, still is.
func TestAuditUnrecordedRead(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		if _, err := e.core.Exec(context.Background(), `DROP TABLE audit_head`); err != nil {
			t.Fatal(err)
		}
		e.fails(t, fenfu.SystemError, http.StatusInternalServerError, "GET", "/admin/applications", "")
		m, err := e.merchants.CreateSandbox(context.Background(), "Shop", scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		e.ok(t, "POST", "/admin/merchants/"+m.MchID+"/discount", `{"discount_ppm": 0}`)
	})
}

// entries returns a store's audit entries, oldest first.
func entries(t *testing.T, d *db.DB) []audit.Entry {
	t.Helper()
	list, err := audit.List(context.Background(), d, audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// TestAuditUnauthenticatedNotChained: requests refused before naming a
// staff member, and logins of names no member has, are logged, not
// chained, so anyone reaching /admin/ cannot grow the audit log.
func TestAuditUnauthenticatedNotChained(t *testing.T) {
	e := newEnv(t, dbtest.Engines()[0])
	before := len(entries(t, e.core))
	for range 20 {
		if code, _ := e.do(t, "GET", "/admin/applications?junk="+strings.Repeat("A", 1000), "", "Authorization", ""); code != http.StatusUnauthorized {
			t.Fatalf("without a token: HTTP %d", code)
		}
		e.do(t, "POST", "/admin/login", `{"name":"nobody","password":"x","totp":"123456"}`, "Authorization", "")
		e.do(t, "POST", "/admin/login", `{"name":"no body!","password":"x","totp":"1"}`, "Authorization", "")
	}
	if after := len(entries(t, e.core)); after != before {
		t.Errorf("60 requests naming no member appended %d audit entries", after-before)
	}
}
