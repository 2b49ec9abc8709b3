package wxpay

import (
	"testing"
)

// TestBadEscape: only escapes of characters a text field refuses make a
// body worth walking; the escapes encoders write for &, < and non-ASCII
// text do not.
func TestBadEscape(t *testing.T) {
	for body, want := range map[string]bool{
		`{"description":"Tea \u0026 cake \u5206\u4ed8"}`: false,
		`{"description":"plain"}`:                        false,
		`{"description":"a\u0000b"}`:                     true,
		`{"description":"a\u001Fb"}`:                     true,
		`{"attach":"\uFFFE"}`:                            true,
		`{"attach":"\uffff"}`:                            true,
		`{"attach":"\u00"}`:                              false,
	} {
		if got := badEscape([]byte(body)); got != want {
			t.Errorf("badEscape(%s) = %v, want %v", body, got, want)
		}
	}
}

func BenchmarkJSONTexts(b *testing.B) {
	body := []byte(`{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image \u0026 frame \u5f62\u8c61\u5e97",` +
		`"out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"}}`)
	for b.Loop() {
		if err := jsonTexts(body); err != nil {
			b.Fatal(err)
		}
	}
}
