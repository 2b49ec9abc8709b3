package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/access/accesstest"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

// seeded is the policy migrations 0022, 0027 and 0040 seed, written out again here: who
// holds each permission, from which rank up. Directors hold them all.
var seeded = map[access.Permission]map[access.Department]access.Rank{
	access.Onboarding:   {access.Operations: access.StaffRank},
	access.RiskRules:    {access.Risk: access.StaffRank},
	access.RiskQueue:    {access.Risk: access.StaffRank},
	access.RiskList:     {access.Risk: access.StaffRank},
	access.Settlements:  {access.Finance: access.StaffRank},
	access.Credit:       {access.Finance: access.StaffRank},
	access.Consumers:    {access.Finance: access.StaffRank, access.Support: access.StaffRank, access.Risk: access.StaffRank},
	access.Notify:       {access.Engineering: access.StaffRank},
	access.CreditLines:  {access.Risk: access.Supervisor},
	access.Complaints:   {access.Support: access.StaffRank},
	access.Keys:         {access.Engineering: access.StaffRank},
	access.Sandbox:      {access.Engineering: access.StaffRank},
	access.Audit:        {access.Engineering: access.StaffRank, access.Risk: access.Supervisor},
	access.Retention:    {access.Risk: access.Supervisor},
	access.QRVerify:     {access.Risk: access.StaffRank, access.Support: access.StaffRank},
	access.StaffAdmin:   {access.Engineering: access.StaffRank},
	access.PersonalData: {access.Risk: access.Supervisor},
	access.Unmask:       {access.Risk: access.Supervisor, access.Support: access.Supervisor, access.Operations: access.Supervisor},
}

// TestPolicyRoutes: every route of the table (a server with risk control,
// complaints and credit), called by every department at every rank, is
// refused with FORBIDDEN, naming its permission, with a remedy, exactly
// when the seeded policy does not grant the permission.
func TestPolicyRoutes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testPolicyRoutes(t, engine) })
	}
}

func testPolicyRoutes(t *testing.T, engine db.Engine) {
	e, _ := newRiskEnv(t, engine)
	{
		routes := e.api.Routes()
		if len(routes) < 55 {
			t.Fatalf("%d routes; the table lost some", len(routes))
		}
		for _, d := range access.Departments {
			for _, r := range access.Ranks {
				bearer := accesstest.Bearer(t, e.access, d, r)
				for _, rt := range routes {
					if rt.Pattern == "POST /admin/logout" {
						continue // it would end the token the loop goes on with
					}
					method, path, _ := strings.Cut(rt.Pattern, " ")
					path = strings.NewReplacer("{id}", "x", "{mchid}", "x", "{name}", "x", "{switch}", "x",
						"{action}", "x", "{month}", "x", "{sha256}", "x").Replace(path)
					min, granted := seeded[rt.Permission][d]
					want := rt.Permission == "" || r == access.Director || (granted && r.AtLeast(min))
					code, out := e.do(t, method, path, "", "Authorization", "Bearer "+bearer)
					if !want {
						if code != http.StatusForbidden || out["code"] != string(fenfu.Forbidden) ||
							!strings.Contains(str(out["message"]), string(rt.Permission)) || !strings.Contains(str(out["remedy"]), "director") {
							t.Errorf("%s %s by %s %s = %d %v, want 403 FORBIDDEN naming %s with a remedy", method, path, d, r, code, out, rt.Permission)
						}
					} else if code == http.StatusForbidden || code == http.StatusUnauthorized {
						t.Errorf("%s %s by %s %s = %d %v, want it allowed", method, path, d, r, code, out)
					}
				}
			}
		}
	}
}

// application creates an application naming a legal person and a bank
// account.
func (e *env) application(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	m, err := e.merchants.CreateSandbox(ctx, "Shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.onboard.Create(ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1K00001Y",
		LicenceStatus: "normal", Industry: "retail",
		LegalPerson:       &onboard.Person{Name: "张三丰", IDNumber: "11010519491231002X", Phone: "13812345678"},
		SettlementAccount: &onboard.BankAccount{Bank: "ICBC", AccountName: "李四", AccountNumber: "6222020200112233"}})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// TestMasking: support staff see an application's personal data masked;
