package qr

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"github.com/fenfu/fenfu"
	"golang.org/x/image/font/sfnt"
	"rsc.io/qr"
)

// The credit-pay style of a code (SPEC §6): the QR at error correction
// level H with its quiet zone of four modules, a blue badge with a white
// "分" at the top-right corner above it, the mark and its minute under
// it, and the payment note in small grey type at the bottom. One layout,
// in modules, describes the picture; PNG and SVG draw the same layout.

// Colours of the style.
var (
	Blue     = color.RGBA{0x16, 0x77, 0xff, 0xff} // the badge
	ink      = color.RGBA{0, 0, 0, 0xff}          // the modules
	markInk  = color.RGBA{0x26, 0x26, 0x26, 0xff} // the mark's line
	noteGrey = color.RGBA{0x8c, 0x8c, 0x8c, 0xff} // the payment note
	white    = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// The payment notes, and the mark's label, in Chinese and in English.
const (
	NoteZH    = "分付 · 先用后付 · 请核对收款商户"
	NoteEN    = "fenfu · pay later · check the payee"
	markLabel = "防伪码"
	markEN    = "MARK"
)

// Size is how large a code is drawn: Px pixels across the QR and its
// quiet zone, rounded to whole pixels a module. DPI is 0 for a screen;
// for print, the pixels an inch, and the SVG is then sized in
// millimetres.
type Size struct {
	Px  int
	DPI int
}

// PrintSize is the size of a code mm millimetres across at dpi.
func PrintSize(mm float64, dpi int) Size {
	return Size{Px: int(math.Round(mm / 25.4 * float64(dpi))), DPI: dpi}
}

// Picture is what a styled code shows.
type Picture struct {
	Text   string    // what the code carries: its URL
	Mark   string    // the mark of its token at Minute
	Minute time.Time // the minute of the mark
	// English draws the label and the note in English.
	English bool
}

// Style draws pictures. Font is a font with Chinese glyphs (TrueType or
// OpenType) for a PNG's label and note; without one a PNG's are in
// English. An SVG names fonts and leaves them to its viewer.
type Style struct {
	Font *sfnt.Font
}

// Parts of the layout, in modules.
const (
	quiet     = 4     // the quiet zone each side of the QR
	markEm    = 0.068 // the mark's line, of the width
	noteEm    = 0.045 // the note's line, of the width
	badgePart = 0.15  // the badge's side, of the width
)

type point struct{ x, y float64 }

// segment is a run of text in one face.
type segment struct {
	text string
	mono bool // the mark itself, in a bold monospace face
}

// line is a line of text centred on the picture, at baseline y.
type line struct {
	id       string
	y, size  float64
	fill     color.RGBA
	segments []segment
}

// layout is a picture in modules: the QR's dark modules as runs along
// rows, the badge and the strokes of its glyph, and the lines of text.
type layout struct {
	w, h    float64
	modules []rectangle // dark runs
	badge   rectangle
	radius  float64
	strokes [][]point // the glyph, polylines
	stroke  float64   // their width
	lines   []line
}

type rectangle struct{ x, y, w, h float64 }

// layoutOf lays p out. zh is whether the label and note are in Chinese.
func layoutOf(p Picture, zh bool) (layout, error) {
	c, err := qr.Encode(p.Text, qr.H)
	if err != nil {
		return layout{}, fenfu.Internal("qr.layout", err)
	}
	w := float64(c.Size + 2*quiet)
	b := math.Round(w * badgePart)
	l := layout{w: w, badge: rectangle{w - b, 0, b, b}, radius: b * 0.22, stroke: b * 0.08}
	top := b // the QR's quiet zone starts under the badge
	for y := range c.Size {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			run := x
			for x < c.Size && c.Black(x, y) {
				x++
			}
			l.modules = append(l.modules, rectangle{float64(quiet + run), top + float64(quiet+y), float64(x - run), 1})
		}
	}
	for _, s := range glyph {
		pts := make([]point, len(s))
		for i, q := range s {
			pts[i] = point{l.badge.x + q.x*b, l.badge.y + q.y*b}
		}
		l.strokes = append(l.strokes, pts)
	}
	markSize, noteSize := w*markEm, w*noteEm
	y := top + w + markSize*0.9
	label, note := markEN+" ", NoteEN
	if zh {
		label, note = markLabel+" ", NoteZH
	}
	l.lines = []line{
		{id: "mark", y: y, size: markSize, fill: markInk, segments: []segment{
			{text: label}, {text: p.Mark, mono: true}, {text: " · " + p.Minute.In(fenfu.Shanghai).Format("15:04")}}},
		{id: "note", y: y + markSize*0.7 + noteSize*1.5, size: noteSize, fill: noteGrey, segments: []segment{{text: note}}},
	}
	l.h = math.Ceil(l.lines[1].y + noteSize*0.9)
	return l, nil
}

// glyph is 分 in the unit square of the badge: 八 over 刀, each stroke a
// polyline.
var glyph = func() [][]point {
	curve := func(a, c, b point) []point { // a quadratic Bézier through control c
		var pts []point
		for i := 0; i <= 8; i++ {
			t := float64(i) / 8
			pts = append(pts, point{(1-t)*(1-t)*a.x + 2*(1-t)*t*c.x + t*t*b.x, (1-t)*(1-t)*a.y + 2*(1-t)*t*c.y + t*t*b.y})
		}
		return pts
	}
	return [][]point{
		curve(point{0.43, 0.19}, point{0.39, 0.35}, point{0.20, 0.47}), // 八's left-falling stroke
		curve(point{0.57, 0.19}, point{0.62, 0.36}, point{0.81, 0.46}), // 八's right-falling stroke
		{{0.30, 0.55}, {0.70, 0.55}, {0.69, 0.83}, {0.61, 0.78}},       // 刀's turning stroke and hook
		curve(point{0.48, 0.55}, point{0.47, 0.75}, point{0.27, 0.86}), // 刀's left-falling stroke
	}
}()

// Modules is how many modules across the code of text is, with its
// quiet zone; 0 for a text too long for a code.
func Modules(text string) int {
	c, err := qr.Encode(text, qr.H)
	if err != nil {
		return 0
	}
	return c.Size + 2*quiet
}

// SecondsLeft is how many seconds of now's minute are left, 1 to 60:
// how long a picture with now's mark may be cached.
func SecondsLeft(now time.Time) int {
	return int(60 - (now.Unix() - Minute(now)*60))
}

// modulePx is the pixels a module of l at size.
func (l layout) modulePx(size Size) int {
	return max(1, int(math.Round(float64(size.Px)/l.w)))
}

// NotePoints is the size in points of the payment note of a code with
// the text when printed at size (a print size, DPI above 0).
func NotePoints(text string, size Size) (float64, error) {
	if size.DPI <= 0 {
		return 0, fmt.Errorf("qr: %+v is not a print size", size)
	}
	l, err := layoutOf(Picture{Text: text}, true)
	if err != nil {
		return 0, err
	}
	px := l.lines[1].size * float64(l.modulePx(size))
	return px / float64(size.DPI) * 72, nil
}
