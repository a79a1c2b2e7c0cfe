package fastpath

import (
	"sync/atomic"
	"unsafe"
)

// Mbuf is the address of a DPDK rte_mbuf (22.11 layout) in shared memory; 0
// means none. It is a plain integer on purpose: the garbage collector never
// sees shared-memory addresses as pointers, and a []Mbuf has the memory
// layout of the struct rte_mbuf *[] that rings carry.
//
// An Mbuf is owned by whoever holds it: the owner may read and edit it and
// its data; after Free, Send (enqueue on a ring) or a chain operation that
// hands it over, the value and every []byte view of its data are invalid.
type Mbuf uintptr

// MbufsOf views a []uintptr (ring elements) as []Mbuf without copying.
func MbufsOf(objs []uintptr) []Mbuf {
	return unsafe.Slice((*Mbuf)(unsafe.Pointer(unsafe.SliceData(objs))), len(objs))
}

// Uintptrs views a []Mbuf as []uintptr (ring elements) without copying.
func Uintptrs(ms []Mbuf) []uintptr {
	return unsafe.Slice((*uintptr)(unsafe.Pointer(unsafe.SliceData(ms))), len(ms))
}

func (m Mbuf) ptr() unsafe.Pointer { return ptrAt(uintptr(m)) }

// BufAddr returns the address of the data buffer (buf_addr).
func (m Mbuf) BufAddr() uintptr { return ldp(m.ptr(), mbufOffBufAddr) }

// DataOff returns the data offset in the buffer (the headroom).
func (m Mbuf) DataOff() int { return int(ld16(m.ptr(), mbufOffDataOff)) }

// Refcnt returns the reference count.
func (m Mbuf) Refcnt() int { return int(atomicLoad16(unsafe.Add(m.ptr(), mbufOffRefcnt))) }

// NbSegs returns the number of segments of a chain (valid on the first).
func (m Mbuf) NbSegs() int { return int(ld16(m.ptr(), mbufOffNbSegs)) }

// Port returns the input port.
func (m Mbuf) Port() uint16 { return ld16(m.ptr(), mbufOffPort) }

// SetPort sets the input port.
func (m Mbuf) SetPort(p uint16) { st16(m.ptr(), mbufOffPort, p) }

// OlFlags returns the offload flags (RTE_MBUF_F_*).
func (m Mbuf) OlFlags() uint64 { return ld64(m.ptr(), mbufOffOlFlags) }

// PacketType returns the packet type (RTE_PTYPE_*).
func (m Mbuf) PacketType() uint32 { return ld32(m.ptr(), mbufOffPacketType) }

// PktLen returns the packet length (all segments).
func (m Mbuf) PktLen() int { return int(ld32(m.ptr(), mbufOffPktLen)) }

// DataLen returns the data length of this segment.
func (m Mbuf) DataLen() int { return int(ld16(m.ptr(), mbufOffDataLen)) }

// BufLen returns the buffer length.
func (m Mbuf) BufLen() int { return int(ld16(m.ptr(), mbufOffBufLen)) }

// Hash returns the first 32-bit word of the hash union (hash.rss).
func (m Mbuf) Hash() uint32 { return ld32(m.ptr(), mbufOffHash) }

// SetHash sets the first 32-bit word of the hash union (hash.rss).
func (m Mbuf) SetHash(h uint32) { st32(m.ptr(), mbufOffHash, h) }

// Pool returns the address of the mbuf's mempool.
func (m Mbuf) Pool() uintptr { return ldp(m.ptr(), mbufOffPool) }

// Next returns the next segment, or 0.
func (m Mbuf) Next() Mbuf { return Mbuf(ldp(m.ptr(), mbufOffNext)) }

// LastSeg returns the last segment of the chain (rte_pktmbuf_lastseg).
func (m Mbuf) LastSeg() Mbuf {
	for {
		n := m.Next()
		if n == 0 {
			return m
		}
		m = n
	}
}

// Headroom returns the bytes free before the data (rte_pktmbuf_headroom).
func (m Mbuf) Headroom() int { return m.DataOff() }

// Tailroom returns the bytes free after the data of this segment (rte_pktmbuf_tailroom).
func (m Mbuf) Tailroom() int { return m.BufLen() - m.DataOff() - m.DataLen() }

// Data returns this segment's data, zero copy: a view of data_len bytes at
// buf_addr + data_off. It is valid until the mbuf is freed or handed over,
// and changes with Prepend/Adj (take a new view afterwards).
func (m Mbuf) Data() []byte {
	p := m.ptr()
	return unsafe.Slice((*byte)(unsafe.Add(ptrAt(ldp(p, mbufOffBufAddr)), ld16(p, mbufOffDataOff))), ld16(p, mbufOffDataLen))
}

