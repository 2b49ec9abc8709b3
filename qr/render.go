package qr

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fenfu/fenfu"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// goFonts are the Go fonts, for a PNG's Latin text and the mark.
var goFonts = sync.OnceValues(func() ([2]*sfnt.Font, error) {
	r, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return [2]*sfnt.Font{}, err
	}
	m, err := opentype.Parse(gomonobold.TTF)
	return [2]*sfnt.Font{r, m}, err
})

// PNG draws p at size.
func (s Style) PNG(p Picture, size Size) ([]byte, error) {
	l, err := layoutOf(p, s.Font != nil && !p.English)
	if err != nil {
		return nil, err
	}
	fonts, err := goFonts()
	if err != nil {
		return nil, fenfu.Internal("qr.PNG", err)
	}
	u := float64(l.modulePx(size))
	img := image.NewRGBA(image.Rect(0, 0, int(l.w*u), int(math.Ceil(l.h*u))))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	for _, m := range l.modules {
		r := image.Rect(int(m.x*u), int(m.y*u), int((m.x+m.w)*u), int((m.y+m.h)*u))
		draw.Draw(img, r, image.NewUniform(ink), image.Point{}, draw.Src)
	}
	// The badge and its glyph, rasterised over the badge's pixels only.
	br := image.Rect(int(l.badge.x*u), int(l.badge.y*u), int(math.Ceil((l.badge.x+l.badge.w)*u)), int(math.Ceil((l.badge.y+l.badge.h)*u)))
	origin := point{float64(br.Min.X) / u, float64(br.Min.Y) / u}
	fill := func(poly []point, c color.RGBA) {
		z := vector.NewRasterizer(br.Dx(), br.Dy())
		for i, q := range poly {
			x, y := float32((q.x-origin.x)*u), float32((q.y-origin.y)*u)
			if i == 0 {
				z.MoveTo(x, y)
			} else {
				z.LineTo(x, y)
			}
		}
		z.ClosePath()
		z.Draw(img, br, image.NewUniform(c), image.Point{})
	}
	fill(roundedRect(l.badge, l.radius), Blue)
	for _, s := range l.strokes {
		for i := 1; i < len(s); i++ {
			fill(stadium(s[i-1], s[i], l.stroke/2), white)
		}
	}
	for _, ln := range l.lines {
		if err := s.drawLine(img, ln, u, l.w, fonts); err != nil {
			return nil, fenfu.Internal("qr.PNG", err)
		}
	}
	var b bytes.Buffer
	// Mostly runs of white and black: the fastest compression is 4% larger
	// and takes half the time (a 40 mm code at 300 dpi: 23 KB in 7 ms).
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, fenfu.Internal("qr.PNG", err)
	}
	if size.DPI > 0 {
		return withDPI(b.Bytes(), size.DPI), nil
	}
	return b.Bytes(), nil
}

// withDPI adds a pHYs chunk to a PNG, after its header, saying it has dpi
// pixels an inch, so it prints at its size.
func withDPI(p []byte, dpi int) []byte {
	const header = 8 + 4 + 4 + 13 + 4 // signature, then IHDR's length, type, data and CRC
	chunk := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(chunk, 9)
	copy(chunk[4:], "pHYs")
	ppm := uint32(math.Round(float64(dpi) / 0.0254)) // pixels a metre
	binary.BigEndian.PutUint32(chunk[8:], ppm)
	binary.BigEndian.PutUint32(chunk[12:], ppm)
	chunk[16] = 1 // the unit is the metre
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	return slices.Concat(p[:header], chunk, p[header:])
}

// drawLine draws a line of text centred, shrunk to fit the width: the
// mark in Go Mono Bold, Chinese characters in the style's font, the rest
// (Latin, digits, punctuation, which a CJK fallback font may lack) in Go
// Regular.
func (s Style) drawLine(img *image.RGBA, ln line, u, w float64, fonts [2]*sfnt.Font) error {
	type run struct {
		f    *sfnt.Font
		text string
	}
	var runs []run
	for _, seg := range ln.segments {
		if seg.mono {
			runs = append(runs, run{fonts[1], seg.text})
			continue
		}
		for _, r := range seg.text {
			f := fonts[0]
			if s.Font != nil && r >= 0x2e80 {
				f = s.Font
			}
			if n := len(runs); n > 0 && runs[n-1].f == f {
				runs[n-1].text += string(r)
			} else {
				runs = append(runs, run{f, string(r)})
			}
		}
	}
	px := ln.size * u
	for {
		faces := make([]font.Face, len(runs))
		var width fixed.Int26_6
		for i, r := range runs {
			face, err := opentype.NewFace(r.f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				return err
			}
			faces[i] = face
			width += font.MeasureString(face, r.text)
		}
		if limit := 0.94 * w * u; float64(width.Ceil()) > limit && px > 4 {
			px *= limit / float64(width.Ceil())
			continue
		}
		dot := fixed.P((img.Bounds().Dx()-width.Ceil())/2, int(ln.y*u))
		for i, r := range runs {
			d := font.Drawer{Dst: img, Src: image.NewUniform(ln.fill), Face: faces[i], Dot: dot}
			d.DrawString(r.text)
			dot = d.Dot
		}
		return nil
	}
}

