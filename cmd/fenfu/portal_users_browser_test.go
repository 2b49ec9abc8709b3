package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fenfu/fenfu/db"
)

// TestPortalUserResetsInBrowser: in Chromium, a merchant's owner changes
// a user's role and resets its password; the temporary password is shown
// once, and the user, logging in with it, is taken to its account page —
// every other page sends it back there — until it has chosen its own,
// after which its role's pages are its again.
func TestPortalUserResetsInBrowser(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	w.add(owner, "bo", "finance", false)

	ann := newPersonAt(t, desktop)
	w.portalLogin(ann, owner)
	ann.click(`#nav-users`, `#users`)
	row := `tr[data-user="bo"]`
	ann.sees(row, "finance")
	if !ann.eval(`(document.querySelector('` + row + ` select[name=role]').value = 'support', true)`) {
		t.Fatal("the role's select")
	}
	ann.click(row+` button.set-role`, `#notice`)
	ann.sees("#notice", "Role changed: bo")
	ann.sees(row, "support")
	ann.shot("role-changed")

	ann.click(row+` button.reset-password`, `#reset`)
	ann.sees("#reset", "bo")
	temp := ann.text(`#reset-password`)
	if len(temp) < 20 {
		t.Fatalf("the temporary password shown: %q", temp)
	}
	ann.shot("password-reset")

	bo := newPersonAt(t, desktop)
	bo.open(w.base+"/portal/login?lang=en", `#login-mchid`)
	bo.do(chromedp.SendKeys(chromedp.CSS(`#login-mchid`), w.m.MchID), chromedp.SendKeys(chromedp.CSS(`#login-name`), "bo"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), temp))
	bo.click(`#login-submit`, `#must-change`)
	bo.sees("#must-change", "temporary password")
	if bo.eval(`document.querySelector('#nav-orders') !== null`) {
		t.Error("the account page of a temporary password offers the orders")
	}
	bo.shot("must-change")
	bo.open(w.base+"/portal/orders", `#must-change`) // sent back
	bo.do(chromedp.SendKeys(chromedp.CSS(`#new-password`), "bo's very own password"),
		chromedp.SendKeys(chromedp.CSS(`#new-password2`), "bo's very own password"))
	bo.click(`#change-password`, `#notice`)
	bo.sees("#notice", "Password changed")
	if bo.eval(`document.querySelector('#must-change') !== null`) {
		t.Error("the account page still asks for a new password")
	}
	bo.click(`#nav-orders`, `#orders`)
	bo.sees("#who", "bo", "support")
	bo.shot("orders-after")
}
