package receipt

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"github.com/fenfu/fenfu/qr"
)

// ErrNoFont is RenderPDF's error without a font: Chinese text needs a CJK
// TrueType font, which the PDF embeds.
var ErrNoFont = errors.New("receipt: no CJK TrueType font to draw a PDF receipt with")

// The PDF page: 80 mm wide, as long as the receipt.
const (
	pageWidth = 80.0 // mm
	margin    = 5.0
	qrSize    = 34.0
	bodySize  = 9.0 // pt
	titleSize = 13.0
	lineH     = 4.6 // mm, at bodySize
)

// RenderPDF renders the receipt as a PDF of one receipt-sized page, in
// font, a TrueType font with Chinese glyphs (a .ttf, not a .ttc
// collection), with the QR of the lookup URL drawn as an image. The same
// receipt and font always give the same bytes.
func RenderPDF(r Receipt, font []byte) ([]byte, error) {
	if len(font) == 0 {
		return nil, ErrNoFont
	}
	png, err := qr.PNG(r.LookupURL, 8)
	if err != nil {
		return nil, fmt.Errorf("receipt: QR of the lookup URL: %w", err)
	}
	ls := layout(r)
	// The page is as long as the receipt: laid out once without drawing
	// (nor parsing the font) to measure, then drawn on a page that long.
	measure, err := drawPDF(ls, nil, png, r, 2000)
	if err != nil {
		return nil, err
	}
	f, err := drawPDF(ls, font, png, r, measure.GetY()+margin)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, fmt.Errorf("receipt: PDF: %w", err)
	}
	return out.Bytes(), nil
}

// pdfText draws text in two fonts: Latin-1 in Helvetica, which every
// PDF reader has, and the rest in the CJK font, whose fallback fonts (as
// Droid Sans Fallback) often have no Latin glyphs.
//
// Chinese text is measured as one em a character, as CJK fonts draw it,
// so the page can be measured without parsing the font.
type pdfText struct {
	f    *fpdf.Fpdf
	tr   func(string) string // UTF-8 to Helvetica's cp1252
	size float64
	dry  bool // measure only: no CJK font is loaded, nothing is drawn
}

// run is a stretch of text in one font.
type run struct {
	s     string
	latin bool
}

func runs(s string) []run {
	var out []run
	for _, r := range s {
		latin := r < 0x100
		if n := len(out); n > 0 && out[n-1].latin == latin {
			out[n-1].s += string(r)
			continue
		}
		out = append(out, run{string(r), latin})
	}
	return out
}

func (p *pdfText) font(latin bool) {
	if latin || p.dry {
		p.f.SetFont("Helvetica", "", p.size)
	} else {
		p.f.SetFont("cjk", "", p.size)
	}
}

func (p *pdfText) width(s string) float64 {
	w := 0.0
	for _, r := range runs(s) {
		if r.latin {
			p.font(true)
			w += p.f.GetStringWidth(p.tr(r.s))
		} else {
			w += float64(utf8.RuneCountInString(r.s)) * p.size * 25.4 / 72
		}
	}
	return w
}

// put draws s on the current line, aligned in the w mm from x.
func (p *pdfText) put(x, w, h float64, a align, s string) {
	switch a {
	case center:
		x += (w - p.width(s)) / 2
	case right:
		x += w - p.width(s)
	}
	y := p.f.GetY()
	if p.dry {
		return
	}
	for _, r := range runs(s) {
		p.font(r.latin)
		t := r.s
		if r.latin {
			t = p.tr(t)
		}
		w := p.width(r.s)
		p.font(r.latin)
		p.f.SetXY(x, y)
		p.f.CellFormat(w, h, t, "", 0, "L", false, 0, "")
		x += w
	}
	p.f.SetXY(margin, y)
}

// wrap breaks s into lines no wider than w mm, between characters.
func (p *pdfText) wrap(s string, w float64) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if cur != "" && p.width(cur+string(r)) > w {
			out = append(out, cur)
			cur = ""
		}
		cur += string(r)
	}
	return append(out, cur)
}

// drawPDF draws the receipt on a page of the height; without a font it
// only lays it out, to measure.
func drawPDF(ls []line, font, png []byte, r Receipt, height float64) (*fpdf.Fpdf, error) {
	f := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: pageWidth, Ht: height}})
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(false, margin)
	f.SetCatalogSort(true)
	f.SetCreationDate(r.PaidAt)
	f.SetModificationDate(r.PaidAt)
	f.SetTitle("Receipt "+clean(r.TransactionID), true)
	f.SetProducer("fenfu", false)
	dry := font == nil
	if !dry {
		f.AddUTF8FontFromBytes("cjk", "", font)
		f.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("receipt: PDF font or QR: %w", err)
	}
	f.AddPage()
	p := &pdfText{f: f, tr: f.UnicodeTranslatorFromDescriptor(""), dry: dry}
	w := pageWidth - 2*margin
	for _, l := range ls {
		p.size = bodySize
		if l.big {
			p.size = titleSize
		}
		f.SetTextColor(0, 0, 0)
		if !l.bold && !l.big && l.kind != row {
			f.SetTextColor(60, 60, 60)
		}
		h := lineH * p.size / bodySize
		switch l.kind {
		case text:
			for _, s := range p.wrap(l.cells[0], w) {
				p.put(margin, w, h, l.align, s)
				f.Ln(h)
			}
		case pair:
			label, value := l.cells[0], l.cells[1]
			p.put(margin, w, h, left, label)
			if p.width(label)+p.width(value)+2 > w {
				f.Ln(h)
			}
			for _, s := range p.wrap(value, w) {
				p.put(margin, w, h, right, s)
				f.Ln(h)
			}
		case row:
			cols := tableColumns(Paper80.Columns)
			x := margin
			for i, c := range l.cells {
				cw := w * float64(cols[i]) / float64(Paper80.Columns)
				a := right
				if i < 2 {
					a = left
				}
				p.put(x, cw, h, a, c)
				x += cw
			}
			f.Ln(h)
		case rule:
			y := f.GetY() + h/2
			f.SetDrawColor(120, 120, 120)
			f.SetDashPattern([]float64{0.8, 0.6}, 0)
			f.Line(margin, y, pageWidth-margin, y)
			f.SetDashPattern(nil, 0)
			f.Ln(h)
		case code:
			y := f.GetY() + 1
			if !dry {
				f.ImageOptions("qr", (pageWidth-qrSize)/2, y, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			}
			f.SetY(y + qrSize + 1)
		case blank:
			f.Ln(h / 2)
		}
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("receipt: PDF: %w", err)
	}
	return f, nil
}

// Render renders the receipt in the format; font is needed for PDF only.
func Render(r Receipt, f Format, font []byte) ([]byte, error) {
	switch f {
	case ESCPOS58:
		return ESCPOS(r, Paper58)
	case ESCPOS80:
		return ESCPOS(r, Paper80)
	case PDF:
		return RenderPDF(r, font)
	}
	return nil, fmt.Errorf("receipt: no format %q", f)
}
