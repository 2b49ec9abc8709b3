package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// portalLogin fills the portal's login form as u, with the current TOTP
// code, and waits for the first page.
func (w *portalWorld) portalLogin(p *person, u *portalUser) {
	p.t.Helper()
	w.clock.Advance(30 * time.Second) // a code of its own
	code, _ := totp.GenerateCode(u.totp, w.clock.Now())
	p.open(w.base+"/portal/login?lang=en", `#login-mchid`)
	p.do(chromedp.SendKeys(chromedp.CSS(`#login-mchid`), u.mchid), chromedp.SendKeys(chromedp.CSS(`#login-name`), u.name),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), u.password), chromedp.SendKeys(chromedp.CSS(`#login-totp`), code))
	p.click(`#login-submit`, `#nav-orders`)
}

// TestPortalInBrowser: a merchant's owner logs in to the portal in
// Chromium, finds yesterday's order, downloads the day's trade bill —
// the very bytes the v3 bill API serves for that day — and resends the
// order's notification from the delivery log: the merchant's endpoint
// receives it again and the log shows the new attempt. On a phone's
// screen every page fits its width (wide tables scroll within their
// card).
func TestPortalInBrowser(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testPortalInBrowser(t, engine) })
	}
}

func testPortalInBrowser(t *testing.T, engine db.Engine) {
	p := newPersonAt(t, desktop)
	w := startPortalWorld(t, engine)
	owner := w.owner(w.m.MchID, "ann")
	o := w.paid("LAMP-0001", 268_00, pay.ChannelCredit)
	w.paid("LAMP-0002", 39_00, pay.ChannelBalance)
	event := "EV-" + o.ID
	w.hook.wait(event, 1)
	day := w.clock.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	w.clock.Set(fenfu.DayStart(w.clock.Now()).AddDate(0, 0, 1).Add(10 * time.Hour))

	w.portalLogin(p, owner)
	p.sees("#orders", "LAMP-0001", "LAMP-0002", "¥268.00", "SUCCESS")
	p.sees("#who", w.m.MchID, "ann", "owner")
	p.shot("orders")

	// The day's trade bill, downloaded by the browser.
	dir := t.TempDir()
	p.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID, DownloadPath: dir})
		return err
	}))
	p.click(`#nav-bills`, `#trade-form`)
	if got := p.value(`#trade-date`); got != day {
		t.Errorf("the bills page offers %s first, want yesterday, %s", got, day)
	}
	p.shot("bills")
	p.do(chromedp.Click(chromedp.CSS(`#download-trade`)))
	file := waitDownload(t, dir)
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := w.v3Bill(day); !bytes.Equal(got, want) {
		t.Errorf("the bill the browser downloaded (%s) differs from the v3 API's:\n%s\nwant:\n%s", filepath.Base(file), got, want)
	}
	if !strings.Contains(string(got), "LAMP-0001") || !strings.HasPrefix(filepath.Base(file), "tradebill_"+w.m.MchID+"_"+day) {
		t.Errorf("the downloaded bill %s:\n%s", filepath.Base(file), got)
	}

	// The delivery log, and a resend from it.
	p.click(`#nav-notifications`, `#log`)
	row := `tr.attempt[data-event="` + event + `"]`
	p.sees(row, "TRANSACTION.SUCCESS", "204", "Delivered", "DELIVERED")
	p.shot("notifications")
	p.click(row+` button.resend`, `#notice`)
	p.sees("#notice", "Resend scheduled", event)
	again := w.hook.wait(event, 2)
	if again[1]["out_trade_no"] != "LAMP-0001" || again[1]["trade_state"] != "SUCCESS" {
		t.Errorf("the endpoint received as the resent notification %+v", again[1])
	}
	second := `tr.attempt[data-event="` + event + `"][data-attempt="2"]`
	for i := 0; ; i++ { // the attempt is logged once the endpoint has answered
		p.open(w.base+"/portal/notifications?event_id="+event, `#log`)
		if p.eval(`document.querySelector('` + second + `') !== null`) {
			break
		}
		if i == 50 {
			t.Fatal("the delivery log never showed the resent attempt")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.sees(second, "204", "DELIVERED")
	p.shot("notifications-resent")

	// A phone's screen, in Chinese: every page fits.
	phoneUser := newPersonAt(t, phone)
	w.portalLogin(phoneUser, owner)
	for _, page := range []string{"orders", "orders/" + o.ID, "bills", "notifications", "settlements", "fees", "keys", "sandbox", "rollout",
		"complaints", "tickets", "users"} {
		phoneUser.open(w.base+"/portal/"+page+"?lang=zh", `main`)
		if !phoneUser.eval(`document.documentElement.scrollWidth <= window.innerWidth + 1`) {
			t.Errorf("/portal/%s is wider than a phone's screen", page)
		}
		if page == "orders/"+o.ID {
			phoneUser.sees("#refund-form", "发起退款")
		}
		phoneUser.shot(strings.ReplaceAll(page, "/", "-") + "-phone")
	}
}

// waitDownload waits for the browser to finish a download into dir and
// returns its file.
func waitDownload(t *testing.T, dir string) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".crdownload") {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the browser downloaded nothing")
	return ""
}
