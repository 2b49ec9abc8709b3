package wxpay

import (
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/pay"
)

func tokenAPI() *API {
	return &API{Keys: &keyring.Keyring{Secret: []byte("bill token secret bill token sec")}}
}

func TestBillToken(t *testing.T) {
	a := tokenAPI()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	want := billTicket{Request: bill.Request{MchID: "1900000001", Kind: bill.Trade, Date: "2026-11-26", Type: bill.All, Channel: string(pay.ChannelCredit)},
		Gzip: true, Expires: now.Add(BillLinkTTL).Unix()}
	tok := a.billToken(want)
	got, err := a.parseBillToken(tok, now)
	if err != nil || got != want {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := a.parseBillToken(tok, now.Add(BillLinkTTL+time.Second)); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
		t.Errorf("expired token: %v", err)
	}
	other := &API{Keys: &keyring.Keyring{Secret: []byte("another secret another secret ab")}}
	if _, err := other.parseBillToken(tok, now); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("token of another key: %v", err)
	}
	for _, bad := range []string{"", ".", "abc", tok + "=", tok[:len(tok)-1], "x" + tok} {
		if _, err := a.parseBillToken(bad, now); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseBillToken(f *testing.F) {
	a := tokenAPI()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)
	f.Add(a.billToken(billTicket{Request: bill.Request{MchID: "1", Kind: bill.Trade, Date: "2026-11-26", Type: bill.All}, Expires: now.Unix() + 60}))
	f.Add("eHh4.eXl5")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := a.parseBillToken(tok, now)
		if err != nil {
			return
		}
		// Whatever parses was signed by this key: it re-signs to itself.
		if a.billToken(got) != tok {
			t.Fatalf("token %q parsed to %+v, which signs differently", tok, got)
		}
	})
}
