package main

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

var (
	resetPasswordRE = regexp.MustCompile(`id="reset-password">([A-Z2-7]+)<`)
	enrolSecretRE   = regexp.MustCompile(`id="enrol-secret">([A-Z2-7]+)<`)
)

// TestPortalUserManagement: an owner changes a user's role, resets its
// password and its second factor in the portal, each ending the user's
// sessions and audited; the user then logs in with the temporary
// password, or with the password alone, and the portal serves it only
// its account page until it has chosen its password or enrolled a new
// factor. The last owner keeps the role, an owner resets nothing of its
// own, other roles and other sites are refused, and the temporary
// password is in no log.
func TestPortalUserManagement(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testPortalUserManagement(t, engine) })
	}
}

func testPortalUserManagement(t *testing.T, engine db.Engine) {
	w := startPortalWorld(t, engine)
	ann := w.owner(w.m.MchID, "ann")
	w.login(ann)
	bo := w.add(ann, "bo", "finance", false)
	dev := w.add(ann, "dev", "developer", false)
	w.login(bo)

	// The role: bo's session ends with it.
	status, loc, body := w.send(ann, "POST", "/portal/users/bo/role", url.Values{"role": {"support"}})
	if status != 303 || loc != "/portal/users?role=bo" {
		t.Fatalf("changing bo's role: HTTP %d to %q\n%s", status, loc, body)
	}
	if status, _, body := w.send(ann, "GET", "/portal/users?lang=en&role=bo", nil); status != 200 || !strings.Contains(body, "Role changed: bo") {
		t.Errorf("the users page after the change: HTTP %d", status)
	}
	if status, _, _ := w.send(bo, "GET", "/portal/orders", nil); status != 401 {
		t.Errorf("bo's session after its role changed: HTTP %d, want the login page (401)", status)
	}
	if status, _, body := w.send(ann, "POST", "/portal/users/ann/role?lang=en", url.Values{"role": {"finance"}}); status != 400 ||
		!strings.Contains(body, "only owner") || !strings.Contains(body, `id="users"`) {
		t.Errorf("the last owner demoting itself: HTTP %d", status)
	}
	w.login(bo)
	if status, _, _ := w.send(bo, "POST", "/portal/users/dev/password", url.Values{}); status != 403 {
		t.Errorf("support resetting a password: HTTP %d", status)
	}
	if status, _, _ := w.send(ann, "POST", "/portal/users/bo/password", url.Values{}, "https://evil.example"); status != 403 {
		t.Errorf("a reset from another site: HTTP %d", status)
	}
	if status, _, _ := w.send(ann, "POST", "/portal/users/ann/password", url.Values{}); status != 400 {
		t.Errorf("an owner resetting its own password: HTTP %d", status)
	}

	// The password: shown once, and the user must change it.
	status, _, body = w.send(ann, "POST", "/portal/users/bo/password", url.Values{})
	m := resetPasswordRE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("resetting bo's password: HTTP %d\n%s", status, body)
	}
	temp := m[1]
	if status, _, body := w.send(ann, "GET", "/portal/users", nil); status != 200 || strings.Contains(body, temp) {
		t.Errorf("the users page shows the temporary password again (HTTP %d)", status)
	}
	if status, _, _ := w.send(bo, "GET", "/portal/orders", nil); status != 401 {
		t.Errorf("bo's session after the reset: HTTP %d", status)
	}
	bo.password = temp
	w.login(bo)
	if status, loc, _ := w.send(bo, "GET", "/portal/orders", nil); status != 303 || loc != "/portal/account" {
		t.Errorf("a page before the temporary password is changed: HTTP %d to %q", status, loc)
	}
	if status, _, _ := w.send(bo, "POST", "/portal/complaints/x/response", url.Values{"response": {"hi"}}); status != 403 {
		t.Errorf("a form before the temporary password is changed: HTTP %d", status)
	}
	if status, _, body := w.send(bo, "GET", "/portal/account?lang=en", nil); status != 200 || !strings.Contains(body, `id="must-change"`) ||
		strings.Contains(body, `id="current-password"`) || strings.Contains(body, `id="nav-orders"`) {
		t.Errorf("the account page of a temporary password: HTTP %d\n%s", status, body)
	}
	if status, _, _ := w.send(bo, "POST", "/portal/account/password", url.Values{"password": {"bo's own password"}, "password2": {"bo's own passwd"}}); status != 400 {
		t.Errorf("two new passwords that differ: HTTP %d", status)
	}
	if status, _, _ := w.send(bo, "POST", "/portal/account/password", url.Values{"password": {temp}, "password2": {temp}}); status != 400 {
		t.Errorf("the temporary password kept: HTTP %d", status)
	}
	status, loc, _ = w.send(bo, "POST", "/portal/account/password", url.Values{"password": {"bo's own password"}, "password2": {"bo's own password"}})
	if status != 303 || loc != "/portal/account?done=password" {
		t.Fatalf("choosing a password: HTTP %d to %q", status, loc)
	}
	if status, loc, _ := w.send(bo, "GET", "/portal/orders", nil); status != 200 {
		t.Errorf("a page once the password is chosen: HTTP %d to %q", status, loc)
	}
	bo.password = "bo's own password"
	w.login(bo)

	// The second factor: the next login takes the password alone, and
	// enrols a new one.
	if status, loc, _ := w.send(ann, "POST", "/portal/users/dev/totp", url.Values{}); status != 303 || loc != "/portal/users?totp=dev" {
		t.Fatalf("resetting dev's second factor: HTTP %d to %q", status, loc)
	}
	dev.totp = ""
	w.login(dev)
	if status, loc, _ := w.send(dev, "GET", "/portal/keys", nil); status != 303 || loc != "/portal/account" {
		t.Errorf("a page before enrolling: HTTP %d to %q", status, loc)
	}
	if status, _, _ := w.send(dev, "POST", "/portal/account/totp", url.Values{}); status != 303 {
		t.Fatalf("starting the enrolment: HTTP %d", status)
	}
	_, _, body = w.send(dev, "GET", "/portal/account", nil)
	m = enrolSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the account page shows no secret to enrol:\n%s", body)
	}
	code, _ := totp.GenerateCode(m[1], w.clock.Now())
	if status, loc, _ := w.send(dev, "POST", "/portal/account/totp/confirm", url.Values{"totp": {code}}); status != 303 || loc != "/portal/account?done=totp" {
		t.Fatalf("confirming the enrolment: HTTP %d to %q", status, loc)
	}
	if status, _, _ := w.send(dev, "GET", "/portal/keys", nil); status != 200 {
		t.Errorf("a page once enrolled: HTTP %d", status)
	}
	dev.totp = m[1]
	w.login(dev)

	// Audited, each under the owner, and the temporary password nowhere.
	entries, err := audit.List(t.Context(), w.a.core, audit.Filter{TargetKind: "merchant user"})
	if err != nil {
		t.Fatal(err)
	}
	did := map[string]string{}
	for _, e := range entries {
		did[e.Action+" "+e.Target.ID] = e.Actor
	}
	annActor, who := "merchant_user:"+w.m.MchID+"/ann", "merchant_user:"+w.m.MchID+"/"
	for _, k := range []string{"merchant user role " + who + "bo", "merchant user password reset " + who + "bo", "merchant user totp reset " + who + "dev"} {
		if did[k] != annActor {
			t.Errorf("%s: recorded by %q, want %s", k, did[k], annActor)
		}
	}
	if did["merchant user password change "+who+"bo"] != who+"bo" || did["merchant user totp enrol "+who+"dev"] != who+"dev" {
		t.Errorf("the user's own changes: %v", did)
	}
	all, _ := audit.List(t.Context(), w.a.core, audit.Filter{})
	raw, _ := json.Marshal(all)
	if strings.Contains(string(raw), temp) || strings.Contains(w.log.String(), temp) {
		t.Error("the temporary password is in the audit log or the log")
	}
}