// Prepend grows the data by n bytes at the front (rte_pktmbuf_prepend) and
// returns a view of the n new bytes; ErrNoHeadroom if they do not fit.
func (m Mbuf) Prepend(n int) ([]byte, error) {
	p := m.ptr()
	off := int(ld16(p, mbufOffDataOff))
	if n < 0 || n > off {
		return nil, ErrNoHeadroom
	}
	st16(p, mbufOffDataOff, uint16(off-n))
	st16(p, mbufOffDataLen, ld16(p, mbufOffDataLen)+uint16(n))
	st32(p, mbufOffPktLen, ld32(p, mbufOffPktLen)+uint32(n))
	return unsafe.Slice((*byte)(unsafe.Add(ptrAt(ldp(p, mbufOffBufAddr)), off-n)), n), nil
}

// Append grows the data of the last segment by n bytes (rte_pktmbuf_append)
// and returns a view of the n new bytes; ErrNoTailroom if they do not fit.
func (m Mbuf) Append(n int) ([]byte, error) {
	last := m.LastSeg()
	if n < 0 || n > last.Tailroom() {
		return nil, ErrNoTailroom
	}
	lp := last.ptr()
	dl := ld16(lp, mbufOffDataLen)
	tail := unsafe.Add(ptrAt(ldp(lp, mbufOffBufAddr)), uintptr(ld16(lp, mbufOffDataOff))+uintptr(dl))
	st16(lp, mbufOffDataLen, dl+uint16(n))
	p := m.ptr()
	st32(p, mbufOffPktLen, ld32(p, mbufOffPktLen)+uint32(n))
	return unsafe.Slice((*byte)(tail), n), nil
}

// Adj removes n bytes from the front of the first segment (rte_pktmbuf_adj);
// ErrTooLong if the segment holds fewer.
func (m Mbuf) Adj(n int) error {
	p := m.ptr()
	dl := int(ld16(p, mbufOffDataLen))
	if n < 0 || n > dl {
		return ErrTooLong
	}
	st16(p, mbufOffDataLen, uint16(dl-n))
	st16(p, mbufOffDataOff, ld16(p, mbufOffDataOff)+uint16(n))
	st32(p, mbufOffPktLen, ld32(p, mbufOffPktLen)-uint32(n))
	return nil
}

// Trim removes n bytes from the end of the last segment (rte_pktmbuf_trim);
// ErrTooLong if that segment holds fewer.
func (m Mbuf) Trim(n int) error {
	last := m.LastSeg()
	lp := last.ptr()
	dl := int(ld16(lp, mbufOffDataLen))
	if n < 0 || n > dl {
		return ErrTooLong
	}
	st16(lp, mbufOffDataLen, uint16(dl-n))
	p := m.ptr()
	st32(p, mbufOffPktLen, ld32(p, mbufOffPktLen)-uint32(n))
	return nil
}

// Chain appends the chain tail to the chain m (rte_pktmbuf_chain); the
// caller gives up tail. ErrChainTooLong if the segments would exceed
// RTE_MBUF_MAX_NB_SEGS.
func (m Mbuf) Chain(tail Mbuf) error {
	p, tp := m.ptr(), tail.ptr()
	segs := int(ld16(p, mbufOffNbSegs)) + int(ld16(tp, mbufOffNbSegs))
	if segs > mbufMaxNbSegs {
		return ErrChainTooLong
	}
	stp(m.LastSeg().ptr(), mbufOffNext, uintptr(tail))
	st16(p, mbufOffNbSegs, uint16(segs))
	st32(p, mbufOffPktLen, ld32(p, mbufOffPktLen)+ld32(tp, mbufOffPktLen))
	st32(tp, mbufOffPktLen, uint32(ld16(tp, mbufOffDataLen)))
	return nil
}

// Reset resets the mbuf's fields as rte_pktmbuf_reset (DPDK 22.11).
func (m Mbuf) Reset() { resetMbuf(m.ptr()) }

func resetMbuf(p unsafe.Pointer) {
	stp(p, mbufOffNext, 0)
	st32(p, mbufOffPktLen, 0)
	st64(p, mbufOffTxOffload, 0)
	st16(p, mbufOffVlanTci, 0)
	st16(p, mbufOffVlanTciOuter, 0)
	st16(p, mbufOffNbSegs, 1)
	st16(p, mbufOffPort, mbufPortInvalid)
	st64(p, mbufOffOlFlags, ld64(p, mbufOffOlFlags)&mbufFExternal)
	st32(p, mbufOffPacketType, 0)
	st16(p, mbufOffDataOff, uint16(min(pktmbufHeadroom, int(ld16(p, mbufOffBufLen)))))
	st16(p, mbufOffDataLen, 0)
}

