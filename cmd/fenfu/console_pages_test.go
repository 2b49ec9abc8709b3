package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/settle"
)

// TestConsolePerMerchantListsPage: the console's list of one merchant's
// settlement exception requests (?mchid=) and its notification backlog
// per merchant page with a cursor as its other lists do: a page of
// ?limit=, a link to the next and back to the first, the CSV of every
// page, newest request (or lowest mchid) first, each row once.
func TestConsolePerMerchantListsPage(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testConsolePerMerchantListsPage(t, engine) })
	}
}

func testConsolePerMerchantListsPage(t *testing.T, engine db.Engine) {
	d := startDesk(t, engine)
	ctx := t.Context()
	c := d.client(d.member("lin", access.Engineering, access.Director))

	var filed []string
	for i := range 3 {
		x, err := d.a.settle.FileException(ctx, d.a.ids, d.mchid, settle.NewException{SettleDate: "2026-11-27", Description: fmt.Sprint("missing ", i)})
		if err != nil {
			t.Fatal(err)
		}
		filed = append(filed, x.ID)
		d.clock.Advance(time.Minute)
	}
	if _, err := d.a.settle.ResolveException(ctx, filed[0], settle.ExceptionResolved, "Paid out."); err != nil {
		t.Fatal(err)
	}
	code, page := d.get(c, "/console/finance/exceptions?mchid="+d.mchid+"&limit=2")
	if code != 200 || rows(page, "exceptions") != 2 || !strings.Contains(page, filed[2]) || !strings.Contains(page, filed[1]) ||
		href(page, "next-page") == "" || strings.Contains(page, `id="first-page"`) || strings.Contains(page, `id="sla-summary"`) {
		t.Fatalf("a merchant's exceptions, first page: %d, %d rows\n%s", code, rows(page, "exceptions"), text(page))
	}
	_, page = d.get(c, href(page, "next-page"))
	if rows(page, "exceptions") != 1 || !strings.Contains(page, filed[0]) || !strings.Contains(page, "已解决") ||
		strings.Contains(page, `id="next-page"`) || href(page, "first-page") == "" {
		t.Errorf("a merchant's exceptions, second page: %d rows\n%s", rows(page, "exceptions"), text(page))
	}
	if recs := d.download(c, "/console/finance/exceptions?format=csv&mchid="+d.mchid); len(recs) != 4 || recs[1][0] != filed[2] ||
		recs[3][0] != filed[0] || recs[3][5] != "RESOLVED" {
		t.Errorf("a merchant's exceptions' CSV: %q", recs)
	}
	if _, page = d.get(c, "/console/finance/exceptions?mchid="+d.mchid+"&after=bogus"); !strings.Contains(page, "PARAM_ERROR") {
		t.Errorf("a cursor the list did not answer: %s", text(page))
	}

	// The backlog: three merchants' waiting notifications.
	for i := range 3 {
		for j := range i + 1 {
			err := d.a.core.Update(ctx, func(tx *db.Tx) error {
				return notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: fmt.Sprintf("BACKLOG-%d-%d", i, j),
					MchID: fmt.Sprintf("10000000%02d", i), NotifyURL: "https://shop.example/notify"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	code, page = d.get(c, "/console/engineering/notifications?limit=2")
	if code != 200 || rows(page, "merchants") != 2 || !strings.Contains(page, `data-mchid="1000000000"`) ||
		!strings.Contains(page, `data-mchid="1000000001"`) || href(page, "next-page") == "" {
		t.Fatalf("the backlog's first page: %d, %d rows\n%s", code, rows(page, "merchants"), text(page))
	}
	_, page = d.get(c, href(page, "next-page"))
	if !strings.Contains(page, `data-mchid="1000000002"`) || strings.Contains(page, `data-mchid="1000000001"`) || href(page, "first-page") == "" {
		t.Errorf("the backlog's second page:\n%s", text(page))
	}
	recs := d.download(c, "/console/engineering/notifications?format=csv")
	var got []string
	for _, r := range recs[1:] {
		if strings.HasPrefix(r[0], "10000000") {
			got = append(got, r[0]+"="+r[1])
		}
	}
	if strings.Join(got, " ") != "1000000000=1 1000000001=2 1000000002=3" {
		t.Errorf("the backlog's CSV: %q", recs)
	}
}
