package receipt

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Paper is a thermal printer's paper: how many columns of Font A
// (12 × 24 dots) a line holds, and the QR's module size in dots.
type Paper struct {
	Columns int
	Module  byte
}

// The papers of the ESC/POS formats: 384 and 576 dots wide.
var (
	Paper58 = Paper{Columns: 32, Module: 6}
	Paper80 = Paper{Columns: 48, Module: 8}
)

// The ESC/POS commands a receipt uses (Epson's ESC/POS, as the Chinese
// printers that speak it also take them).
var (
	escInit       = []byte{0x1b, '@'}       // ESC @: initialise
	fsChinese     = []byte{0x1c, '&'}       // FS &: Chinese (two-byte) character mode, GB18030
	escBoldOn     = []byte{0x1b, 'E', 1}    // ESC E 1
	escBoldOff    = []byte{0x1b, 'E', 0}    // ESC E 0
	gsTallOn      = []byte{0x1d, '!', 0x01} // GS ! 1: double height, single-byte characters
	fsTallOn      = []byte{0x1c, '!', 0x08} // FS ! 8: double height, Chinese characters
	gsTallOff     = []byte{0x1d, '!', 0x00}
	fsTallOff     = []byte{0x1c, '!', 0x00}
	gsFeedAndCut  = []byte{0x1d, 'V', 66, 3} // GS V 66 3: feed to the cutter, then partial cut
	escFeedLines3 = []byte{0x1b, 'd', 3}     // ESC d 3
)

func escAlign(a align) []byte { return []byte{0x1b, 'a', byte(a)} } // ESC a n: 0 left, 1 centre, 2 right

// qrCommands prints data as a QR with the printer's own GS ( k
// functions: model 2, the module size, error correction M, store, print.
func qrCommands(data []byte, module byte) []byte {
	gs := func(fn byte, params ...byte) []byte {
		n := len(params) + 2 // cn and fn
		return append([]byte{0x1d, '(', 'k', byte(n), byte(n >> 8), 49, fn}, params...)
	}
	var b []byte
	b = append(b, gs(65, 50, 0)...)                          // function 165: model 2
	b = append(b, gs(67, module)...)                         // function 167: module size
	b = append(b, gs(69, 49)...)                             // function 169: error correction M
	b = append(b, gs(80, append([]byte{48}, data...)...)...) // function 180: store
	b = append(b, gs(81, 48)...)                             // function 181: print
	return b
}

// maxQR is the most a printer's QR store takes here: version 10 at error
// correction M holds 213 bytes, and its 57 modules fit 58 mm paper at
// module size 6.
const maxQR = 213

// columns is how many columns of Font A a string takes on a printer in
// Chinese mode: one for ASCII, two for anything else, which GB18030 codes
// in two or four bytes and the printer draws from its 24 × 24 font.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

func runeColumns(r rune) int {
	if r < 0x80 {
		return 1
	}
	return 2
}

// wrap breaks s into lines of at most cols columns, between characters.
func wrap(s string, cols int) []string {
	var out []string
	var cur strings.Builder
	w := 0
	for _, r := range s {
		rw := runeColumns(r)
		if w+rw > cols && w > 0 {
			out = append(out, cur.String())
			cur.Reset()
			w = 0
		}
		cur.WriteRune(r)
		w += rw
	}
	if w > 0 || len(out) == 0 {
		out = append(out, cur.String())
	}
	return out
}

// padLeft right-aligns s in cols columns; a longer s is kept whole.
func padLeft(s string, cols int) string {
	if n := cols - columns(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}

// tableColumns are the widths of the installment table's columns: the
// number, the due date, then what is due and its fee sharing the rest.
func tableColumns(cols int) []int {
	rest := cols - 3 - 11
	return []int{3, 11, rest / 2, rest - rest/2}
}

// ESCPOS renders the receipt as ESC/POS bytes for the paper: Chinese
// mode, the text in GB18030, the title bold and centred, labels and
// values aligned by display width, the QR of the lookup URL drawn by the
// printer, and a partial cut.
func ESCPOS(r Receipt, p Paper) ([]byte, error) {
	if len(r.LookupURL) > maxQR {
		return nil, fmt.Errorf("receipt: the lookup URL is %d bytes; a receipt's QR holds %d", len(r.LookupURL), maxQR)
	}
	enc := simplifiedchinese.GB18030.NewEncoder()
	var b bytes.Buffer
	b.Write(escInit)
	b.Write(fsChinese)
	put := func(s string) error {
		out, err := enc.String(s)
		if err != nil {
			return fmt.Errorf("receipt: %q in GB18030: %w", s, err)
		}
		b.WriteString(out)
		b.WriteByte('\n')
		return nil
	}
	for _, l := range layout(r) {
		if l.bold {
			b.Write(escBoldOn)
		}
		if l.big {
			b.Write(gsTallOn)
			b.Write(fsTallOn)
		}
		b.Write(escAlign(l.align))
		var lines []string
		switch l.kind {
		case text:
			lines = wrap(l.cells[0], p.Columns)
		case pair:
			label, value := l.cells[0], l.cells[1]
			if gap := p.Columns - columns(label) - columns(value); gap >= 1 {
				lines = []string{label + strings.Repeat(" ", gap) + value}
			} else {
				lines = []string{label}
				for _, v := range wrap(value, p.Columns) {
					lines = append(lines, padLeft(v, p.Columns))
				}
			}
		case row:
			var s strings.Builder
			for i, w := range tableColumns(p.Columns) {
				c := l.cells[i]
				if i < 2 {
					s.WriteString(c + strings.Repeat(" ", max(w-columns(c), 0)))
					continue
				}
				if columns(c) >= w {
					c = " " + c
				}
				s.WriteString(padLeft(c, w))
			}
			lines = []string{s.String()}
		case rule:
			lines = []string{strings.Repeat("-", p.Columns)}
		case code:
			b.Write(qrCommands([]byte(l.cells[0]), p.Module))
			lines = []string{""}
		case blank:
			lines = []string{""}
		}
		for _, s := range lines {
			if err := put(s); err != nil {
				return nil, err
			}
		}
		if l.big {
			b.Write(gsTallOff)
			b.Write(fsTallOff)
		}
		if l.bold {
			b.Write(escBoldOff)
		}
		if l.align != left {
			b.Write(escAlign(left))
		}
	}
	b.Write(escFeedLines3)
	b.Write(gsFeedAndCut)
	return b.Bytes(), nil
}
