package fastpath

import (
	"sync/atomic"
	"unsafe"
)

// The Go twins of the ring kernels. They are always compiled: in purego
// builds (and on other architectures) they are the implementation; in amd64
// builds the tests run them beside the assembly on twin memory.
//
// Contract, mirrored from DPDK 22.11 lib/ring/rte_ring_c11_pvt.h
// (__rte_ring_move_prod_head, __rte_ring_move_cons_head,
// __rte_ring_update_tail) and rte_ring_elem_pvt.h (__rte_ring_do_enqueue_elem,
// __rte_ring_do_dequeue_elem, __rte_ring_enqueue_elems, …):
//
//   - Indices are free-running uint32 counters; slot = index & mask. All
//     differences are taken modulo 2^32, so free = capacity + cons.tail -
//     prod.head and entries = prod.tail - cons.head are right across the
//     2^32 wrap as long as capacity < 2^31 (RTE_RING_SZ_MASK).
//   - A producer reserves [old_head, new_head) by moving prod.head (plain
//     store for SP, CAS for MP), copies into the slots, then publishes by
//     storing prod.tail = new_head (R0, release). MP producers first wait
//     until prod.tail == old_head so tails move in reservation order.
//   - A consumer mirrors this on cons.head / cons.tail (R1, release).
//   - A0: the producer's load of cons.tail is an acquire; it pairs with R1 so
//     the consumer's reads of the slots happened before we overwrite them.
//   - A1: the consumer's load of prod.tail is an acquire; it pairs with R0 so
//     the producer's slot writes are visible before we read them.
//   - The MP/MC tail wait gives up (the call returns 0, the tail untouched)
//     when the ring lies in abandoned memory: updateTailGo → stallWait
//     (abandon.go). The elements are copied by then: lost with the ring.
//
// sync/atomic loads are acquire and stores are sequentially consistent (an
// XCHG on amd64: correct, just slower than the plain MOV the assembly uses).

// ringSlots returns the slot area of the ring as bytes and the byte offset of
// index idx, for esize-byte elements.
func ringSlots(r unsafe.Pointer, idx uint32, esize uintptr) ([]byte, uintptr) {
	size := uintptr(ld32(r, ringOffSize))
	mask := ld32(r, ringOffMask)
	return unsafe.Slice((*byte)(unsafe.Add(r, ringHeaderSize)), size*esize), uintptr(idx&mask) * esize
}

// enqueueGo mirrors __rte_ring_do_enqueue_elem for MT (flags&kSingle == 0) and
// ST producers; flags&kFixed selects RTE_RING_QUEUE_FIXED. It returns the
// number of elements enqueued.
func enqueueGo(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32 {
	prodHead := (*uint32)(unsafe.Add(r, ringProdHead))
	consTail := (*uint32)(unsafe.Add(r, ringConsTail))
	capacity := ld32(r, ringOffCapacity)
	var oldHead, newHead, cnt uint32
	oldHead = atomic.LoadUint32(prodHead) // relaxed in DPDK
	for {
		// A0: acquire, pairs with R1 in dequeueGo / dequeue (assembly).
		free := capacity + atomic.LoadUint32(consTail) - oldHead
		cnt = n
		if cnt > free {
			if flags&kFixed != 0 {
				return 0
			}
			cnt = free
		}
		if cnt == 0 {
			return 0
		}
		newHead = oldHead + cnt
		if flags&kSingle != 0 {
			atomic.StoreUint32(prodHead, newHead) // relaxed store in DPDK
			break
		}
		if atomic.CompareAndSwapUint32(prodHead, oldHead, newHead) {
			break
		}
		oldHead = atomic.LoadUint32(prodHead)
	}
	slots, off := ringSlots(r, oldHead, esize)
	src := unsafe.Slice((*byte)(objs), uintptr(cnt)*esize)
	k := copy(slots[off:], src)
	copy(slots, src[k:])
	return updateTailGo(r, ringProdTail, oldHead, cnt, flags&kSingle != 0)
}

// dequeueGo mirrors __rte_ring_do_dequeue_elem (see enqueueGo).
func dequeueGo(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32 {
	consHead := (*uint32)(unsafe.Add(r, ringConsHead))
	prodTail := (*uint32)(unsafe.Add(r, ringProdTail))
	var oldHead, newHead, cnt uint32
	oldHead = atomic.LoadUint32(consHead)
	for {
		// A1: acquire, pairs with R0 in enqueueGo / enqueue (assembly).
		entries := atomic.LoadUint32(prodTail) - oldHead
		cnt = n
		if cnt > entries {
			if flags&kFixed != 0 {
				return 0
			}
			cnt = entries
		}
		if cnt == 0 {
			return 0
		}
		newHead = oldHead + cnt
		if flags&kSingle != 0 {
			atomic.StoreUint32(consHead, newHead)
			break
		}
		if atomic.CompareAndSwapUint32(consHead, oldHead, newHead) {
			break
		}
		oldHead = atomic.LoadUint32(consHead)
	}
	slots, off := ringSlots(r, oldHead, esize)
	dst := unsafe.Slice((*byte)(objs), uintptr(cnt)*esize)
	k := copy(dst, slots[off:])
	copy(dst[k:], slots)
	return updateTailGo(r, ringConsTail, oldHead, cnt, flags&kSingle != 0)
}

// updateTailGo mirrors __rte_ring_update_tail for the reservation [old,
// old+cnt) of the end whose tail is at r+tail: an MT end waits for the
// preceding reservations to publish (rte_wait_until_equal_32), then stores
// the new tail with release order (R0 for producers, R1 for consumers). It
// returns cnt, or 0 when the wait gave up because the ring lies in abandoned
// memory (stallWait: after stallSpins looks the wait leaves for the
// scheduler, as the assembly does).
func updateTailGo(r unsafe.Pointer, tail uintptr, old, cnt uint32, single bool) uint32 {
	t := (*uint32)(unsafe.Add(r, tail))
	if !single {
		for i := 0; atomic.LoadUint32(t) != old; i++ {
			if i == stallSpins {
				return stallWait(r, tail, old, cnt)
			}
		}
	}
	atomic.StoreUint32(t, old+cnt)
	return cnt
}

// enqueue8Go is the Go twin of the pointer enqueue kernels
// (spEnqueueBurst8, …): flags as theirs, kGeneric allowed; HTS/RTS
// producers run their own protocol.
func enqueue8Go(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	if ld32(r, ringProdSync) > syncST {
		if flags&kFixed != 0 {
			return enqueueSyncBulk8(r, unsafe.SliceData(objs), len(objs))
		}
		return enqueueSyncBurst8(r, unsafe.SliceData(objs), len(objs))
	}
	s := ld32(r, ringProdSync)
	if flags&kGeneric != 0 {
		flags = flags&kFixed | s
	}
	return enqueueGo(r, ptrs(objs), 8, clampN(len(objs)), flags)
}

// dequeue8Go is the Go twin of the pointer dequeue kernels.
func dequeue8Go(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	if ld32(r, ringConsSync) > syncST {
		if flags&kFixed != 0 {
			return dequeueSyncBulk8(r, unsafe.SliceData(objs), len(objs))
		}
		return dequeueSyncBurst8(r, unsafe.SliceData(objs), len(objs))
	}
	s := ld32(r, ringConsSync)
	if flags&kGeneric != 0 {
		flags = flags&kFixed | s
	}
	return dequeueGo(r, ptrs(objs), 8, clampN(len(objs)), flags)
}

// enqueueSyncBurst8 enqueues pointer-sized elements on an HTS/RTS producer
// (burst); the assembly pointer kernels tail-call it (same signature).
func enqueueSyncBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueueSync(r, unsafe.Pointer(objs), 8, clampN(n), ld32(r, ringProdSync), false)
}

// enqueueSyncBulk8 is enqueueSyncBurst8 for bulk calls.
func enqueueSyncBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueueSync(r, unsafe.Pointer(objs), 8, clampN(n), ld32(r, ringProdSync), true)
}

