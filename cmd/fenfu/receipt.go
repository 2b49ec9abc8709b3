package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"

	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/receipt"
	"github.com/fenfu/fenfu/wxpay"
)

// loadCJKFont reads the font with Chinese glyphs at start: its bytes
// for PDF receipts, parsed for the label and note of PNG codes. A font
// that is not there, or not a TrueType font fpdf can embed (a .ttc
// collection, an OpenType font of CFF outlines), is nil: PDF receipts are
// then refused with the remedy, PNG codes print their note in English,
// and the warning says so once here.
func loadCJKFont(path string, log *slog.Logger) ([]byte, *sfnt.Font) {
	b, err := os.ReadFile(path)
	if err == nil && !(bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))) {
		err = fmt.Errorf("%s is not a TrueType font (.ttf)", path)
	}
	var f *sfnt.Font
	if err == nil {
		f, err = opentype.Parse(b)
	}
	if err != nil {
		log.Warn("PDF receipts are refused, and PNG codes print their note in English, until a TrueType font with Chinese glyphs is at --cjk-font (apt-get install "+wxpay.ReceiptFontPackage+
			"); ESC/POS receipts work", "cjk_font", path, "error", err.Error())
		return nil, nil
	}
	return b, f
}

// cmdReceipt writes a paid order's receipt to standard output, as the
// merchant route answers it.
func cmdReceipt(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		return e.usagef("%v", err)
	}
	fs := cfg.flags(e)
	cfg.bindSome(fs, "public-url", "receipt-font", "cjk-font")
	mchid := fs.String("mchid", "", "the merchant of the order")
	outTradeNo := fs.String("out-trade-no", "", "the order's out_trade_no (or --transaction-id)")
	txID := fs.String("transaction-id", "", "the order's transaction_id")
	format := fs.String("format", "", "escpos-58, escpos-80 or pdf")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "mchid", "format", "public-url"); err != nil {
		return err
	}
	if (*outTradeNo == "") == (*txID == "") {
		return e.usagef("give one of --out-trade-no and --transaction-id")
	}
	f, err := receipt.ParseFormat("format", *format)
	if err != nil {
		return e.usagef("--format must be escpos-58, escpos-80 or pdf")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	api := a.receiptAPI()
	if f == receipt.PDF {
		api.ReceiptFont, _ = loadCJKFont(cfg.CJKFont, a.log)
	}
	var o pay.Order
	if *txID != "" {
		o, err = a.pay.QueryByID(ctx, *mchid, *txID)
	} else {
		o, err = a.pay.QueryByOutTradeNo(ctx, *mchid, *outTradeNo)
	}
	if err != nil {
		return err
	}
	data, err := api.RenderReceipt(ctx, o, f)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}

// receiptAPI is the part of the merchant API receipts are made by: the
// orders, merchants and plans, the platform secret their codes are keyed
// by, and the public URL of their lookup page.
func (a *app) receiptAPI() *wxpay.API {
	return &wxpay.API{Services: wxpay.Services{Pay: a.pay, Merchants: a.merchants, Repay: a.repay}, Keys: a.keys,
		PublicURL: func() string { return a.publicURL }, ReceiptFontPath: a.cfg.CJKFont, Clock: a.wall, IDs: a.ids, Log: a.log}
}
