package receipt

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite the golden receipts")

// sample is a credit payment in 3 installments, the consumer bearing the
// fee.
func sample() Receipt {
	return Receipt{
		Merchant: "静安咖啡馆 Jing'an Café", MchID: "1900000109", DeviceID: "POS-013",
		TransactionID: "4200002026112700000000000123", OutTradeNo: "ORDER-20261127-0042",
		PaidAt: time.Date(2026, 11, 27, 2, 4, 5, 0, time.UTC), Total: 320000, Credit: true,
		Installments: []Installment{
			{Seq: 1, DueOn: "2026-12-10", Due: 107267, Fee: 600},
			{Seq: 2, DueOn: "2027-01-10", Due: 107266, Fee: 600},
			{Seq: 3, DueOn: "2027-02-10", Due: 107267, Fee: 600},
		},
		Fee: 1800, Code: "48210937", LookupURL: "https://pay.example.com/r/4200002026112700000000000123?v=48210937",
	}
}

// dump shows bytes as a hex and ASCII listing, 16 to a line.
func dump(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		fmt.Fprintf(&s, "%06x  % -48x  ", i, b[i:end])
		for _, c := range b[i:end] {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			s.WriteByte(c)
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// firstDiff is the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestESCPOSGolden(t *testing.T) {
	for _, c := range []struct {
		name  string
		paper Paper
		r     Receipt
	}{
		{"credit-58", Paper58, sample()},
		{"credit-80", Paper80, sample()},
		{"balance-58", Paper58, func() Receipt {
			r := sample()
			r.Credit, r.Installments, r.Fee, r.DeviceID = false, nil, 0, ""
			return r
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ESCPOS(c.r, c.paper)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.name+".bin")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./receipt -run TestESCPOSGolden -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				lo := max(i-32, 0) &^ 15
				t.Fatalf("%s differs from the golden file at byte %d (go test ./receipt -run TestESCPOSGolden -update rewrites it)\ngot:\n%swant:\n%s",
					path, i, dump(got[lo:min(lo+96, len(got))]), dump(want[lo:min(lo+96, len(want))]))
			}
		})
	}
}

// printed decodes the text lines of ESC/POS bytes as a printer in Chinese
// mode would print them, the commands dropped, and checks each fits the
// paper.
func printed(t *testing.T, b []byte, p Paper) []string {
	t.Helper()
	if !bytes.HasPrefix(b, append(append([]byte{}, escInit...), fsChinese...)) {
		t.Fatalf("does not start with ESC @, FS &: %s", dump(b[:min(16, len(b))]))
	}
	if !bytes.HasSuffix(b, gsFeedAndCut) {
		t.Fatalf("does not end with a partial cut: %s", dump(b[max(len(b)-16, 0):]))
	}
	var text []byte
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == 0x1d && b[i+1] == '(' && b[i+2] == 'k':
			n := int(b[i+3]) | int(b[i+4])<<8
			i += 5 + n
		case c == 0x1b && b[i+1] == '@', c == 0x1c && b[i+1] == '&':
			i += 2
		case c == 0x1b || c == 0x1c || c == 0x1d:
			i += 3
			if c == 0x1d && b[i-2] == 'V' {
				i++
			}
		default:
			text = append(text, c)
			i++
		}
	}
	utf, err := simplifiedchinese.GB18030.NewDecoder().Bytes(text)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(utf), "\n"), "\n")
	for _, l := range lines {
		if columns(l) > p.Columns {
			t.Errorf("line %q takes %d columns, more than the paper's %d", l, columns(l), p.Columns)
		}
	}
	return lines
}

