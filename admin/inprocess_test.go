package admin_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

// TestDo: a route called in-process is the route: the same permission
// refuses the same members, the answer is masked for them alike, the
// decision is the service's, and the audit log records the same entry,
// naming the member, as the HTTP route's.
func TestDo(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.inReview(t, "Noodle bar")
		page := httptest.NewRequest("GET", "/console/applications/"+id, nil)
		page.RemoteAddr = "198.51.100.7:4431"

		// Operations staff read the application masked, as over HTTP.
		ops := accesstest.Named(t, e.access, "ops.mei", access.Operations, access.StaffRank)
		var rec onboard.Record
		get := admin.Call{Route: "GET /admin/applications/{id}", Path: map[string]string{"id": id}}
		if err := e.api.Do(page, ops, get, &rec); err != nil {
			t.Fatal(err)
		}
		if p := rec.Application.LegalPerson; p == nil || p.Phone != "138****5678" || p.Name != "张**" {
			t.Errorf("in-process answer's legal person %+v, want it masked", p)
		}
		if raw := e.raw(t, "GET", "/admin/applications/"+id, "", ops); !strings.Contains(raw, `"138****5678"`) {
			t.Errorf("the HTTP route answers %s", raw)
		}

		// Support staff lack onboarding: refused alike, and recorded.
		support := accesstest.Named(t, e.access, "support.kai", access.Support, access.StaffRank)
		err := e.api.Do(page, support, get, &rec)
		if fenfu.ErrorCode(err) != fenfu.Forbidden {
			t.Errorf("support staff reading an application in-process: %v, want FORBIDDEN", err)
		}
		if m, err := e.api.Member(ctx, support); err != nil || m.Allows(access.Onboarding) || !m.Allows(access.Complaints) {
			t.Errorf("support staff's member %+v, %v: want complaints and not onboarding", m, err)
		}
		if perm, ok := e.api.Permission("POST /admin/applications/{id}/review"); !ok || perm != access.Onboarding {
			t.Errorf("review's permission %q, %v", perm, ok)
		}
		if err := e.api.Do(page, "fss_NOTATOKEN", get, &rec); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
			t.Errorf("a token naming no one: %v, want UNAUTHENTICATED", err)
		}

		// The decision is the service's, recorded under the member.
		review := admin.Call{Route: "POST /admin/applications/{id}/review", Path: map[string]string{"id": id},
			Body: map[string]string{"decision": "approve", "reason": "documents match"}}
		if err := e.api.Do(page, ops, review, &rec); err != nil {
			t.Fatal(err)
		}
		got, err := e.onboard.Get(ctx, id)
		if err != nil || got.State != onboard.Approved || got.Events[len(got.Events)-1].Actor != "staff:ops.mei" {
			t.Fatalf("after the review: %+v, %v", got, err)
		}
		if err := e.api.Do(page, ops, review, nil); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Errorf("a second decision: %v, want INVALID_REQUEST", err)
		}
		var last, refused bool
		for _, x := range entries(t, e.core) {
			switch {
			case x.Action == "POST /admin/applications/{id}/review" && x.Actor == "staff:ops.mei" && x.Target.ID == id &&
				x.Reason == "documents match" && strings.Contains(string(x.Detail), `"status":200`):
				last = true
			case x.Action == "GET /admin/applications/{id}" && x.Actor == "staff:support.kai" && strings.Contains(string(x.Detail), `"FORBIDDEN"`):
				refused = true
			}
		}
		if !last || !refused {
			t.Errorf("the audit log lacks the review by ops.mei (%v) or support's refusal (%v): %+v", last, refused, entries(t, e.core))
		}
	})
}

// inReview makes a merchant named name with three months of history and
// submits its life-services application, which passes the automatic
// checks into review; it names a legal person.
func (e *env) inReview(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	m, err := e.merchants.CreateSandbox(ctx, name, scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	hist := "mchid,month,ordinary_count\n"
	for _, month := range onboard.HistoryMonths(e.clock.Now(), 3) {
		hist += m.MchID + "," + month + ",40\n"
	}
	if _, err := onboard.ImportHistory(ctx, e.core, strings.NewReader(hist), "test"); err != nil {
		t.Fatal(err)
	}
	r, err := e.onboard.Create(ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1K00002Y",
		LicenceStatus: "normal", Industry: "life_services", Qualifications: map[onboard.Qualification]string{onboard.IndustryPermit: "沪-2026-001"},
		LegalPerson: &onboard.Person{Name: "张三丰", IDNumber: "11010519491231002X", Phone: "13812345678"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.onboard.Submit(ctx, r.ID, "merchant:"+m.MchID); err != nil || r.State != onboard.InReview {
		t.Fatalf("submitted: %+v, %v", r, err)
	}
	return r.ID
}
