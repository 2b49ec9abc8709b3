package bench

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu/scheme"
)

// TestCryptoCostIsCPUTime: the ceiling's signature work is measured in the
// CPU time of its own thread, so another goroutine sharing the only
// processor does not inflate it as it inflates the elapsed time (here
// about twice, as the two take turns).
func TestCryptoCostIsCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU time is read on Linux")
	}
	key, err := scheme.Generate(scheme.SM2)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // shares the one processor, preempted in turns
		defer close(done)
		for x := 0; !stop.Load(); x++ {
			_ = x * x
		}
	}()
	start := time.Now()
	const rounds = 400
	cost, err := CryptoCost(key, key, rounds)
	elapsed := time.Since(start) / rounds
	stop.Store(true)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if cost <= 0 || cost > elapsed*3/4 {
		t.Errorf("crypto cost %v a payment, elapsed %v: the cost follows elapsed time, not the thread's CPU time", cost, elapsed)
	}
}
