package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/wxpay"
)

// pngScale is the module size of a code's PNG: a QR a phone reads from a
// printed sheet on a till or a table.
const pngScale = 10

// cmdAggregate runs `fenfu aggregate create|list|show|revoke`: a
// merchant's aggregate codes (聚合码), each printed with the URL its QR
// carries, PUBLIC_URL/a/{token}; create and show also write the QR as a
// PNG with --png.
func cmdAggregate(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	mchid := fs.String("mchid", "", "the merchant")
	publicURL := fs.String("public-url", e.getenv("FENFU_PUBLIC_URL"), "the base URL consumers reach fenfu at, as serve's --public-url (default FENFU_PUBLIC_URL)")
	var label, description, notifyURL, id, png string
	var limit, offset int
	switch sub {
	case "create":
		fs.StringVar(&label, "label", "", "what the consumer sees: one line of at most 32 characters, such as \"Till 3\" or \"Table 12\"")
		fs.StringVar(&description, "description", "", "the orders' description (default: LABEL · the merchant's name)")
		fs.StringVar(&notifyURL, "notify-url", "", "where the orders' payment notifications go (default: the merchant's notify URL)")
	case "list":
		fs.IntVar(&limit, "limit", aggregate.DefaultLimit, fmt.Sprintf("codes to list, 1 to %d, newest first", aggregate.MaxLimit))
		fs.IntVar(&offset, "offset", 0, "codes to skip")
	default:
		fs.StringVar(&id, "id", "", "the code (code_id)")
	}
	if sub == "create" || sub == "show" {
		fs.StringVar(&png, "png", "", "also write the code's QR code to this PNG file")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	required := []string{"mchid"}
	switch sub {
	case "create":
		required = append(required, "label")
	case "show", "revoke":
		required = append(required, "id")
	}
	if err := e.require(fs, required...); err != nil {
		return err
	}
	base := strings.TrimRight(*publicURL, "/")
	if u, err := url.Parse(base); base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e.usagef("--public-url (or FENFU_PUBLIC_URL) must be the http(s) URL consumers reach fenfu at, as serve's --public-url, not %q", *publicURL)
	}
	if sub == "list" && (limit < 1 || limit > aggregate.MaxLimit || offset < 0) {
		return e.usagef("--limit must be from 1 to %d and --offset at least 0", aggregate.MaxLimit)
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	a.publicURL = base
	out := func(c aggregate.Code) wxpay.AggregateCode {
		return wxpay.AggregateCodeObject(c, a.aggregateURL(c.Token))
	}
	var c aggregate.Code
	switch sub {
	case "create":
		c, err = a.aggregate.Create(ctx, aggregate.NewCode{MchID: *mchid, Label: label, Description: description, NotifyURL: notifyURL})
	case "show":
		c, err = a.aggregate.Get(ctx, *mchid, id)
	case "revoke":
		c, err = a.aggregate.Revoke(ctx, *mchid, id)
	case "list":
		list, total, err := a.aggregate.List(ctx, *mchid, limit, offset)
		if err != nil {
			return err
		}
		data := make([]wxpay.AggregateCode, len(list))
		for i, c := range list {
			data[i] = out(c)
		}
		return printJSON(e.stdout, map[string]any{"data": data, "limit": limit, "offset": offset, "total_count": total})
	}
	if err != nil {
		return err
	}
	if png != "" {
		img, err := qr.PNG(a.aggregateURL(c.Token), pngScale)
		if err != nil {
			return err
		}
		if err := os.WriteFile(png, img, 0o644); err != nil {
			return err
		}
	}
	return printJSON(e.stdout, out(c))
}
