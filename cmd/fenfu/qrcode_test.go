package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/qr/qrtest"
)

// markRE finds the mark in a code's SVG.
var markRE = regexp.MustCompile(`font-weight="bold">([0-9A-Z]{6})</tspan>`)

// codeOf has the merchant's SDK client create an order and returns its
// code_url.
func codeOf(t *testing.T, client *core.Client, m sandboxMerchant, no string) string {
	t.Helper()
	svc := native.NativeApiService{Client: client}
	resp, _, err := svc.Prepay(context.Background(), native.PrepayRequest{Appid: core.String(m.AppID),
		Mchid: core.String(m.MchID), Description: core.String("Tea"), OutTradeNo: core.String(no), NotifyUrl: core.String("https://shop.example/notify"),
		Amount: &native.Amount{Total: core.Int64(2500)}})
	if err != nil {
		t.Fatal(err)
	}
	return *resp.CodeUrl
}

// markOf reads the mark a code shows now, from its SVG.
func markOf(t *testing.T, codeURL string) string {
	t.Helper()
	resp, err := http.Get(codeURL + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := markRE.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("%s.svg: %d %s", codeURL, resp.StatusCode, b)
	}
	return string(m[1])
}

// other is a mark that is not mark.
func other(mark string) string {
	if mark[0] == 'Z' {
		return "Y" + mark[1:]
	}
	return "Z" + mark[1:]
}

// TestVerifyMarks: a merchant verifies the mark under its own code with
// the official SDK (valid, with the minute, or MARK_MISMATCH), not
// another merchant's (NO_AUTH); an inspector on the staff API verifies any
// code, staff without qr.verify cannot; `fenfu qr verify` agrees, exiting
// non-zero on a wrong mark; `fenfu qr render` draws a code that scans;
// and wrong marks spend the verifier's budget, on each engine.
func TestVerifyMarks(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testVerifyMarks(t, engine) })
	}
}

