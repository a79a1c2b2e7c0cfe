package fastpath

import (
	"sync/atomic"
	"unsafe"
)

// HTS (head/tail sync) and RTS (relaxed tail sync) rings, in Go with
// sync/atomic on every architecture: DPDK 22.11 lib/ring/rte_ring_hts_elem_pvt.h
// and rte_ring_rts_elem_pvt.h. Both are multi-thread safe, so every call on
// such a ring end — the explicit SP/MP/SC/MC ones included — uses the ring's
// own protocol; a DPDK single/multi call on an RTS ring would corrupt it.
//
// HTS: head and tail of one end share a 64-bit word. A thread waits until
// head == tail (no operation in flight; acquire load, A2), computes its
// room from the other end's tail (A0/A1 as for MT rings), CASes the word to
// {head+n, tail} (acquire), copies, then stores tail = head+n (release, R2,
// pairs with A2 and with the other end's A0/A1).
//
// RTS: head {cnt, pos} and tail {cnt, pos} are separate 64-bit words. A
// thread waits while head.pos - tail.pos > htd_max, CASes the head to
// {cnt+1, pos+n}, copies, then CASes the tail: cnt+1, and pos = head.pos when
// its cnt reached head's (the last of the operations in flight publishes
// them all; release, R3, pairs with the other end's A0/A1).
//
// Both head waits (HTS: head == tail; RTS: head.pos - tail.pos <= htd_max)
// wait on other threads; every stallSpins turns they yield (stallYield) and
// give up — the call moves nothing — when the ring lies in abandoned memory
// (AbandonMemory). The RTS tail update is a CAS loop that never waits.

// headWaitStall is called on every turn of the HTS/RTS head waits (i counts
// the turns): every stallSpins turns it leaves for the scheduler
// (stallYield), and it reports true — give up: the operation moves nothing —
// when the ring lies in abandoned memory (see AbandonMemory: the thread
// holding the head may be dead).
func headWaitStall(r unsafe.Pointer, i int) bool {
	if i%stallSpins != stallSpins-1 {
		return false
	}
	if abandoned(r) {
		return true
	}
	stallYield()
	return false
}

func lo32(v uint64) uint32 { return uint32(v) }
func hi32(v uint64) uint32 { return uint32(v >> 32) }
func mk64(lo, hi uint32) uint64 {
	return uint64(lo) | uint64(hi)<<32
}

// moveHeadHTS mirrors __rte_ring_hts_move_prod_head / _cons_head: ht is the
// moving end's headtail, other the opposite end's. It returns the old head
// and the count (0: nothing to do).
func moveHeadHTS(r unsafe.Pointer, ht, other uintptr, n uint32, fixed, prod bool) (uint32, uint32) {
	raw := (*uint64)(unsafe.Add(r, ht+htsOffRaw))
	otherTail := (*uint32)(unsafe.Add(r, other+htOffTail))
	capacity := ld32(r, ringOffCapacity)
	op := atomic.LoadUint64(raw)
	for {
		// __rte_ring_hts_head_wait; A2: acquire.
		for i := 0; lo32(op) != hi32(op); i++ {
			if headWaitStall(r, i) {
				return 0, 0
			}
			op = atomic.LoadUint64(raw)
		}
		head := lo32(op)
		var room uint32
		if prod {
			room = capacity + atomic.LoadUint32(otherTail) - head // A0
		} else {
			room = atomic.LoadUint32(otherTail) - head // A1
		}
		cnt := n
		if cnt > room {
			if fixed {
				return 0, 0
			}
			cnt = room
		}
		if cnt == 0 {
			return 0, 0
		}
		if atomic.CompareAndSwapUint64(raw, op, mk64(head+cnt, hi32(op))) {
			return head, cnt
		}
		op = atomic.LoadUint64(raw)
	}
}

