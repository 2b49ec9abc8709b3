package fenfu

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// IDs makes identifiers. Production uses random, time-ordered identifiers;
// tests may inject a deterministic source so golden files are stable.
type IDs interface {
	// New returns a new identifier of the given kind, for example
	// TransactionID or RefundID.
	New(kind IDKind, now time.Time) string
	// Nonce returns a random string of n characters from [0-9A-Za-z].
	Nonce(n int) string
}

// IDKind selects the shape of a generated identifier.
type IDKind int

// Identifier kinds.
const (
	TransactionID   IDKind = iota // 28 digits, as WeChat's transaction_id
	RefundID                      // 29 digits, as WeChat's refund_id
	AttemptID                     // internal payment attempt
	ConsumerID                    // consumer identifier
	RequestID                     // Request-ID header
	ComplaintID                   // 27 digits, as WeChat's complaint_id
	AggregateCodeID               // a merchant's aggregate code (聚合码)
)

// RandomIDs is the production identifier source. Identifiers begin with the
// time so that inserts append to indexes rather than landing at random.
type RandomIDs struct{ seq atomic.Uint64 }

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Nonce returns n random characters from [0-9A-Za-z].
func (g *RandomIDs) Nonce(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func (g *RandomIDs) digits(n int) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	v := binary.LittleEndian.Uint64(b[:]) ^ g.seq.Add(1)
	s := fmt.Sprintf("%020d", v)
	return s[len(s)-n:]
}

// New returns a new identifier of the given kind.
func (g *RandomIDs) New(kind IDKind, now time.Time) string {
	t := now.In(Shanghai)
	switch kind {
	case TransactionID:
		// 4200 + yyyymmddHHMMSS + 10 random digits = 28 digits.
		return "4200" + t.Format("20060102150405") + g.digits(10)
	case RefundID:
		// 5030 + yyyymmddHHMMSS + 11 random digits = 29 digits.
		return "5030" + t.Format("20060102150405") + g.digits(11)
	case AttemptID:
		return "pa_" + t.Format("20060102150405") + g.Nonce(12)
	case ConsumerID:
		return "c_" + t.Format("060102") + g.Nonce(10)
	case ComplaintID:
		// 2000000 + yyyymmdd + 12 random digits = 27 digits.
		return "2000000" + t.Format("20060102") + g.digits(12)
	case AggregateCodeID:
		return "agc_" + t.Format("060102") + g.Nonce(12)
	default:
		return t.Format("20060102150405") + g.Nonce(16)
	}
}

// SeqIDs is a deterministic identifier source for tests.
type SeqIDs struct{ n atomic.Uint64 }

// New returns the next identifier of the given kind.
func (g *SeqIDs) New(kind IDKind, now time.Time) string {
	n := g.n.Add(1)
	switch kind {
	case TransactionID:
		return fmt.Sprintf("4200%s%010d", now.In(Shanghai).Format("20060102150405"), n)
	case RefundID:
		return fmt.Sprintf("5030%s%011d", now.In(Shanghai).Format("20060102150405"), n)
	case AttemptID:
		return fmt.Sprintf("pa_%012d", n)
	case ConsumerID:
		return fmt.Sprintf("c_%010d", n)
	case ComplaintID:
		return fmt.Sprintf("2000000%s%012d", now.In(Shanghai).Format("20060102"), n)
	case AggregateCodeID:
		return fmt.Sprintf("agc_%012d", n)
	default:
		return fmt.Sprintf("id_%012d", n)
	}
}

// Nonce returns a deterministic nonce.
func (g *SeqIDs) Nonce(n int) string {
	s := fmt.Sprintf("%0*d", n, g.n.Add(1))
	return s[len(s)-n:]
}
