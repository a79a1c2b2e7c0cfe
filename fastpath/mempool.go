package fastpath

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Mempool is a handle on a ring-based DPDK rte_mempool in shared memory.
// Objects are addresses (uintptr). The pool's per-lcore caches are never
// used: the caller owns its caches (Cache) and passes one per thread, as
// with rte_mempool_generic_get/put.
//
// The mempool ops table is per process, so the ops are identified by the
// pool's ring: pool_data must be a valid rte_ring named "MP_<pool name>". Its
// own sync types select the ring calls (ring_mp_mc → MP/MC, ring_sp_sc →
// SP/SC), which is what those drivers call.
type Mempool struct {
	p    unsafe.Pointer
	ring Ring
	priv unsafe.Pointer // rte_mempool_get_priv(mp)
}

// MempoolAt validates the rte_mempool at addr and its ring.
func MempoolAt(addr uintptr) (Mempool, error) {
	if addr == 0 {
		return Mempool{}, fmt.Errorf("mempool: %w", ErrNilPointer)
	}
	if addr%64 != 0 {
		return Mempool{}, fmt.Errorf("mempool at %#x: not cache-line aligned: %w", addr, ErrBadMempool)
	}
	p := ptrAt(addr)
	name, ok := cstring(unsafe.Add(p, mempoolOffName), mempoolNameSize)
	if !ok || name == "" {
		return Mempool{}, fmt.Errorf("mempool at %#x: bad name: %w", addr, ErrBadMempool)
	}
	cs := ld32(p, mempoolOffCacheSize)
	if cs > cacheMaxSize {
		return Mempool{}, fmt.Errorf("mempool %q: cache_size %d > %d: %w", name, cs, cacheMaxSize, ErrBadMempool)
	}
	rp := ldp(p, mempoolOffPoolData)
	if rp == 0 || rp%64 != 0 {
		return Mempool{}, fmt.Errorf("mempool %q: pool_data %#x is not an rte_ring: %w", name, rp, ErrNotRingPool)
	}
	rname, ok := cstring(ptrAt(rp), ringNameSize)
	if !ok || !strings.HasPrefix(rname, mempoolMzPrefix) || rname[len(mempoolMzPrefix):] != name {
		return Mempool{}, fmt.Errorf("mempool %q: pool_data is not its \"MP_\" ring: %w", name, ErrNotRingPool)
	}
	r, err := RingAt(rp)
	if errors.Is(err, ErrBadRing) {
		// Other drivers name their pool_data "MP_<pool>" too (stack).
		return Mempool{}, fmt.Errorf("mempool %q: pool_data %q: %w: %w", name, rname, ErrNotRingPool, err)
	}
	if err != nil {
		return Mempool{}, fmt.Errorf("mempool %q: ring %q: %w", name, rname, err)
	}
	if uint32(r.Capacity()) < ld32(p, mempoolOffSize) {
		return Mempool{}, fmt.Errorf("mempool %q: ring capacity %d < pool size %d: %w", name, r.Capacity(), ld32(p, mempoolOffSize), ErrNotRingPool)
	}
	return Mempool{p: p, ring: r, priv: unsafe.Add(p, mempoolHeaderSize(cs))}, nil
}

// mempoolHeaderSize is RTE_MEMPOOL_HEADER_SIZE(mp, cs).
func mempoolHeaderSize(cs uint32) uintptr {
	if cs == 0 {
		return mempoolSize
	}
	return mempoolSize + cacheSize*maxLcore
}

// Addr returns the pool's address.
func (mp Mempool) Addr() uintptr { return uintptr(mp.p) }

// Name returns the pool's name.
func (mp Mempool) Name() string {
	s, _ := cstring(unsafe.Add(mp.p, mempoolOffName), mempoolNameSize)
	return s
}

// Ring returns the pool's backing ring.
func (mp Mempool) Ring() Ring { return mp.ring }

// Size returns the number of objects in the pool.
func (mp Mempool) Size() int { return int(ld32(mp.p, mempoolOffSize)) }

// EltSize returns the object size in bytes.
func (mp Mempool) EltSize() int { return int(ld32(mp.p, mempoolOffEltSize)) }

// AvailCount returns the objects in the ring plus those in the given caches
// (rte_mempool_avail_count counts the pool's lcore caches; ours are the
// caller's). It is a snapshot under concurrent use.
func (mp Mempool) AvailCount(caches ...Cache) int {
	n := mp.ring.Count()
	for _, c := range caches {
		if c.p != nil {
			n += int(ld32(c.p, cacheOffLen))
		}
	}
	return n
}

// InUseCount is Size minus AvailCount.
func (mp Mempool) InUseCount(caches ...Cache) int { return mp.Size() - mp.AvailCount(caches...) }

// enqueue is rte_mempool_ops_enqueue_bulk for the ring drivers. It cannot
// fail in a consistent pool (the ring holds the whole pool) unless the ring
// is abandoned (AbandonMemory: the objects are lost with it).
func (mp Mempool) enqueue(objs []uintptr) {
	if mp.ring.EnqueueBulk(objs) == 0 && len(objs) > 0 && debug && !abandoned(mp.ring.p) {
		panic(fmt.Sprintf("fastpath: mempool %q: ring full on put of %d objects (objects put twice?)", mp.Name(), len(objs)))
	}
}