// a risk supervisor sees it in the clear; a support supervisor unmasks one
// field with a reason, which is recorded, and a field needs a reason.
func TestMasking(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.application(t)
		// Operations staff may read applications but not in the clear.
		ops := accesstest.Bearer(t, e.access, access.Operations, access.Manager)
		raw := e.raw(t, "GET", "/admin/applications/"+id, "", ops)
		for _, want := range []string{`"张**"`, `"**************002X"`, `"138****5678"`, `"李*"`, `"************2233"`} {
			if !strings.Contains(raw, want) {
				t.Errorf("operations manager's answer %s lacks %s", raw, want)
			}
		}
		for _, clear := range []string{"张三丰", "13812345678", "11010519491231002X", "李四"} {
			if strings.Contains(raw, clear) {
				t.Errorf("operations manager's answer shows %s: %s", clear, raw)
			}
		}
		// A risk supervisor sees everything in the clear, through the
		// director's grant of onboarding to risk.
		e.ok(t, "POST", "/admin/policy", `{"permission":"onboarding","department":"risk","min_rank":"staff"}`)
		risk := accesstest.Bearer(t, e.access, access.Risk, access.Supervisor)
		raw = e.raw(t, "GET", "/admin/applications/"+id, "", risk)
		for _, want := range []string{"张三丰", "13812345678", "11010519491231002X", "李四", "6222020200112233"} {
			if !strings.Contains(raw, want) {
				t.Errorf("risk supervisor's answer %s lacks %s in the clear", raw, want)
			}
		}
		riskStaff := accesstest.Bearer(t, e.access, access.Risk, access.StaffRank)
		if raw := e.raw(t, "GET", "/admin/applications/"+id, "", riskStaff); strings.Contains(raw, "13812345678") {
			t.Errorf("risk staff below supervisor see the phone: %s", raw)
		}

		// Unmasking needs the record's own scope too: a support supervisor,
		// who may unmask but not read applications, is refused.
		support := accesstest.Bearer(t, e.access, access.Support, access.Supervisor)
		body := `{"kind":"application","id":"` + id + `","field":"application.legal_person.phone","reason":"curious"}`
		if code, out := e.do(t, "POST", "/admin/unmask", body, "Authorization", "Bearer "+support); code != 403 || out["code"] != "FORBIDDEN" {
			t.Errorf("unmask of an application by a support supervisor = %d %v, want 403", code, out)
		}
		supName := "ops.lead"
		sup := accesstest.Named(t, e.access, supName, access.Operations, access.Supervisor)
		body = `{"kind":"application","id":"` + id + `","field":"application.legal_person.phone"}`
		if code, out := e.do(t, "POST", "/admin/unmask", body, "Authorization", "Bearer "+sup); code != 400 || out["code"] != "PARAM_ERROR" {
			t.Errorf("unmask without a reason = %d %v", code, out)
		}
		body = `{"kind":"application","id":"` + id + `","field":"application.legal_person.phone","reason":"consumer callback, ticket 7"}`
		code, out := e.do(t, "POST", "/admin/unmask", body, "Authorization", "Bearer "+sup)
		if code != 200 || out["value"] != "13812345678" {
			t.Errorf("unmask = %d %v, want the phone in the clear", code, out)
		}
		if code, out := e.do(t, "POST", "/admin/unmask", body, "Authorization", "Bearer "+accesstest.Bearer(t, e.access, access.Support, access.StaffRank)); code != 403 {
			t.Errorf("unmask by support staff = %d %v, want 403", code, out)
		}
		list, err := e.access.Unmaskings(context.Background(), supName, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Record != id || list[0].Field != "application.legal_person.phone" ||
			list[0].Reason != "consumer callback, ticket 7" || list[0].Staff != supName || list[0].At.IsZero() {
			t.Errorf("recorded unmaskings %+v, want the one with its reason", list)
		}
		// The audit log has it too, beside the request's own entry.
		logged, err := audit.List(context.Background(), e.core, audit.Filter{Action: audit.ActionUnmask, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(logged) != 1 || logged[0].Actor != "staff:"+supName || logged[0].Target != (audit.Target{Kind: "application", ID: id}) ||
			logged[0].Reason != "consumer callback, ticket 7" || string(logged[0].Detail) != `{"field":"application.legal_person.phone"}` {
			t.Errorf("audit log's unmaskings %+v", logged)
		}
	})
}

// raw calls the staff API with bearer and returns the answer's body.
func (e *env) raw(t *testing.T, method, path, body, bearer string) string {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s = %d, %v", method, path, resp.StatusCode, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// login logs in through POST /admin/login.
func (e *env) login(t *testing.T, name, password, code string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": password, "totp": code})
	return e.do(t, "POST", "/admin/login", string(b), "Authorization", "")
}

// TestLogin: a login needs the password and the current TOTP code; a code
// is used once; the session works until it expires (by the fake clock)
// or its member logs out.
func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		en, err := e.access.Add(ctx, "test", access.NewStaff{Name: "fang", Department: access.Finance, Rank: access.Manager, Password: accesstest.Password})
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		good, err := totp.GenerateCode(en.TOTPSecret, now)
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if wrong == good {
			wrong = "111111"
		}
		for name, tc := range map[string][3]string{
			"no code":        {"fang", accesstest.Password, ""},
			"wrong code":     {"fang", accesstest.Password, wrong},
			"wrong password": {"fang", "not the password", good},
			"unknown name":   {"nobody", accesstest.Password, good},
		} {
			if code, out := e.login(t, tc[0], tc[1], tc[2]); code != 401 || out["code"] != "UNAUTHENTICATED" || str(out["remedy"]) == "" {
				t.Errorf("%s: login = %d %v, want 401 UNAUTHENTICATED", name, code, out)
			}
		}
		code, out := e.login(t, "fang", accesstest.Password, good)
		if code != 200 || str(out["token"]) == "" {
			t.Fatalf("login = %d %v", code, out)
		}
		session := str(out["token"])
		if code, out := e.login(t, "fang", accesstest.Password, good); code != 401 {
			t.Errorf("the same code again = %d %v, want 401: a code logs in once", code, out)
		}
		if code, out := e.do(t, "GET", "/admin/settlement-exceptions", "", "Authorization", "Bearer "+session); code != 200 {
			t.Errorf("finance manager's session on settlements = %d %v", code, out)
		}
		// The session expires with the setting, 8 hours by default.
		e.clock.Advance(8*time.Hour + time.Second)
		if code, out := e.do(t, "GET", "/admin/me", "", "Authorization", "Bearer "+session); code != 401 {
			t.Errorf("an expired session = %d %v, want 401", code, out)
		}
		next, _ := totp.GenerateCode(en.TOTPSecret, e.clock.Now())
		_, out = e.login(t, "fang", accesstest.Password, next)
		session = str(out["token"])
		if code, _ := e.do(t, "POST", "/admin/logout", "", "Authorization", "Bearer "+session); code != 200 {
			t.Errorf("logout = %d", code)
		}
		if code, _ := e.do(t, "GET", "/admin/me", "", "Authorization", "Bearer "+session); code != 401 {
			t.Errorf("after logout = %d, want 401", code)
		}
		// Every login and refused login of a member is in the core
		// store's audit log, with why it was refused.
		var got []string
		for _, x := range entries(t, e.core) {
			if x.Action == audit.ActionLogin || x.Action == audit.ActionLoginRefused {
				got = append(got, x.Actor+" "+x.Action+" "+x.Target.ID+" "+x.Reason)
			}
		}
		// A refused login is nobody's act but is recorded against the
		// account tried; one of a name no member has is only logged.
		refused := "unauthenticated login refused staff:fang "
		want := []string{refused + "wrong or reused TOTP code", refused + "wrong or reused TOTP code", refused + "wrong password",
			"staff:fang login staff:fang ", refused + "wrong or reused TOTP code", "staff:fang login staff:fang "}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("audit log's logins %q, want %q", got, want)
		}
	})
}

