package cashier_test

import (
	"bytes"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/qr/qrtest"
)

// TestPictures: an order's code as PNG and SVG, at the screen and the
// print size and by ?scale=, scans as its code_url; the mark it shows is
// this minute's mark of its token; it is cached no longer than the rest
// of the minute; an unknown size or an altered token is refused.
func TestPictures(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "tea-pic-1", 1234)
	codeURL := e.srv.URL + "/q/" + o.Token
	marks := qr.NewMarker(e.secret)
	widths := map[string]int{}
	for _, q := range []string{".png", ".png?size=screen", ".png?size=print", ".png?scale=3", ".svg", ".svg?size=print&lang=en"} {
		before := time.Now()
		st, body, h := get(t, http.DefaultClient, codeURL+q, "")
		after := time.Now()
		if st != 200 {
			t.Fatalf("%s: %d %s", q, st, body)
		}
		age, err := strconv.Atoi(strings.TrimPrefix(h.Get("Cache-Control"), "private, max-age="))
		if err != nil || age < qr.SecondsLeft(after) && qr.Minute(before) == qr.Minute(after) || age > qr.SecondsLeft(before) {
			t.Errorf("%s: Cache-Control %q between %d and %d s before the minute's end", q, h.Get("Cache-Control"), qr.SecondsLeft(before), qr.SecondsLeft(after))
		}
		if strings.HasPrefix(q, ".png") {
			if h.Get("Content-Type") != "image/png" {
				t.Errorf("%s: %s", q, h.Get("Content-Type"))
			}
			img, err := png.Decode(bytes.NewReader([]byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			widths[q] = img.Bounds().Dx()
			if got := qrtest.Scan(t, []byte(body)); got != codeURL {
				t.Errorf("%s scans as %q, want %q", q, got, codeURL)
			}
			continue
		}
		if h.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("%s: %s", q, h.Get("Content-Type"))
		}
		m := regexp.MustCompile(`<tspan font-family='[^']*' font-weight="bold">([0-9A-Z]{6})</tspan>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s shows no mark:\n%s", q, body)
		}
		if _, ok, err := marks.Verify(o.Token, m[1], after); !ok || err != nil {
			t.Errorf("%s shows mark %s, which does not verify: %v", q, m[1], err)
		}
		if strings.Contains(q, "lang=en") != strings.Contains(body, qr.NoteEN) || !strings.Contains(q, "lang=en") != strings.Contains(body, qr.NoteZH) {
			t.Errorf("%s: the note is in the wrong language", q)
		}
		if strings.Contains(q, "print") != strings.Contains(body, `mm"`) {
			t.Errorf("%s: sized %s", q, body[:120])
		}
	}
	modules := qr.Modules(codeURL)
	if widths[".png"] != widths[".png?size=screen"] || widths[".png?size=print"] <= widths[".png"] || widths[".png?scale=3"] != 3*modules {
		t.Errorf("widths %v (%d modules)", widths, modules)
	}
	if st, body, _ := get(t, http.DefaultClient, codeURL+".png?size=poster", ""); st != 400 || !strings.Contains(body, "PARAM_ERROR") {
		t.Errorf("an unknown size: %d %s", st, body)
	}
}