// AllocMbuf takes one mbuf from the pool through cache c and resets it
// (rte_pktmbuf_alloc). ErrNoBufs when the pool is empty.
func (mp Mempool) AllocMbuf(c Cache) (Mbuf, error) {
	if c.p != nil {
		if clen := ld32(c.p, cacheOffLen); clen > 0 {
			// rte_mempool_generic_get of one object served by the cache:
			// the most recently put one.
			m := ldp(c.p, cacheOffObjs+uintptr(clen-1)*8)
			st32(c.p, cacheOffLen, clen-1)
			p := ptrAt(m)
			if debug {
				rawSanityCheck(p)
			}
			resetMbuf(p)
			return Mbuf(m), nil
		}
	}
	var one [1]uintptr
	if err := mp.GetBulk(one[:], c); err != nil {
		return 0, err
	}
	p := ptrAt(one[0])
	if debug {
		rawSanityCheck(p)
	}
	resetMbuf(p)
	return Mbuf(one[0]), nil
}

// AllocMbufs fills ms with reset mbufs, all or none (rte_pktmbuf_alloc_bulk).
func (mp Mempool) AllocMbufs(ms []Mbuf, c Cache) error {
	if err := mp.GetBulk(Uintptrs(ms), c); err != nil {
		return err
	}
	for _, m := range ms {
		p := ptrAt(uintptr(m))
		if debug {
			rawSanityCheck(p)
		}
		resetMbuf(p)
	}
	return nil
}

// rawSanityCheck is __rte_mbuf_raw_sanity_check (debug builds).
func rawSanityCheck(p unsafe.Pointer) {
	if ld16(p, mbufOffRefcnt) != 1 || ldp(p, mbufOffNext) != 0 || ld16(p, mbufOffNbSegs) != 1 {
		panic("fastpath: mbuf from pool is not free (refcnt != 1, next != NULL or nb_segs != 1)")
	}
}

// FreeMbuf frees every segment of the chain m (rte_pktmbuf_free; 0 is a
// no-op); segments
// of mp go to it through cache c, segments of other pools straight to their
// pool's ring. It returns ErrDoubleFree or ErrExtBufCallback for a segment it
// could not free (see FreeSeg); the other segments are still freed.
func (mp Mempool) FreeMbuf(m Mbuf, c Cache) error {
	if m == 0 {
		return nil // rte_pktmbuf_free(NULL) does nothing
	}
	// Fast path: one direct, unshared segment of mp that fits in the cache
	// (rte_pktmbuf_prefree_seg's refcnt == 1 case, then the cache branch of
	// rte_mempool_generic_put).
	if p := m.ptr(); c.p != nil && ldp(p, mbufOffNext) == 0 && atomicLoad16(unsafe.Add(p, mbufOffRefcnt)) == 1 &&
		ld64(p, mbufOffOlFlags)&(mbufFIndirect|mbufFExternal) == 0 && ldp(p, mbufOffPool) == uintptr(mp.p) {
		if clen := ld32(c.p, cacheOffLen); clen+1 <= ld32(c.p, cacheOffFlushthresh) {
			if ld16(p, mbufOffNbSegs) != 1 {
				st16(p, mbufOffNbSegs, 1)
			}
			stp(c.p, cacheOffObjs+uintptr(clen)*8, uintptr(m))
			st32(c.p, cacheOffLen, clen+1)
			return nil
		}
	}
	var err error
	for m != 0 {
		next := m.Next()
		if e := mp.FreeSeg(m, c); e != nil && err == nil {
			err = e
		}
		m = next
	}
	return err
}

// FreeSeg frees one segment (rte_pktmbuf_free_seg): rte_pktmbuf_prefree_seg
// then back to its pool. Errors: ErrDoubleFree (refcnt already 0, nothing
// touched); ErrExtBufCallback (the mbuf holds the last reference to an
// external buffer whose C free callback Go cannot run: the mbuf is left
// attached with refcnt 1 for C to free).
func (mp Mempool) FreeSeg(m Mbuf, c Cache) error {
	r, err := mp.prefreeSeg(m, c)
	if r != 0 {
		mp.putMbuf(uintptr(r), c)
	}
	return err
}

