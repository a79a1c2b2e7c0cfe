package fastpath

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// poolIndex maps the objects of a freshly created pool to their position in
// the pool's ring, so twin pools' objects can be compared.
func poolIndex(t *testing.T, mp uintptr) map[uintptr]int {
	t.Helper()
	m, err := MempoolAt(mp)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]uintptr, m.Size())
	if m.Ring().DequeueBulk(objs) == 0 {
		t.Fatal("cannot drain fresh pool")
	}
	if m.Ring().EnqueueBulk(objs) == 0 {
		t.Fatal("cannot refill pool")
	}
	idx := make(map[uintptr]int, len(objs))
	for i, o := range objs {
		idx[o] = i
	}
	return idx
}

func newPool(t *testing.T, n, cache uint32, ops string) uintptr {
	t.Helper()
	mp, err := dpdkref.PoolCreate(dpdkref.Unique("gp"), n, cache, 0, 2048+128, ops)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dpdkref.PoolFree(mp) })
	return mp
}

// TestMempoolTwinDPDK runs one random sequence of get/put on three identical
// pools: one with rte_mempool_generic_get/put and a DPDK cache, one with
// Mempool.GetBulk/PutBulk (the shipped kernels: the cache hit and fit in
// assembly on amd64) and a Go cache, one with the Go twins of those kernels.
// Objects, cache contents and ring counts must match at every step. Half
// the requests are small (0..40 objects) so that cache hits, fits, flushes
// and refills all happen often.
func TestMempoolTwinDPDK(t *testing.T) {
	requireDPDK(t)
	for _, avx := range copyModes(t) {
		useAVX2 = avx
		for _, ops := range []string{"ring_mp_mc", "ring_sp_sc", "ring_mt_hts", "ring_mt_rts"} {
			for _, csize := range []uint32{0, 1, 32, 256, 512} {
				// A subtest each, so each one's pools are freed when it ends.
				t.Run(fmt.Sprintf("avx2=%v/%s/cache%d", avx, ops, csize), func(t *testing.T) { testMempoolTwin(t, ops, csize) })
			}
		}
	}
}

// copyModes returns the settings of useAVX2 to test (false always, true
// where the CPU has AVX2) and restores the setting when the test ends.
func copyModes(t *testing.T) []bool {
	saved := useAVX2
	t.Cleanup(func() { useAVX2 = saved })
	if haveAsm && cpu.X86.HasAVX2 {
		return []bool{false, true}
	}
	t.Logf("AVX2 path not tested (assembly %v, AVX2 %v)", haveAsm, cpu.X86.HasAVX2)
	return []bool{false}
}

