package fastpath

import (
	"fmt"
	"testing"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// newMemRing makes a ring in mmap'ed memory (no DPDK needed).
func newMemRing(t testing.TB, count, flags uint32) Ring {
	t.Helper()
	sz, err := RingMemSize(count, 8, flags)
	if err != nil {
		t.Fatal(err)
	}
	r, err := RingInit(mmapMem(t, sz), "bench", count, flags)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// BenchmarkRing measures an enqueue+dequeue pair of a burst, as DPDK's
// ring_perf_autotest does (ns per pair); "single" is the single-object calls.
func BenchmarkRing(b *testing.B) {
	for _, mode := range []string{"SPSC", "MPMC"} {
		b.Run(mode+"/single", func(b *testing.B) {
			r := newMemRing(b, 1024, 0)
			b.ReportAllocs()
			obj := uintptr(1)
			if mode == "SPSC" {
				for i := 0; i < b.N; i++ {
					r.SPEnqueue(obj)
					obj, _ = r.SCDequeue()
				}
			} else {
				for i := 0; i < b.N; i++ {
					r.MPEnqueue(obj)
					obj, _ = r.MCDequeue()
				}
			}
		})
		for _, burst := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/%d", mode, burst), func(b *testing.B) {
				r := newMemRing(b, 1024, 0)
				objs := make([]uintptr, burst)
				b.ReportAllocs()
				if mode == "SPSC" {
					for i := 0; i < b.N; i++ {
						r.SPEnqueueBurst(objs)
						r.SCDequeueBurst(objs)
					}
				} else {
					for i := 0; i < b.N; i++ {
						r.MPEnqueueBurst(objs)
						r.MCDequeueBurst(objs)
					}
				}
			})
		}
	}
}

func benchPool(b *testing.B) Mempool {
	requireDPDK(b)
	addr, err := dpdkref.PoolCreate(dpdkref.Unique("bp"), 8191, 0, 0, 2048+128, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dpdkref.PoolFree(addr) })
	mp, err := MempoolAt(addr)
	if err != nil {
		b.Fatal(err)
	}
	return mp
}

// BenchmarkMempoolGetPut32 is a get+put of 32 objects through a 256 cache.
func BenchmarkMempoolGetPut32(b *testing.B) {
	mp := benchPool(b)
	c, _ := NewCache(256)
	objs := make([]uintptr, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if mp.GetBulk(objs, c) == nil {
			mp.PutBulk(objs, c)
		}
	}
	mp.Flush(c)
}

// BenchmarkMbufAllocFree32 is AllocMbufs+FreeMbufs of 32 through a 256 cache.
func BenchmarkMbufAllocFree32(b *testing.B) {
	mp := benchPool(b)
	c, _ := NewCache(256)
	ms := make([]Mbuf, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if mp.AllocMbufs(ms, c) == nil {
			mp.FreeMbufs(ms, c)
		}
	}
	mp.Flush(c)
}

// TestNoAllocs fails when a fast-path function starts allocating.
func TestNoAllocs(t *testing.T) {
	r := newMemRing(t, 1024, 0)
	objs := make([]uintptr, 32)
	elem := make([]byte, 16*8)
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
	check("ring SP/SC", func() { r.SPEnqueueBurst(objs); r.SCDequeueBurst(objs) })
	check("ring MP/MC bulk", func() { r.MPEnqueueBulk(objs); r.MCDequeueBulk(objs) })
	check("ring generic", func() { r.EnqueueBurst(objs); r.DequeueBurst(objs) })
	check("ring one element", func() { r.SPEnqueueBurst(objs[:1]); r.MCDequeueBulk(objs[:1]) })
	check("ring single", func() {
		r.SPEnqueue(1)
		r.SCDequeue()
		r.MPEnqueue(2)
		r.MCDequeue()
		r.Enqueue(3)
		r.Dequeue()
	})
	sz, _ := RingMemSize(64, 16, 0)
	re, err := RingInit(mmapMem(t, sz), "elem16", 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("ring elem", func() { re.EnqueueElem(elem, 16, ModeDefault, true); re.DequeueElem(elem, 16, ModeDefault, true) })
	check("ring count", func() { _ = r.Count() + r.FreeCount() })
	if err := dpdkref.Init(); err != nil {
		t.Skipf("mempool/mbuf part needs the DPDK reference harness: %v", err)
	}
	addr, err := dpdkref.PoolCreate(dpdkref.Unique("na"), 1023, 0, 0, 2048+128, "")
	if err != nil {
		t.Fatal(err)
	}
	defer dpdkref.PoolFree(addr)
	mp, err := MempoolAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCache(64)
	ms := make([]Mbuf, 32)
	check("mempool get/put", func() {
		if mp.GetBulk(objs, c) == nil {
			mp.PutBulk(objs, c)
		}
	})
	check("mbuf alloc/free bulk", func() {
		if mp.AllocMbufs(ms, c) == nil {
			mp.FreeMbufs(ms, c)
		}
	})
	check("mbuf alloc/free single", func() {
		if m, err := mp.AllocMbuf(c); err == nil {
			mp.FreeMbuf(m, c)
		}
	})
	m, _ := mp.AllocMbuf(c)
	check("mbuf edit", func() {
		m.Append(64)
		m.Prepend(14)
		_ = m.Data()
		m.Adj(14)
		m.Trim(64)
	})
	check("mbuf error path", func() {
		if _, err := m.Prepend(1 << 15); err == nil {
			t.Fatal("no error")
		}
	})
	mp.FreeMbuf(m, c)
	mp.Flush(c)
}