func testVerifyMarks(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	dir := t.TempDir()
	args := []string{"--data-dir", dir}
	if engine == db.Postgres {
		args = append(args, "--core-db", dbtest.DSN(t, engine, "core"), "--credit-db", dbtest.DSN(t, engine, "credit"))
	}
	in := startNode(t, args, nil, "--qr-verify-failures", "3")
	var a, b sandboxMerchant
	in.mustCLI(&a, "sandbox", "merchant", "--name", "茶馆")
	in.mustCLI(&b, "sandbox", "merchant", "--name", "Other shop")
	ca, cb := sdkClient(t, in.base, a), sdkClient(t, in.base, b)
	codeURL := codeOf(t, ca, a, "QR-MARK-1")
	token := strings.TrimPrefix(codeURL, in.base+"/q/")
	mark := markOf(t, codeURL)
	verify := func(c *core.Client, token, mark string) (qr.Verdict, error) {
		t.Helper()
		res, err := c.Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/qrcodes/verify?"+url.Values{"token": {token}, "mark": {mark}}.Encode())
		if err != nil {
			return qr.Verdict{}, err
		}
		defer res.Response.Body.Close()
		var v qr.Verdict
		if err := json.NewDecoder(res.Response.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v, nil
	}
	v, err := verify(ca, token, strings.ToLower(mark))
	if err != nil || !v.Valid || v.MchID != a.MchID || v.Kind != "order" {
		t.Fatalf("the merchant's own code and its mark: %+v %v", v, err)
	}
	minute, err := time.Parse(time.RFC3339, v.Minute)
	if err != nil || minute.Second() != 0 || time.Since(minute) > 2*time.Minute || !strings.HasSuffix(v.Minute, "+08:00") {
		t.Errorf("minute %q", v.Minute)
	}
	if v, err := verify(ca, token, other(mark)); err != nil || v.Valid || v.Reason != qr.MarkMismatch || v.MchID != a.MchID {
		t.Errorf("a wrong mark: %+v %v", v, err)
	}
	apiErr := func(err error, status int, code string) bool {
		var e *core.APIError
		return errors.As(err, &e) && e.StatusCode == status && e.Code == code
	}
	if _, err := verify(cb, token, mark); !apiErr(err, 403, "NO_AUTH") {
		t.Errorf("another merchant's code: %v", err)
	}
	if _, err := verify(ca, token, ""); !apiErr(err, 400, "PARAM_ERROR") {
		t.Errorf("no mark: %v", err)
	}

	// An aggregate code's token is read as one: its kind and merchant.
	var till struct {
		CodeURL string `json:"code_url"`
	}
	in.mustCLI(&till, "aggregate", "create", "--mchid", a.MchID, "--label", "Till 3", "--public-url", in.base)
	tillToken := till.CodeURL[strings.LastIndex(till.CodeURL, "/")+1:]
	if v, err := verify(ca, tillToken, "000000"); err != nil || v.Valid || v.Reason != qr.MarkMismatch || v.Kind != "aggregate" || v.MchID != a.MchID {
		t.Errorf("an aggregate code's wrong mark: %+v %v", v, err)
	}
	if _, err := verify(cb, tillToken, "000000"); !apiErr(err, 403, "NO_AUTH") {
		t.Errorf("another merchant's aggregate code: %v", err)
	}

	// Inspectors: support staff hold qr.verify, finance staff do not.
	in.mustCLI(nil, "staff", "add", "--name", "wang.fang", "--department", "support", "--rank", "staff")
	in.mustCLI(nil, "staff", "add", "--name", "zhou.li", "--department", "finance", "--rank", "staff")
	staff := func(name string) func(token, mark string) (int, qr.Verdict) {
		var tok struct {
			Token string `json:"token"`
		}
		in.mustCLI(&tok, "staff", "token", "create", "--name", name)
		return func(token, mark string) (int, qr.Verdict) {
			req, _ := http.NewRequest("GET", in.base+"/admin/qrcodes/verify?"+url.Values{"token": {token}, "mark": {mark}}.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v qr.Verdict
			_ = json.NewDecoder(resp.Body).Decode(&v)
			return resp.StatusCode, v
		}
	}
	inspector, finance := staff("wang.fang"), staff("zhou.li")
	if st, v := inspector(token, mark); st != 200 || !v.Valid || v.MchID != a.MchID {
		t.Errorf("an inspector: %d %+v", st, v)
	}
	if st, v := inspector(token[:len(token)-2]+"AA", mark); st != 200 || v.Valid || v.Reason != qr.NotIssued || v.MchID != "" {
		t.Errorf("an inspector with an altered token: %d %+v", st, v)
	}
	if st, _ := finance(token, mark); st != 403 {
		t.Errorf("finance staff: %d", st)
	}

	// The command, offline, under the same secret.
	out, err := in.cli("qr", "verify", "--token", codeURL, "--mark", mark)
	if err != nil {
		t.Errorf("fenfu qr verify of the right mark: %v %s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !v.Valid || v.MchID != a.MchID {
		t.Errorf("fenfu qr verify: %v %s", err, out)
	}
	if out, err := in.cli("qr", "verify", "--token", token, "--mark", other(mark)); err == nil || !strings.Contains(err.Error(), qr.MarkMismatch) {
		t.Errorf("fenfu qr verify of a wrong mark: %v %s", err, out)
	}
	for _, size := range []string{"screen", "print"} {
		png, err := in.cli("qr", "render", "--token", codeURL, "--public-url", in.base, "--size", size)
		if err != nil {
			t.Fatal(err)
		}
		if got := qrtest.Scan(t, []byte(png)); got != codeURL {
			t.Errorf("fenfu qr render --size %s scans as %q", size, got)
		}
	}

	// B's budget of 3 wrong marks: the fourth verification is refused even
	// with the right mark; A's budget is its own.
	own := codeOf(t, cb, b, "QR-MARK-2")
	ownToken := strings.TrimPrefix(own, in.base+"/q/")
	for range 3 {
		if v, err := verify(cb, ownToken, "000000"); err != nil || v.Valid {
			t.Fatalf("a wrong mark: %+v %v", v, err)
		}
	}
	if _, err := verify(cb, ownToken, markOf(t, own)); !apiErr(err, 429, "FREQUENCY_LIMITED") {
		t.Errorf("over the budget: %v", err)
	}
	if v, err := verify(ca, token, markOf(t, codeURL)); err != nil || !v.Valid {
		t.Errorf("another merchant's budget: %+v %v", v, err)
	}
}

// TestCodeSVGInBrowser: an order's code as SVG, opened in Chromium at a
// phone's and a desktop's size, shows the mark with its minute and the
// note in its text, the badge at its top-right corner, and its screenshot
// scans as the code_url.
func TestCodeSVGInBrowser(t *testing.T) {
	p := newPerson(t)
	in := startServer(t, db.SQLite)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant", "--name", "茶馆")
	codeURL := codeOf(t, sdkClient(t, in.base, m), m, "QR-SVG-1")
	token := strings.TrimPrefix(codeURL, in.base+"/q/")
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 800, false}} {
		t.Run(vp.name, func(t *testing.T) {
			p.t = t
			var opts []chromedp.EmulateViewportOption
			if vp.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			p.do(chromedp.EmulateViewport(vp.width, vp.height, opts...))
			p.open(codeURL+".svg", "#code")
			mark, err1 := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('mark').textContent`))
			note, err2 := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('note').textContent`))
			badge, err3 := chromedp.Run(p.ctx, chromedp.Evaluate[struct{ Right, Top, Width float64 }](
				`(() => { const b = document.getElementById('badge').getBoundingClientRect(), s = document.documentElement.getBoundingClientRect();
				 return {Right: s.right - b.right, Top: b.top - s.top, Width: s.width}; })()`))
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			shown := regexp.MustCompile(`^防伪码 ([0-9A-Z]{6}) · ([0-2][0-9]:[0-5][0-9])$`).FindStringSubmatch(mark)
			if shown == nil || note != qr.NoteZH {
				t.Fatalf("the picture's text: mark %q, note %q", mark, note)
			}
			if now := time.Now().In(fenfu.Shanghai); shown[2] != now.Format("15:04") && shown[2] != now.Add(-time.Minute).Format("15:04") {
				t.Errorf("the mark's minute %s, at %s", shown[2], now.Format("15:04:05"))
			}
			if v, err := in.cli("qr", "verify", "--token", token, "--mark", shown[1]); err != nil {
				t.Errorf("the mark shown does not verify: %v %s", err, v)
			}
			if badge.Right > 0.5 || badge.Top > 0.5 || badge.Width < 300 {
				t.Errorf("the badge is %.1f px from the right and %.1f px from the top of a %.0f px picture", badge.Right, badge.Top, badge.Width)
			}
			shot, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if got := qrtest.Scan(t, shot); got != codeURL {
				t.Errorf("the screenshot scans as %q, want %q", got, codeURL)
			}
			p.shot("code-" + vp.name)
		})
	}
}
