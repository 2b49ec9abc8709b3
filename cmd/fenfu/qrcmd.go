package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu/qr"
)

// errMark is the error of a mark that is not genuine.
var errMark = errors.New("the mark is not genuine")

// cmdQRVerify checks the mark under a code offline, under the platform
// secret of the stores, as inspectors do on the staff API: it prints the
// verdict as JSON and exits non-zero unless the mark is genuine now.
func cmdQRVerify(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	token := fs.String("token", "", "the code's token, or its whole URL (…/q/TOKEN)")
	mark := fs.String("mark", "", "the 6 characters printed under the code")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "token", "mark"); err != nil {
		return err
	}
	a, tok, err := openForCode(ctx, cfg, e, *token)
	if err != nil {
		return err
	}
	defer a.close()
	v, err := a.codes().Check("cli", tok, *mark, a.clock.Now(), nil)
	if err != nil {
		return err
	}
	if err := printJSON(e.stdout, v); err != nil {
		return err
	}
	if !v.Valid {
		return fmt.Errorf("%w: %s", errMark, v.Reason)
	}
	return nil
}

// cmdQRRender writes an order's code, as GET /q/{token}.png or .svg
// draws it now, to standard output.
func cmdQRRender(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		return e.usagef("%v", err)
	}
	fs := cfg.flags(e)
	cfg.bindSome(fs, "public-url", "receipt-font", "cjk-font", "qr-screen-px", "qr-print-mm", "qr-print-dpi")
	token := fs.String("token", "", "the order's token, or its whole code_url")
	format := fs.String("format", "png", "png or svg")
	size := fs.String("size", "screen", "screen or print")
	english := fs.Bool("english", false, "the label and note in English")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "token", "public-url"); err != nil {
		return err
	}
	if *format != "png" && *format != "svg" {
		return e.usagef("--format must be png or svg")
	}
	if *size != "screen" && *size != "print" {
		return e.usagef("--size must be screen or print")
	}
	a, tok, err := openForCode(ctx, cfg, e, *token)
	if err != nil {
		return err
	}
	defer a.close()
	if _, err := a.pay.OrderForToken(ctx, tok); err != nil {
		return err
	}
	pics := a.cashier.Pictures
	_, pics.Style.Font = loadCJKFont(cfg.CJKFont, a.log)
	mark, minute := pics.Marks.Now(tok, a.clock.Now())
	p := qr.Picture{Text: a.codeURL(tok), Mark: mark, Minute: minute, English: *english}
	sz, draw := pics.Screen, pics.Style.PNG
	if *size == "print" {
		sz = pics.Print
	}
	if *format == "svg" {
		draw = pics.Style.SVG
	}
	img, err := draw(p, sz)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(img)
	return err
}