// TestMerchantUsersCLIResets: staff reset an owner's password and second
// factor from the command line, each audited under --actor: the owner
// logs in with the temporary password alone and is sent to its account
// page; the last owner keeps its role.
func TestMerchantUsersCLIResets(t *testing.T) {
	in := startServer(t, db.SQLite)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	var en struct {
		Password string `json:"password"`
	}
	in.mustCLI(&en, "merchant-users", "add", "--mchid", m.MchID, "--name", "ann")
	if _, err := in.cli("merchant-users", "role", "--mchid", m.MchID, "--name", "ann", "--role", "finance"); err == nil ||
		!strings.Contains(err.Error(), "only owner") {
		t.Errorf("demoting the last owner from the command line: %v", err)
	}
	var reset struct {
		Temp string `json:"temporary_password"`
	}
	in.mustCLI(&reset, "merchant-users", "reset-password", "--mchid", m.MchID, "--name", "ann", "--actor", "li.wei")
	var u struct {
		TOTP      bool `json:"totp"`
		TOTPEnrol bool `json:"totp_enrol"`
	}
	in.mustCLI(&u, "merchant-users", "reset-totp", "--mchid", m.MchID, "--name", "ann", "--actor", "li.wei")
	if len(reset.Temp) < 20 || u.TOTP || !u.TOTPEnrol {
		t.Fatalf("reset-password printed %+v, reset-totp %+v", reset, u)
	}
	w := &portalWorld{creditWorld: &creditWorld{t: t, base: in.base}}
	ann := w.user(m.MchID, "ann", reset.Temp, "")
	status, loc, _ := w.send(ann, "POST", "/portal/login", url.Values{"mchid": {m.MchID}, "name": {"ann"}, "password": {reset.Temp}, "next": {"/portal/keys"}})
	if status != 303 {
		t.Fatalf("logging in with the temporary password alone: HTTP %d", status)
	}
	if status, loc, _ = w.send(ann, "GET", loc, nil); status != 303 || loc != "/portal/account" {
		t.Errorf("the first page after: HTTP %d to %q", status, loc)
	}
	entries, err := audit.List(t.Context(), in.store(t, "core"), audit.Filter{TargetKind: "merchant user"})
	if err != nil {
		t.Fatal(err)
	}
	did := map[string]string{}
	for _, e := range entries {
		did[e.Action] = e.Actor
	}
	if did["merchant user password reset"] != "staff:li.wei" || did["merchant user totp reset"] != "staff:li.wei" {
		t.Errorf("the audit log of the resets: %v", did)
	}
}
