package fastpath

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestAbandonMemory: ranges are half-open, independent (overlapping and
// repeated declarations are released one by one), release is idempotent,
// empty ranges abandon nothing.
func TestAbandonMemory(t *testing.T) {
	const a, b = 0x7000_0000_0000, 0x7000_0010_0000
	if Abandoned(a) {
		t.Fatal("abandoned before any declaration")
	}
	r1 := AbandonMemory(a, b)
	r2 := AbandonMemory(a+0x1000, b+0x1000)
	for _, c := range []struct {
		addr uintptr
		want bool
	}{{a - 1, false}, {a, true}, {b - 1, true}, {b, true}, {b + 0xfff, true}, {b + 0x1000, false}} {
		if got := Abandoned(c.addr); got != c.want {
			t.Errorf("Abandoned(%#x) = %v, want %v", c.addr, got, c.want)
		}
	}
	r1()
	if Abandoned(a) || !Abandoned(a+0x1000) {
		t.Fatal("release of one range touched the other")
	}
	r1() // no effect
	if !Abandoned(a + 0x1000) {
		t.Fatal("a second release removed another range")
	}
	r2()
	if Abandoned(a+0x1000) || abandonedRanges.Load() != nil {
		t.Fatal("ranges left after every release")
	}
	AbandonMemory(b, a)()
	rel := AbandonMemory(a, a)
	if Abandoned(a) {
		t.Fatal("an empty range abandoned its start")
	}
	rel()
}

// TestAbandonMemoryConcurrent declares and releases ranges from several
// goroutines while others read (run with -race).
func TestAbandonMemoryConcurrent(t *testing.T) {
	const base = 0x7100_0000_0000
	var wg sync.WaitGroup
	var stop atomic.Bool
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_ = Abandoned(base + 0x10)
			}
		}()
	}
	var writers sync.WaitGroup
	for g := uintptr(0); g < 4; g++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			lo := base + g*0x10000
			for i := 0; i < 500; i++ {
				rel := AbandonMemory(lo, lo+0x10000)
				if !Abandoned(lo) || !Abandoned(lo+0xffff) {
					t.Error("own range not abandoned")
					return
				}
				rel()
				if Abandoned(lo) {
					t.Error("own range still abandoned after release")
					return
				}
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	wg.Wait()
	if abandonedRanges.Load() != nil {
		t.Fatal("ranges left")
	}
}