// GetBulk fills objs from the pool through cache c (zero Cache: straight
// from the ring), exactly as rte_mempool_generic_get in DPDK 22.11: first the
// cache's most recently put objects, then — when at most
// RTE_MEMPOOL_CACHE_MAX_SIZE remain — a refill of size+remaining objects from
// the ring, else the remainder straight from the ring. It takes all or
// nothing and returns ErrNoBufs when the pool cannot satisfy the request.
// When it needs the ring and gets nothing from it because the ring lies in
// abandoned memory (AbandonMemory), it returns an error matching
// ErrAbandoned, leaves the cache empty, and the contents of objs must not be
// used.
func (mp Mempool) GetBulk(objs []uintptr, c Cache) error {
	return mempoolGet(c.p, unsafe.SliceData(objs), len(objs), &mp)
}

// mempoolGetGo is the Go twin of mempoolGet: the whole request from the
// cache (the first loop of rte_mempool_do_generic_get when remaining
// reaches 0), else getSlow.
func mempoolGetGo(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) error {
	if c != nil {
		if clen := ld32(c, cacheOffLen); uint64(clen) >= uint64(n) {
			clen -= uint32(n)
			reverseCopyGo(unsafe.Slice(objs, n), unsafe.Slice((*uintptr)(unsafe.Add(c, cacheOffObjs+uintptr(clen)*8)), n))
			st32(c, cacheOffLen, clen)
			return nil
		}
	}
	return mempoolGetSlow(c, objs, n, mp)
}

// mempoolGetSlow is GetBulk past the cache hit; the assembly tail-calls it.
func mempoolGetSlow(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) error {
	return mp.getSlow(unsafe.Slice(objs, n), Cache{c})
}

func (mp Mempool) getSlow(objs []uintptr, c Cache) error {
	n := uint32(len(objs))
	if n == 0 {
		return nil
	}
	remaining := n
	if c.p != nil {
		clen := ld32(c.p, cacheOffLen)
		l := min(remaining, clen)
		cobjs := c.objs()
		reverseCopy(objs[:l], cobjs[clen-l:clen])
		st32(c.p, cacheOffLen, clen-l)
		remaining -= l
		if remaining == 0 {
			return nil
		}
		if remaining <= cacheMaxSize {
			size := ld32(c.p, cacheOffSize)
			if mp.ring.DequeueBulk(cobjs[:size+remaining]) != 0 {
				reverseCopy(objs[n-remaining:], cobjs[size:size+remaining])
				st32(c.p, cacheOffLen, size)
				return nil
			}
			if abandoned(mp.ring.p) {
				return mp.errAbandoned()
			}
		}
	}
	if mp.ring.DequeueBulk(objs[n-remaining:]) == 0 {
		if abandoned(mp.ring.p) {
			// A dequeue that gave up may have copied into objs (and the
			// refill above into the cache): none of it is usable.
			return mp.errAbandoned()
		}
		if c.p != nil {
			// Roll back: the objects taken from the cache are still there.
			st32(c.p, cacheOffLen, n-remaining)
		}
		return ErrNoBufs
	}
	return nil
}

// errAbandoned is GetBulk's error for a pool whose ring is abandoned. The
// caller's cache was emptied on the way (len 0): its objects, like the
// pool's, belong to the dead peer.
func (mp Mempool) errAbandoned() error {
	return fmt.Errorf("mempool at %#x: ring at %#x: %w", uintptr(mp.p), uintptr(mp.ring.p), ErrAbandoned)
}

// PutBulk returns objs to the pool through cache c (zero Cache: straight to
// the ring), as rte_mempool_generic_put in DPDK 22.11: a put larger than the
// flush threshold goes to the ring; otherwise, if the objects do not fit
// under the threshold, the cache is first emptied into the ring; then the
// objects are added to the cache. When the pool's ring lies in abandoned
// memory (AbandonMemory), objects that would go to the ring are lost with it.
func (mp Mempool) PutBulk(objs []uintptr, c Cache) {
	mempoolPut(c.p, unsafe.SliceData(objs), len(objs), &mp)
}

// mempoolPutGo is the Go twin of mempoolPut: into the cache when the
// objects fit under the flush threshold, else putSlow.
func mempoolPutGo(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) {
	if c != nil {
		if clen := ld32(c, cacheOffLen); uint64(clen)+uint64(n) <= uint64(ld32(c, cacheOffFlushthresh)) {
			copy(unsafe.Slice((*uintptr)(unsafe.Add(c, cacheOffObjs+uintptr(clen)*8)), n), unsafe.Slice(objs, n))
			st32(c, cacheOffLen, clen+uint32(n))
			return
		}
	}
	mempoolPutSlow(c, objs, n, mp)
}