// putMbuf is rte_mbuf_raw_free: the mbuf goes to its own pool, through c
// when that pool is mp.
func (mp Mempool) putMbuf(m uintptr, c Cache) {
	one := [1]uintptr{m}
	pool := ldp(ptrAt(m), mbufOffPool)
	if pool == uintptr(mp.p) {
		mp.PutBulk(one[:], c)
		return
	}
	putForeign(pool, one[:])
}

// putForeign returns objs to the pool at addr (not the caller's): straight
// to its ring after validating it.
func putForeign(pool uintptr, objs []uintptr) {
	o, err := MempoolAt(pool)
	if err != nil {
		panic("fastpath: mbuf pool is not a valid ring-based mempool: " + err.Error())
	}
	o.PutBulk(objs, Cache{})
}

// FreeMbufs frees the chains in ms (0 entries are skipped), grouping runs of
// segments of one pool into one put, as rte_pktmbuf_free_bulk. It returns
// the first error (see FreeSeg); every other segment is still freed.
func (mp Mempool) FreeMbufs(ms []Mbuf, c Cache) error {
	var pending [64]uintptr // RTE_PKTMBUF_FREE_PENDING_SZ
	np := 0
	var pool uintptr
	var err error
	for _, m := range ms {
		for m != 0 {
			p := m.ptr()
			next := Mbuf(ldp(p, mbufOffNext))
			r := m
			if atomicLoad16(unsafe.Add(p, mbufOffRefcnt)) == 1 && ld64(p, mbufOffOlFlags)&(mbufFIndirect|mbufFExternal) == 0 {
				// rte_pktmbuf_prefree_seg, refcnt == 1 and direct.
				if next != 0 {
					stp(p, mbufOffNext, 0)
				}
				if ld16(p, mbufOffNbSegs) != 1 {
					st16(p, mbufOffNbSegs, 1)
				}
			} else {
				var e error
				r, e = mp.prefreeSeg(m, c)
				if e != nil && err == nil {
					err = e
				}
			}
			if r != 0 {
				rp := ldp(r.ptr(), mbufOffPool)
				if np == len(pending) || (np > 0 && rp != pool) {
					mp.putTo(pool, pending[:np], c)
					np = 0
				}
				pool = rp
				pending[np] = uintptr(r)
				np++
			}
			m = next
		}
	}
	if np > 0 {
		mp.putTo(pool, pending[:np], c)
	}
	return err
}

// putTo returns objs to the pool at addr: through c when it is mp.
func (mp Mempool) putTo(pool uintptr, objs []uintptr, c Cache) {
	if pool == uintptr(mp.p) {
		mp.PutBulk(objs, c)
		return
	}
	putForeign(pool, objs)
}

// prefreeSeg mirrors rte_pktmbuf_prefree_seg (DPDK 22.11): it returns the
// mbuf to put back into its pool, or 0 when other references remain.
func (mp Mempool) prefreeSeg(m Mbuf, c Cache) (Mbuf, error) {
	p := m.ptr()
	refcnt := unsafe.Add(p, mbufOffRefcnt)
	rc := atomicLoad16(refcnt)
	if rc == 0 {
		return 0, ErrDoubleFree // always on: the load is needed anyway
	}
	shared := rc != 1
	if shared && atomicAdd16(refcnt, -1) != 0 {
		return 0, nil
	}
	if ld64(p, mbufOffOlFlags)&(mbufFIndirect|mbufFExternal) != 0 {
		keep, err := mp.detach(m, c)
		if err != nil {
			if shared {
				st16(p, mbufOffRefcnt, 1)
			}
			return 0, err
		}
		if keep {
			return 0, nil
		}
	}
	if ldp(p, mbufOffNext) != 0 {
		stp(p, mbufOffNext, 0)
	}
	if ld16(p, mbufOffNbSegs) != 1 {
		st16(p, mbufOffNbSegs, 1)
	}
	if shared {
		st16(p, mbufOffRefcnt, 1)
	}
	return m, nil
}

// poolPriv is rte_mempool_get_priv for the pool at addr.
func poolPriv(pool uintptr) unsafe.Pointer {
	pp := ptrAt(pool)
	return unsafe.Add(pp, mempoolHeaderSize(ld32(pp, mempoolOffCacheSize)))
}

