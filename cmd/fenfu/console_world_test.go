package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/scheme"
)

// The ops console's tests run against a whole server (startWorld), as
// staff reach it: members made as a director makes them, who log in
// with their password and the TOTP code of the secret they enrolled.

// desk is a server with its console, for the console's tests.
type desk struct {
	*creditWorld
	// docs are the documents of the applications inReview made.
	docs map[string]doc
}

func startDesk(t *testing.T, engine db.Engine) *desk {
	t.Helper()
	return &desk{creditWorld: startCreditWorld(t, engine), docs: map[string]doc{}}
}

// member is a staff member as they log in.
type member struct {
	name, password, secret string
}

// member adds a staff member of dept and rank.
func (d *desk) member(name string, dept access.Department, rank access.Rank) member {
	d.t.Helper()
	const pw = "console test password"
	en, err := d.a.access.Add(d.t.Context(), "staff:test", access.NewStaff{Name: name, Department: dept, Rank: rank, Password: pw})
	if err != nil {
		d.t.Fatal(err)
	}
	return member{name: name, password: pw, secret: en.TOTPSecret}
}

// code is m's TOTP code now by the server's clock, as the authenticator
// app enrolled with m's secret shows it. A code is taken once: the clock
// moves on a step for the next.
func (d *desk) code(m member) string {
	d.t.Helper()
	d.clock.Advance(30 * time.Second)
	c, err := totp.GenerateCodeCustom(m.secret, d.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// login logs m in through the console's login page in p's browser.
func (d *desk) login(p *person, m member) {
	d.t.Helper()
	p.open(d.base+"/console/login?lang=zh", `#login-name`)
	p.do(chromedp.SendKeys(chromedp.CSS(`#login-name`), m.name), chromedp.SendKeys(chromedp.CSS(`#login-password`), m.password),
		chromedp.SendKeys(chromedp.CSS(`#login-totp`), d.code(m)))
	p.click(`#login-button`, `#who`)
}

// client is an HTTP client logged in to the console as m, which follows
// no redirect, so a test sees each answer.
func (d *desk) client(m member) *http.Client {
	d.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"name": {m.name}, "password": {m.password}, "totp": {d.code(m)}, "next": {"/console/"}}
	resp, err := c.PostForm(d.base+"/console/login", form)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		d.t.Fatalf("login of %s: %d to %q", m.name, resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// get fetches a console page with c and answers its status and body.
func (d *desk) get(c *http.Client, path string) (int, string) {
	d.t.Helper()
	resp, err := c.Get(d.base + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a console form with c, with the form token of the page at
// from, as the page's form would.
func (d *desk) post(c *http.Client, from, path string, form url.Values) *http.Response {
	d.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if from != "" {
		_, page := d.get(c, from)
		m := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			d.t.Fatalf("%s has no form token", from)
		}
		form.Set("form_token", m[1])
	}
	req, _ := http.NewRequest("POST", d.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.base)
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp
}

// text is a page's visible text, roughly: its markup without tags.
func text(page string) string {
	page = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(page, " ")
	return regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page, " ")
}

// inReview makes a merchant named name with three months of history and
// submits its life-services application, with a legal person and an
// uploaded licence (withDocument), into review; it answers the
// application's id.
func (d *desk) inReview(name string) string {
	d.t.Helper()
	ctx := d.t.Context()
	m, err := d.a.merchants.CreateSandbox(ctx, name, scheme.RSA)
	if err != nil {
		d.t.Fatal(err)
	}
	hist := "mchid,month,ordinary_count\n"
	for _, month := range onboard.HistoryMonths(d.clock.Now(), 3) {
		hist += m.MchID + "," + month + ",40\n"
	}
	if _, err := onboard.ImportHistory(ctx, d.a.core, strings.NewReader(hist), "test"); err != nil {
		d.t.Fatal(err)
	}
	pic := licencePNG(d.t, name)
	up, err := d.a.onboard.Upload(ctx, m.MchID, "licence.png", pic)
	if err != nil {
		d.t.Fatal(err)
	}
	r, err := d.a.onboard.Create(ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1K00002Y",
		LicenceStatus: "normal", Industry: "life_services", Qualifications: map[onboard.Qualification]string{onboard.IndustryPermit: "沪-2026-001"},
		LegalPerson: &onboard.Person{Name: "张三丰", IDNumber: "11010519491231002X", Phone: "13812345678"},
		Documents:   []onboard.Document{{Kind: "licence", SHA256: up.MediaID}}})
	if err != nil {
		d.t.Fatal(err)
	}
	if r, err = d.a.onboard.Submit(ctx, r.ID, "merchant:"+m.MchID); err != nil || r.State != onboard.InReview {
		d.t.Fatalf("submitted: %+v, %v", r, err)
	}
	d.docs[r.ID] = doc{id: r.ID, sha: up.MediaID, data: pic}
	return r.ID
}

// audited reports whether the store's audit log has an entry of action
// by actor about id.
func (d *desk) audited(store *db.DB, actor, action, id string) bool {
	d.t.Helper()
	list, err := audit.List(context.Background(), store, audit.Filter{Actor: actor, Action: action, TargetID: id, Limit: 10})
	if err != nil {
		d.t.Fatal(err)
	}
	return len(list) > 0
}

// held pays an order of total on credit under a rule that holds every
// credit payment of ¥500 or more, and answers it: in the risk queue, and
// held out of settlement.
func (d *desk) held(no string, total fenfu.Fen) pay.Order {
	d.t.Helper()
	ctx := d.t.Context()
	if cur, err := d.a.risk.Current(ctx); err == nil && !slices.ContainsFunc(cur.Rules, func(r risk.Rule) bool { return r.Name == "big-hold" }) {
		if _, err := d.a.risk.AddRule(ctx, "staff:test", "hold large credit payments for review", risk.Rule{Name: "big-hold",
			Channels: []string{risk.Credit}, Expr: `amount >= 50000`, Decision: risk.Hold, Reason: "large credit payment", Enabled: true}); err != nil {
			d.t.Fatal(err)
		}
	}
	o := d.order(no, total)
	d.pay(d.consumer(100_000_00, 0), o, 1)
	o, err := d.a.pay.Get(ctx, o.ID)
	if err != nil || o.HoldUntil.IsZero() {
		d.t.Fatalf("order %s is not held: %+v, %v", no, o, err)
	}
	return o
}

// doc is an application's uploaded document.
type doc struct {
	id, sha string
	data    []byte
}

// withDocument is the document of an application inReview made: a PNG
// of its business licence.
func (d *desk) withDocument(id string) doc {
	d.t.Helper()
	x, ok := d.docs[id]
	if !ok {
		d.t.Fatalf("application %s has no document", id)
	}
	return x
}

// licencePNG is a small image standing for the scanned licence of the
// merchant named name.
func licencePNG(t *testing.T, name string) []byte {
	t.Helper()
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for i := range img.Pix {
		img.Pix[i] = byte(i) ^ name[i%len(name)]
	}
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
