package wxpay

import (
	"testing"
)

// The published v2 example (see the protocol reference): MD5 and
// HMAC-SHA256 signs of the same parameters.
func TestSignV2GoldenVectors(t *testing.T) {
	p := map[string]string{"appid": "wxd930ea5d5a258f4f", "body": "test", "device_info": "1000", "mch_id": "10000100",
		"nonce_str": "ibuaiVcKdpRxkhJA", "sign": "ignored", "empty": ""}
	const key = "192006250b4c09247ec02edce69f6a2d"
	if got, want := SignV2(p, key, SignMD5), "9A0A8659F005D6984697E2CA0A9CF3B7"; got != want {
		t.Errorf("MD5 sign = %s, want %s", got, want)
	}
	if got, want := SignV2(p, key, SignHMACSHA256), "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"; got != want {
		t.Errorf("HMAC-SHA256 sign = %s, want %s", got, want)
	}
}

func TestParseV2(t *testing.T) {
	p, err := ParseV2([]byte(`<?xml version="1.0"?><xml><appid><![CDATA[wx1]]></appid><total_fee>100</total_fee><body>a &amp; b</body></xml>`))
	if err != nil || p["appid"] != "wx1" || p["total_fee"] != "100" || p["body"] != "a & b" {
		t.Fatalf("ParseV2 = %v, %v", p, err)
	}
	round, err := ParseV2(EncodeV2(map[string]string{"a": "x]]>y", "b": "<tag>"}))
	if err != nil || round["a"] != "x]]>y" || round["b"] != "<tag>" {
		t.Fatalf("round trip = %v, %v", round, err)
	}
	for _, bad := range []string{``, `<xml>`, `<root><a>1</a></root>`, `<xml><a><b>1</b></a></xml>`,
		`<xml><a>1</a><a>2</a></xml>`, `<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>`, `not xml`} {
		if _, err := ParseV2([]byte(bad)); err == nil {
			t.Errorf("ParseV2(%q) accepted", bad)
		}
	}
}

func FuzzParseV2(f *testing.F) {
	f.Add([]byte(`<xml><appid><![CDATA[wx1]]></appid><total_fee>100</total_fee></xml>`))
	f.Add([]byte(`<xml><a><b/></a></xml>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseV2(body)
		if err != nil {
			return
		}
		if len(p) > MaxV2Fields {
			t.Fatalf("accepted %d fields", len(p))
		}
		// What was accepted survives a round trip.
		q, err := ParseV2(EncodeV2(p))
		if err != nil || len(q) != len(p) {
			t.Fatalf("round trip of %v: %v, %v", p, q, err)
		}
		for k, v := range p {
			if q[k] != v {
				t.Fatalf("round trip changed %s: %q → %q", k, v, q[k])
			}
		}
	})
}