// TestLoginLockout: after 5 wrong logins a name is locked, even with the
// right password and code, on a service opened afresh on the same store
// (a restart, or another node).
func TestLoginLockout(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		en, err := e.access.Add(ctx, "test", access.NewStaff{Name: "gao", Department: access.Risk, Rank: access.StaffRank, Password: accesstest.Password})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if code, _ := e.login(t, "gao", "wrong password!", "123456"); code != 401 {
				t.Fatalf("wrong login %d = %d, want 401", i, code)
			}
		}
		good, _ := totp.GenerateCode(en.TOTPSecret, e.clock.Now())
		if code, out := e.login(t, "gao", accesstest.Password, good); code != 429 || out["code"] != "FREQUENCY_LIMITED" {
			t.Errorf("right login of a locked name = %d %v, want 429", code, out)
		}
		other := access.New(e.core, e.clock)
		if _, err := other.Login(ctx, "gao", accesstest.Password, good, ""); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
			t.Errorf("another node's login of a locked name: %v, want FREQUENCY_LIMITED", err)
		}
		e.clock.Advance(15*time.Minute + time.Second)
		good, _ = totp.GenerateCode(en.TOTPSecret, e.clock.Now())
		if _, err := other.Login(ctx, "gao", accesstest.Password, good, ""); err != nil {
			t.Errorf("a login after the lock ended: %v", err)
		}
	})
}

