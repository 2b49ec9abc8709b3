package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// AnchorMessage is the log message of an anchor: a log line with it and
// the attributes store, seq and hash records that the store's chain had
// that head. Kept outside the store (in the log file, shipped elsewhere),
// anchors let Verify tell a chain cut short, which no link inside it
// shows.
const AnchorMessage = "audit anchor"

// Anchor is one anchor read back from a log file; Line is its line number.
type Anchor struct {
	Store string `json:"store"`
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	Line  int    `json:"line"`
}

// WriteAnchors logs an anchor for each store's chain every period, if its
// head moved since the last one, and once more when ctx ends; at info
// level, or the lowest level above it that log keeps. serve runs it.
func WriteAnchors(ctx context.Context, log *slog.Logger, every time.Duration, stores ...*db.DB) {
	last := make([]int64, len(stores))
	// An anchor is information, but a log that drops information must
	// keep it all the same.
	level := slog.LevelInfo
	for _, l := range []slog.Level{slog.LevelWarn, slog.LevelError} {
		if !log.Enabled(ctx, level) {
			level = l
		}
	}
	write := func(ctx context.Context) {
		for i, d := range stores {
			h, err := HeadOf(ctx, d)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("audit head unreadable: no anchor", "store", d.Name, "error", err)
				continue
			}
			if h.Seq == last[i] {
				continue
			}
			log.Log(ctx, level, AnchorMessage, "store", d.Name, "seq", h.Seq, "hash", h.Hash)
			last[i] = h.Seq
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		write(ctx)
		select {
		case <-ctx.Done():
			write(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
	}
}

// maxLogLine bounds a log line ReadAnchors reads.
const maxLogLine = 1 << 20

// ReadAnchors reads the anchors in a log file, in fenfu's text log format
// (msg="audit anchor" store=core seq=12 hash=…) or as JSON lines
// ({"msg":"audit anchor","store":"core","seq":12,"hash":"…"}); other lines
// are skipped. A line that is an anchor but whose store, seq or hash is
// malformed is an error naming the line.
func ReadAnchors(r io.Reader) ([]Anchor, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	var out []Anchor
	for n := 1; sc.Scan(); n++ {
		a, ok, err := parseAnchor(sc.Text())
		if err != nil {
			return nil, fenfu.Errorf(fenfu.ParamError, "anchors, line %d: %v", n, err)
		}
		if ok {
			a.Line = n
			out = append(out, a)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fenfu.Errorf(fenfu.ParamError, "anchors: a line is longer than %d bytes: not a fenfu log", maxLogLine)
		}
		return nil, err
	}
	return out, nil
}

// parseAnchor reads one log line: whether it is an anchor, and if so the
// anchor.
func parseAnchor(line string) (Anchor, bool, error) {
	var a Anchor
	if strings.HasPrefix(strings.TrimSpace(line), "{") {
		var v struct {
			Msg   string          `json:"msg"`
			Store string          `json:"store"`
			Seq   json.RawMessage `json:"seq"`
			Hash  string          `json:"hash"`
		}
		if json.Unmarshal([]byte(line), &v) != nil || v.Msg != AnchorMessage {
			return a, false, nil
		}
		a.Store, a.Hash = v.Store, v.Hash
		seq, err := strconv.ParseInt(string(v.Seq), 10, 64)
		if err != nil {
			return a, true, fmt.Errorf("seq %s is not a whole number", v.Seq)
		}
		a.Seq = seq
		return a, true, a.check()
	}
	attrs, ok := textAttrs(line)
	if !ok || attrs["msg"] != AnchorMessage {
		return a, false, nil
	}
	a.Store, a.Hash = attrs["store"], attrs["hash"]
	seq, err := strconv.ParseInt(attrs["seq"], 10, 64)
	if err != nil {
		return a, true, fmt.Errorf("seq %q is not a whole number", attrs["seq"])
	}
	a.Seq = seq
	return a, true, a.check()
}

// check validates an anchor read from a log.
func (a Anchor) check() error {
	if a.Store == "" || len(a.Store) > 64 {
		return fmt.Errorf("an anchor names its store")
	}
	if a.Seq < 1 {
		return fmt.Errorf("seq %d is not an entry", a.Seq)
	}
	if len(a.Hash) != len(Zero) || strings.Trim(a.Hash, "0123456789abcdef") != "" {
		return fmt.Errorf("hash %q is not 64 lower-case hex digits", a.Hash)
	}
	return nil
}

// textAttrs splits a line of log/slog's text format into its key=value
// attributes, unquoting quoted values; ok is false if it is not one.
func textAttrs(line string) (map[string]string, bool) {
	attrs := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		i := strings.IndexAny(line, "= ")
		if i <= 0 || line[i] != '=' {
			return nil, false
		}
		key := line[:i]
		line = line[i+1:]
		var val string
		if strings.HasPrefix(line, `"`) {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, false
			}
			if val, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			line = line[len(q):]
		} else {
			j := strings.IndexByte(line, ' ')
			if j < 0 {
				j = len(line)
			}
			val, line = line[:j], line[j:]
		}
		attrs[key] = val
	}
	return attrs, true
}
