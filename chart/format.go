package chart

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fenfu/fenfu/catalog"
)

// Format writes a value in the unit, in full, as a table or a tooltip
// shows it: 1,234; ¥1,234.56; 82.5%; 3.2 days.
func (u Unit) Format(v float64, l catalog.Lang) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	switch u {
	case Money:
		return money(v)
	case Ratio:
		return fixed(v*100, 1) + "%"
	case Days:
		if l == catalog.EN {
			return fixed(v, 1) + " days"
		}
		return fixed(v, 1) + " 天"
	}
	if v == math.Trunc(v) {
		return fixed(v, 0)
	}
	return fixed(v, 2)
}

// money writes fen as yuan with the ¥ sign and thousands separators.
func money(fen float64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + "¥" + fixed(fen/100, 2)
}

// fixed writes v with places decimals and thousands separators; a value
// too large to write out in full is written with an exponent.
func fixed(v float64, places int) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'f', places, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if strings.Trim(s, "0.") == "" {
		sign = "" // no "-0.0"
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// tick writes an axis tick of the unit, shortly: 12k or 1.2万, ¥3.5M,
// 40%. step is the distance between ticks, which decides the decimals.
func (u Unit) tick(v, step float64, l catalog.Lang) string {
	switch u {
	case Money:
		v, step = v/100, step/100
	case Ratio:
		return plain(v*100, step*100) + "%"
	}
	s := compact(v, step, l)
	if u == Money {
		if strings.HasPrefix(s, "-") {
			return "-¥" + s[1:]
		}
		return "¥" + s
	}
	return s
}

// compact writes v with a scale word for large numbers: k, M and B in
// English; 万 and 亿 in Chinese.
func compact(v, step float64, l catalog.Lang) string {
	type scale struct {
		size float64
		word string
	}
	scales := []scale{{1e9, "B"}, {1e6, "M"}, {1e4, "k"}}
	if l != catalog.EN {
		scales = []scale{{1e8, "亿"}, {1e4, "万"}}
	}
	if v == 0 {
		return "0"
	}
	a := math.Max(math.Abs(v), math.Abs(step))
	for _, s := range scales {
		if a >= s.size {
			size := s.size
			if s.word == "k" {
				size = 1e3
			}
			return plain(v/size, step/size) + s.word
		}
	}
	return plain(v, step)
}

// plain writes v with as many decimals as the step between ticks needs,
// and thousands separators.
func plain(v, step float64) string {
	places := 0
	if step > 0 && step < 1 {
		places = int(math.Ceil(-math.Log10(step) - 1e-9))
		if places > 6 {
			places = 6
		}
		// A step of 0.25 needs two places, not one.
		for places < 6 && math.Abs(step*math.Pow10(places)-math.Round(step*math.Pow10(places))) > 1e-6 {
			places++
		}
	}
	return fixed(v, places)
}

// runeWidth is the width of a rune of text at font size 1: a Chinese
// character is as wide as the font is tall, a Latin letter about half.
func runeWidth(r rune) float64 {
	switch {
	case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
		r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6 ||
		r >= 0x20000 && r <= 0x3fffd):
		return 1
	case r == 'm' || r == 'w' || r == 'M' || r == 'W' || r == '@':
		return 0.85
	case r == 'i' || r == 'l' || r == 'j' || r == '.' || r == ',' || r == ':' || r == '\'' || r == '|' || r == '!':
		return 0.3
	}
	return 0.58
}

// textWidth estimates the width of s at the font size.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w * size
}

// fit shortens s to at most width at the font size, ending it with "…".
func fit(s string, width, size float64) string {
	if textWidth(s, size) <= width {
		return s
	}
	ell := textWidth("…", size)
	w := 0.0
	for i, r := range s {
		w += runeWidth(r) * size
		if w+ell > width {
			return s[:i] + "…"
		}
	}
	return s
}

// wrap breaks s into lines at most width wide at the font size: at spaces
// where there are any, else between any two characters (Chinese).
func wrap(s string, width, size float64) []string {
	var lines []string
	var line strings.Builder
	lineW := 0.0
	flush := func() {
		if t := strings.TrimSpace(line.String()); t != "" {
			lines = append(lines, t)
		}
		line.Reset()
		lineW = 0
	}
	for _, word := range splitWords(s) {
		w := textWidth(word, size)
		if lineW+w > width && lineW > 0 {
			flush()
			word = strings.TrimLeft(word, " ")
			w = textWidth(word, size)
		}
		for w > width { // a word longer than a line: cut it
			cut := fit(word, width, size)
			cut = strings.TrimSuffix(cut, "…")
			if cut == "" {
				_, n := firstRune(word)
				cut = word[:n]
			}
			line.WriteString(cut)
			flush()
			word = word[len(cut):]
			w = textWidth(word, size)
		}
		line.WriteString(word)
		lineW += w
	}
	flush()
	return lines
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i > 0 {
			return r, i
		}
	}
	return 0, len(s)
}

// splitWords splits s before each space, and around each Chinese
// character, which a line may break on either side of.
func splitWords(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		switch {
		case r == ' ' && i > start:
			out = append(out, s[start:i])
			start = i
		case runeWidth(r) == 1:
			if i > start {
				out = append(out, s[start:i])
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			end := i + n
			out = append(out, s[i:end])
			start = end
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
