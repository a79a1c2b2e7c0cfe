package fastpath

import (
	"runtime"
	"sync"
	"testing"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// TestCacheSharedMemoryDPDK: a cache placed in shared memory (InitCache) is
// an rte_mempool_cache to DPDK: objects put through it by Go are flushed by
// DPDK's rte_mempool_cache_flush, and a cache filled by DPDK's generic put is
// flushed by Go through another handle (as the daemon does for a dead app).
func TestCacheSharedMemoryDPDK(t *testing.T) {
	requireDPDK(t)
	const n = 1023
	addr := newPool(t, n, 0, "")
	mp, err := MempoolAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := InitCache(mmapMem(t, CacheMemSize), 128)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]uintptr, 100)
	if err := mp.GetBulk(objs, c); err != nil {
		t.Fatal(err)
	}
	mp.PutBulk(objs, c)
	if c.Len() == 0 {
		t.Fatal("cache empty after put")
	}
	dpdkref.CacheFlush(c.Addr(), addr)
	if c.Len() != 0 || dpdkref.PoolAvail(addr) != n {
		t.Fatalf("after C flush of Go cache: len %d, pool %d", c.Len(), dpdkref.PoolAvail(addr))
	}

	// DPDK fills the cache; the "daemon" flushes it through its own handles.
	if dpdkref.MempoolGet(addr, objs, c.Addr()) != 0 {
		t.Fatal("C get")
	}
	dpdkref.MempoolPut(addr, objs, c.Addr())
	daemonPool, err := MempoolAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := CacheAt(c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if dc.Len() == 0 {
		t.Fatal("C put left the cache empty")
	}
	daemonPool.Flush(dc)
	if dc.Len() != 0 || mp.AvailCount() != n {
		t.Fatalf("after Go flush of C-filled cache: len %d, pool %d", dc.Len(), mp.AvailCount())
	}
}

// TestMempoolConcurrentDPDK: Go threads (own caches) and C threads (DPDK
// caches, rte_mempool_generic_get/put; rte_pktmbuf_alloc/free_bulk with the
// pool's lcore cache) hammer one pool at once; every object comes back.
func TestMempoolConcurrentDPDK(t *testing.T) {
	requireDPDK(t)
	for _, ops := range []string{"ring_mp_mc", "ring_mt_hts", "ring_mt_rts"} {
		t.Run(ops, func(t *testing.T) {
			const n = 4095
			addr := newPool(t, n, 256, ops)
			mp, err := MempoolAt(addr)
			if err != nil {
				t.Fatal(err)
			}
			iters := uint64(200000)
			if testing.Short() {
				iters = 20000
			}
			var wg sync.WaitGroup
			caches := make([]Cache, 2)
			for g := range caches {
				caches[g], _ = NewCache(uint32(64 + g*192))
				wg.Add(1)
				go func(c Cache, g int) {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					objs := make([]uintptr, 1+g*40)
					ms := make([]Mbuf, 32)
					for i := uint64(0); i < iters; i++ {
						if i%2 == 0 {
							if mp.GetBulk(objs, c) == nil {
								mp.PutBulk(objs, c)
							}
						} else if mp.AllocMbufs(ms, c) == nil {
							if err := mp.FreeMbufs(ms, c); err != nil {
								t.Error(err)
								return
							}
						}
					}
				}(caches[g], g)
			}
			wg.Add(2)
			go func() { defer wg.Done(); dpdkref.BenchMempool(addr, 32, 256, iters) }()
			go func() { defer wg.Done(); dpdkref.BenchMbuf(addr, 32, iters/4) }()
			wg.Wait()
			for _, c := range caches {
				mp.Flush(c)
			}
			if got := mp.AvailCount(); got != n || dpdkref.PoolAvail(addr) != n {
				t.Fatalf("pool has %d (C %d) of %d", got, dpdkref.PoolAvail(addr), n)
			}
		})
	}
}
