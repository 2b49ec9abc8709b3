// Package mask hides personal data for those who may not see it in the
// clear: phone numbers (138****1234), names (张*), identity card and bank
// account numbers (all but the last four characters). JSON masks every
// field of an answer that carries personal data, by the field's name, so
// one call covers every staff answer.
package mask

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Phone hides the middle of a phone number: 138****1234. A number of
// another length keeps its first three and last four characters if it
// has at least nine, and is hidden whole otherwise.
func Phone(p string) string {
	r := []rune(p)
	if len(r) < 9 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// Name keeps a name's first character and hides the rest: 张三 → 张*,
// 欧阳娜娜 → 欧***. A one-character name is hidden whole.
func Name(n string) string {
	r := []rune(n)
	if len(r) < 2 {
		return strings.Repeat("*", len(r))
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// Last4 hides all but the last four characters, as identity card and
// bank account numbers are shown: **************1234. A value of four
// characters or fewer is hidden whole.
func Last4(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// Fields are the JSON fields that carry personal data, with their masker.
// A key "parent.field" names a field only inside an object named parent
// (a legal person's name, not a risk rule's).
var Fields = map[string]func(string) string{
	"phone":             Phone,
	"mobile":            Phone,
	"contact_phone":     Phone,
	"legal_person.name": Name,
	"account_name":      Name,
	"contact_name":      Name,
	"id_number":         Last4,
	"id_card":           Last4,
	"account_number":    Last4,
	"bank_account":      Last4,
	"card_number":       Last4,
}

// Field returns the masker of a field inside parent ("" at the top), or
// nil for a field that carries no personal data.
func Field(parent, field string) func(string) string {
	if f := Fields[parent+"."+field]; f != nil {
		return f
	}
	return Fields[field]
}

// JSON returns v as JSON with every personal field (Fields) masked.
func JSON(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(walk("", tree))
}

func walk(parent string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok {
				if f := Field(parent, k); f != nil && utf8.ValidString(s) {
					x[k] = f(s)
				}
				continue
			}
			x[k] = walk(k, val)
		}
	case []any:
		for i, val := range x {
			x[i] = walk(parent, val)
		}
	}
	return v
}
