package paycode_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/qr/qrtest"
)

// TestImagesScan renders a code both ways and reads each back with a
// scanner's decoder.
func TestImagesScan(t *testing.T) {
	const code = "134567890123456789"
	bar, err := paycode.BarcodePNG(code)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(bar))
	if err != nil {
		t.Fatal(err)
	}
	// Code 128 of 18 digits in code set C: start, 9 symbols and the check
	// of 11 modules each, the stop of 13; ten modules of quiet zone a side.
	if got, want := img.Bounds().Dx(), (11+9*11+11+13+20)*4; got != want {
		t.Errorf("the barcode is %d px wide, want %d", got, want)
	}
	qr, err := paycode.QRPNG(code)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"barcode": bar, "qr": qr} {
		if got := qrtest.Scan(t, b); got != code {
			t.Errorf("the %s scans as %q, want %q", name, got, code)
		}
	}
	if _, err := paycode.BarcodePNG("12345"); fenfu.ErrorCode(err) != fenfu.AuthCodeError {
		t.Errorf("a barcode of a malformed code: %v", err)
	}
}