func TestESCPOSContent(t *testing.T) {
	r := sample()
	for _, p := range []Paper{Paper58, Paper80} {
		b, err := ESCPOS(r, p)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(printed(t, b, p), "\n")
		for _, want := range []string{"静安咖啡馆", "￥3200.00", "还款计划 3 期", "2027-01-10", "1072.66", "POS-013", "48210937",
			"ORDER-20261127-0042", "2026-11-27 10:04:05", "￥18.00"} {
			if !strings.Contains(all, want) {
				t.Errorf("%d columns: %q not printed in\n%s", p.Columns, want, all)
			}
		}
		// The QR: model 2, module size, error correction M, the URL
		// stored, then printed.
		for _, want := range [][]byte{{0x1d, '(', 'k', 4, 0, 49, 65, 50, 0}, {0x1d, '(', 'k', 3, 0, 49, 67, p.Module},
			{0x1d, '(', 'k', 3, 0, 49, 69, 49}, append([]byte{0x1d, '(', 'k', byte(len(r.LookupURL) + 3), 0, 49, 80, 48}, r.LookupURL...),
			{0x1d, '(', 'k', 3, 0, 49, 81, 48}} {
			if !bytes.Contains(b, want) {
				t.Errorf("%d columns: no % x", p.Columns, want)
			}
		}
	}
	// Columns are counted by display width: the amount is flush with the
	// right edge on both papers.
	for _, p := range []Paper{Paper58, Paper80} {
		b, _ := ESCPOS(r, p)
		found := false
		for _, l := range printed(t, b, p) {
			if strings.HasPrefix(l, "金额") {
				found = true
				if columns(l) != p.Columns || !strings.HasSuffix(l, "￥3200.00") {
					t.Errorf("%d columns: amount line %q is %d columns", p.Columns, l, columns(l))
				}
			}
		}
		if !found {
			t.Errorf("%d columns: no amount line", p.Columns)
		}
	}
}

// A plan whose fee the merchant bears says so.
func TestESCPOSMerchantPaysFee(t *testing.T) {
	r := sample()
	r.MerchantPaysFee = true
	for i := range r.Installments {
		r.Installments[i].Due -= r.Installments[i].Fee
		r.Installments[i].Fee = 0
	}
	b, err := ESCPOS(r, Paper58)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(printed(t, b, Paper58), "\n")
	if !strings.Contains(all, "商户承担") || strings.Contains(all, "您承担") || !strings.Contains(all, "1066.67") {
		t.Fatalf("printed:\n%s", all)
	}
}

// A merchant's name cannot carry printer commands: control characters
// are dropped before the bytes are made.
func TestESCPOSNoInjectedCommands(t *testing.T) {
	r := sample()
	r.Merchant = "Shop\x1dV\x00\x1b@\x1c.\u200bname"
	r.OutTradeNo = "A\nB\rC"
	b, err := ESCPOS(r, Paper58)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\x1dV\x00")) || bytes.Contains(b, []byte("\x1c.")) || bytes.Count(b, escInit) != 1 {
		t.Fatalf("the merchant's name reached the printer as commands:\n%s", dump(b[:96]))
	}
	lines := strings.Join(printed(t, b, Paper58), "\n")
	if !strings.Contains(lines, "ShopV@.name") || !strings.Contains(lines, "ABC") {
		t.Fatalf("printed:\n%s", lines)
	}
}

