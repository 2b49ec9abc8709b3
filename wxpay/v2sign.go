package wxpay

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// API v2 signature types.
const (
	SignMD5        = "MD5"
	SignHMACSHA256 = "HMAC-SHA256"
)

// SignV2 returns the v2 sign of params: the non-empty parameters other
// than sign, sorted by name, joined as k=v&…, then &key=KEY, hashed with
// MD5 or HMAC-SHA256 (keyed by KEY), in upper-case hex.
func SignV2(params map[string]string, key, signType string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(key)
	var sum []byte
	if signType == SignHMACSHA256 {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(b.String()))
		sum = m.Sum(nil)
	} else {
		s := md5.Sum([]byte(b.String()))
		sum = s[:]
	}
	return strings.ToUpper(hex.EncodeToString(sum))
}

// V2Codec is API v2's wire format for the notification worker.
type V2Codec struct{}

// Sign signs v2 parameters.
func (V2Codec) Sign(params map[string]string, key, signType string) string {
	return SignV2(params, key, signType)
}

// Encode writes v2 XML.
func (V2Codec) Encode(params map[string]string) []byte { return EncodeV2(params) }

// Parse reads v2 XML.
func (V2Codec) Parse(body []byte) (map[string]string, error) { return ParseV2(body) }

// MaxV2Fields bounds the parameters of a v2 request.
const MaxV2Fields = 64

// ParseV2 reads a v2 XML body: one <xml> element whose children are
// simple text elements (CDATA or escaped text). It refuses nesting,
// repeated names, other roots and oversized input, and never panics.
func ParseV2(body []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	params := map[string]string{}
	depth := 0
	var name string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 || len(params) == 0 && name == "" {
				return nil, errors.New("the body is not a complete <xml> document")
			}
			return params, nil
		}
		if err != nil {
			if depth == 2 { // a text the decoder refused, as U+0000: name its parameter
				return nil, fmt.Errorf("parameter %s: the body is not XML: %v", name, err)
			}
			return nil, fmt.Errorf("the body is not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "xml" {
					return nil, fmt.Errorf("the root element must be <xml>, not <%s>", t.Name.Local)
				}
				name = "xml"
			case 2:
				name = t.Name.Local
				text.Reset()
			default:
				return nil, fmt.Errorf("element <%s> is nested; v2 parameters are flat", t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				if text.Len()+len(t) > 16<<10 {
					return nil, fmt.Errorf("parameter %s is too long", name)
				}
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := params[name]; dup {
					return nil, fmt.Errorf("parameter %s appears twice", name)
				}
				if len(params) >= MaxV2Fields {
					return nil, errors.New("too many parameters")
				}
				params[name] = strings.TrimSpace(text.String())
			}
			depth--
		case xml.Directive, xml.ProcInst:
			// <?xml …?> is fine; a DOCTYPE is not.
			if dir, ok := t.(xml.Directive); ok {
				return nil, fmt.Errorf("XML directives are not accepted: %.20s", string(dir))
			}
		}
	}
}

// EncodeV2 writes params as a v2 XML body, each value in CDATA, names
// sorted so the output is stable.
func EncodeV2(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range keys {
		v := strings.ReplaceAll(params[k], "]]>", "]]]]><![CDATA[>")
		fmt.Fprintf(&b, "<%s><![CDATA[%s]]></%s>", k, v, k)
	}
	b.WriteString("</xml>")
	return b.Bytes()
}