// detach mirrors rte_pktmbuf_detach followed, for pinned external buffers,
// by __rte_pktmbuf_pinned_extbuf_decref. keep reports that the mbuf must not
// go back to its pool (its pinned buffer is still referenced).
func (mp Mempool) detach(m Mbuf, c Cache) (keep bool, err error) {
	p := m.ptr()
	priv := poolPriv(ldp(p, mbufOffPool))
	if ld64(p, mbufOffOlFlags)&mbufFExternal != 0 {
		sh := ptrAt(ldp(p, mbufOffShinfo))
		if ld32(priv, pktmbufPrivOffFlags)&poolFPinnedExtBuf != 0 {
			// __rte_pktmbuf_pinned_extbuf_decref.
			st64(p, mbufOffOlFlags, mbufFExternal)
			src := unsafe.Add(sh, shinfoOffRefcnt)
			if atomicLoad16(src) == 1 {
				return false, nil
			}
			if atomicAdd16(src, -1) != 0 {
				return true, nil
			}
			st16(sh, shinfoOffRefcnt, 1)
			return false, nil
		}
		// __rte_pktmbuf_free_extbuf: rte_mbuf_ext_refcnt_update(shinfo, -1),
		// then free_cb when it reaches 0. Go cannot call free_cb: refuse
		// before changing anything when we hold the last reference.
		src := unsafe.Add(sh, shinfoOffRefcnt)
		cb := ldp(sh, shinfoOffFreeCb) != 0
		if atomicLoad16(src) == 1 {
			if cb {
				return false, ErrExtBufCallback
			}
			st16(sh, shinfoOffRefcnt, 0)
		} else if atomicAdd16(src, -1) == 0 && cb {
			st16(sh, shinfoOffRefcnt, 1) // we are the only holder again
			return false, ErrExtBufCallback
		}
	} else {
		// __rte_pktmbuf_free_direct: drop the direct mbuf's reference.
		md := ldp(p, mbufOffBufAddr) - mbufSize - uintptr(ld16(p, mbufOffPrivSize))
		dp := ptrAt(md)
		if refcntUpdate(dp, -1) == 0 {
			stp(dp, mbufOffNext, 0)
			st16(dp, mbufOffNbSegs, 1)
			st16(dp, mbufOffRefcnt, 1)
			mp.putMbuf(md, c)
		}
	}
	privSize := ld16(priv, pktmbufPrivOffPrivSize)
	msize := uintptr(mbufSize) + uintptr(privSize)
	bufLen := ld16(priv, pktmbufPrivOffDataRoom)
	st16(p, mbufOffPrivSize, privSize)
	stp(p, mbufOffBufAddr, uintptr(m)+msize)
	// rte_mempool_virt2iova(m): the iova in the object header before m.
	st64(p, mbufOffBufIova, ld64(unsafe.Add(p, -objhdrSize), objhdrOffIova)+uint64(msize))
	st16(p, mbufOffBufLen, bufLen)
	st16(p, mbufOffDataOff, min(pktmbufHeadroom, bufLen))
	st16(p, mbufOffDataLen, 0)
	st64(p, mbufOffOlFlags, 0)
	return false, nil
}

// refcntUpdate is rte_mbuf_refcnt_update: a plain store when we hold the
// only reference, an atomic add otherwise.
func refcntUpdate(p unsafe.Pointer, v int16) uint16 {
	a := unsafe.Add(p, mbufOffRefcnt)
	if atomicLoad16(a) == 1 {
		n := uint16(1 + v)
		st16(p, mbufOffRefcnt, n)
		return n
	}
	return atomicAdd16(a, v)
}

// RefcntUpdate adds v to the reference count and returns the new value
// (rte_mbuf_refcnt_update). Use it to share an mbuf before handing it to
// several owners; each then frees it once.
func (m Mbuf) RefcntUpdate(v int16) int { return int(refcntUpdate(m.ptr(), v)) }

// atomicLoad16 is a relaxed/acquire 16-bit load (a plain MOVW on amd64).
func atomicLoad16(p unsafe.Pointer) uint16 { return *(*uint16)(p) }

// atomicAdd16 atomically adds v to the 16-bit word at p and returns the new
// value (__atomic_add_fetch, acq_rel). Go has no 16-bit atomics: it CASes the
// aligned 32-bit word holding it, leaving the other half unchanged (a
// concurrent change to that half only makes the CAS retry).
func atomicAdd16(p unsafe.Pointer, v int16) uint16 {
	a := uintptr(p)
	w := (*uint32)(unsafe.Add(p, -int(a&3)))
	shift := (a & 3) * 8 // little endian
	for {
		old := atomic.LoadUint32(w)
		n := uint16(old>>shift) + uint16(v)
		nw := old&^(0xffff<<shift) | uint32(n)<<shift
		if atomic.CompareAndSwapUint32(w, old, nw) {
			return n
		}
	}
}