func TestWrapAndColumns(t *testing.T) {
	if got := columns("分付 ab"); got != 7 {
		t.Errorf("columns = %d, want 7", got)
	}
	got := wrap("分付分付分x", 4)
	if strings.Join(got, "|") != "分付|分付|分x" {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("", 4); len(got) != 1 || got[0] != "" {
		t.Errorf("wrap of nothing = %q", got)
	}
}

func TestCodes(t *testing.T) {
	c := NewCodes([]byte("0123456789abcdef0123456789abcdef"))
	at := time.Date(2026, 11, 27, 10, 4, 5, 0, fenfu.Shanghai)
	code := c.Code("4200001", 3200, at)
	if len(code) != CodeDigits || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code = %q, want %d digits", code, CodeDigits)
	}
	if !c.Check(code, "4200001", 3200, at) {
		t.Fatal("the code does not check")
	}
	for name, ok := range map[string]bool{
		"another amount":      c.Check(code, "4200001", 3201, at),
		"another time":        c.Check(code, "4200001", 3200, at.Add(time.Second)),
		"another transaction": c.Check(code, "4200002", 3200, at),
		"another secret":      NewCodes([]byte("another secret of thirty-two by.")).Check(code, "4200001", 3200, at),
		"empty":               c.Check("", "4200001", 3200, at),
	} {
		if ok {
			t.Errorf("%s: the code checks", name)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat("format", string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	for _, bad := range []string{"", "PDF", "escpos", "escpos-58 ", "html"} {
		_, err := ParseFormat("format", bad)
		if e := fenfu.AsError(err); err == nil || e.Code != fenfu.ParamError || e.Remedy == "" || !strings.Contains(e.Message, "escpos-58") {
			t.Errorf("ParseFormat(%q) = %v", bad, err)
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"pdf", "escpos-58", "escpos-80", "", "\xff\xfe", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat("format", s)
		if (err == nil) != (string(got) == s && got != "") {
			t.Fatalf("ParseFormat(%q) = %q, %v", s, got, err)
		}
		if err != nil && (fenfu.ErrorCode(err) != fenfu.ParamError || len(fenfu.AsError(err).Message) > 200) {
			t.Fatalf("ParseFormat(%q): %v", s, err)
		}
	})
}

// fontPath is the CJK font the PDF tests draw with: FENFU_RECEIPT_FONT or
// Debian's fonts-droid-fallback.
func fontPath() string {
	if p := os.Getenv("FENFU_RECEIPT_FONT"); p != "" {
		return p
	}
	return "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
}

// needTools skips the test without poppler-utils and the font, unless
// FENFU_REQUIRE_BROWSER=1 (as CI sets) makes that a failure.
func needTools(t *testing.T) []byte {
	t.Helper()
	msg := ""
	font, err := os.ReadFile(fontPath())
	if err != nil {
		msg = fmt.Sprintf("no CJK font at %s (apt-get install fonts-droid-fallback)", fontPath())
	}
	for _, tool := range []string{"pdftoppm", "pdftotext", "pdffonts"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg = tool + " is not installed (apt-get install poppler-utils)"
		}
	}
	if msg != "" {
		if os.Getenv("FENFU_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + ", and FENFU_REQUIRE_BROWSER=1 requires it")
		}
		t.Skip(msg)
	}
	return font
}

func TestPDF(t *testing.T) {
	font := needTools(t)
	r := sample()
	b, err := RenderPDF(r, font)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", b[:min(16, len(b))])
	}
	again, err := RenderPDF(r, font)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("the same receipt rendered to other bytes (%v)", err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "receipt.pdf")
	if err := os.WriteFile(pdf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", pdf, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	txt := string(out)
	for _, want := range []string{"静安咖啡馆", "3200.00", "还款计划 3 期", "2026-12-10", "2027-01-10", "2027-02-10", "1072.67", "1072.66",
		"48210937", "ORDER-20261127-0042", "2026-11-27 10:04:05", "POS-013"} {
		if !strings.Contains(txt, want) {
			t.Errorf("%q is not in the PDF's text:\n%s", want, txt)
		}
	}
	// Latin text is in Helvetica, the rest in the embedded CJK font,
	// which may have no Latin glyphs.
	if fonts, err := exec.Command("pdffonts", pdf).CombinedOutput(); err != nil || !strings.Contains(string(fonts), "Helvetica") ||
		!strings.Contains(string(fonts), "CID TrueType") {
		t.Errorf("pdffonts: %v\n%s", err, fonts)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-singlefile", pdf, filepath.Join(dir, "receipt")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 80 mm at 150 dpi is 472 pixels; a receipt with a plan and a QR is
	// longer than it is wide.
	bd := img.Bounds()
	if bd.Dx() < 460 || bd.Dx() > 480 || bd.Dy() < bd.Dx() {
		t.Errorf("the page is %d × %d pixels, want 472 wide and longer than that", bd.Dx(), bd.Dy())
	}
	dark := 0
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r+g+b < 3*0x8000 {
				dark++
			}
		}
	}
	if share := float64(dark) / float64(bd.Dx()*bd.Dy()); share < 0.03 || share > 0.5 {
		t.Errorf("%.1f%% of the page is dark: blank, or a black page", 100*share)
	}
	if keep := os.Getenv("FENFU_RECEIPT_PNG"); keep != "" {
		// To look at the page: FENFU_RECEIPT_PNG=/tmp/receipt.png go test ./receipt -run TestPDF
		data, err := os.ReadFile(filepath.Join(dir, "receipt.png"))
		if err == nil {
			err = os.WriteFile(keep, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestPDFWithoutFont(t *testing.T) {
	if _, err := RenderPDF(sample(), nil); err != ErrNoFont {
		t.Fatalf("err = %v, want ErrNoFont", err)
	}
	if _, err := Render(sample(), PDF, nil); err != ErrNoFont {
		t.Fatalf("Render err = %v, want ErrNoFont", err)
	}
	if _, err := Render(sample(), ESCPOS58, nil); err != nil {
		t.Fatalf("ESC/POS needs no font: %v", err)
	}
}

// BenchmarkRender measures each format; the PDF parses and subsets the
// CJK font on every receipt.
func BenchmarkRender(b *testing.B) {
	font, err := os.ReadFile(fontPath())
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			if f == PDF && err != nil {
				b.Skip(err)
			}
			var n int
			for b.Loop() {
				out, err := Render(sample(), f, font)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}