// dequeueSyncBurst8 is the dequeue counterpart of enqueueSyncBurst8.
func dequeueSyncBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeueSync(r, unsafe.Pointer(objs), 8, clampN(n), ld32(r, ringConsSync), false)
}

// dequeueSyncBulk8 is the dequeue counterpart of enqueueSyncBulk8.
func dequeueSyncBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeueSync(r, unsafe.Pointer(objs), 8, clampN(n), ld32(r, ringConsSync), true)
}

// loadAcq32 is an acquire load of a 32-bit word in shared memory.
func loadAcq32(p unsafe.Pointer, off uintptr) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Add(p, off)))
}

// enqueueOneGo is the Go twin of the single-element enqueue kernels
// (spEnqueueOne: kSingle, mpEnqueueOne: 0, enqueueOne: kGeneric): the burst
// kernel with n = 1 (for one element, bulk and burst behave alike).
func enqueueOneGo(r unsafe.Pointer, obj uintptr, flags uint32) uint32 {
	s := ld32(r, ringProdSync)
	if s > syncST {
		return enqueueOneSync(r, obj)
	}
	if flags&kGeneric != 0 {
		flags = s
	}
	return enqueueGo(r, unsafe.Pointer(&obj), 8, 1, flags&kSingle)
}

// dequeueOneGo is the Go twin of the single-element dequeue kernels.
func dequeueOneGo(r unsafe.Pointer, flags uint32) (uintptr, uint32) {
	s := ld32(r, ringConsSync)
	if s > syncST {
		return dequeueOneSync(r)
	}
	if flags&kGeneric != 0 {
		flags = s
	}
	var obj uintptr
	n := dequeueGo(r, unsafe.Pointer(&obj), 8, 1, flags&kSingle)
	return obj, n
}

// enqueueOneSync enqueues one element on an HTS/RTS producer; the assembly
// single-element kernels tail-call it (same signature).
func enqueueOneSync(r unsafe.Pointer, obj uintptr) uint32 {
	return enqueueSync(r, unsafe.Pointer(&obj), 8, 1, ld32(r, ringProdSync), true)
}

// dequeueOneSync is the dequeue counterpart of enqueueOneSync.
func dequeueOneSync(r unsafe.Pointer) (uintptr, uint32) {
	var obj uintptr
	n := dequeueSync(r, unsafe.Pointer(&obj), 8, 1, ld32(r, ringConsSync), true)
	return obj, n
}
