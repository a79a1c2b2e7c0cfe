package fastpath

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

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

// TestMempoolTwinDPDK runs one random sequence of get/put on two identical
// pools: one with rte_mempool_generic_get/put and a DPDK cache, one with
// Mempool.GetBulk/PutBulk and a Go cache. Objects, cache lengths and ring
// counts must match at every step.
func TestMempoolTwinDPDK(t *testing.T) {
	requireDPDK(t)
	for _, ops := range []string{"ring_mp_mc", "ring_sp_sc", "ring_mt_hts", "ring_mt_rts"} {
		for _, csize := range []uint32{0, 1, 32, 256, 512} {
			const n = 2047
			a, b := newPool(t, n, 0, ops), newPool(t, n, 0, ops)
			if got := dpdkref.PoolOpsName(a); got != ops {
				t.Fatalf("pool ops %q, want %q", got, ops)
			}
			ia, ib := poolIndex(t, a), poolIndex(t, b)
			mb, err := MempoolAt(b)
			if err != nil {
				t.Fatal(err)
			}
			var ca uintptr
			var cb Cache
			if csize > 0 {
				ca = dpdkref.CacheCreate(csize)
				defer dpdkref.CacheFree(ca)
				if cb, err = NewCache(csize); err != nil {
					t.Fatal(err)
				}
				if _, err := CacheAt(ca); err != nil {
					t.Fatalf("CacheAt on rte_mempool_cache_create: %v", err)
				}
			}
			var heldA, heldB []uintptr
			rng := rand.New(rand.NewPCG(uint64(csize), 3))
			for step := 0; step < 3000; step++ {
				k := 1 + rng.IntN(700)
				if rng.IntN(2) == 0 {
					oa, ob := make([]uintptr, k), make([]uintptr, k)
					ra := dpdkref.MempoolGet(a, oa, ca)
					eb := mb.GetBulk(ob, cb)
					if (ra == 0) != (eb == nil) {
						t.Fatalf("%s cache %d step %d get %d: C %d, Go %v", ops, csize, step, k, ra, eb)
					}
					if eb != nil {
						if !errors.Is(eb, ErrNoBufs) {
							t.Fatal(eb)
						}
						continue
					}
					for i := range oa {
						if ia[oa[i]] != ib[ob[i]] {
							t.Fatalf("%s cache %d step %d: object %d differs: %d vs %d", ops, csize, step, i, ia[oa[i]], ib[ob[i]])
						}
					}
					heldA, heldB = append(heldA, oa...), append(heldB, ob...)
				} else {
					k = min(k, len(heldA))
					if k == 0 {
						continue
					}
					off := rng.IntN(len(heldA) - k + 1)
					dpdkref.MempoolPut(a, heldA[off:off+k], ca)
					mb.PutBulk(heldB[off:off+k], cb)
					heldA = slices.Delete(heldA, off, off+k)
					heldB = slices.Delete(heldB, off, off+k)
				}
				cl := 0
				if csize > 0 {
					cc, _ := CacheAt(ca)
					if cc.Len() != cb.Len() {
						t.Fatalf("step %d: cache len C %d, Go %d", step, cc.Len(), cb.Len())
					}
					cl = cb.Len()
				}
				if got, want := mb.AvailCount(cb), dpdkref.PoolAvail(a)+cl; got != want {
					t.Fatalf("step %d: avail Go %d, C %d", step, got, want)
				}
			}
			dpdkref.MempoolPut(a, heldA, ca)
			mb.PutBulk(heldB, cb)
			dpdkref.CacheFlush(ca, a)
			mb.Flush(cb)
			if dpdkref.PoolAvail(a) != n || mb.AvailCount() != n || dpdkref.PoolAvail(b) != n {
				t.Fatalf("pools not full at end: C %d, Go %d", dpdkref.PoolAvail(a), mb.AvailCount())
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
