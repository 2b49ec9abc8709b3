package catalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
)

// TestEveryCodeSaid: every code fenfu answers with, and every variant, has
// a title, a message and a next step in Chinese and in English, and the
// Chinese is Chinese.
func TestEveryCodeSaid(t *testing.T) {
	for _, c := range fenfu.Codes() {
		if _, ok := catalog.Lookup(c, ""); !ok {
			t.Errorf("%s has no entry", c)
		}
	}
	for _, k := range catalog.Keys() {
		e, _ := catalog.Lookup(fenfu.Code(k[0]), k[1])
		for _, tx := range []catalog.Text{e.Title, e.Message, e.Next} {
			if strings.TrimSpace(tx.ZH) == "" || strings.TrimSpace(tx.EN) == "" {
				t.Errorf("%s/%s lacks a text: %+v", k[0], k[1], e)
			}
			if !hasHan(tx.ZH) || hasHan(tx.EN) {
				t.Errorf("%s/%s: %q is not Chinese or %q not English", k[0], k[1], tx.ZH, tx.EN)
			}
		}
		if strings.Contains(e.Message.EN, string(k[0])) || strings.Contains(e.Message.ZH, string(k[0])) {
			t.Errorf("%s/%s: the message names the developer code", k[0], k[1])
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}

func TestSay(t *testing.T) {
	s := catalog.Say(catalog.EN, fenfu.OrderClosed, catalog.Expired, map[string]string{"time": "2026-11-27 11:00"})
	if s.Message != "This order expired at 2026-11-27 11:00 China Standard Time (UTC+8); it can no longer be paid." || s.Action != catalog.NewCode {
		t.Errorf("expired, in English: %+v", s)
	}
	s = catalog.Say(catalog.ZH, fenfu.OrderClosed, catalog.Expired, map[string]string{"time": "2026-11-27 11:00"})
	if !strings.Contains(s.Message, "2026-11-27 11:00（北京时间）") {
		t.Errorf("expired, in Chinese: %+v", s)
	}
	// A variant a code lacks is the code's own entry; an unknown code is
	// a system error's.
	if s := catalog.Say(catalog.ZH, fenfu.OrderPaid, "nonesuch", nil); s.Title != "订单已支付" {
		t.Errorf("unknown variant: %+v", s)
	}
	if s := catalog.Say(catalog.EN, "NONESUCH", "", nil); s.Title != "Something went wrong" || s.Code != "NONESUCH" {
		t.Errorf("unknown code: %+v", s)
	}
}

func TestNegotiate(t *testing.T) {
	for h, want := range map[string]catalog.Lang{
		"":                               catalog.ZH,
		"en-US,en;q=0.9":                 catalog.EN,
		"zh-CN,zh;q=0.9,en;q=0.8":        catalog.ZH,
		"en;q=0.5, zh-TW;q=0.8":          catalog.ZH,
		"fr-FR, en;q=0.3":                catalog.EN,
		"fr, de":                         catalog.ZH,
		"en;q=0":                         catalog.ZH,
		"en;q=abc, zh;q=0.1":             catalog.ZH,
		"en;q=2":                         catalog.ZH,
		"ja, en-GB;q=0.7, zh-Hans;q=0.7": catalog.EN,
	} {
		if got := catalog.Negotiate(h); got != want {
			t.Errorf("Negotiate(%q) = %s, want %s", h, got, want)
		}
	}
	if catalog.ZH.Tag() != "zh-CN" || catalog.EN.Tag() != "en" {
		t.Error("tags")
	}
}

// FuzzNegotiate: any header picks one of the languages, without panic.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "en-US,en;q=0.9", "zh;q=0.5,en;q=0.6", ";;,,q=", "en;q=1e309"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := catalog.Negotiate(h); l != catalog.ZH && l != catalog.EN {
			t.Fatalf("Negotiate(%q) = %q", h, l)
		}
	})
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		zh, en string
	}{
		{5 * time.Minute, "5 分钟", "5 minutes"},
		{time.Minute, "1 分钟", "1 minute"},
		{30*time.Minute + 20*time.Second, "30 分钟", "30 minutes"},
		{0, "0 分钟", "0 minutes"},
		{time.Hour, "1 小时", "1 hour"},
		{24 * time.Hour, "24 小时", "24 hours"},
		{90 * time.Minute, "1 小时 30 分钟", "1 hour 30 minutes"},
		{-61 * time.Minute, "1 小时 1 分钟", "1 hour 1 minute"},
	} {
		if got := catalog.Duration(c.d); got.ZH != c.zh || got.EN != c.en {
			t.Errorf("Duration(%s) = %q / %q, want %q / %q", c.d, got.ZH, got.EN, c.zh, c.en)
		}
	}
}

// TestWords: a value is named by its table, and one the table lacks by
// its code, in both languages, as a page says it (Named).
func TestWords(t *testing.T) {
	type state string
	w := catalog.Words[state]{"DONE": {ZH: "已完成", EN: "Done"}}
	if got := w.Name("DONE").Text(); got != (catalog.Text{ZH: "已完成", EN: "Done"}) {
		t.Errorf("DONE is named %+v", got)
	}
	if got := w.Name("NEW").Text(); got != (catalog.Text{ZH: "NEW", EN: "NEW"}) {
		t.Errorf("a value without a word is named %+v, want its code", got)
	}
}
