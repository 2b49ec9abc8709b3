package server

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
)

func get(t *testing.T, h http.Handler, target, acceptLanguage string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	if acceptLanguage != "" {
		r.Header.Set("Accept-Language", acceptLanguage)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(b)
}

// TestErrorsJSON: /errors.json holds every code of the catalogue with its
// message and remedy in both languages, and the seed's three problems
// with the codes they show as.
func TestErrorsJSON(t *testing.T) {
	resp, body := get(t, handleErrorsJSON(), "/errors.json", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		Problems []struct {
			ID                      string
			Title, Remedy, Response map[string]string
			Codes                   []string
			Href                    string
		}
		Codes []struct {
			Code            string
			Kind            string
			HTTPStatus      int    `json:"http_status"`
			V2              string `json:"v2_err_code"`
			Message, Remedy map[string]string
			Consumer        *struct{ Title map[string]string }
			Problems        []string
			Href            string
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for i, c := range doc.Codes {
		got[c.Code] = i
		if c.Message["zh"] == "" || c.Message["en"] == "" || c.Remedy["zh"] == "" || c.Remedy["en"] == "" || c.Href != "/errors#"+c.Code {
			t.Errorf("%s: %+v", c.Code, c)
		}
	}
	for _, c := range fenfu.Catalogue() {
		if _, ok := got[string(c)]; !ok {
			t.Errorf("%s is not in /errors.json", c)
		}
	}
	ne := doc.Codes[got["NOT_ENOUGH"]]
	if ne.HTTPStatus != 403 || ne.V2 != "NOTENOUGH" || ne.Kind != "answer" || ne.Consumer == nil || ne.Consumer.Title["zh"] != "分付额度不足" ||
		!slices.Contains(ne.Problems, "payment-failed") {
		t.Errorf("NOT_ENOUGH: %+v", ne)
	}
	if nu := doc.Codes[got["NOTIFY_UNREACHABLE"]]; nu.Kind != "finding" || nu.HTTPStatus != 0 || !strings.Contains(nu.Remedy["zh"], "HTTPS 证书") ||
		!strings.Contains(nu.Remedy["en"], "firewall") {
		t.Errorf("NOTIFY_UNREACHABLE: %+v", nu)
	}
	// The seed's three problems, each with its remedy and codes.
	want := map[string][]string{
		"interface-timeout":  {"HTTPS 证书", "防火墙", "certificate", "firewall", "NOTIFY_UNREACHABLE"},
		"payment-failed":     {"更新到最新版本", "分付额度", "update the app", "credit quota", "NOT_ENOUGH"},
		"settlement-delayed": {"结算异常申请", "交易流水", "settlement exception request", "transaction record", "BATCH_RUNNING"},
	}
	for _, p := range doc.Problems {
		w, ok := want[p.ID]
		if !ok {
			t.Errorf("problem %s", p.ID)
			continue
		}
		delete(want, p.ID)
		text := p.Remedy["zh"] + p.Remedy["en"] + strings.Join(p.Codes, " ")
		for _, s := range w {
			if !strings.Contains(text, s) {
				t.Errorf("%s does not say %q: %+v", p.ID, s, p)
			}
		}
		if p.Href != "/errors#"+p.ID || p.Response["zh"] == "" || p.Title["en"] == "" {
			t.Errorf("%s: %+v", p.ID, p)
		}
	}
	if len(want) > 0 {
		t.Errorf("problems missing: %v", want)
	}
}

var idRE = regexp.MustCompile(`id="([^"]+)"`)

// section is the HTML of the code's section, unescaped.
func section(page, id string) string {
	m := regexp.MustCompile(`(?s)<section class="[a-z]+" id="` + regexp.QuoteMeta(id) + `">(.*?)</section>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestErrorsPage: the page has an anchor for every code, its v2 spelling
// and every problem, each code's section says its remedy in the page's
// language, the search finds codes by code and by words in either
// language, and the inline style runs under the response's nonce only.
func TestErrorsPage(t *testing.T) {
	h := handleErrorsPage(nil)
	resp, page := get(t, h, "/errors", "en-US,en;q=0.9")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ids := map[string]bool{}
	for _, m := range idRE.FindAllStringSubmatch(page, -1) {
		if ids[m[1]] {
			t.Errorf("id %s twice", m[1])
		}
		ids[m[1]] = true
	}
	for _, c := range fenfu.Catalogue() {
		e, _ := fenfu.Lookup(c)
		if !ids[string(c)] {
			t.Errorf("no anchor for %s", c)
		}
		if e.V2 != "" && !ids[e.V2] {
			t.Errorf("no anchor for %s's v2 spelling %s", c, e.V2)
		}
		if s := section(page, string(c)); !strings.Contains(s, e.Remedy.EN) || !strings.Contains(s, e.Message.EN) {
			t.Errorf("%s's section does not say its message and remedy: %q", c, s)
		}
	}
	for _, p := range fenfu.Problems() {
		if s := section(page, p.ID); !strings.Contains(s, p.Remedy.EN) || !strings.Contains(s, `href="#`+string(p.Codes[0])+`"`) {
			t.Errorf("problem %s: %q", p.ID, s)
		}
	}
	if !strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, `href="/errors?lang=zh"`) {
		t.Error("the English page or its switch")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`style-src 'nonce-([A-Za-z0-9+/=]{16,})'`).FindStringSubmatch(csp)
	if m == nil || strings.Contains(csp, "unsafe-inline") || !strings.Contains(html.UnescapeString(page), `<style nonce="`+m[1]+`">`) {
		t.Errorf("CSP %q", csp)
	}
	if _, again := get(t, h, "/errors", ""); strings.Contains(html.UnescapeString(again), m[1]) {
		t.Error("the nonce is not fresh per response")
	}

	// Chinese by default, and on ?lang=zh whatever the header.
	for _, r := range []struct{ target, accept string }{{"/errors", ""}, {"/errors?lang=zh", "en"}} {
		_, zh := get(t, h, r.target, r.accept)
		e, _ := fenfu.Lookup(fenfu.NotEnough)
		if !strings.Contains(zh, `<html lang="zh-CN">`) || !strings.Contains(section(zh, "NOT_ENOUGH"), e.Remedy.ZH) {
			t.Errorf("%s in Chinese: %q", r.target, section(zh, "NOT_ENOUGH"))
		}
	}

	// Search: by code, whatever the case, by v2 spelling, by words.
	for q, want := range map[string][]string{
		"not_enough":    {"NOT_ENOUGH"},
		"ORDERNOTEXIST": {"ORDER_NOT_EXIST"},
		"额度":            {"NOT_ENOUGH"},
		"firewall":      {"NOTIFY_UNREACHABLE"},
	} {
		resp, page := get(t, h, "/errors?lang=en&q="+q, "")
		if resp.StatusCode != 200 {
			t.Errorf("q=%s: %d", q, resp.StatusCode)
		}
		for _, c := range want {
			if section(page, c) == "" {
				t.Errorf("q=%s does not show %s", q, c)
			}
		}
		if section(page, "PARAM_ERROR") != "" {
			t.Errorf("q=%s shows PARAM_ERROR", q)
		}
	}
	resp, page = get(t, h, "/errors?q=%3Cscript%3Enothing", "en")
	if resp.StatusCode != 404 || !strings.Contains(page, `id="no-match"`) || strings.Contains(page, "<script>") {
		t.Errorf("a search that finds nothing: %d %q", resp.StatusCode, page)
	}
}

// FuzzErrorsPage: any search and language render the page, never with the
// search's markup in it.
func FuzzErrorsPage(f *testing.F) {
	for _, s := range []string{"", "NOT_ENOUGH", "额度", "<script>", "%ff", strings.Repeat("x", 200)} {
		f.Add(s, "en")
	}
	h := handleErrorsPage(nil)
	f.Fuzz(func(t *testing.T, q, lang string) {
		r := httptest.NewRequest("GET", "/errors", nil)
		r.URL.RawQuery = (url.Values{"q": {q}, "lang": {lang}}).Encode()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 404 {
			t.Fatalf("status %d", w.Code)
		}
		if strings.Contains(q, "<") && strings.Contains(w.Body.String(), q) {
			t.Fatalf("the search %q is in the page unescaped", q)
		}
	})
}
