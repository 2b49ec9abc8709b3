package catalog

import (
	"strconv"
	"strings"
	"time"
)

// Named is a value a page names in each language: a ticket's type or
// status, an order's trade state. Each surface's templates say one with
// the same function, so a value has one name wherever it is shown.
type Named interface {
	Text() Text
}

// Duration is the length of d as a page says it, to the minute, its sign
// dropped: "30 分钟" and "30 minutes", "24 小时" and "24 hours", "1 小时
// 30 分钟" and "1 hour 30 minutes".
func Duration(d time.Duration) Text {
	m := int64(d.Round(time.Minute) / time.Minute)
	if m < 0 {
		m = -m
	}
	count := func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + many
	}
	var zh, en []string
	if h := m / 60; h > 0 {
		zh, en = append(zh, strconv.FormatInt(h, 10)+" 小时"), append(en, count(h, "hour", "hours"))
	}
	if m%60 > 0 || m < 60 {
		zh, en = append(zh, strconv.FormatInt(m%60, 10)+" 分钟"), append(en, count(m%60, "minute", "minutes"))
	}
	return Text{ZH: strings.Join(zh, " "), EN: strings.Join(en, " ")}
}

// Words name the values of one kind in each language: a ticket's
// statuses, a refund's states. A value the table lacks is named by its
// code, in both languages, so a new one shows as it is until it has a
// name.
type Words[K ~string] map[K]Text

// Of is k's name.
func (w Words[K]) Of(k K) Text {
	if t, ok := w[k]; ok {
		return t
	}
	return Text{ZH: string(k), EN: string(k)}
}

// Name is k as a value a page names (Named), by w.
func (w Words[K]) Name(k K) Named { return word[K]{k, w} }

type word[K ~string] struct {
	k K
	w Words[K]
}

func (n word[K]) Text() Text { return n.w.Of(n.k) }
