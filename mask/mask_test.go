package mask_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fenfu/fenfu/mask"
)

func TestMaskers(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"phone", mask.Phone, "13812341234", "138****1234"},
		{"short phone", mask.Phone, "12345678", "********"},
		{"long phone", mask.Phone, "+8613812341234", "+86*******1234"},
		{"empty phone", mask.Phone, "", ""},
		{"name", mask.Name, "张三", "张*"},
		{"long name", mask.Name, "欧阳娜娜", "欧***"},
		{"one character", mask.Name, "张", "*"},
		{"latin name", mask.Name, "Lin Wei", "L******"},
		{"id number", mask.Last4, "11010519491231002X", "**************002X"},
		{"account", mask.Last4, "6222020200112233", "************2233"},
		{"four", mask.Last4, "1234", "****"},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := map[string]any{
		"id": "app_1",
		"application": map[string]any{
			"legal_person":       map[string]any{"name": "张三", "id_number": "11010519491231002X", "phone": "13812341234"},
			"settlement_account": map[string]any{"bank": "ICBC", "account_name": "李四", "account_number": "6222020200112233"},
			"stores":             []any{map[string]any{"name": "一号店", "address": "北京"}},
		},
		"rules":  []any{map[string]any{"name": "velocity"}},
		"amount": 12345678901234,
	}
	raw, err := mask.JSON(in)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{`"张*"`, `"**************002X"`, `"138****1234"`, `"李*"`, `"************2233"`,
		`"一号店"`, `"velocity"`, `"ICBC"`, `12345678901234`, `"app_1"`} {
		if !strings.Contains(s, want) {
			t.Errorf("masked JSON %s lacks %s", s, want)
		}
	}
	for _, clear := range []string{"张三", "13812341234", "11010519491231002X", "6222020200112233", "李四"} {
		if strings.Contains(s, clear) {
			t.Errorf("masked JSON %s shows %s", s, clear)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
}

// FuzzMaskers: a masker never panics, keeps a value's length in
// characters, reveals at most its rule's characters, each where it was,
// and masking twice changes nothing more.
func FuzzMaskers(f *testing.F) {
	for _, s := range []string{"", "1", "张三", "13812341234", "11010519491231002X", "\xff\xfe", "欧阳娜娜"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "?")
		}
		in := []rune(s)
		for name, c := range map[string]struct {
			f    func(string) string
			show int
		}{"phone": {mask.Phone, 7}, "name": {mask.Name, 1}, "last4": {mask.Last4, 4}} {
			got := c.f(s)
			out := []rune(got)
			if len(out) != len(in) {
				t.Fatalf("%s(%q) = %q: %d characters, want %d", name, s, got, len(out), len(in))
			}
			shown := 0
			for i, r := range out {
				if r != '*' || in[i] == '*' {
					if r != in[i] {
						t.Fatalf("%s(%q) = %q: character %d is neither the input's nor hidden", name, s, got, i)
					}
					if in[i] != '*' {
						shown++
					}
				}
			}
			if shown > c.show || (len(in) > 0 && shown >= len(in) && len(in) > 1) {
				t.Fatalf("%s(%q) = %q shows %d characters", name, s, got, shown)
			}
			if again := c.f(got); again != got {
				t.Fatalf("%s(%s(%q)) = %q, want %q", name, name, s, again, got)
			}
		}
	})
}