// mempoolPutSlow is PutBulk past the cache fit; the assembly tail-calls it.
func mempoolPutSlow(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) {
	mp.putSlow(unsafe.Slice(objs, n), Cache{c})
}

func (mp Mempool) putSlow(objs []uintptr, c Cache) {
	n := uint32(len(objs))
	if c.p == nil || n > ld32(c.p, cacheOffFlushthresh) {
		mp.enqueue(objs)
		return
	}
	clen := ld32(c.p, cacheOffLen)
	cobjs := c.objs()
	if clen+n <= ld32(c.p, cacheOffFlushthresh) {
		copy(cobjs[clen:clen+n], objs)
		st32(c.p, cacheOffLen, clen+n)
		return
	}
	mp.enqueue(cobjs[:clen])
	copy(cobjs[:n], objs)
	st32(c.p, cacheOffLen, n)
}

// Flush returns every object of cache c to the pool's ring
// (rte_mempool_cache_flush). The daemon uses it on a dead application's
// caches.
func (mp Mempool) Flush(c Cache) {
	if c.p == nil {
		return
	}
	clen := ld32(c.p, cacheOffLen)
	if clen == 0 {
		return
	}
	mp.enqueue(c.objs()[:clen])
	st32(c.p, cacheOffLen, 0)
}

// Cache is a per-thread mempool object cache with the layout of struct
// rte_mempool_cache (size, flushthresh, len, objs[2*RTE_MEMPOOL_CACHE_MAX_SIZE]),
// so it can live in shared memory where another process (the daemon) can
// flush it. A Cache is not safe for concurrent use; use one per thread, and
// with one pool only (objects from several pools must not share a cache).
type Cache struct{ p unsafe.Pointer }

// CacheMemSize is the size of a cache in bytes (sizeof(struct rte_mempool_cache)).
const CacheMemSize = cacheSize

// cacheMem is the Go-heap form of a cache (objects are addresses, so the
// garbage collector has nothing to scan).
type cacheMem struct {
	hdr  [cacheOffObjs / 4]uint32
	objs [2 * cacheMaxSize]uintptr
}

func checkCacheSize(size uint32) error {
	if size == 0 || size > cacheMaxSize {
		return fmt.Errorf("mempool cache: size %d not in 1..%d: %w", size, cacheMaxSize, ErrBadCache)
	}
	return nil
}

// NewCache allocates a cache of the given size on the Go heap
// (rte_mempool_cache_create): flushthresh = size*1.5 (CALC_CACHE_FLUSHTHRESH).
func NewCache(size uint32) (Cache, error) {
	if err := checkCacheSize(size); err != nil {
		return Cache{}, err
	}
	c := Cache{unsafe.Pointer(new(cacheMem))}
	c.init(size)
	return c, nil
}

// InitCache initialises a cache in CacheMemSize bytes at addr (shared memory).
func InitCache(addr uintptr, size uint32) (Cache, error) {
	if addr == 0 {
		return Cache{}, fmt.Errorf("mempool cache: %w", ErrNilPointer)
	}
	if addr%8 != 0 {
		return Cache{}, fmt.Errorf("mempool cache at %#x: misaligned: %w", addr, ErrBadCache)
	}
	if err := checkCacheSize(size); err != nil {
		return Cache{}, err
	}
	c := Cache{ptrAt(addr)}
	c.init(size)
	return c, nil
}

func (c Cache) init(size uint32) {
	st32(c.p, cacheOffSize, size)
	st32(c.p, cacheOffFlushthresh, size*3/2)
	st32(c.p, cacheOffLen, 0)
}

// CacheAt validates an existing cache at addr (made by InitCache or by DPDK's
// rte_mempool_cache_create).
func CacheAt(addr uintptr) (Cache, error) {
	if addr == 0 {
		return Cache{}, fmt.Errorf("mempool cache: %w", ErrNilPointer)
	}
	if addr%8 != 0 {
		return Cache{}, fmt.Errorf("mempool cache at %#x: misaligned: %w", addr, ErrBadCache)
	}
	p := ptrAt(addr)
	size, ft, l := ld32(p, cacheOffSize), ld32(p, cacheOffFlushthresh), ld32(p, cacheOffLen)
	if err := checkCacheSize(size); err != nil {
		return Cache{}, fmt.Errorf("at %#x: %w", addr, err)
	}
	if ft != size*3/2 || l > 2*cacheMaxSize {
		return Cache{}, fmt.Errorf("mempool cache at %#x: size %d flushthresh %d len %d: %w", addr, size, ft, l, ErrBadCache)
	}
	return Cache{p}, nil
}

// Addr returns the cache's address.
func (c Cache) Addr() uintptr { return uintptr(c.p) }

// Len returns the number of objects in the cache.
func (c Cache) Len() int { return int(ld32(c.p, cacheOffLen)) }

// Size returns the cache's nominal size.
func (c Cache) Size() int { return int(ld32(c.p, cacheOffSize)) }

func (c Cache) objs() []uintptr {
	return unsafe.Slice((*uintptr)(unsafe.Add(c.p, cacheOffObjs)), 2*cacheMaxSize)
}
