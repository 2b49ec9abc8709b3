package qr

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"

	"github.com/fenfu/fenfu/qr/qrtest"
)

// codeURL is as long as an order's code_url behind a public URL of a
// typical length.
const codeURL = "https://pay.example.com/q/MXw0MjAwMjAyNjExMjcyMTM2NDM5NjczOTgzMzQxfDE5ODExODU0Mjh8NjgwMHwxNzk1NzkzODAz.wyhsYyVp4p7qFAm20UqAkg"

// cjkFont is Debian's fonts-droid-fallback font, or nil without it.
func cjkFont(t testing.TB) *sfnt.Font {
	b, err := os.ReadFile("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
	if err != nil {
		t.Log("no CJK font: the PNG's label and note are in English")
		return nil
	}
	f, err := opentype.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func picture() Picture {
	return Picture{Text: codeURL, Mark: "7KQ2XZ", Minute: time.Unix(1_800_000_000, 0)}
}

// TestStyledPNGScans: the styled code, with its badge and text, decodes to
// exactly the code's URL at the screen and the print size, with and
// without a CJK font, and is the size asked for.
func TestStyledPNGScans(t *testing.T) {
	screen, print := Size{Px: 360}, PrintSize(40, 300)
	if print.Px != 472 {
		t.Fatalf("40 mm at 300 dpi is %d px, want 472", print.Px)
	}
	w := float64(Modules(codeURL))
	for _, st := range []struct {
		name  string
		style Style
	}{{"cjk", Style{Font: cjkFont(t)}}, {"english", Style{}}} {
		for _, size := range []Size{screen, print} {
			b, err := st.style.PNG(picture(), size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			// Whole pixels a module: the width is the nearest multiple of the
			// modules across to the size asked for.
			if got := float64(img.Bounds().Dx()); got < float64(size.Px)-w/2 || got > float64(size.Px)+w/2 || int(got)%int(w) != 0 {
				t.Errorf("%s at %d px: %v px wide, %v modules", st.name, size.Px, got, w)
			}
			if got := qrtest.Scan(t, b); got != codeURL {
				t.Errorf("%s at %d px scans as %q", st.name, size.Px, got)
			}
			// A print-size PNG says its resolution (pHYs: pixels a metre).
			i := bytes.Index(b, []byte("pHYs"))
			if (i > 0) != (size.DPI > 0) || i > 0 && binary.BigEndian.Uint32(b[i+4:]) != 11811 {
				t.Errorf("%s at %+v: pHYs at %d", st.name, size, i)
			}
		}
	}
}

// TestNoteUnder8Points: the payment note printed at the print size is
// under 8 points (and still legible, over 4), at 300 and at 600 dpi.
func TestNoteUnder8Points(t *testing.T) {
	for _, size := range []Size{PrintSize(40, 300), PrintSize(40, 600), PrintSize(60, 203)} {
		pt, err := NotePoints(codeURL, size)
		if err != nil {
			t.Fatal(err)
		}
		if pt >= 8 || pt <= 4 {
			t.Errorf("at %d dpi the note is %.2f pt", size.DPI, pt)
		}
	}
	if _, err := NotePoints(codeURL, Size{Px: 360}); err == nil {
		t.Error("a screen size has no points")
	}
}

// TestBadgeBlueTopRight: the blue of the badge is at the picture's
// top-right corner and nowhere else, with the white glyph inside it.
func TestBadgeBlueTopRight(t *testing.T) {
	b, err := Style{}.PNG(picture(), Size{Px: 360})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	corner := image.Rect(r.Max.X-r.Dx()*badgePart100/100, 0, r.Max.X, r.Dx()*badgePart100/100)
	var blue, white, blueElsewhere int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			in := image.Pt(x, y).In(corner)
			switch {
			case c == Blue && in:
				blue++
			case c == Blue:
				blueElsewhere++
			case in && c.R == 0xff && c.G == 0xff && c.B == 0xff && x > corner.Min.X+corner.Dx()/4 && x < corner.Max.X-corner.Dx()/4 &&
				y > corner.Dy()/4 && y < corner.Dy()*3/4:
				white++ // the glyph's strokes, inside the badge
			}
		}
	}
	area := corner.Dx() * corner.Dy()
	if blue < area/2 {
		t.Errorf("the top-right corner is %d of %d pixels blue", blue, area)
	}
	if white < area/20 {
		t.Errorf("the badge has %d white pixels of glyph", white)
	}
	if blueElsewhere > 0 {
		t.Errorf("%d blue pixels outside the top-right corner", blueElsewhere)
	}
}

// badgePart100 is the badge's side in hundredths of the width, rounded
// down.
const badgePart100 = int(badgePart * 100)

// TestSVG: the SVG is well-formed XML with the same layout: the badge at
// the top-right corner in blue, the mark and its minute, the note in
// Chinese or English, sized in pixels for a screen and in millimetres for
// print.
func TestSVG(t *testing.T) {
	type text struct {
		ID    string `xml:"id,attr"`
		Spans []struct {
			Text string `xml:",chardata"`
		} `xml:"tspan"`
	}
	var doc struct {
		Width string `xml:"width,attr"`
		VB    string `xml:"viewBox,attr"`
		Badge struct {
			Rect struct {
				X    float64 `xml:"x,attr"`
				Y    float64 `xml:"y,attr"`
				W    float64 `xml:"width,attr"`
				Fill string  `xml:"fill,attr"`
			} `xml:"rect"`
		} `xml:"g"`
		Texts []text `xml:"text"`
	}
	for _, c := range []struct {
		english bool
		size    Size
		unit    string
		note    string
	}{{false, Size{Px: 360}, "px", NoteZH}, {true, PrintSize(40, 300), "mm", NoteEN}} {
		p := picture()
		p.English = c.english
		b, err := Style{}.SVG(p, c.size)
		if err != nil {
			t.Fatal(err)
		}
		doc.Texts = nil
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if !strings.HasSuffix(doc.Width, c.unit) {
			t.Errorf("width %q, want %s", doc.Width, c.unit)
		}
		vb := strings.Fields(doc.VB)
		r := doc.Badge.Rect
		if len(vb) != 4 || r.Fill != "#1677ff" || r.Y != 0 || num(r.X+r.W) != vb[2] {
			t.Errorf("badge %+v in viewBox %q", r, doc.VB)
		}
		got := map[string]string{}
		for _, tx := range doc.Texts {
			for _, s := range tx.Spans {
				got[tx.ID] += s.Text
			}
		}
		if !strings.Contains(got["mark"], "7KQ2XZ") || !strings.Contains(got["mark"], "16:00") || got["note"] != c.note {
			t.Errorf("texts %q", got)
		}
	}
}

func BenchmarkStyledPNG(b *testing.B) {
	f := cjkFont(b)
	for b.Loop() {
		if _, err := (Style{Font: f}).PNG(picture(), PrintSize(40, 300)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStyledSVG(b *testing.B) {
	for b.Loop() {
		if _, err := (Style{}).SVG(picture(), Size{Px: 360}); err != nil {
			b.Fatal(err)
		}
	}
}
