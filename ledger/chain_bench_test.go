package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/ledger"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPostSealer posts one payment (three entries on busy accounts)
// per transaction from 4×GOMAXPROCS goroutines, with the sealer off, or
// on as serve runs it (a round every ledger.SealEvery). It reports wall
// and process CPU time per posting and, with the sealer on, its rounds:
// the longest, the transactions sealed per second of round time, and the
// most left unsealed when a round began (the lag, in transactions).
// Each operation is one posting; run it with -benchtime Nx.
func BenchmarkPostSealer(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		for _, on := range []bool{false, true} {
			name := fmt.Sprintf("%s/sealer=%s", engine, map[bool]string{false: "off", true: "on"}[on])
			b.Run(name, func(b *testing.B) { benchPostSealer(b, engine, on) })
		}
	}
}

func benchPostSealer(b *testing.B, engine db.Engine, on bool) {
	ctx := context.Background()
	d := dbtest.Open(b, engine, "credit", fenfu.SystemClock{})
	var next atomic.Int64
	stop := make(chan struct{})
	var sealer sync.WaitGroup
	var rounds, sealed, backlog int64
	var longest, busy time.Duration
	if on {
		sealer.Add(1)
		go func() {
			defer sealer.Done()
			t := time.NewTicker(ledger.SealEvery)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				h, _ := ledger.ChainHead(ctx, d)
				if lag := next.Load() - h.Pos; lag > backlog {
					backlog = lag
				}
				start := time.Now()
				s, err := ledger.Seal(ctx, d)
				if err != nil {
					b.Error(err)
					return
				}
				took := time.Since(start)
				rounds++
				sealed += s.Sealed
				busy += took
				longest = max(longest, took)
			}
		}()
	}
	b.SetParallelism(4)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if err := postErr(d, pay(fmt.Sprint("b", i), 100)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	close(stop)
	sealer.Wait()
	if on && rounds > 0 {
		b.ReportMetric(float64(longest.Microseconds())/1000, "round-max-ms")
		if busy > 0 {
			b.ReportMetric(float64(sealed)/busy.Seconds(), "sealed/round-s")
		}
		b.ReportMetric(float64(backlog), "max-unsealed")
	}
	if _, err := ledger.SealCommitted(ctx, d); err != nil {
		b.Fatal(err)
	}
	if r, err := ledger.VerifyChain(ctx, d); err != nil || r.Break != nil || r.Checked != next.Load() {
		b.Fatalf("chain after the run: %v, %v; want %d positions", r, err, next.Load())
	}
}

// sealedBooks is a store with n payments posted, in transactions of 500.
func sealedBooks(b *testing.B, engine db.Engine, n int, sealed bool) *db.DB {
	d := dbtest.Open(b, engine, "credit", fenfu.SystemClock{})
	for lo := 0; lo < n; lo += 500 {
		var txns []ledger.Txn
		for i := lo; i < min(lo+500, n); i++ {
			txns = append(txns, pay(fmt.Sprint("s", i), 100))
		}
		if err := postErr(d, txns...); err != nil {
			b.Fatal(err)
		}
	}
	if sealed {
		if _, err := ledger.SealCommitted(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// BenchmarkSeal seals b.N posted payments from scratch: each operation is
// one transaction sealed. Run it with -benchtime Nx.
func BenchmarkSeal(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := sealedBooks(b, engine, b.N, false)
			cpu0 := cpuTime()
			b.ResetTimer()
			s, err := ledger.SealCommitted(context.Background(), d)
			b.StopTimer()
			if err != nil || s.Head.Pos != int64(b.N) {
				b.Fatalf("sealed %+v, %v", s, err)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkVerifyChain verifies a chain of b.N payments: each operation
// is one position checked. Run it with -benchtime Nx.
func BenchmarkVerifyChain(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := sealedBooks(b, engine, b.N, true)
			cpu0 := cpuTime()
			b.ResetTimer()
			r, err := ledger.VerifyChain(context.Background(), d)
			b.StopTimer()
			if err != nil || r.Break != nil || r.Checked != int64(b.N) {
				b.Fatalf("verified %v, %v", r, err)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
