package paycode

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/code128"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/qr"
)

// The two images of a code on the consumer's page, as a till's scanner
// reads them: a Code 128 barcode, as WeChat's payment code shows on top,
// and a QR code of the same 18 digits under it.

// Barcode geometry, in pixels: the width of the narrowest bar, the
// height of the bars, and the quiet zone each side (ten modules, as
// Code 128 asks).
const (
	barModule = 4
	barHeight = 160
	barQuiet  = 10 * barModule
)

// BarcodePNG renders code as a Code 128 barcode (code set C, two digits
// a symbol), with its quiet zones.
func BarcodePNG(code string) ([]byte, error) {
	if !Valid(code) {
		return nil, authCodeError()
	}
	bc, err := code128.Encode(code)
	if err != nil {
		return nil, fenfu.Internal("paycode.BarcodePNG", err)
	}
	modules := bc.Bounds().Dx()
	img := image.NewPaletted(image.Rect(0, 0, 2*barQuiet+modules*barModule, barHeight),
		color.Palette{color.White, color.Black})
	for m := range modules {
		if r, _, _, _ := bc.At(m, 0).RGBA(); r != 0 {
			continue // a space
		}
		for x := barQuiet + m*barModule; x < barQuiet+(m+1)*barModule; x++ {
			for y := range barHeight {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fenfu.Internal("paycode.BarcodePNG", err)
	}
	return b.Bytes(), nil
}

// QRPNG renders code as a QR code of its 18 digits.
func QRPNG(code string) ([]byte, error) {
	if !Valid(code) {
		return nil, authCodeError()
	}
	b, err := qr.PNG(code, 8)
	if err != nil {
		return nil, fenfu.Internal("paycode.QRPNG", err)
	}
	return b, nil
}
