package web_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/web"
)

func TestLangOf(t *testing.T) {
	for _, c := range []struct {
		query, cookie, accept string
		want                  catalog.Lang
	}{
		{"", "", "", catalog.ZH},
		{"", "", "en-GB,en;q=0.9", catalog.EN},
		{"", "en", "zh-CN", catalog.EN},
		{"lang=zh", "en", "en", catalog.ZH},
		{"lang=xx", "", "en", catalog.EN},
	} {
		r := httptest.NewRequest("GET", "/console/?"+c.query, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: web.LangCookie, Value: c.cookie})
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := web.LangOf(r); got != c.want {
			t.Errorf("%+v: %s, want %s", c, got, c.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	public := func() string { return "https://pay.example.com" }
	for _, c := range []struct {
		origin string
		public func() string
		want   bool
	}{
		{"", nil, true},
		{"null", nil, false},
		{"http://fenfu.test", nil, true},
		{"http://evil.test", nil, false},
		{"https://pay.example.com", public, true},
		{"https://pay.example.com:443", public, true},
		{"http://pay.example.com", public, false},
		{"https://pay.example.com:8443", public, false},
		{"https://evil.test", public, false},
		{"::", public, false},
	} {
		r := httptest.NewRequest("POST", "http://fenfu.test/console/login", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := web.SameOrigin(r, c.public); got != c.want {
			t.Errorf("origin %q: %v, want %v", c.origin, got, c.want)
		}
	}
}

func TestSession(t *testing.T) {
	s := web.Session{Name: "fenfu_staff", Path: "/console/"}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://fenfu.test/console/login", nil)
	s.Start(w, r, "ABCDEF234567", 3600e9)
	ck := w.Result().Cookies()[0]
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" || ck.MaxAge != 3600 {
		t.Fatalf("cookie %+v", ck)
	}
	for v, want := range map[string]string{"ABCDEF234567": "ABCDEF234567", "abc": "", "A'B": "", strings.Repeat("A", 65): ""} {
		r := httptest.NewRequest("GET", "/console/", nil)
		r.AddCookie(&http.Cookie{Name: "fenfu_staff", Value: v})
		if got := s.Token(r); got != want {
			t.Errorf("token of %q: %q, want %q", v, got, want)
		}
	}
	w = httptest.NewRecorder()
	s.End(w, httptest.NewRequest("POST", "http://fenfu.test/console/logout", nil))
	if ck := w.Result().Cookies()[0]; ck.MaxAge >= 0 || ck.Value != "" {
		t.Fatalf("ended cookie %+v", ck)
	}
}

// TestSessionPrefix: a surface whose tokens carry a prefix reads its
// own tokens only.
func TestSessionPrefix(t *testing.T) {
	s := web.Session{Name: "fenfu_staff", Path: "/console/", Prefix: "fss_"}
	for v, want := range map[string]string{"fss_ABCDEF234567": "fss_ABCDEF234567", "ABCDEF234567": "", "fss_": "",
		"fst_ABCDEF234567": "", "fss_abc": "", "fss_" + strings.Repeat("A", 65): ""} {
		r := httptest.NewRequest("GET", "/console/", nil)
		r.AddCookie(&http.Cookie{Name: "fenfu_staff", Value: v})
		if got := s.Token(r); got != want {
			t.Errorf("token of %q: %q, want %q", v, got, want)
		}
	}
}

// TestFormToken: a form carries its session's token, and no other
// session's, nor none.
func TestFormToken(t *testing.T) {
	a, b := web.FormToken("fss_AAAA"), web.FormToken("fss_BBBB")
	if a == b || a == "" || strings.Contains(a, "AAAA") {
		t.Fatalf("form tokens %q and %q", a, b)
	}
	post := func(tok string) *http.Request {
		r := httptest.NewRequest("POST", "/console/x", strings.NewReader(url.Values{web.FormField: {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	if !web.ValidForm(post(a), "fss_AAAA") {
		t.Error("the session's own token is refused")
	}
	if web.ValidForm(post(b), "fss_AAAA") || web.ValidForm(post(""), "fss_AAAA") || web.ValidForm(post(web.FormToken("")), "") {
		t.Error("another session's token, or none, is accepted")
	}
}

func TestPageHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	web.PageHeaders(w)
	if got := w.Header().Get("Content-Security-Policy"); got != web.PagePolicy {
		t.Fatalf("policy %q", got)
	}
	w = httptest.NewRecorder()
	n := web.Nonce()
	if n == web.Nonce() || len(n) != 24 {
		t.Fatalf("nonce %q", n)
	}
	w.Header().Set("Content-Security-Policy", web.ScriptPolicy(n))
	web.PageHeaders(w)
	if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "'nonce-"+n+"'") {
		t.Fatalf("a handler's policy was replaced: %q", got)
	}
	if p := web.SheetPolicy(n); !strings.Contains(p, "script-src 'nonce-"+n+"'") || !strings.Contains(p, "style-src 'self';") ||
		strings.Contains(p, "unsafe-inline") || !strings.Contains(p, "frame-ancestors 'none'") {
		t.Errorf("sheet policy %q", p)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatal("framing allowed")
	}
}

func TestMoney(t *testing.T) {
	for f, want := range map[fenfu.Fen]string{0: "0.00", 5: "0.05", 123456789: "1,234,567.89", -100000: "-1,000.00", 99999: "999.99"} {
		if got := web.Money(f); got != want {
			t.Errorf("Money(%d) = %q, want %q", f, got, want)
		}
	}
}

func TestCSV(t *testing.T) {
	w := httptest.NewRecorder()
	c, err := web.StartCSV(w, "订单 2026-12-07.csv", []string{"out_trade_no", "amount", "note"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]string{{"T1", "-12.30", "=HYPERLINK(\"http://evil\")"}, {"T2", "5.00", "+1"}, {"T3", "-", "@SUM(A1)"}} {
		if err := c.Row(row...); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if d := w.Header().Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;") || !strings.Contains(d, "filename*=utf-8''") {
		t.Fatalf("disposition %q", d)
	}
	body := w.Body.Bytes()
	if !bytes.HasPrefix(body, []byte("\ufeff")) {
		t.Fatal("no byte-order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"out_trade_no", "amount", "note"}, {"T1", "-12.30", "'=HYPERLINK(\"http://evil\")"}, {"T2", "5.00", "'+1"}, {"T3", "'-", "'@SUM(A1)"}}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d cell %d: %q, want %q", i, j, rows[i][j], want[i][j])
			}
		}
	}
}

// negative is a negative amount, which a spreadsheet reads as a number.
var negative = regexp.MustCompile(`^-[0-9]+(\.[0-9]*)?$`)

func FuzzDefuse(f *testing.F) {
	for _, s := range []string{"", "=1", "-1.5", "-", "abc", "\t=", "-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := web.Defuse(s)
		if d != s && d != "'"+s {
			t.Fatalf("%q became %q", s, d)
		}
		if d != "" && strings.ContainsRune("=+@\t\r", rune(d[0])) {
			t.Fatalf("%q defused to %q, a formula", s, d)
		}
		if strings.HasPrefix(d, "-") {
			if !negative.MatchString(d) {
				t.Fatalf("%q defused to %q, a formula", s, d)
			}
		}
	})
}

func TestDates(t *testing.T) {
	for q, want := range map[string][2]string{
		"":                              {"", ""},
		"from=2026-12-01":               {"2026-12-01", ""},
		"from=2026-12-01&to=2026-12-01": {"2026-12-01", "2026-12-02"},
		"to=2026-12-31":                 {"", "2027-01-01"},
	} {
		v, _ := url.ParseQuery(q)
		from, to, err := web.Dates(v)
		day := func(d time.Time) string {
			if d.IsZero() {
				return ""
			}
			return d.In(fenfu.Shanghai).Format(time.DateOnly)
		}
		if err != nil || day(from) != want[0] || day(to) != want[1] {
			t.Errorf("%s: %v %v %v", q, from, to, err)
		}
	}
	for q, field := range map[string]string{"from=2026-13-01": "from", "to=12/01/2026": "to", "from=2026-12-02&to=2026-12-01": "to"} {
		v, _ := url.ParseQuery(q)
		if _, _, err := web.Dates(v); fenfu.AsError(err).Field != field {
			t.Errorf("%s: %v", q, err)
		}
	}
}
