package fastpath

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestCounterAdd checks the kernel against its Go twin and that a
// concurrent reader only ever sees published, non-decreasing values.
func TestCounterAdd(t *testing.T) {
	var a, g uint64
	for i, d := range []uint64{0, 1, 7, 1 << 32, ^uint64(0) >> 1} {
		CounterAdd(&a, d)
		counterAddGo(&g, d)
		if a != g {
			t.Fatalf("step %d: CounterAdd gives %d, the Go twin %d", i, a, g)
		}
	}

	var c uint64
	const n = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		for i := 0; i < n; i++ {
			CounterAdd(&c, 3)
		}
	}()
	var last uint64
	for last != 3*n {
		v := atomic.LoadUint64(&c)
		if v < last || v%3 != 0 {
			t.Fatalf("reader saw %d after %d", v, last)
		}
		last = v
	}
	wg.Wait()
	if allocs := testing.AllocsPerRun(100, func() { CounterAdd(&c, 1) }); allocs != 0 {
		t.Fatalf("CounterAdd allocates %v times per call", allocs)
	}
}

func BenchmarkCounterAdd(b *testing.B) {
	var c uint64
	for i := 0; i < b.N; i++ {
		CounterAdd(&c, 1)
	}
}

func BenchmarkCounterAtomicStore(b *testing.B) {
	var c uint64
	for i := 0; i < b.N; i++ {
		atomic.StoreUint64(&c, c+1)
	}
}
