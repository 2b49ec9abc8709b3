package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Defects of the merchant portal, each shown by one test over HTTP.

// TestReviewPortalTicketFormLosesInputOnError: a ticket refused for its
// file (or any field) answers a bare error page: the type, subject and
// description the merchant wrote are gone, and the form with them.
func TestReviewPortalTicketFormLosesInputOnError(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	desc := "昨天 12:00 至 12:30 的订单都没有收到支付通知，请核实。"
	status, _, body := w.sendFile(owner, "/portal/tickets?lang=zh", map[string]string{"type": "INTERFACE_TIMEOUT", "subject": "通知未到",
		"description": desc}, "record.txt", "text/plain", []byte("<html><body>not text</body></html>"))
	if status != 400 {
		t.Fatalf("a ticket with a file that is not what it says: HTTP %d", status)
	}
	if !strings.Contains(body, `id="open-ticket"`) || !strings.Contains(body, desc) {
		t.Errorf("the refusal does not give back the form (%v) nor the description written (%v)", strings.Contains(body, `id="open-ticket"`),
			strings.Contains(body, desc))
	}
}

// TestReviewPortalTicketPagesShowCodesNotWords: the portal's ticket list
// and ticket page, in Chinese, show the types, states, history events and
// actors as the API's codes (GENERAL, OPEN, OPENED, merchant), where
// every other word of the page is Chinese; the console has these words
// (ttype-, tstatus-).
func TestReviewPortalTicketPagesShowCodesNotWords(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	status, loc, _ := w.send(owner, "POST", "/portal/tickets", url.Values{"type": {"GENERAL"}, "subject": {"结算问题"}, "description": {"请核实"}})
	if status != 303 {
		t.Fatalf("opening a ticket: HTTP %d", status)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/portal/tickets/")
	for _, path := range []string{"/portal/tickets?lang=zh", "/portal/tickets/" + id + "?lang=zh"} {
		_, _, page := w.send(owner, "GET", path, nil)
		for _, code := range []string{">GENERAL<", ">OPEN<", ">OPENED<", ">merchant<"} {
			if strings.Contains(page, code) {
				t.Errorf("%s shows %s untranslated on a Chinese page", path, strings.Trim(code, "<>"))
			}
		}
	}
}

// TestReviewPortalBillDownloadNotAuditedWithItsHash: a bill download
// means to record the bill's SHA-1 in its audit entry (c.done), but a
// read is recorded before it is answered and never again, so the entry
// says nothing of which bytes left.
func TestReviewPortalBillDownloadNotAuditedWithItsHash(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.paid("TEA-0001", 120_00, pay.ChannelCredit)
	day := w.clock.Now().In(fenfu.Shanghai).Format(time.DateOnly)
	w.clock.Set(fenfu.DayStart(w.clock.Now()).AddDate(0, 0, 1).Add(10 * time.Hour))
	w.login(owner)
	if status, _, body := w.send(owner, "GET", "/portal/bills/download?kind=trade&date="+day, nil); status != 200 || !strings.Contains(body, "TEA-0001") {
		t.Fatalf("the day's bill: HTTP %d\n%s", status, body)
	}
	entries, err := audit.List(t.Context(), w.a.core, audit.Filter{Actor: "merchant_user:" + w.m.MchID + "/ann",
		Action: "GET /portal/bills/download", Limit: 10})
	if err != nil || len(entries) == 0 {
		t.Fatalf("the download's audit entries: %v, %v", entries, err)
	}
	for _, e := range entries {
		var d map[string]any
		_ = json.Unmarshal(e.Detail, &d)
		if d["sha1"] != nil {
			return
		}
	}
	t.Errorf("no audit entry of the bill download records the bill's sha1: %s", entries[0].Detail)
}

// TestReviewPortalUsersNoticeRepeatsAnyText: /portal/users?disabled=
// shows whatever text the link carries as the portal's own notice
// ("已停用用户：…"), so a link can make the portal say what it likes.
func TestReviewPortalUsersNoticeRepeatsAnyText(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	const bait = "请致电4008001234重置密钥"
	_, _, page := w.send(owner, "GET", "/portal/users?lang=zh&disabled="+url.QueryEscape(bait), nil)
	if strings.Contains(page, bait) {
		t.Errorf("the users page shows a link's text as its notice: %q", bait)
	}
}