// moveHeadRTS mirrors __rte_ring_rts_move_prod_head / _cons_head.
func moveHeadRTS(r unsafe.Pointer, ht, other uintptr, n uint32, fixed, prod bool) (uint32, uint32) {
	headRaw := (*uint64)(unsafe.Add(r, ht+rtsOffHeadRaw))
	tailPos := (*uint32)(unsafe.Add(r, ht+rtsOffTailPos))
	otherTail := (*uint32)(unsafe.Add(r, other+htOffTail))
	htdMax := ld32(r, ht+rtsOffHtdMax)
	capacity := ld32(r, ringOffCapacity)
	oh := atomic.LoadUint64(headRaw)
	for {
		// __rte_ring_rts_head_wait.
		for i := 0; hi32(oh)-atomic.LoadUint32(tailPos) > htdMax; i++ {
			if headWaitStall(r, i) {
				return 0, 0
			}
			oh = atomic.LoadUint64(headRaw)
		}
		pos := hi32(oh)
		var room uint32
		if prod {
			room = capacity + atomic.LoadUint32(otherTail) - pos // A0
		} else {
			room = atomic.LoadUint32(otherTail) - pos // A1
		}
		cnt := n
		if cnt > room {
			if fixed {
				return 0, 0
			}
			cnt = room
		}
		if cnt == 0 {
			return 0, 0
		}
		if atomic.CompareAndSwapUint64(headRaw, oh, mk64(lo32(oh)+1, pos+cnt)) {
			return pos, cnt
		}
		oh = atomic.LoadUint64(headRaw)
	}
}

// updateTailRTS mirrors __rte_ring_rts_update_tail (R3: release CAS).
func updateTailRTS(r unsafe.Pointer, ht uintptr) {
	tailRaw := (*uint64)(unsafe.Add(r, ht+rtsOffTailRaw))
	headRaw := (*uint64)(unsafe.Add(r, ht+rtsOffHeadRaw))
	ot := atomic.LoadUint64(tailRaw)
	for {
		h := atomic.LoadUint64(headRaw)
		cnt, pos := lo32(ot)+1, hi32(ot)
		if cnt == lo32(h) {
			pos = hi32(h)
		}
		if atomic.CompareAndSwapUint64(tailRaw, ot, mk64(cnt, pos)) {
			return
		}
		ot = atomic.LoadUint64(tailRaw)
	}
}

// enqueueSync enqueues on a ring whose producer is HTS or RTS (sync); other
// sync values enqueue nothing.
func enqueueSync(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, sync uint32, fixed bool) uint32 {
	var head, cnt uint32
	switch sync {
	case syncMTHTS:
		head, cnt = moveHeadHTS(r, ringOffProd, ringOffCons, n, fixed, true)
	case syncMTRTS:
		head, cnt = moveHeadRTS(r, ringOffProd, ringOffCons, n, fixed, true)
	default:
		return 0
	}
	if cnt == 0 {
		return 0
	}
	slots, off := ringSlots(r, head, esize)
	src := unsafe.Slice((*byte)(objs), uintptr(cnt)*esize)
	k := copy(slots[off:], src)
	copy(slots, src[k:])
	if sync == syncMTHTS {
		// __rte_ring_hts_update_tail; R2: release.
		atomic.StoreUint32((*uint32)(unsafe.Add(r, ringOffProd+htsOffTail)), head+cnt)
	} else {
		updateTailRTS(r, ringOffProd)
	}
	return cnt
}

// dequeueSync dequeues from a ring whose consumer is HTS or RTS.
func dequeueSync(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, sync uint32, fixed bool) uint32 {
	var head, cnt uint32
	switch sync {
	case syncMTHTS:
		head, cnt = moveHeadHTS(r, ringOffCons, ringOffProd, n, fixed, false)
	case syncMTRTS:
		head, cnt = moveHeadRTS(r, ringOffCons, ringOffProd, n, fixed, false)
	default:
		return 0
	}
	if cnt == 0 {
		return 0
	}
	slots, off := ringSlots(r, head, esize)
	dst := unsafe.Slice((*byte)(objs), uintptr(cnt)*esize)
	k := copy(dst, slots[off:])
	copy(dst[k:], slots)
	if sync == syncMTHTS {
		atomic.StoreUint32((*uint32)(unsafe.Add(r, ringOffCons+htsOffTail)), head+cnt)
	} else {
		updateTailRTS(r, ringOffCons)
	}
	return cnt
}