func testMempoolTwin(t *testing.T, ops string, csize uint32) {
	const n = 2047
	a, b, c := newPool(t, n, 0, ops), newPool(t, n, 0, ops), newPool(t, n, 0, ops)
	if got := dpdkref.PoolOpsName(a); got != ops {
		t.Fatalf("pool ops %q, want %q", got, ops)
	}
	ia, ib, ic := poolIndex(t, a), poolIndex(t, b), poolIndex(t, c)
	mb, err := MempoolAt(b)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := MempoolAt(c)
	if err != nil {
		t.Fatal(err)
	}
	var ca uintptr
	var cb, cc Cache
	if csize > 0 {
		ca = dpdkref.CacheCreate(csize)
		defer dpdkref.CacheFree(ca)
		if cb, err = NewCache(csize); err != nil {
			t.Fatal(err)
		}
		if cc, err = NewCache(csize); err != nil {
			t.Fatal(err)
		}
		if _, err := CacheAt(ca); err != nil {
			t.Fatalf("CacheAt on rte_mempool_cache_create: %v", err)
		}
	}
	var heldA, heldB, heldC []uintptr
	rng := rand.New(rand.NewPCG(uint64(csize), 3))
	for step := 0; step < 3000; step++ {
		k := 1 + rng.IntN(700)
		if rng.IntN(2) == 0 {
			k = rng.IntN(41)
			if k == 0 && csize == 0 {
				// A get of 0 without a cache fails in DPDK (the ring
				// driver's dequeue of 0 is -ENOBUFS); ours succeeds.
				k = 1
			}
		}
		if rng.IntN(2) == 0 {
			oa, ob, oc := make([]uintptr, k), make([]uintptr, k), make([]uintptr, k)
			ra := dpdkref.MempoolGet(a, oa, ca)
			eb := mb.GetBulk(ob, cb)
			ec := mempoolGetGo(cc.p, unsafe.SliceData(oc), len(oc), &mc)
			if (ra == 0) != (eb == nil) || (eb == nil) != (ec == nil) {
				t.Fatalf("%s cache %d step %d get %d: C %d, Go %v, twin %v", ops, csize, step, k, ra, eb, ec)
			}
			if eb != nil {
				if !errors.Is(eb, ErrNoBufs) || !errors.Is(ec, ErrNoBufs) {
					t.Fatal(eb, ec)
				}
				continue
			}
			for i := range oa {
				if ia[oa[i]] != ib[ob[i]] || ib[ob[i]] != ic[oc[i]] {
					t.Fatalf("%s cache %d step %d: object %d differs: %d vs %d vs %d", ops, csize, step, i, ia[oa[i]], ib[ob[i]], ic[oc[i]])
				}
			}
			heldA, heldB, heldC = append(heldA, oa...), append(heldB, ob...), append(heldC, oc...)
		} else {
			k = min(k, len(heldA))
			off := rng.IntN(len(heldA) - k + 1)
			dpdkref.MempoolPut(a, heldA[off:off+k], ca)
			mb.PutBulk(heldB[off:off+k], cb)
			mempoolPutGo(cc.p, unsafe.SliceData(heldC[off:off+k]), k, &mc)
			heldA = slices.Delete(heldA, off, off+k)
			heldB = slices.Delete(heldB, off, off+k)
			heldC = slices.Delete(heldC, off, off+k)
		}
		cl := 0
		if csize > 0 {
			cca, _ := CacheAt(ca)
			if cca.Len() != cb.Len() || cb.Len() != cc.Len() {
				t.Fatalf("step %d: cache len C %d, Go %d, twin %d", step, cca.Len(), cb.Len(), cc.Len())
			}
			cl = cb.Len()
			xa, xb, xc := cca.objs()[:cl], cb.objs()[:cl], cc.objs()[:cl]
			for i := range xa {
				if ia[xa[i]] != ib[xb[i]] || ib[xb[i]] != ic[xc[i]] {
					t.Fatalf("%s cache %d step %d: cache slot %d differs", ops, csize, step, i)
				}
			}
		}
		if got, want := mb.AvailCount(cb), dpdkref.PoolAvail(a)+cl; got != want || mc.AvailCount(cc) != want {
			t.Fatalf("step %d: avail Go %d, twin %d, C %d", step, got, mc.AvailCount(cc), want)
		}
	}
	dpdkref.MempoolPut(a, heldA, ca)
	mb.PutBulk(heldB, cb)
	mc.PutBulk(heldC, cc)
	dpdkref.CacheFlush(ca, a)
	mb.Flush(cb)
	mc.Flush(cc)
	if dpdkref.PoolAvail(a) != n || mb.AvailCount() != n || dpdkref.PoolAvail(b) != n || mc.AvailCount() != n {
		t.Fatalf("pools not full at end: C %d, Go %d, twin %d", dpdkref.PoolAvail(a), mb.AvailCount(), mc.AvailCount())
	}
}

// TestMempoolCacheKernels compares the cache hit/fit kernels with their Go
// twins for every request size 0..40 at every cache fill level around the
// hit and flush thresholds (no C needed: rings made by RingInit).
func TestMempoolCacheKernels(t *testing.T) {
	for _, avx := range copyModes(t) {
		useAVX2 = avx
		testCacheKernels(t)
	}
}