// roundedRect is the outline of r with corners of radius rad.
func roundedRect(r rectangle, rad float64) []point {
	var pts []point
	corners := []struct{ cx, cy, from float64 }{
		{r.x + r.w - rad, r.y + rad, -math.Pi / 2}, {r.x + r.w - rad, r.y + r.h - rad, 0},
		{r.x + rad, r.y + r.h - rad, math.Pi / 2}, {r.x + rad, r.y + rad, math.Pi}}
	for _, c := range corners {
		for i := 0; i <= 6; i++ {
			a := c.from + float64(i)/6*math.Pi/2
			pts = append(pts, point{c.cx + rad*math.Cos(a), c.cy + rad*math.Sin(a)})
		}
	}
	return pts
}

// stadium is the outline of a stroke of half-width h from a to b with
// round ends: a line's thick segment as SVG's round caps draw it.
func stadium(a, b point, h float64) []point {
	d := math.Atan2(b.y-a.y, b.x-a.x)
	var pts []point
	for i := 0; i <= 8; i++ { // round b's end, then a's
		t := d - math.Pi/2 + float64(i)/8*math.Pi
		pts = append(pts, point{b.x + h*math.Cos(t), b.y + h*math.Sin(t)})
	}
	for i := 0; i <= 8; i++ {
		t := d + math.Pi/2 + float64(i)/8*math.Pi
		pts = append(pts, point{a.x + h*math.Cos(t), a.y + h*math.Sin(t)})
	}
	return pts
}

// The font stacks of an SVG's text: Chinese faces first for the label and
// note, a monospace one for the mark.
const (
	svgSans = `"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","Droid Sans Fallback",sans-serif`
	svgMono = `"DejaVu Sans Mono",Menlo,Consolas,monospace`
)

// SVG draws p at size: in pixels for a screen, in millimetres for print.
// Its label and note are in Chinese unless p asks for English.
func (s Style) SVG(p Picture, size Size) ([]byte, error) {
	l, err := layoutOf(p, !p.English)
	if err != nil {
		return nil, err
	}
	u := float64(l.modulePx(size))
	width, height := num(l.w*u)+"px", num(l.h*u)+"px"
	if size.DPI > 0 {
		mm := u / float64(size.DPI) * 25.4
		width, height = num(l.w*mm)+"mm", num(l.h*mm)+"mm"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s">`, width, height, num(l.w), num(l.h))
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>`)
	b.WriteString(`<path id="code" fill="#000" shape-rendering="crispEdges" d="`)
	for _, m := range l.modules {
		fmt.Fprintf(&b, "M%s %sh%sv1h-%sz", num(m.x), num(m.y), num(m.w), num(m.w))
	}
	b.WriteString(`"/>`)
	fmt.Fprintf(&b, `<g id="badge"><rect x="%s" y="%s" width="%s" height="%s" rx="%s" fill="%s"/>`,
		num(l.badge.x), num(l.badge.y), num(l.badge.w), num(l.badge.h), num(l.radius), hex(Blue))
	fmt.Fprintf(&b, `<path fill="none" stroke="#fff" stroke-width="%s" stroke-linecap="round" stroke-linejoin="round" d="`, num(l.stroke))
	for _, s := range l.strokes {
		for i, q := range s {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%s %s", cmd, num(q.x), num(q.y))
		}
	}
	b.WriteString(`"/></g>`)
	for _, ln := range l.lines {
		fmt.Fprintf(&b, `<text id="%s" x="%s" y="%s" font-size="%s" fill="%s" text-anchor="middle" font-family='%s'>`,
			ln.id, num(l.w/2), num(ln.y), num(ln.size), hex(ln.fill), svgSans)
		for _, seg := range ln.segments {
			if seg.mono {
				fmt.Fprintf(&b, `<tspan font-family='%s' font-weight="bold">`, svgMono)
			} else {
				b.WriteString("<tspan>")
			}
			_ = xml.EscapeText(&b, []byte(seg.text))
			b.WriteString("</tspan>")
		}
		b.WriteString("</text>")
	}
	b.WriteString("</svg>\n")
	return []byte(b.String()), nil
}

func num(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64) }

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
