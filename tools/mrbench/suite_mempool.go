package main

import (
	"fmt"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/dpdkref"
)

func init() {
	register(Suite{Name: "mempool", Doc: "mempool get+put with a cache, mbuf alloc+free bulk", Run: runMempool})
}

func runMempool(env *Env) ([]Result, error) {
	const n, cacheSize, burst = 8191, 256, 32
	addr, err := dpdkref.PoolCreate(dpdkref.Unique("mrbench_mp"), n, cacheSize, 0, 2048+128, "")
	if err != nil {
		return nil, err
	}
	defer dpdkref.PoolFree(addr)
	mp, err := fastpath.MempoolAt(addr)
	if err != nil {
		return nil, err
	}
	c, err := fastpath.NewCache(cacheSize)
	if err != nil {
		return nil, err
	}
	var res []Result

	name := fmt.Sprintf("get+put bulk %d, cache %d", burst, cacheSize)
	fmt.Fprintf(env.Progress, "  mempool: %s\n", name)
	objs := make([]uintptr, burst)
	goNs, cNs := measurePair(env, goLoop(func(k uint64) {
		for i := uint64(0); i < k; i++ {
			if mp.GetBulk(objs, c) == nil {
				mp.PutBulk(objs, c)
			}
		}
	}), func(k uint64) float64 { return dpdkref.BenchMempool(addr, burst, cacheSize, k) })
	mp.Flush(c)
	res = append(res, result("mempool", name, goNs, cNs))

	name = fmt.Sprintf("mbuf alloc+free bulk %d, cache %d", burst, cacheSize)
	fmt.Fprintf(env.Progress, "  mempool: %s\n", name)
	ms := make([]fastpath.Mbuf, burst)
	goNs, cNs = measurePair(env, goLoop(func(k uint64) {
		for i := uint64(0); i < k; i++ {
			if mp.AllocMbufs(ms, c) == nil {
				mp.FreeMbufs(ms, c)
			}
		}
	}), func(k uint64) float64 { return dpdkref.BenchMbuf(addr, burst, k) })
	mp.Flush(c)
	res = append(res, result("mempool", name, goNs, cNs))

	name = "mbuf alloc+free single, cache 256"
	fmt.Fprintf(env.Progress, "  mempool: %s\n", name)
	goNs, cNs = measurePair(env, goLoop(func(k uint64) {
		for i := uint64(0); i < k; i++ {
			if m, err := mp.AllocMbuf(c); err == nil {
				mp.FreeMbuf(m, c)
			}
		}
	}), func(k uint64) float64 { return dpdkref.BenchMbuf(addr, 1, k) })
	mp.Flush(c)
	res = append(res, result("mempool", name, goNs, cNs))
	if got := mp.AvailCount(); got != n {
		return res, fmt.Errorf("pool has %d of %d objects after the runs", got, n)
	}
	return res, nil
}