// TestTokens: a personal API token works until revoked; a member's token
// is revoked by them or by staff management; disabling a member ends
// their tokens; and no one below director adds a director.
func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		eng := accesstest.Bearer(t, e.access, access.Engineering, access.Manager)
		code, out := e.do(t, "POST", "/admin/tokens", `{"label":"nightly report","ttl_hours":48}`, "Authorization", "Bearer "+eng)
		if code != 200 || !strings.HasPrefix(str(out["token"]), "fst_") {
			t.Fatalf("create token = %d %v", code, out)
		}
		tok, id := str(out["token"]), str(out["id"])
		if code, _ := e.do(t, "GET", "/admin/me", "", "Authorization", "Bearer "+tok); code != 200 {
			t.Errorf("new token = %d", code)
		}
		sup := accesstest.Bearer(t, e.access, access.Support, access.Supervisor)
		if code, _ := e.do(t, "POST", "/admin/tokens/"+id+"/revoke", "", "Authorization", "Bearer "+sup); code != 403 {
			t.Errorf("support revoking engineering's token = %d, want 403", code)
		}
		e.ok(t, "POST", "/admin/tokens/"+id+"/revoke", "")
		if code, _ := e.do(t, "GET", "/admin/me", "", "Authorization", "Bearer "+tok); code != 401 {
			t.Errorf("revoked token = %d, want 401", code)
		}
		if code, out := e.do(t, "POST", "/admin/staff", `{"name":"boss","department":"risk","rank":"director","password":"long enough password"}`,
			"Authorization", "Bearer "+eng); code != 403 {
			t.Errorf("a manager adding a director = %d %v, want 403", code, out)
		}
		out = e.ok(t, "POST", "/admin/staff", `{"name":"wu","department":"risk","rank":"staff","password":"long enough password"}`)
		if str(out["totp_secret"]) == "" {
			t.Errorf("new member's enrollment %v has no TOTP secret", out)
		}
		out = e.ok(t, "POST", "/admin/staff/wu/tokens", `{"label":"script"}`)
		wu := str(out["token"])
		e.ok(t, "POST", "/admin/staff/wu/disable", "")
		if code, _ := e.do(t, "GET", "/admin/me", "", "Authorization", "Bearer "+wu); code != 401 {
			t.Errorf("a disabled member's token = %d, want 401", code)
		}
	})
}

// TestStaffManagedFromAbove: holding the staff permission lets a member
// manage only those below it: a token of someone else's is a director's
// to make, a member of another department or a higher rank a director's
// to add, and a disable or revoke of an equal or higher rank is refused.
func TestStaffManagedFromAbove(t *testing.T) {
	e := newEnv(t, dbtest.Engines()[0])
	accesstest.Named(t, e.access, "boss", access.Engineering, access.Director)
	accesstest.Named(t, e.access, "peer", access.Engineering, access.Supervisor)
	accesstest.Named(t, e.access, "junior", access.Engineering, access.StaffRank)
	eng := accesstest.Bearer(t, e.access, access.Engineering, access.Supervisor)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/staff/boss/tokens", `{"label":"mine","ttl_hours":24}`},
		{"POST", "/admin/staff/junior/tokens", `{"label":"mine","ttl_hours":24}`},
		{"POST", "/admin/staff/boss/disable", ``},
		{"POST", "/admin/staff/peer/disable", ``},
		{"POST", "/admin/staff", `{"name":"mole","department":"risk","rank":"supervisor","password":"correct horse battery"}`},
		{"POST", "/admin/staff", `{"name":"chief","department":"engineering","rank":"manager","password":"correct horse battery"}`},
	} {
		if code, out := e.do(t, c.method, c.path, c.body, "Authorization", "Bearer "+eng); code != http.StatusForbidden || out["code"] != "FORBIDDEN" {
			t.Errorf("%s %s by an engineering supervisor = %d %v, want 403", c.method, c.path, code, out)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/staff/junior/disable", ``},
		{"POST", "/admin/staff", `{"name":"newbie","department":"engineering","rank":"staff","password":"correct horse battery"}`},
	} {
		if code, out := e.do(t, c.method, c.path, c.body, "Authorization", "Bearer "+eng); code != http.StatusOK {
			t.Errorf("%s %s by an engineering supervisor = %d %v, want it done", c.method, c.path, code, out)
		}
	}
}
