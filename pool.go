package marsio

import (
	"errors"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Offsets inside struct rte_mbuf read directly on the hot path.
const (
	mbufPktLen = dpdk.OffsetofMbufPktLen
	mbufPool   = dpdk.OffsetofMbufPool
	mbufNext   = dpdk.OffsetofMbufNext
)

var (
	errBadPool   = &Error{Op: "alloc", Msg: "pool index out of range", Err: ErrInvalid}
	errNotShared = &Error{Op: "send flow", Msg: "device not opened with SharedTx", Hint: "open it with marsio.SharedTx()", Err: ErrInvalid}
	errNoBufs    = &Error{Op: "alloc", Msg: "pool exhausted", Hint: "free buffers sooner, or give the daemon's pool more mbufs", Err: ErrNoBuffers}
	errNotOurs   = &Error{Op: "free", Msg: "buffer not owned by this application (freed twice, or the daemon's / another application's)", Err: ErrBadBuffer}
	errForeign   = &Error{Op: "free", Msg: "buffer from a pool this instance does not know", Err: ErrBadBuffer}
	errTooMany   = &Error{Op: "alloc", Msg: "more buffers than the pool holds", Err: ErrInvalid}
)

// pool is one of the daemon's MZ… mbuf pools.
type pool struct {
	addr     uintptr // struct rte_mempool
	name     string
	size     uint32
	dataRoom uint32
	mp       fastpath.Mempool
}

// Pools returns the number of mbuf pools the daemon shares.
func (i *Instance) Pools() int { return len(i.pools) }

// setupPools binds the daemon's MZ… pools and checks the app zone's caches.
func (i *Instance) setupPools() error {
	const op = "init"
	r := i.root
	z := i.zone
	if z.Slot != i.slot || z.NrPools != r.NrPools || int(z.NrThreads) < i.nthreads {
		return errorf(op, ErrVersion, "daemon and library ABIs differ", "app zone: slot %d pools %d threads %d; want slot %d pools %d threads >= %d",
			z.Slot, z.NrPools, z.NrThreads, i.slot, r.NrPools, i.nthreads)
	}
	if z.CacheSize != i.cfg.MempoolCacheSize {
		return errorf(op, ErrVersion, "", "app zone cache size %d, asked %d", z.CacheSize, i.cfg.MempoolCacheSize)
	}
	ncache := uintptr(z.NrThreads) * uintptr(z.NrPools)
	if z.CacheStride < fastpath.CacheMemSize || (ncache > 0 && !i.mem.contains(uintptr(z.Caches), ncache*uintptr(z.CacheStride))) {
		return errorf(op, ErrVersion, "", "app zone caches at %#x stride %d outside shared memory", z.Caches, z.CacheStride)
	}
	i.pools = make([]pool, r.NrPools)
	for k := range i.pools {
		d := &r.Pools[k]
		p := &i.pools[k]
		p.addr, p.name, p.size, p.dataRoom = uintptr(d.Mempool), cstr(d.Name[:]), d.Size, d.DataRoom
		if !i.mem.contains(p.addr, 192) { // sizeof(struct rte_mempool)
			return errorf(op, ErrVersion, "", "pool %s at %#x outside shared memory", p.name, p.addr)
		}
		var err error
		if p.mp, err = fastpath.MempoolAt(p.addr); err != nil {
			return wrapf(op, ErrVersion, "the daemon must create ring-based pools", err, "pool %s", p.name)
		}
	}
	return nil
}

// threadCaches initialises thread t's caches in the app zone, one per pool
// (thread-major: cache(t, p) = caches + (t*nr_pools + p)*stride). They live
// in shared memory so the daemon can flush them if we die. mp_cache_size=0
// means no caches (straight to the pools' rings).
func (i *Instance) threadCaches(t *Thread) error {
	z := i.zone
	t.caches = make([]fastpath.Cache, len(i.pools))
	if i.cfg.MempoolCacheSize == 0 {
		return nil
	}
	for p := range i.pools {
		addr := uintptr(z.Caches) + (uintptr(t.id)*uintptr(z.NrPools)+uintptr(p))*uintptr(z.CacheStride)
		c, err := fastpath.InitCache(addr, i.cfg.MempoolCacheSize)
		if err != nil {
			return wrapf("init", ErrVersion, "", err, "thread %d cache of pool %s", t.id, i.pools[p].name)
		}
		t.caches[p] = c
	}
	return nil
}

// flushCaches returns everything in the thread's caches to the pools.
func (t *Thread) flushCaches() {
	for p := range t.caches {
		t.inst.pools[p].mp.Flush(t.caches[p])
	}
}

// alloc takes len(objs) buffers from pool p, resets and tags them. It also
// clears what a buffer's previous life as a received packet left behind
// and DPDK's reset keeps: the flow hash the daemon stored in hash.rss
// (Buffer.Hash is documented as 0 on allocated buffers, and trace events
// carry it), and the daemon's rx TSC stamp (MR_RXTSC_DYNFIELD): the daemon
// counts port rx → port tx latency for every stamped packet it sends, so an
// application's own packets would count a stale stamp (stamp 0: not
// counted, lat.h).
func (t *Thread) alloc(p int, objs []uintptr) error {
	i := t.inst
	pl := &i.pools[p]
	if uint32(len(objs)) > pl.size {
		return errTooMany
	}
	if err := pl.mp.AllocMbufs(fastpath.MbufsOf(objs), t.caches[p]); err != nil {
		if errors.Is(err, fastpath.ErrAbandoned) {
			return errHotGone // the daemon died inside the pool's ring operation
		}
		return errNoBufs
	}
	owner, off := i.owner, i.ownerOff
	for _, m := range objs {
		*(*uint32)(ptrAt(m + off)) = owner
		fastpath.Mbuf(m).SetHash(0) // first cache line: the reset just wrote it
	}
	if ts := i.rxtscOff; ts != 0 {
		for _, m := range objs {
			*(*uint64)(ptrAt(m + ts)) = 0
		}
	}
	return nil
}

// freeWords frees buffers (and their segments) through the thread's caches,
// in bulk; buffers that are not ours are skipped and reported. Each checked
// buffer costs two loads (owner tag, pool) on top of DPDK's own free.
func (t *Thread) freeWords(objs []uintptr) error {
	i := t.inst
	var err error
	g, gp := 0, -1 // t.freed[:g] waits to be freed through pool gp's cache
	flush := func() {
		if g > 0 {
			if e := i.pools[gp].mp.FreeMbufs(fastpath.MbufsOf(t.freed[:g]), t.caches[gp]); e != nil && err == nil {
				err = &Error{Op: "free", Msg: e.Error(), Err: errors.Join(ErrBadBuffer, e)}
			}
			g = 0
		}
	}
	for _, m := range objs {
		if m == 0 {
			continue
		}
		tag := i.ownerTag(m)
		if *tag != i.owner {
			if err == nil {
				err = errNotOurs
			}
			continue
		}
		p := gp
		if mp := *(*uintptr)(ptrAt(m + mbufPool)); p < 0 || i.pools[p].addr != mp {
			if p = t.poolOf(m); p < 0 {
				if err == nil {
					err = errForeign
				}
				continue
			}
		}
		*tag = 0
		for seg := *(*uintptr)(ptrAt(m + mbufNext)); seg != 0; seg = *(*uintptr)(ptrAt(seg + mbufNext)) {
			*i.ownerTag(seg) = 0
		}
		if p != gp || g == len(t.freed) {
			flush()
			gp = p
		}
		t.freed[g] = m
		g++
	}
	flush()
	return err
}

// poolOf returns the index of the pool the mbuf at m belongs to, or -1.
func (t *Thread) poolOf(m uintptr) int {
	mp := *(*uintptr)(ptrAt(m + mbufPool))
	for k := range t.inst.pools {
		if t.inst.pools[k].addr == mp {
			return k
		}
	}
	return -1
}