func testCacheKernels(t *testing.T) {
	const csize = 32 // flushthresh 48
	mem := mmapMem(t, 2*(CacheMemSize+64))
	for fill := 0; fill <= 48; fill++ {
		for n := 0; n <= 40; n++ {
			var cs [2]Cache
			for i := range cs {
				c, err := InitCache(mem+uintptr(i)*(CacheMemSize+64), csize)
				if err != nil {
					t.Fatal(err)
				}
				for k := 0; k < fill; k++ {
					c.objs()[k] = uintptr(1000 + k)
				}
				st32(c.p, cacheOffLen, uint32(fill))
				cs[i] = c
			}
			var mp Mempool // never reached: only hits and fits are tried
			objs := [2][]uintptr{make([]uintptr, n), make([]uintptr, n)}
			if fill >= n {
				e1 := mempoolGet(cs[0].p, unsafe.SliceData(objs[0]), n, &mp)
				e2 := mempoolGetGo(cs[1].p, unsafe.SliceData(objs[1]), n, &mp)
				if e1 != nil || e2 != nil || !slices.Equal(objs[0], objs[1]) || cs[0].Len() != cs[1].Len() {
					t.Fatalf("get fill %d n %d: %v %v %v %v", fill, n, e1, e2, objs[0], objs[1])
				}
				for i, o := range objs[0] {
					if o != uintptr(1000+fill-1-i) {
						t.Fatalf("get fill %d n %d: objs[%d] = %d", fill, n, i, o)
					}
				}
			}
			if cs[0].Len()+n <= 48 {
				for i := range objs[0] {
					objs[0][i], objs[1][i] = uintptr(5000+i), uintptr(5000+i)
				}
				l := cs[0].Len()
				mempoolPut(cs[0].p, unsafe.SliceData(objs[0]), n, &mp)
				mempoolPutGo(cs[1].p, unsafe.SliceData(objs[1]), n, &mp)
				if cs[0].Len() != l+n || cs[1].Len() != l+n || !slices.Equal(cs[0].objs(), cs[1].objs()) {
					t.Fatalf("put fill %d n %d: len %d %d", fill, n, cs[0].Len(), cs[1].Len())
				}
			}
		}
	}
}

// TestMempoolAtDPDK: ring pools open (HTS/RTS included); the stack driver is ErrNotRingPool.
func TestMempoolAtDPDK(t *testing.T) {
	requireDPDK(t)
	if got := dpdkref.BestMempoolOps(); got != "ring_mp_mc" {
		t.Logf("rte_mbuf_best_mempool_ops = %q", got)
	}
	for _, c := range []struct {
		ops string
		err error
	}{
		{"", nil},
		{"ring_mp_mc", nil},
		{"ring_sp_sc", nil},
		{"ring_mp_sc", nil},
		{"ring_sp_mc", nil},
		{"stack", ErrNotRingPool},
		{"ring_mt_hts", nil},
		{"ring_mt_rts", nil},
	} {
		mp := newPool(t, 511, 0, c.ops)
		_, err := MempoolAt(mp)
		if !errors.Is(err, c.err) && !(c.err == nil && err == nil) {
			t.Errorf("ops %q: %v, want %v", c.ops, err, c.err)
		}
	}
	if _, err := MempoolAt(0); !errors.Is(err, ErrNilPointer) {
		t.Error(err)
	}
	mem := mmapMem(t, 4096)
	if _, err := MempoolAt(mem); !errors.Is(err, ErrBadMempool) {
		t.Errorf("zero memory: %v", err)
	}
}

func TestCacheValidation(t *testing.T) {
	for _, s := range []uint32{0, 513} {
		if _, err := NewCache(s); !errors.Is(err, ErrBadCache) {
			t.Errorf("NewCache(%d): %v", s, err)
		}
	}
	mem := mmapMem(t, CacheMemSize)
	c, err := InitCache(mem, 256)
	if err != nil || c.Size() != 256 || c.Len() != 0 {
		t.Fatal(c, err)
	}
	if _, err := CacheAt(mem); err != nil {
		t.Fatal(err)
	}
	st32(ptrAt(mem), cacheOffLen, 5000)
	if _, err := CacheAt(mem); !errors.Is(err, ErrBadCache) {
		t.Fatal(err)
	}
}
